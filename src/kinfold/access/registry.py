"""registry.py — where every family-record type declares itself to the door: how a row reaches its family,
what category it is in (per row), which interactions it supports and which rule answers each. The door
reads records only through these declarations and never imports a feature app: an app joins by calling
``register`` from its ``records.py`` (imported by its ``AppConfig.ready``). It never writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from kinfold.access.vocabulary import Interaction, kind_of


def _category_of(kind: str) -> str | None:
    found = kind_of(kind)
    return found.category if found is not None else None


class ReadRule(models.TextChoices):
    RECORD = "record", "Rules 1 to 5 (her consent, a court order, an emergency)"
    CONSENT = "consent", "A consent is seen by the parties it names, and by whoever recorded it"
    ADDRESSED = "addressed", "Rules 1 to 5, and the party it is about (the organisation asked, the place's holder)"
    FOLLOWS_CONSENT = "follows_consent", "A line about a consent as its consent (rule C); any other by rules 1 to 5"
    ANSWERS = "answers", "Rules 1 to 5, and the organisation it answers, unless a Part 2 programme made it"


class CreateRule(models.TextChoices):
    MEMBER = "member", "Anyone who may open the family, in her own organisation's name"
    COORDINATOR = "coordinator", "The family's designated coordinator"
    PRIVACY_OFFICER = "privacy_officer", "A privacy officer, never of the organisation it grants access to"
    NEVER = "never", "Only Kinfold itself writes it"


class ChangeRule(models.TextChoices):
    CREATOR = "creator", "Staff of the creating organisation whose role may see its category"
    TEAM_KEPT = "team_kept", "Also any care-team member who may read it"
    COORDINATOR = "coordinator", "The family's designated coordinator"
    COORDINATOR_OR_HOLDER = "coordinator_or_holder", "The coordinator; anyone may remove herself"
    SUBJECT_ORG = "subject_org", "Staff of the organisation the record asks something of"
    CREATOR_OR_SUBJECT = "creator_or_subject", "The organisation that made it, or the organisation it asks"
    PRIVACY_OFFICER = "privacy_officer", "A privacy officer of the creating organisation"
    READERS = "readers", "Anyone who may read it (her own words: a revocation, the end she asked for)"
    NEVER = "never", "Never changed"


ALL_INTERACTIONS = frozenset(Interaction.values)


@dataclass(slots=True)
class RecordFacts:
    """What the door needs to know of a record: whose family, who made it, what category, when it was made
    (``None``: not known, read as made before any instant that asks), and the few facts some rules read.
    Treated as read-only (slotted rather than frozen: a caseload builds thousands)."""

    family_id: int
    created_by_org_id: int
    category: str
    record_type: str = ""
    record_id: int | None = None
    created_at: datetime | None = None
    created_by_id: int | None = None  # the person who recorded it
    subject_org_id: int | None = None  # a restriction's disclosing organisation; a court order's court
    holder_membership_id: int | None = None  # whose place on the care team
    directive_id: int | None = None  # the consent directive a directive or version belongs to
    # The category its author chose, where Kinfold files the record more strictly because of what it names
    # (a line that names a Part 2 programme is a Part 2 record). ``None``: the same as ``category``.
    authored_category: str | None = None
    # Its kind of information (``access/data/kinds.yaml``); "": the default kind of its category.
    kind: str = ""


@dataclass(frozen=True)
class RecordType:
    """One family-record type, as it declared itself."""

    model: type[models.Model]
    family_path: str  # attribute path from a row to its family id ("family_id", "care_team.family_id", "pk")
    label: str  # in plain words, for the accounting: "note", "pregnancy"
    interactions: frozenset[str] = ALL_INTERACTIONS
    read_rule: str = ReadRule.RECORD
    create_rule: str = CreateRule.MEMBER
    change_rule: str = ChangeRule.CREATOR
    retire_rule: str | None = None  # None: as ``change_rule``
    category_path: str = "sensitivity"
    # Its kind: a column (``kind_path``), or by its category (``kinds_by_category``), else the category's default.
    kind_path: str | None = None
    kinds_by_category: tuple[tuple[str, str], ...] = ()
    subject_org_path: str | None = None
    holder_path: str | None = None
    directive_path: str | None = None
    # Whether a court order may name rows of this type one by one ("records a person writes": notes, later
    # screening responses); the order form offers the recording organisation's own rows of such types.
    named_by_orders: bool = False
    # How a row is named to a person ("Treatment attendance: came to group, 3 Dec 2026"); ``str(row)`` if None.
    describe: Callable[[Any], str] | None = None

    @property
    def name(self) -> str:
        return self.model.__name__

    def supports(self, interaction: str) -> bool:
        return interaction in self.interactions

    @cached_property
    def _getters(self) -> tuple[Callable[[Any], Any], ...]:
        """One getter per fact (the door reads thousands of rows a page)."""
        return tuple(
            _getter(path)
            for path in (
                self.family_path,
                self.category_path,
                self.subject_org_path,
                self.holder_path,
                self.directive_path,
            )
        )

    def kind_for(self, category: str, kind: str | None = None) -> str:
        """Its kind: the one given when it belongs to ``category``, else the type's kind for that category
        ("" when the category's default applies: a record filed more strictly than its kind)."""
        if kind and _category_of(kind) == category:
            return kind
        return dict(self.kinds_by_category).get(category, "")

    def facts(self, record: Any, family_id: int | None = None) -> RecordFacts:
        family, category, subject_org, holder, directive = self._getters
        if family_id is None:
            family_id = family(record)
        if family_id is None:
            raise ValueError(f"cannot tell which family {record!r} belongs to")
        row_category = category(record)
        return RecordFacts(
            family_id,
            record.created_by_org_id,
            row_category,
            self.name,
            record.pk,
            getattr(record, "created_at", None),
            getattr(record, "created_by_id", None),
            subject_org(record),
            holder(record),
            directive(record),
            None,
            self.kind_for(row_category, getattr(record, self.kind_path) if self.kind_path else None),
        )


_TYPES: dict[str, RecordType] = {}


def register(model: type[models.Model], **declaration: Any) -> RecordType:
    """Declare ``model`` a family-record type. Registering the same model again replaces its declaration.
    ``kinds={category: kind}`` says which kind a row of each category is (for types without a kind column)."""
    interactions = frozenset(declaration.pop("interactions", ALL_INTERACTIONS))
    declaration["kinds_by_category"] = tuple(sorted(declaration.pop("kinds", {}).items()))
    unknown = interactions - ALL_INTERACTIONS
    if unknown:
        raise ImproperlyConfigured(f"{model.__name__}: unknown interactions {sorted(unknown)}")
    record_type = RecordType(model=model, interactions=interactions, **declaration)
    _TYPES[record_type.name] = record_type
    return record_type


def registered() -> list[RecordType]:
    return sorted(_TYPES.values(), key=lambda t: t.name)


def record_type(which: str | type[models.Model] | Any) -> RecordType:
    """The declaration of a model, its name, or a row's model."""
    if isinstance(which, str):
        name = which
    elif isinstance(which, type):
        name = which.__name__
    else:
        name = type(which).__name__
    try:
        return _TYPES[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"{name} is not a registered family-record type: declare it in its app's records.py"
        ) from None


def declared(name: str) -> RecordType | None:
    return _TYPES.get(name)


def _none(record: Any) -> None:
    return None


def _getter(path: str | None) -> Callable[[Any], Any]:
    """The value at an attribute path ("care_team.family_id"), or None where a step is None."""
    if path is None:
        return _none
    if "." not in path:
        return attrgetter(path)
    parts = path.split(".")

    def follow(record: Any) -> Any:
        value = record
        for part in parts:
            value = getattr(value, part)
            if value is None:
                return None
        return value

    return follow


def facts_of(record: Any, *, family_id: int | None = None) -> RecordFacts:
    """The facts of a row (or ``record`` itself, if it already is ``RecordFacts``)."""
    if type(record) is RecordFacts:
        return record
    rt = _TYPES.get(type(record).__name__) or record_type(record)
    return rt.facts(record, family_id)


def new_facts(
    model: type[models.Model] | str,
    *,
    family_id: int,
    organization_id: int,
    category: str,
    authored_category: str | None = None,
    kind: str = "",
    created_by_id: int | None = None,
    subject_org_id: int | None = None,
    holder_membership_id: int | None = None,
    directive_id: int | None = None,
) -> RecordFacts:
    """The facts of a record about to be created, for the door's ``create`` question."""
    return RecordFacts(
        family_id=family_id,
        created_by_org_id=organization_id,
        category=category,
        record_type=record_type(model).name,
        created_by_id=created_by_id,
        subject_org_id=subject_org_id,
        holder_membership_id=holder_membership_id,
        directive_id=directive_id,
        authored_category=authored_category,
        kind=record_type(model).kind_for(category, kind),
    )


def fact_lookups(model: type[models.Model] | str, via: str = "") -> dict[str, str]:
    """The ORM lookups of what the door reads of a row of ``model``, as ``{fact: lookup}``; ``via`` reaches
    the row through a relation ("person__"). A page reads them with its own columns in one ``values()``
    query, and builds the facts with a ``FactReader`` (no model instance)."""
    rt = record_type(model)
    paths = {
        "record_id": rt.model._meta.pk.name,
        "family_id": rt.family_path,
        "created_by_org_id": "created_by_org_id",
        "category": rt.category_path,
        "created_at": "created_at",
        "created_by_id": "created_by_id",
        "subject_org_id": rt.subject_org_path,
        "holder_membership_id": rt.holder_path,
        "directive_id": rt.directive_path,
        "kind": rt.kind_path,
    }
    return {key: via + path.replace(".", "__") for key, path in paths.items() if path is not None}


class FactReader:
    """Builds the facts of rows of one type read as plain values: ``values(*reader.columns, ...)`` then
    ``reader(row)``. ``via`` reaches the row through a relation ("person__")."""

    __slots__ = ("_items", "_rt", "columns")

    def __init__(self, model: type[models.Model] | str, via: str = "") -> None:
        self._rt = record_type(model)
        lookups = fact_lookups(self._rt.name, via)
        self._items = tuple(lookups.items())
        self.columns = tuple(lookups.values())

    def __call__(self, row: dict[str, Any]) -> RecordFacts:
        values = {key: row[lookup] for key, lookup in self._items}
        values["kind"] = self._rt.kind_for(values["category"], values.get("kind"))
        return RecordFacts(record_type=self._rt.name, **values)


def facts_by_id(name: str, ids: Iterable[int]) -> dict[int, RecordFacts]:
    """``{id: facts}`` for rows of one registered type, read as plain values in one query."""
    rt = record_type(name)
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    reader = FactReader(rt.name)
    rows = rt.model._default_manager.filter(pk__in=wanted).values(*reader.columns)
    found = {}
    for row in rows:
        facts = reader(row)
        assert facts.record_id is not None
        found[facts.record_id] = facts
    return found
