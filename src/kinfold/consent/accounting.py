"""The accounting of disclosures (42 CFR 2.24 and 2.25; 45 CFR 164.528): who received what, when, and
under which consent, court order or emergency, for the last three years, in plain words.

It reads the ``Disclosure`` rows the door writes when it shows records to someone outside the creating
organisation, and the revocations of the family's consents. Who sees which entry is the door's rule
(``access.rules.reads_disclosure``): the accounting is hers; a privacy officer sees her own organisation's
disclosures; any other staff member an entry only where she may read every record it names. It never
changes anything.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kinfold import clock
from kinfold.access.gate import RecordGate
from kinfold.access.registry import RecordFacts, declared, facts_by_id
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import default_kind, kind_of
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.consent.models import ConsentVersion, Disclosure
from kinfold.consent.selectors import family_consents, family_court_orders
from kinfold.consent.summaries import CLASS_WORDS, PURPOSE_WORDS, kinds_words
from kinfold.families.models import Family
from kinfold.families.selectors import open_family

ACCOUNTING_YEARS = 3


def accounting_starts(now: datetime) -> datetime:
    """Three years back, inclusive: an access exactly three years ago is listed."""
    local = now.astimezone(clock.zone())
    try:
        start = local.replace(year=local.year - ACCOUNTING_YEARS)
    except ValueError:  # 29 February
        start = local.replace(year=local.year - ACCOUNTING_YEARS, day=28)
    return start


@dataclass
class AccountingEntry:
    day: date
    recipient_name: str
    recipient_org: str
    disclosing_orgs: list[str]
    categories: list[str]
    kinds: list[str]
    purpose: str
    basis: str
    made_before_revocation: bool
    times: int
    records: int

    @property
    def sentence(self) -> str:
        info = kinds_words(self.kinds, "en")
        sources = " and ".join(self.disclosing_orgs)
        text = (
            f"{self.recipient_name} at {self.recipient_org} saw {info} from {sources}, "
            f"for {PURPOSE_WORDS['en'].get(self.purpose, self.purpose)}, because of {self.basis}."
        )
        if self.made_before_revocation:
            text += " This was before you took that consent back; taking it back does not undo it."
        return text


@dataclass
class RevocationEntry:
    at: datetime
    title: str
    method: str

    @property
    def sentence(self) -> str:
        return (
            f"You took back (revoked) “{self.title}” ({self.method}). From that moment nobody can see "
            "anything more under it. What was shared before stays listed here."
        )


@dataclass
class Accounting:
    family: Family
    starts: datetime
    ends: datetime
    entries: list[AccountingEntry] = field(default_factory=list)
    revocations: list[RevocationEntry] = field(default_factory=list)
    general_designation_recipients: list[tuple[str, list[str]]] = field(default_factory=list)


def _named_records(rows: list[Disclosure]) -> dict[tuple[str, int], RecordFacts]:
    """The facts of every record the rows name, read through the registry (one query per record type)."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        for item in row.records:
            if declared(str(item.get("type"))) is not None and isinstance(item.get("id"), int):
                wanted[item["type"]].add(item["id"])
    return {(name, pk): facts for name, ids in wanted.items() for pk, facts in facts_by_id(name, ids).items()}


def visible_disclosures(gate: RecordGate, rows: list[Disclosure]) -> list[Disclosure]:
    """The entries the viewer may see (the door's rule)."""
    named = _named_records(rows)
    visible = []
    for row in rows:
        facts = [named.get((str(item.get("type")), item.get("id"))) for item in row.records]
        records = [f for f in facts if f is not None]
        if len(records) == len(facts) and gate.reads_disclosure(
            disclosing_org_id=row.disclosing_org_id, records=records
        ):
            visible.append(row)
    return visible


def entry_kind(item: dict[str, Any]) -> str:
    """The kind of a record an entry names; an entry written before kinds existed names its category's default."""
    kind = str(item.get("kind") or "")
    return kind if kind_of(kind) is not None else default_kind(str(item.get("category")))


@dataclass(frozen=True)
class _Seen:
    """Which consents and court orders the viewer may see: an entry names only those."""

    directive_ids: set[int]
    order_ids: set[int]


