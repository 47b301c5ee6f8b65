"""The parent's requests to restrict disclosures (42 CFR 2.26; 45 CFR 164.522): recorded by anyone who may
open her family, agreed or refused by the organisation asked (with a reason), and ended at her request (by
anyone who may see the request: her words, like a revocation) or by that organisation with a reason.

A request that names a Part 2 programme tells its reader that she is in treatment there: it, and its timeline
lines, are Part 2 records (``category_naming``).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError

from kinfold import clock
from kinfold.access.door import require, require_create
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, Purpose
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write
from kinfold.consent.models import Restriction, RestrictionStatus
from kinfold.families.models import Family, Sensitivity
from kinfold.families.timeline import category_naming, record_written
from kinfold.organizations.models import Membership, Organization

# What ending a restriction asks for, in the words the form also uses before its confirm step.
END_WHO_ASKED = "Say who asked to end it: she did, or the organisation."
END_REASON_REQUIRED = "Give the reason the organisation is ending it: she will be told."


def restriction_category(
    disclosing_org: Organization, recipient_org: Organization | None, recipient_person: Membership | None
) -> str:
    return category_naming(
        [disclosing_org, recipient_org, recipient_person.organization if recipient_person is not None else None]
    )


@atomic_write
def restriction_request(
    *,
    viewer: Viewer,
    family: Family,
    disclosing_org: Organization,
    recipient_org: Organization | None = None,
    recipient_person: Membership | None = None,
    categories: Sequence[str] = (),
    purposes: Sequence[str] = (),
    description: str = "",
    is_self_pay_to_health_plan: bool = False,
) -> Restriction:
    """Record the parent's request (2.26) that a disclosure be restricted."""
    category = restriction_category(disclosing_org, recipient_org, recipient_person)
    require_create(
        viewer,
        Restriction,
        family_id=family.pk,
        category=category,
        kind="consent_record",
        authored_category=Sensitivity.CONTACT,
        subject_org_id=disclosing_org.pk,
    )
    assert viewer.membership is not None
    if recipient_org is None and recipient_person is None:
        raise ValidationError({"recipient_org": "Choose whom the restriction is about."})
    if set(categories) - set(Sensitivity.values) or set(purposes) - set(Purpose.values):
        raise ValidationError("Unknown category or purpose.")
    now = clock.now()
    restriction = Restriction.objects.create(
        family=family,
        disclosing_org=disclosing_org,
        recipient_org=recipient_org,
        recipient_person=recipient_person,
        categories=sorted(categories),
        purposes=sorted(purposes),
        description=description.strip(),
        is_self_pay_to_health_plan=is_self_pay_to_health_plan,
        requested_at=now,
        created_by=viewer.user,
        created_by_org_id=viewer.membership.organization_id,
        sensitivity=category,
    )
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=restriction,
        action=Action.CREATE,
        verb="restriction_requested",
        summary=f"Recorded her request to restrict what {disclosing_org.name} shares",
        category=category,
        kind="consent_record",
        at=now,
    )
    return restriction


@atomic_write
def restriction_decide(*, viewer: Viewer, restriction: Restriction, agree: bool, reason: str = "") -> Restriction:
    """The disclosing organisation agrees or refuses, with a reason. Self-pay-to-health-plan must be agreed."""
    restriction = (
        Restriction.objects.select_for_update().select_related("family", "disclosing_org").get(pk=restriction.pk)
    )
    require(
        viewer,
        Interaction.CHANGE,
        restriction,
        message=f"Only staff of {restriction.disclosing_org.name}, the organisation she asked to share less, "
        "can decide.",
    )
    assert viewer.membership is not None
    if restriction.status != RestrictionStatus.REQUESTED:
        raise ValidationError("This request was already decided.")
    if not agree and restriction.is_self_pay_to_health_plan:
        raise ValidationError(
            "A request to keep from a health plan what she paid for herself must be agreed (45 CFR 164.522(a)(1)(vi))."
        )
    if not agree and not reason.strip():
        raise ValidationError({"reason": "Give the reason for refusing."})
    now = clock.now()
    restriction.status = RestrictionStatus.AGREED if agree else RestrictionStatus.REFUSED
    restriction.decided_at = now
    restriction.decided_by = viewer.membership
    restriction.decision_reason = reason.strip()
    restriction.version += 1
    restriction.save()
    record_written(
        viewer=viewer,
        family_id=restriction.family_id,
        record=restriction,
        action=Action.UPDATE,
        verb="restriction_decided",
        summary=f"{restriction.disclosing_org.name} {'agreed to' if agree else 'refused'} her request to restrict "
        "sharing",
        category=restriction.sensitivity,
        kind="consent_record",
        detail={"status": restriction.status},
        at=now,
    )
    return restriction


@atomic_write
def restriction_end(*, viewer: Viewer, restriction: Restriction, on_request_of: str, reason: str = "") -> Restriction:
    """End an agreed restriction (45 CFR 164.522(a)(2)), from the instant it is recorded.

    At her request (``"parent"``: she asked in writing, or agreed aloud and this records it), any staff
    member who may see the request records it, and her consents share again what it covered. By the
    disclosing organisation (``"organization"``), after telling her, only its own staff record it, with a
    reason; the end then reaches only what the organisation creates or receives from now on, and a self-pay
    restriction toward a health plan cannot be ended this way (164.522(a)(1)(vi))."""
    restriction = (
        Restriction.objects.select_for_update().select_related("family", "disclosing_org").get(pk=restriction.pk)
    )
    family = restriction.family
    by_organization = on_request_of == Restriction.EndRequestedBy.ORGANIZATION
    if on_request_of not in Restriction.EndRequestedBy.values:
        raise ValidationError({"on_request_of": END_WHO_ASKED})
    org_name = restriction.disclosing_org.name
    if by_organization:
        require(
            viewer,
            Interaction.CHANGE,
            restriction,
            message=f"Only staff of {org_name}, which agreed to the restriction, can end it on its side.",
        )
    else:
        require(viewer, Interaction.RETIRE, restriction)
    membership = viewer.membership
    assert membership is not None
    if restriction.status != RestrictionStatus.AGREED:
        if restriction.status == RestrictionStatus.ENDED:
            raise ValidationError("This restriction has already ended.")
        raise ValidationError("Only an agreed restriction can be ended; this request was not agreed.")
    if by_organization and restriction.is_self_pay_to_health_plan:
        raise ValidationError(
            "A restriction on telling a health plan about care she paid for herself cannot be ended by the "
            "organisation; only she can end it (45 CFR 164.522(a)(1)(vi))."
        )
    if by_organization and not reason.strip():
        raise ValidationError({"reason": END_REASON_REQUIRED})
    now = clock.now()
    restriction.status = RestrictionStatus.ENDED
    restriction.ended_at = now
    restriction.ended_by = membership
    restriction.ended_on_request_of = on_request_of
    restriction.end_reason = reason.strip()[:300]
    restriction.version += 1
    restriction.save(
        update_fields=["status", "ended_at", "ended_by", "ended_on_request_of", "end_reason", "version", "updated_at"]
    )
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=restriction,
        action=Action.UPDATE,
        verb="restriction_ended",
        summary=f"{org_name} ended the restriction on what it shares; records it made before stay restricted"
        if by_organization
        else f"Recorded that she ended her restriction on what {org_name} shares",
        category=restriction.sensitivity,
        kind="consent_record",
        detail={"status": restriction.status, "on_request_of": on_request_of},
        at=now,
    )
    return restriction
