"""Reads of consent, through the door: the family's consents (rule C: the parties a consent names and whoever
recorded it), court orders, restriction requests and the viewer's own emergency window; each fetch by id
(``access_directive``, ``access_court_order``, ``access_restriction``); and the family page's two consent
sections. A consent's status comes from the same windows the policy decides with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from kinfold import clock
from kinfold.access.door import Access, access_record
from kinfold.access.gate import RecordGate
from kinfold.access.registry import registered
from kinfold.access.rules import DirectiveStatus, may_open_family
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, version_kinds
from kinfold.consent.models import ConsentDirective, ConsentVersion, CourtOrder, EmergencyAccess, Restriction
from kinfold.consent.summaries import Parties, long_date, version_summary
from kinfold.families.models import Family, Sensitivity
from kinfold.families.sections import Notice, SectionContext
from kinfold.parentmode.services import may_hand_tablet
from kinfold.prepared import prepared_list


def _directives() -> QuerySet[ConsentDirective]:
    """Directives with all their versions, newest first, and who recorded each (a consent's own page)."""
    versions = ConsentVersion.objects.order_by("-number").prefetch_related(
        "discloser_orgs", "recipient_orgs", "recipient_people__user"
    )
    return ConsentDirective.objects.select_related("revocation_received_by__user", "created_by_org").prefetch_related(
        Prefetch("versions", queryset=versions.select_related("signer_person", "created_by", "created_by_org"))
    )


def family_consents(*, gate: RecordGate, family_id: int) -> list[ConsentDirective]:
    """The family's consent directives the viewer may see, newest first (their versions: ``consent_rows``)."""
    return gate.visible(prepared_list("consent.family", _family_directives, family_id), family_id=family_id)


def _family_directives(family_id: Any) -> QuerySet[ConsentDirective]:
    return ConsentDirective.objects.filter(family_id=family_id).order_by("-created_at", "-pk")


def _latest_versions(family_id: Any) -> QuerySet[ConsentVersion]:
    newer = ConsentVersion.objects.filter(directive_id=OuterRef("directive_id"), number__gt=OuterRef("number"))
    return ConsentVersion.objects.filter(directive__family_id=family_id).filter(~Exists(newer))


def _links(relation: str, party: str, *order: str) -> Callable[[Any], QuerySet[Any]]:
    """The query of one of a version's link tables for a family's versions, each link with its party (by name)."""
    through = getattr(ConsentVersion, relation).through

    def build(family_id: Any) -> QuerySet[Any]:
        links = through.objects.filter(consentversion__directive__family_id=family_id)
        return links.select_related(party).order_by(*order)

    return build


# (link table, its prepared query, the name a summary gives the party), in the order ``Parties`` lists them.
_PARTY_LINKS: tuple[tuple[str, Callable[[Any], QuerySet[Any]], Callable[[Any], str]], ...] = (
    (
        "discloser_orgs",
        _links("discloser_orgs", "organization", "organization__name", "organization_id"),
        lambda link: link.organization.name,
    ),
    (
        "recipient_people",
        _links(
            "recipient_people",
            "membership__user",
            "membership__user__last_name",
            "membership__user__first_name",
            "membership_id",
        ),
        lambda link: link.membership.display_name,
    ),
    (
        "recipient_orgs",
        _links("recipient_orgs", "organization", "organization__name", "organization_id"),
        lambda link: link.organization.name,
    ),
)


def latest_versions(family_id: int) -> dict[int, tuple[ConsentVersion, Parties]]:
    """Each of the family's consents' latest version, with the names of its parties, by directive: five
    statements whatever the number of consents (a list of her consents shows only the latest of each)."""
    versions = prepared_list("consent.latest versions", _latest_versions, family_id)
    if not versions:
        return {}
    names: list[dict[int, list[str]]] = []
    for relation, build, name in _PARTY_LINKS:
        by_version: dict[int, list[str]] = defaultdict(list)
        for link in prepared_list(f"consent.{relation} links", build, family_id):
            by_version[link.consentversion_id].append(name(link))
        names.append(by_version)
    disclosers, people, orgs = names
    return {
        v.directive_id: (v, Parties(tuple(disclosers[v.pk]), tuple(people[v.pk]), tuple(orgs[v.pk]))) for v in versions
    }


def access_directive(
    *,
    viewer: Viewer,
    family_id: int,
    directive_id: int,
    interaction: str = Interaction.READ,
    gate: RecordGate | None = None,
) -> Access[ConsentDirective]:
    directives = _directives().select_related("patient")  # its page names who gave it
    return access_record(viewer, directives, directive_id, family_id=family_id, interaction=interaction, gate=gate)


def family_court_orders(*, gate: RecordGate, family_id: int) -> list[CourtOrder]:
    return gate.visible(prepared_list("consent.court_orders", _court_orders, family_id), family_id=family_id)


def _court_orders(family_id: Any) -> QuerySet[CourtOrder]:
    return CourtOrder.objects.filter(family_id=family_id).select_related("court", "created_by_org")


@dataclass(frozen=True)
class NameableRecord:
    """A record a court order may name: ``key`` is "Type:id", ``words`` how a person recognises it."""

    key: str
    words: str
    part2: bool


ORDER_RECORDS_LENGTH = 200


def records_an_order_may_name(*, gate: RecordGate, viewer: Viewer, family_id: int) -> list[NameableRecord]:
    """Her records that an order recorded by the viewer may name one by one: her organisation's own rows, of
    the types that declared ``named_by_orders``, that the viewer may read (ruling 3: an order recorded by one
    organisation opens only that organisation's records). Newest first, at most ``ORDER_RECORDS_LENGTH``."""
    found: list[NameableRecord] = []
    for rt in registered():
        if not rt.named_by_orders:
            continue
        rows = list(
            rt.model._default_manager.filter(
                **{rt.family_path.replace(".", "__"): family_id, "created_by_org_id": viewer.organization_id}
            ).order_by("-pk")[:ORDER_RECORDS_LENGTH]
        )
        for row in gate.visible(rows, family_id=family_id):
            words = rt.describe(row) if rt.describe else str(row)
            found.append(NameableRecord(f"{rt.name}:{row.pk}", words, gate.is_part2(row)))
    return found


def access_court_order(
    *, viewer: Viewer, family_id: int, order_id: int, interaction: str = Interaction.READ
) -> Access[CourtOrder]:
    return access_record(
        viewer, CourtOrder.objects.select_related("court"), order_id, family_id=family_id, interaction=interaction
    )


def _restrictions() -> QuerySet[Restriction]:
    return Restriction.objects.select_related(
        "disclosing_org", "recipient_org", "recipient_person__user", "decided_by__user", "ended_by__user"
    )


def family_restrictions(*, gate: RecordGate, family_id: int) -> list[Restriction]:
    return gate.visible(prepared_list("consent.restrictions", _family_restrictions, family_id), family_id=family_id)


def _family_restrictions(family_id: Any) -> QuerySet[Restriction]:
    return _restrictions().filter(family_id=family_id)


def access_restriction(
    *, viewer: Viewer, family_id: int, restriction_id: int, interaction: str = Interaction.READ
) -> Access[Restriction]:
    restrictions = _restrictions().select_related("family__parent")  # its pages are the family's
    return access_record(viewer, restrictions, restriction_id, family_id=family_id, interaction=interaction)


def active_emergency(*, viewer: Viewer, family_id: int) -> EmergencyAccess | None:
    """The viewer's own break-the-glass window on this family, if one is open now."""
    if viewer.user_id is None:
        return None
    return (
        EmergencyAccess.objects.filter(family_id=family_id, user_id=viewer.user_id, expires_at__gt=clock.now())
        .order_by("-expires_at")
        .first()
    )


# --- a consent's status, in words ----------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    key: str  # in_force, pending, incomplete, expired, ended, revoked
    text: str

    @property
    def is_active(self) -> bool:
        return self.key == "in_force"


def _day(at: datetime) -> str:
    return long_date(clock.local_date(at), "en")


def status_words(status: DirectiveStatus, latest: ConsentVersion | None = None) -> Status:
    """The status the policy decides with, in plain words for staff."""
    if status.key == "revoked" and status.since is not None:
        return Status("revoked", f"Revoked on {_day(status.since)}")
    if status.key == "in_force":
        text = "In force" if status.version_number is None else f"In force (version {status.version_number})"
        if status.next_version_number is not None and status.next_starts is not None:
            text += f"; version {status.next_version_number} from {_day(status.next_starts)}"
        return Status("in_force", text)
    if status.key == "pending" and status.until is not None:
        return Status("pending", f"Not yet in force: from {_day(status.until)}")
    if status.key == "incomplete":
        missing = ", ".join(status.missing)
        return Status("incomplete", f"Covers nothing: version {status.version_number} lacks {missing}")
    if status.key == "ended" and status.since is not None:
        event = f": {latest.expiry_event}" if latest is not None and latest.expiry_event else ""
        return Status("ended", f"Ended on {_day(status.since)}{event}")
    if status.since is not None:
        return Status("expired", f"Expired on {_day(status.since)}")
    return Status(status.key, "Not in force")


@dataclass
class ConsentRow:
    directive: ConsentDirective
    latest: ConsentVersion
    status: Status
    summary: str
    kinds: list[str]  # what the latest version covers: exactly what its summary sentence names


def consent_rows(*, gate: RecordGate, directives: list[ConsentDirective]) -> list[ConsentRow]:
    """Each consent (already through the door) with its latest version, status and summary sentence."""
    rows = []
    latest: dict[int, tuple[ConsentVersion, Parties]] = {}
    for family_id in sorted({d.family_id for d in directives}):
        latest |= latest_versions(family_id)
    for directive in directives:
        if directive.pk not in latest:
            continue
        version, parties = latest[directive.pk]
        status = gate.directive_status(family_id=directive.family_id, directive_id=directive.pk)
        rows.append(
            ConsentRow(
                directive=directive,
                latest=version,
                status=status_words(status, version),
                summary=version_summary(version, language="en", parties=parties),
                kinds=version_kinds(version.kinds, version.categories),
            )
        )
    return rows


# --- the family page's consent sections -----------------------------------------------------------------


def consents_section(context: SectionContext) -> dict[str, Any]:
    """Her consents the viewer may see, and whether she may record one with her."""
    gate = context.gate
    family_id = context.family.pk
    directives = family_consents(gate=gate, family_id=family_id)
    return {
        "rows": consent_rows(gate=gate, directives=directives),
        "may_record": gate.may_create(ConsentDirective, family_id=family_id, category=Sensitivity.CONTACT),
        "may_hand_tablet": may_hand_tablet(context.viewer, family_id, gate=gate),
    }


def access_section(context: SectionContext) -> dict[str, Any]:
    """Court orders, her restriction requests and the viewer's emergency window, with what she may do."""
    gate = context.gate
    viewer = context.viewer
    family_id = context.family.pk
    restrictions = family_restrictions(gate=gate, family_id=family_id)
    orders = family_court_orders(gate=gate, family_id=family_id)
    return {
        "court_orders": orders,
        "orders_needing_findings": {
            o.pk for o in orders if not o.has_part2_findings and gate.may(Interaction.CHANGE, o)
        },
        "restrictions": restrictions,
        "decidable": {r.pk for r in restrictions if r.status == "requested" and gate.may(Interaction.CHANGE, r)},
        "endable": {r.pk for r in restrictions if r.status == "agreed" and gate.may(Interaction.RETIRE, r)},
        "emergency": gate.open_emergency(family_id),  # read with the page's facts: no query of its own
        "is_clinician": viewer.is_clinician,
        # A privacy officer records the court orders that open her organisation's records.
        "may_record_order": gate.may_create(CourtOrder, family_id=family_id, category=Sensitivity.LEGAL),
        "may_record_restriction": gate.opens_family(family_id),
    }


def export_consents(data: dict[str, Any], notice: Notice) -> dict[str, Any]:
    return {
        "consents": [
            {
                "id": row.directive.pk,
                "title": row.directive.title,
                "summary": row.summary,
                "kinds": row.kinds,
                "status": row.status.text,
                "revoked_at": row.directive.revoked_at,
                **notice(row.directive),
            }
            for row in data["rows"]
        ]
    }


def export_access(data: dict[str, Any], notice: Notice) -> dict[str, Any]:
    return {
        "court_orders": [
            {
                "id": o.pk,
                "order_reference": o.order_reference,
                "court": o.court.name,
                "recorded_by": o.created_by_org.name,
                "categories": o.categories,
                "valid_from": o.valid_from,
                "valid_until": o.valid_until,
                "has_part2_findings": o.has_part2_findings,
                **notice(o),
            }
            for o in data["court_orders"]
        ],
        "restrictions": [
            {
                "id": r.pk,
                "status": r.status,
                "disclosing_organization": r.disclosing_org.name,
                "categories": r.categories,
                "purposes": r.purposes,
                "description": r.description,
                **notice(r),
            }
            for r in data["restrictions"]
        ],
    }


def emergency_family(*, viewer: Viewer, family_id: int) -> tuple[Family | None, bool]:
    """The family a clinician declares an emergency for, and whether she may open it already.

    Break-the-glass is for a family she cannot open yet, so a clinician learns that the family exists
    (the declaration itself is audited and told to the privacy officers); anyone else learns nothing, and
    the parent's name is shown only to a viewer who may already see it."""
    family = Family.objects.filter(pk=family_id).select_related("parent").first()
    if family is None:
        return None, False
    return family, may_open_family(viewer, family.pk)
