"""Court orders (42 CFR 2.64/2.65; rule 3a): recorded by a privacy officer of an organisation whose records
the order names, never by staff of the court it authorises — nobody records her own grant — and opening only
that organisation's records (CONSENT-RULES ruling 3: an order naming several programmes is recorded by each).
An order without both findings of 2.64(d) is recorded and opens the non-Part 2 records it names; its Part 2
records stay closed until the findings are recorded (``court_order_findings_record``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError

from kinfold import clock
from kinfold.access.door import require, require_create
from kinfold.access.gate import RecordGate
from kinfold.access.registry import facts_by_id
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, kind_of
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write
from kinfold.consent.models import CourtOrder
from kinfold.consent.selectors import records_an_order_may_name
from kinfold.families.models import Family, Sensitivity
from kinfold.families.timeline import record_written
from kinfold.organizations.models import Membership, Organization, OrganizationType

ONLY_PRIVACY_OFFICERS = (
    "A court order is recorded by a privacy officer of the organisation whose records it names, never by the "
    "court's own staff."
)


@atomic_write
def court_order_record(
    *,
    viewer: Viewer,
    family: Family,
    court: Organization,
    order_reference: str,
    issued_on: date,
    categories: list[str],
    valid_from: datetime,
    valid_until: datetime,
    finding_other_means_unavailable: bool,
    finding_public_interest_outweighs_harm: bool,
    judge_name: str = "",
    named_person: Membership | None = None,
    records: list[str] | None = None,
    kinds: list[str] | None = None,
) -> CourtOrder:
    """Record an order that opens the records of the viewer's organisation to ``court``: the categories it
    names, the records it names one by one (``"Note:12"``), or both; ``kinds`` only where it names a kind that
    needs naming explicitly (SUD counselling notes, ruling 2)."""
    require_create(
        viewer,
        CourtOrder,
        family_id=family.pk,
        category=Sensitivity.LEGAL,
        subject_org_id=court.pk,
        message=ONLY_PRIVACY_OFFICERS,
    )
    assert viewer.membership is not None
    errors: dict[str, str] = {}
    if court.type != OrganizationType.COURT:
        errors["court"] = "Choose a court."
    if not order_reference.strip():
        errors["order_reference"] = "Enter the order's reference number."
    records = list(records or [])
    kinds = list(kinds or [])
    if set(categories) - set(Sensitivity.values) or any(kind_of(k) is None for k in kinds):
        errors["categories"] = "One of the kinds of records is not known."
    elif not categories and not records and not kinds:
        errors["categories"] = "Choose what the order covers: kinds of records, particular records, or both."
    named = _named_records(viewer=viewer, family=family, keys=records)
    if named is None:
        errors["records"] = (
            "The order can name only records of this family that your organisation made and you may read. "
            "Another organisation's privacy officer records it for theirs."
        )
    if valid_until <= valid_from:
        errors["valid_until"] = "The end of the period must be after its start."
    if named_person is not None and named_person.organization_id != court.pk:
        errors["named_person"] = f"{named_person.display_name} does not work at {court.name}: choose the court's staff."
    if errors:
        raise ValidationError(errors)
    order = CourtOrder.objects.create(
        family=family,
        court=court,
        named_person=named_person,
        order_reference=order_reference.strip(),
        issued_on=issued_on,
        judge_name=judge_name.strip(),
        categories=sorted(categories),
        kinds=sorted(kinds),
        records=named or [],
        valid_from=valid_from,
        valid_until=valid_until,
        finding_other_means_unavailable=finding_other_means_unavailable,
        finding_public_interest_outweighs_harm=finding_public_interest_outweighs_harm,
        created_by=viewer.user,
        created_by_org_id=viewer.membership.organization_id,
        sensitivity=Sensitivity.LEGAL,
    )
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=order,
        action=Action.CREATE,
        verb="court_order_recorded",
        summary=f"Recorded court order {order.order_reference} for {court.name}",
        # Like the order itself: a contact-only consent does not reveal it.
        category=Sensitivity.LEGAL,
        kind="court_order",
    )
    return order


def _named_records(*, viewer: Viewer, family: Family, keys: list[str]) -> list[dict[str, Any]] | None:
    """The records an order names, as stored (type, id and how a person recognises it); ``None`` when any key
    is not one of this family's records of the viewer's organisation that she may read (ruling 3)."""
    if not keys:
        return []
    gate = RecordGate.open(viewer, [family.pk])
    nameable = {r.key: r for r in records_an_order_may_name(gate=gate, viewer=viewer, family_id=family.pk)}
    if any(key not in nameable for key in keys):
        return None
    named = []
    for key in dict.fromkeys(keys):
        type_name, _, pk = key.partition(":")
        named.append({"type": type_name, "id": int(pk), "label": nameable[key].words[:200]})
    return named


def part2_waiting(order: CourtOrder) -> bool:
    """Whether the order names Part 2 records that stay closed until both findings are recorded."""
    if order.has_part2_findings:
        return False
    if Sensitivity.SUD_TREATMENT in order.categories or order.kinds:
        return True
    organization_part2 = order.created_by_org.is_part2_program
    return organization_part2 or any(
        facts.category == Sensitivity.SUD_TREATMENT
        for item in order.records
        for facts in facts_by_id(str(item["type"]), [int(item["id"])]).values()
    )


@atomic_write
def court_order_findings_record(*, viewer: Viewer, order: CourtOrder) -> CourtOrder:
    """The court has made both findings of 42 CFR 2.64(d): from now on the order opens the Part 2 records it
    names. Recorded by the organisation that recorded the order."""
    order = CourtOrder.objects.select_for_update().select_related("court").get(pk=order.pk)
    require(viewer, Interaction.CHANGE, order)
    if order.has_part2_findings:
        raise ValidationError("Both findings are already recorded for this order.")
    CourtOrder.objects.filter(pk=order.pk).update(
        finding_other_means_unavailable=True,
        finding_public_interest_outweighs_harm=True,
        version=order.version + 1,
        updated_at=clock.now(),
    )
    order.refresh_from_db()
    record_written(
        viewer=viewer,
        family_id=order.family_id,
        record=order,
        action=Action.UPDATE,
        verb="court_order_findings",
        summary=f"Recorded both 42 CFR 2.64(d) findings of court order {order.order_reference}",
        category=Sensitivity.LEGAL,
        kind="court_order",
    )
    return order