def _basis(row: Disclosure, versions: dict[int, ConsentVersion], seen: _Seen) -> str:
    if row.consent_version_id is not None:
        version = versions[row.consent_version_id]
        if version.directive_id not in seen.directive_ids:
            return "her consent"
        title = version.directive.title or "your consent"
        return f"{title} (signed {clock.local_date(version.signed_at):%-d %B %Y}, version {version.number})"
    if row.court_order_id is not None:
        if row.court_order is None or row.court_order_id not in seen.order_ids:
            return "a court order"
        return f"court order {row.court_order.order_reference}"
    if row.emergency_id is not None:
        return "a medical emergency declared by a clinician"
    return "a rule of the law"


def accounting_for(*, viewer: Viewer, family_id: int, now: datetime | None = None) -> Accounting:
    """The entries of her accounting the viewer may see (404 when she may not open the family)."""
    family, gate = open_family(viewer=viewer, family_id=family_id)
    now = now or clock.now()
    starts = accounting_starts(now)
    rows = visible_disclosures(
        gate,
        list(
            Disclosure.objects.filter(family_id=family_id, occurred_at__gte=starts, occurred_at__lte=now)
            .select_related("recipient_org", "disclosing_org", "court_order")
            .order_by("occurred_at", "pk")
        ),
    )
    directives = family_consents(gate=gate, family_id=family_id)
    seen = _Seen(
        directive_ids={d.pk for d in directives},
        order_ids={o.pk for o in family_court_orders(gate=gate, family_id=family_id)},
    )
    version_ids = {r.consent_version_id for r in rows if r.consent_version_id}
    versions = {
        v.pk: v
        for v in ConsentVersion.objects.filter(pk__in=version_ids)
        .select_related("directive")
        .prefetch_related("recipient_orgs")
    }
    groups: dict[tuple[date, int | None, int, str, str], list[Disclosure]] = defaultdict(list)
    for row in rows:
        key = (
            clock.local_date(row.occurred_at),
            row.recipient_user_id,
            row.recipient_org_id,
            row.purpose,
            _basis(row, versions, seen),
        )
        groups[key].append(row)
    accounting = Accounting(family=family, starts=starts, ends=now)
    for (day, _user, _org, purpose, basis), items in groups.items():
        # "Before you took that consent back" only about a consent the viewer may see.
        revoked = [
            versions[i.consent_version_id].directive.revoked_at
            for i in items
            if i.consent_version_id
            and versions[i.consent_version_id].directive_id in seen.directive_ids
            and versions[i.consent_version_id].directive.revoked_at
        ]
        accounting.entries.append(
            AccountingEntry(
                day=day,
                recipient_name=items[0].recipient_name,
                recipient_org=items[0].recipient_org.name,
                disclosing_orgs=sorted({i.disclosing_org.name for i in items}),
                categories=sorted({c for i in items for c in i.categories}),
                kinds=sorted({entry_kind(r) for i in items for r in i.records}),
                purpose=purpose,
                basis=basis,
                made_before_revocation=bool(revoked),
                times=len(items),
                records=sum(len(i.records) for i in items),
            )
        )
    accounting.entries.sort(key=lambda e: (e.day, e.recipient_name), reverse=True)
    revocations = [d for d in directives if d.revoked_at and d.revoked_at >= starts]
    for directive in sorted(revocations, key=lambda d: d.revoked_at or now, reverse=True):
        assert directive.revoked_at is not None
        accounting.revocations.append(
            RevocationEntry(
                # In the deployment's time zone, so a CSV's ``at.date()`` is her calendar day, not UTC's.
                at=directive.revoked_at.astimezone(clock.zone()),
                title=directive.title or "a consent",
                method=directive.get_revocation_method_display().lower(),
            )
        )
    # 42 CFR 2.24: for a consent naming a general designation, the recipients it actually reached.
    general = defaultdict(set)
    for row in rows:
        version = versions.get(row.consent_version_id or 0)
        if version is not None and version.recipient_classes and version.directive_id in seen.directive_ids:
            label = ", ".join(CLASS_WORDS["en"].get(c, c) for c in version.recipient_classes)
            general[f"{version.directive.title or 'Consent'} — “{label}”"].add(
                f"{row.recipient_name} ({row.recipient_org.name})"
            )
    accounting.general_designation_recipients = sorted((k, sorted(v)) for k, v in general.items())
    gate.record_disclosures(channel="page")  # the court orders it names are shown
    record_event(
        actor=viewer.user,
        action=Action.VIEW,
        record_type="Accounting",
        family_id=family_id,
        detail={"entries": len(accounting.entries)},
    )
    return accounting
