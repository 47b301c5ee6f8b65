"""evidence.py — the records of the apps pathways build on, as evidence that completes a step: a completed
screening, a referral reaching a status, a shared decision-making record, a Plan of Safe Care agreed with her.
The apps that write those records call the ``*_recorded`` function here as part of the same write; enrolling a
family reads what already exists (``existing_evidence``). Only the enrolling organisation's own records count
(``services.evidence_recorded`` says why)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from kinfold import clock
from kinfold.access.viewer import Viewer
from kinfold.pathways.models import PathwayEnrolment, PlanOfSafeCare, PlanStatus, SharedDecisionRecord
from kinfold.pathways.services import Evidence, evidence_recorded

SHARED_DECISION_MAKING = "shared_decision_making"
PLAN_OF_SAFE_CARE = "plan_of_safe_care"


def _screening(response: Any) -> Evidence:
    return Evidence(
        type="screening",
        key=response.instrument,
        on=clock.local_date(response.completed_at),
        organization_id=response.created_by_org_id,
        record=f"ScreeningResponse:{response.pk}",
    )


def _referral(referral: Any) -> Evidence:
    at = referral.status_changed_at or referral.sent_at or clock.now()
    return Evidence(
        type="referral",
        key=referral.need,
        status=referral.status,
        on=clock.local_date(at),
        sent_on=clock.local_date(referral.sent_at) if referral.sent_at else None,
        organization_id=referral.created_by_org_id,
        record=f"Referral:{referral.pk}",
    )


def _meeting(record: SharedDecisionRecord) -> Evidence:
    return Evidence(
        type="meeting",
        key=SHARED_DECISION_MAKING,
        on=record.met_on,
        organization_id=record.created_by_org_id,
        record=f"SharedDecisionRecord:{record.pk}",
    )


def _plan(plan: PlanOfSafeCare) -> Evidence:
    return Evidence(
        type="document",
        key=PLAN_OF_SAFE_CARE,
        on=plan.agreed_on or clock.today(),
        organization_id=plan.created_by_org_id,
        record=f"PlanOfSafeCare:{plan.pk}",
    )


def screening_completed(viewer: Viewer | None, response: Any) -> None:
    evidence_recorded(viewer=viewer, family_id=response.family_id, evidence=_screening(response))


def referral_moved(viewer: Viewer | None, referral: Any) -> None:
    evidence_recorded(viewer=viewer, family_id=referral.family_id, evidence=_referral(referral))


def shared_decision_recorded(viewer: Viewer, record: SharedDecisionRecord) -> None:
    evidence_recorded(viewer=viewer, family_id=record.family_id, evidence=_meeting(record))


def plan_agreed(viewer: Viewer, plan: PlanOfSafeCare) -> None:
    evidence_recorded(viewer=viewer, family_id=plan.family_id, evidence=_plan(plan))


def existing_evidence(enrolment: PathwayEnrolment, *, since: date) -> Iterator[Evidence]:
    """The enrolling organisation's records of this family since ``since`` that may complete steps, oldest
    first."""
    from kinfold.referrals.models import Referral
    from kinfold.screening.models import ScreeningResponse, ScreeningStatus

    org_id = enrolment.created_by_org_id
    found: list[Evidence] = []
    for response in ScreeningResponse.objects.filter(
        family_id=enrolment.family_id, created_by_org_id=org_id, status=ScreeningStatus.COMPLETED
    ).exclude(completed_at=None):
        if clock.local_date(response.completed_at) >= since:
            found.append(_screening(response))
    for referral in Referral.objects.filter(family_id=enrolment.family_id, created_by_org_id=org_id).exclude(
        status="draft"
    ):
        evidence = _referral(referral)
        if evidence.on >= since:
            found.append(evidence)
    for record in SharedDecisionRecord.objects.filter(
        family_id=enrolment.family_id, created_by_org_id=org_id, met_on__gte=since
    ):
        found.append(_meeting(record))
    for plan in PlanOfSafeCare.objects.filter(
        family_id=enrolment.family_id, created_by_org_id=org_id, status__in=[PlanStatus.AGREED, PlanStatus.CLOSED]
    ):
        found.append(_plan(plan))
    yield from sorted(found, key=lambda e: e.on)
