"""services.py — following a pathway: enrol a family (its steps created with due dates from the pathway file the
family is enrolled in), move due dates when an anchor changes (a corrected due date, an early delivery, a
corrected report date) and say so on the timeline, complete a step, mark it not applicable with a reason, reassign
it or undo either, end an enrolment, record child-welfare dates, and let the records that complete steps
(a screening, a referral reaching a status, a shared decision-making record, a Plan of Safe Care) complete them.

A record completes a step only when it was made by the organisation that enrolled the family: a step is that
organisation's record, and its "done, by a screening on 3 December" must not tell them of a screening another
organisation made and she has not shared. Anyone else ticks the step done, having seen what the door lets her.

Every write asks the door and is audited; each is one transaction; a change made on a version someone else has
changed since is refused.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from kinfold import clock, text_limits
from kinfold.access.door import require, require_create
from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, category_of_kind, role_access
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write, record_event
from kinfold.families.models import CareTeamMember, Family, PregnancyEpisode
from kinfold.families.services import ConcurrentEditError
from kinfold.families.timeline import record_written
from kinfold.organizations.models import Membership, Role, role_words
from kinfold.pathways import definitions
from kinfold.pathways.definitions import Pathway, Step
from kinfold.pathways.models import (
    ChildWelfareEvent,
    ChildWelfareEventType,
    EnrolmentStatus,
    PathwayEnrolment,
    PathwayStep,
    PlanOfSafeCare,
    PlanStatus,
    SharedDecisionRecord,
    StepStatus,
)

# A step may be recorded done up to a year before the family joined the pathway (a screen at intake last month);
# a record made up to a month before enrolment completes its step at enrolment.
_LOOKBACK = timedelta(days=366)
EVIDENCE_LOOKBACK = timedelta(days=30)

# What the referral statuses mean for a step that waits on one: reaching a status counts for every earlier one.
REFERRAL_PROGRESS = definitions.REFERRAL_PROGRESS

logger = logging.getLogger(__name__)


# --- the pathway a family is on -------------------------------------------------------------------------------


def pathway_of(enrolment: PathwayEnrolment) -> Pathway:
    """The pathway as the family was enrolled in it (the snapshot kept with the enrolment)."""
    cached = getattr(enrolment, "_pathway", None)
    if cached is None:
        cached = definitions.Pathway.from_json(enrolment.definition)
        enrolment._pathway = cached  # type: ignore[attr-defined]
    return cached


def attach_pathways(enrolments: Iterable[PathwayEnrolment]) -> None:
    """Give each enrolment its pathway, parsed once per (key, version) and read in one statement (a list of steps
    of many families reads their enrolments without the snapshot)."""
    missing = {(e.pathway_key, e.pathway_version) for e in enrolments if getattr(e, "_pathway", None) is None}
    parsed: dict[tuple[str, int], Pathway] = {}
    for key, version in missing:
        snapshot = (
            PathwayEnrolment.objects.filter(pathway_key=key, pathway_version=version)
            .values_list("definition", flat=True)
            .first()
        )
        if snapshot is not None:
            parsed[(key, version)] = definitions.Pathway.from_json(snapshot)
    for enrolment in enrolments:
        found = parsed.get((enrolment.pathway_key, enrolment.pathway_version))
        if found is not None:
            enrolment._pathway = found  # type: ignore[attr-defined]


def offered_to(organization: Any) -> list[Pathway]:
    """The newest version of each pathway an organisation may enrol a family in: of its type, and, for a county's
    copy, in that county (where a county's copy of a pathway exists, its organisations are offered the copy
    instead of the original)."""
    region = (getattr(organization, "region", "") or "").strip().lower()
    newest: dict[str, Pathway] = {}
    for pathway in definitions.catalogue().values():
        if organization.type not in pathway.enrolled_by or not pathway.kind_for(organization.type):
            continue
        if pathway.county and pathway.county.strip().lower() != region:
            continue
        if pathway.key not in newest or pathway.version > newest[pathway.key].version:
            newest[pathway.key] = pathway
    replaced = {p.adapts_ref[0] for p in newest.values() if p.adapts_ref is not None and p.county}
    return sorted((p for p in newest.values() if p.key not in replaced), key=lambda p: p.title.en)


def _family_of_pathways(pathway: Pathway) -> set[str]:
    """A pathway's key with the key it adapts (a county's copy and its original count as one for caps)."""
    keys = {pathway.key}
    if pathway.adapts_ref is not None:
        keys.add(pathway.adapts_ref[0])
    return keys


def _county_of(family: Family) -> str:
    parent = getattr(family, "parent", None)
    return (getattr(parent, "county", "") or "").strip()


def anchors_for(enrolment: PathwayEnrolment, steps: Iterable[PathwayStep] | None = None) -> dict[str, date | None]:
    """The days an enrolment's due dates count from. Kinfold reads them to compute due dates; the steps show only
    their own due dates, never the records the anchors come from."""
    family_id = enrolment.family_id
    anchors: dict[str, date | None] = dict.fromkeys(definitions.ANCHORS)
    anchors["enrolment"] = enrolment.enrolled_on
    for event, on in (
        ChildWelfareEvent.objects.filter(family_id=family_id)
        .order_by("occurred_on")
        .values_list("event", "occurred_on")
    ):
        anchors[event] = on  # the latest of each
    pregnancy = (
        PregnancyEpisode.objects.filter(family_id=family_id)
        .order_by("-estimated_due_on", "-pk")
        .values_list("estimated_due_on", "delivered_on")
        .first()
    )
    if pregnancy is not None:
        anchors["estimated_due_date"], anchors["delivery"] = pregnancy
    plan = (
        PlanOfSafeCare.objects.filter(family_id=family_id)
        .order_by("-identified_on", "-pk")
        .values_list("discharged_on", "expected_discharge_on")
        .first()
    )
    if plan is not None:
        anchors["discharge"] = plan[0] or plan[1]
    rows = list(steps) if steps is not None else list(enrolment.steps.all())
    for row in rows:
        if row.occurrence == 1:
            anchors[f"step:{row.step_key}"] = row.done_on if row.status == StepStatus.DONE else None
    return anchors


def _assignee_for(step: Step, enrolment: PathwayEnrolment, team: list[CareTeamMember]) -> int | None:
    """Who is responsible for a step at enrolment: the START pair for their roles, else the care-team member
    with the step's role (the coordinator first), else no one yet."""
    if step.role == Role.CPS_CASEWORKER and enrolment.caseworker_id:
        return enrolment.caseworker_id
    if step.role == Role.FAMILY_MENTOR and enrolment.mentor_id:
        return enrolment.mentor_id
    holders = sorted((m for m in team if m.role == step.role), key=lambda m: (not m.is_coordinator, m.pk))
    if holders:
        return holders[0].membership_id
    if enrolment.created_by_id is not None:
        maker = Membership.objects.filter(user_id=enrolment.created_by_id, role=step.role).first()
        if maker is not None:
            return maker.pk
    return None


# --- enrolling ------------------------------------------------------------------------------------------------


@atomic_write
def enrol(
    *,
    viewer: Viewer,
    family: Family,
    pathway_key: str,
    enrolled_on: date | None = None,
    caseworker: Membership | None = None,
    mentor: Membership | None = None,
    gate: RecordGate | None = None,
) -> PathwayEnrolment:
    """Enrol the family in the newest version of ``pathway_key``, in the viewer's organisation's name; each step
    gets its due dates (or waits for its anchor), its responsible person, and is done at once if a record of
    this organisation already completes it."""
    assert viewer.membership is not None
    organization = viewer.membership.organization
    try:
        pathway = definitions.latest(pathway_key)
    except KeyError:
        raise ValidationError({"pathway": "Choose one of the pathways listed."}) from None
    offered = any(p.key == pathway.key for p in offered_to(organization))
    kind = pathway.kind_for(organization.type) if offered else None
    if kind is None:
        raise ValidationError({"pathway": f"Your organisation does not enrol families in {pathway.title.en}."})
    enrolled_on = enrolled_on or clock.today()
    if enrolled_on > clock.today():
        raise ValidationError({"enrolled_on": "The enrolment date cannot be in the future."})
    for name, person in (("caseworker", caseworker), ("mentor", mentor)):
        if person is not None and (person.organization_id is None or not person.is_active):
            raise ValidationError({name: "Choose someone who works here now."})
    _check_pair_cap(pathway, caseworker, mentor)
    category = category_of_kind(kind)
    require_create(viewer, PathwayEnrolment, family_id=family.pk, category=category, gate=gate, kind=kind)
    on_it = PathwayEnrolment.objects.filter(
        family=family, pathway_key__in=_family_of_pathways(pathway), status=EnrolmentStatus.ACTIVE
    )
    if on_it.exists():
        raise ValidationError({"pathway": f"This family is already on {pathway.title.en}."})
    enrolment = PathwayEnrolment.objects.create(
        family=family,
        pathway_key=pathway.key,
        pathway_version=pathway.version,
        title=pathway.title.en,
        definition=pathway.as_json(),
        kind=kind,
        sensitivity=category,
        enrolled_on=enrolled_on,
        caseworker=caseworker,
        mentor=mentor,
        created_by=viewer.user,
        created_by_org=organization,
    )
    team = list(CareTeamMember.objects.active().filter(care_team__family_id=family.pk))
    steps = []
    for position, step in enumerate(definitions.order(pathway)):
        steps.append(
            PathwayStep(
                family=family,
                enrolment=enrolment,
                step_key=step.key,
                occurrence=1,
                position=position,
                title=step.title.en,
                role=step.role,
                completed_by=step.completed_by.type,
                kind=kind,
                sensitivity=category,
                assignee_id=_assignee_for(step, enrolment, team),
                created_by=viewer.user,
                created_by_org=organization,
            )
        )
    PathwayStep.objects.bulk_create(steps)
    _reschedule(enrolment, pathway)
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=enrolment,
        action=Action.CREATE,
        verb="pathway_enrolled",
        summary=f"Enrolled in {pathway.title.en}",
        category=category,
        kind=kind,
    )
    _match_existing_evidence(enrolment, viewer)
    return enrolment


def _check_pair_cap(pathway: Pathway, caseworker: Membership | None, mentor: Membership | None) -> None:
    cap = pathway.pair_cap
    if cap is None or caseworker is None or mentor is None:
        return
    held = PathwayEnrolment.objects.filter(
        pathway_key__in=_family_of_pathways(pathway),
        status=EnrolmentStatus.ACTIVE,
        caseworker=caseworker,
        mentor=mentor,
    ).count()
    if held >= cap:
        raise ValidationError(
            {"mentor": f"This caseworker and mentor already work with {held} families, the pair's cap of {cap}."}
        )


def pair_caseloads(organization_id: int, pathway_key: str) -> dict[tuple[int, int], int]:
    """How many active families each caseworker and mentor pair of an organisation holds on a pathway."""
    counts: dict[tuple[int, int], int] = {}
    for caseworker_id, mentor_id in PathwayEnrolment.objects.filter(
        created_by_org_id=organization_id,
        pathway_key=pathway_key,
        status=EnrolmentStatus.ACTIVE,
        caseworker__isnull=False,
        mentor__isnull=False,
    ).values_list("caseworker_id", "mentor_id"):
        counts[(caseworker_id, mentor_id)] = counts.get((caseworker_id, mentor_id), 0) + 1
    return counts


# --- due dates ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moved:
    title: str
    before: date | None
    after: date | None


def _reschedule(enrolment: PathwayEnrolment, pathway: Pathway | None = None) -> list[Moved]:
    """Bring the due dates of an enrolment's open steps in line with its anchors: a repeating step gets a row
    for each occurrence (open occurrences beyond its new end are removed; done ones are kept). Step anchors
    are resolved in the pathway's order, so a step counted from another sees that one's completion. What moved."""
    pathway = pathway or pathway_of(enrolment)
    county = _county_of(enrolment.family)
    rows = list(PathwayStep.objects.select_for_update().filter(enrolment=enrolment).order_by("position", "occurrence"))
    by_step: dict[str, list[PathwayStep]] = {}
    for row in rows:
        by_step.setdefault(row.step_key, []).append(row)
    anchors = anchors_for(enrolment, rows)
    moved: list[Moved] = []
    for step in definitions.order(pathway):
        existing = by_step.get(step.key, [])
        if not existing:
            continue
        dates = definitions.due_dates(step, anchors, county=county)
        wanted: list[date | None] = list(dates) if dates else [None]
        first = existing[0]
        for index, due in enumerate(wanted, start=1):
            found = next((r for r in existing if r.occurrence == index), None)
            if found is None:
                PathwayStep.objects.create(
                    family_id=enrolment.family_id,
                    enrolment=enrolment,
                    step_key=step.key,
                    occurrence=index,
                    position=first.position,
                    title=first.title,
                    role=first.role,
                    completed_by=first.completed_by,
                    kind=first.kind,
                    sensitivity=first.sensitivity,
                    assignee_id=first.assignee_id,
                    due_on=due,
                    created_by_id=first.created_by_id,
                    created_by_org_id=first.created_by_org_id,
                )
            elif found.due_on != due and found.status == StepStatus.OPEN:
                if found.due_on is not None:
                    moved.append(Moved(str(found), found.due_on, due))
                PathwayStep.objects.filter(pk=found.pk).update(
                    due_on=due, version=found.version + 1, overdue_notice_on=None, escalated_on=None
                )
        extra = [r.pk for r in existing if r.occurrence > len(wanted) and r.status == StepStatus.OPEN]
        if extra:
            PathwayStep.objects.filter(pk__in=extra).delete()
        if existing[0].occurrence == 1:
            done = PathwayStep.objects.filter(pk=existing[0].pk).values_list("status", "done_on").first()
            anchors[f"step:{step.key}"] = done[1] if done and done[0] == StepStatus.DONE else None
    return moved


def reschedule_family(*, viewer: Viewer | None, family_id: int, why: str) -> int:
    """After an anchor changed (a due date corrected, a delivery, a discharge, a child-welfare date): move the
    due dates of every active enrolment of the family, and put one line on the timeline for each enrolment whose
    dates moved, filed as the enrolment is, when the change was made by the enrolling organisation's staff (else
    an audit event only). How many steps moved."""
    total = 0
    with transaction.atomic():
        for enrolment in PathwayEnrolment.objects.select_related("family__parent").filter(
            family_id=family_id, status=EnrolmentStatus.ACTIVE
        ):
            moved = _reschedule(enrolment)
            if not moved:
                continue
            total += len(moved)
            detail = {
                "why": why,
                "moved": [
                    {"step": m.title, "from": m.before.isoformat() if m.before else None, "to": _iso(m.after)}
                    for m in moved
                ],
            }
            summary = f"{len(moved)} due date{'s' if len(moved) != 1 else ''} on {enrolment.title} moved: {why}"
            # The line is the enrolling organisation's record: only its own staff's change writes one (anyone else's
            # would file the enrolment's kind under her organisation, for her colleagues to read by rule 1).
            if viewer is not None and viewer.organization_id == enrolment.created_by_org_id:
                record_written(
                    viewer=viewer,
                    family_id=family_id,
                    record=enrolment,
                    action=Action.UPDATE,
                    verb="pathway_rescheduled",
                    summary=summary[:200],
                    category=enrolment.sensitivity,
                    kind=enrolment.kind,
                    detail=detail,
                )
            else:
                record_event(
                    actor=viewer.user if viewer is not None else None,
                    action=Action.UPDATE,
                    record_type="PathwayEnrolment",
                    record_id=enrolment.pk,
                    family_id=family_id,
                    detail=detail,
                )
    return total


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- the states of a step -------------------------------------------------------------------------------------


class StepState:
    WAITING = "waiting"
    UPCOMING = "upcoming"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    NOT_APPLICABLE = "not_applicable"


STATE_WORDS = {
    StepState.WAITING: "Waiting for a date",
    StepState.UPCOMING: "Upcoming",
    StepState.DUE_SOON: "Due soon",
    StepState.OVERDUE: "Overdue",
    StepState.DONE_ON_TIME: "Done on time",
    StepState.DONE_LATE: "Done late",
    StepState.NOT_APPLICABLE: "Not applicable",
}


def step_state(step: PathwayStep, *, today: date, due_soon_days: int) -> str:
    """Where a step stands on ``today``: due today is due soon, not overdue; done the day after it was due is
    late; a step with no due date yet waits for its anchor."""
    if step.status == StepStatus.NOT_APPLICABLE:
        return StepState.NOT_APPLICABLE
    if step.status == StepStatus.DONE:
        if step.due_on is None or step.done_on is None or step.done_on <= step.due_on:
            return StepState.DONE_ON_TIME
        return StepState.DONE_LATE
    if step.due_on is None:
        return StepState.WAITING
    if step.due_on < today:
        return StepState.OVERDUE
    if (step.due_on - today).days <= due_soon_days:
        return StepState.DUE_SOON
    return StepState.UPCOMING


# --- doing a step ---------------------------------------------------------------------------------------------


def _locked_step(step_id: int) -> PathwayStep:
    return (
        PathwayStep.objects.select_for_update(of=("self",))
        .select_related("enrolment", "family__parent", "created_by_org")
        .get(pk=step_id)
    )


def _changeable_step(viewer: Viewer, step_id: int, expected_version: int) -> PathwayStep:
    """The step, locked, if the door lets her change it, nobody changed it since she read it, and its pathway is
    still active."""
    step = _locked_step(step_id)
    require(viewer, Interaction.CHANGE, step, message="You cannot change this step.")
    _check_version(step, expected_version)
    if not step.enrolment.is_active:
        raise ValidationError("This pathway has ended; its steps can no longer change.")
    return step


def _check_version(step: PathwayStep, expected_version: int) -> None:
    if step.version != expected_version:
        raise ConcurrentEditError(
            "Someone else changed this step while you were looking at it. Nothing was saved: look at it again "
            "and then decide."
        )


def _step_line(viewer: Viewer, step: PathwayStep, verb: str, summary: str, detail: dict[str, Any]) -> None:
    record_written(
        viewer=viewer,
        family_id=step.family_id,
        record=step,
        action=Action.UPDATE,
        verb=verb,
        summary=summary[:200],
        category=step.sensitivity,
        kind=step.kind,
        detail=detail,
    )


def _clean_note(note: str) -> str:
    note = note.strip()
    problem = text_limits.STEP_NOTE.problem(note)
    if problem:
        raise ValidationError({"note": problem})
    return note


@atomic_write
def complete_step(*, viewer: Viewer, step_id: int, done_on: date, note: str, expected_version: int) -> PathwayStep:
    step = _changeable_step(viewer, step_id, expected_version)
    if step.status != StepStatus.OPEN:
        raise ValidationError("This step is already closed. Undo that first if it was a mistake.")
    if done_on > clock.today():
        raise ValidationError({"done_on": "The day it was done cannot be in the future."})
    if done_on < step.enrolment.enrolled_on - _LOOKBACK:
        raise ValidationError({"done_on": "That day is long before the family joined this pathway."})
    _waiting_on(step)
    step.status = StepStatus.DONE
    step.done_on = done_on
    step.done_by = viewer.user
    step.note = _clean_note(note)
    step.version += 1
    step.save()
    _step_line(viewer, step, "pathway_step_done", f"Done: {step}", {"done_on": done_on.isoformat()})
    _reschedule(step.enrolment)
    return step


def _waiting_on(step: PathwayStep) -> None:
    """A step that must wait for others (``after``) cannot be done before them."""
    pathway = pathway_of(step.enrolment)
    after = pathway.step(step.step_key).after
    if not after:
        return
    open_before = list(
        PathwayStep.objects.filter(enrolment_id=step.enrolment_id, step_key__in=after, status=StepStatus.OPEN)
        .order_by("position")
        .values_list("title", flat=True)
        .distinct()
    )
    if open_before:
        raise ValidationError(f"Do this first: {'; '.join(open_before)}.")


@atomic_write
def mark_not_applicable(*, viewer: Viewer, step_id: int, reason: str, expected_version: int) -> PathwayStep:
    step = _changeable_step(viewer, step_id, expected_version)
    if step.status != StepStatus.OPEN:
        raise ValidationError("This step is already closed. Undo that first if it was a mistake.")
    reason = _clean_note(reason)
    if not reason:
        raise ValidationError({"note": "Say why this step does not apply to this family."})
    step.status = StepStatus.NOT_APPLICABLE
    step.note = reason
    step.done_by = viewer.user
    step.done_on = clock.today()
    step.version += 1
    step.save()
    _step_line(viewer, step, "pathway_step_not_applicable", f"Not applicable: {step}", {"reason": reason})
    _reschedule(step.enrolment)
    return step


@atomic_write
def reopen_step(*, viewer: Viewer, step_id: int, expected_version: int) -> PathwayStep:
    """Undo "done" or "not applicable" (a mistake): the step is open again, its due date as the pathway says."""
    step = _changeable_step(viewer, step_id, expected_version)
    if step.status == StepStatus.OPEN:
        raise ValidationError("This step is already open.")
    was = StepStatus(step.status).label.lower()
    step.status = StepStatus.OPEN
    step.done_on = None
    step.done_by = None
    step.evidence = ""
    step.overdue_notice_on = None  # open again: told again if it is (still) overdue
    step.escalated_on = None
    step.version += 1
    step.save()
    _step_line(viewer, step, "pathway_step_reopened", f"Opened again (was {was}): {step}", {"was": was})
    _reschedule(step.enrolment)
    return step


@atomic_write
def reassign_step(
    *, viewer: Viewer, step_id: int, assignee: Membership | None, expected_version: int, all_occurrences: bool = True
) -> PathwayStep:
    """Make someone else responsible (for every open occurrence of a repeating step, unless told otherwise)."""
    step = _locked_step(step_id)
    require(viewer, Interaction.CHANGE, step, message="You cannot change this step.")
    _check_version(step, expected_version)
    if assignee is not None and not assignee.is_active:
        raise ValidationError({"assignee": "Choose someone who works here now."})
    if assignee is not None and not _on_team_or_maker(step, assignee):
        raise ValidationError(
            {"assignee": "Choose someone on this family's care team or at the organisation that enrolled her."}
        )
    rows = PathwayStep.objects.filter(pk=step.pk)
    if all_occurrences:
        rows = (
            PathwayStep.objects.filter(enrolment_id=step.enrolment_id, step_key=step.step_key, status=StepStatus.OPEN)
            | rows
        )
    for row in rows.select_for_update():
        row.assignee = assignee
        row.overdue_notice_on = None  # the new person is told of it, once
        row.version += 1
        row.save(update_fields=["assignee", "overdue_notice_on", "version", "updated_at"])
    step.refresh_from_db()
    who = _person_words(assignee)
    _step_line(
        viewer, step, "pathway_step_reassigned", f"{step} is now {who}'s", {"to": assignee.pk if assignee else None}
    )
    return step


def _on_team_or_maker(step: PathwayStep, membership: Membership) -> bool:
    if membership.organization_id == step.created_by_org_id:
        return True
    return CareTeamMember.objects.active().filter(care_team__family_id=step.family_id, membership=membership).exists()


def _person_words(membership: Membership | None) -> str:
    if membership is None:
        return "no one"
    name = membership.user.get_full_name() or membership.user.get_username()
    return f"{name} ({role_words(membership.role)})"


@atomic_write
def end_enrolment(*, viewer: Viewer, enrolment_id: int, reason: str, expected_version: int) -> PathwayEnrolment:
    enrolment = PathwayEnrolment.objects.select_for_update().get(pk=enrolment_id)
    require(viewer, Interaction.CHANGE, enrolment, message="You cannot change this pathway.")
    if enrolment.version != expected_version:
        raise ConcurrentEditError("Someone else changed this pathway while you were looking at it. Nothing was saved.")
    if not enrolment.is_active:
        raise ValidationError("This pathway has already ended.")
    reason = _clean_note(reason)
    if not reason:
        raise ValidationError({"note": "Say why the family is leaving this pathway."})
    enrolment.status = EnrolmentStatus.ENDED
    enrolment.ended_on = clock.today()
    enrolment.end_reason = reason[:300]
    enrolment.version += 1
    enrolment.save()
    record_written(
        viewer=viewer,
        family_id=enrolment.family_id,
        record=enrolment,
        action=Action.UPDATE,
        verb="pathway_ended",
        summary=f"{enrolment.title} ended",
        category=enrolment.sensitivity,
        kind=enrolment.kind,
        detail={"reason": reason},
    )
    return enrolment


# --- child-welfare dates --------------------------------------------------------------------------------------


@atomic_write
def record_child_welfare_event(
    *, viewer: Viewer, family: Family, event: str, occurred_on: date, note: str = "", gate: RecordGate | None = None
) -> ChildWelfareEvent:
    """A date in the family's child-welfare involvement, recorded by the child-welfare agency; the due dates
    that count from it move."""
    assert viewer.membership is not None
    organization = viewer.membership.organization
    if organization.type != "child_welfare":
        raise ValidationError("Only the child-welfare agency records the dates of its case.")
    if event not in ChildWelfareEventType.values:
        raise ValidationError({"event": "Choose what happened."})
    if occurred_on > clock.today():
        raise ValidationError({"occurred_on": "The day cannot be in the future."})
    note = note.strip()
    if len(note) > 300:
        raise ValidationError({"note": f"Keep the note to 300 characters or fewer; it has {len(note):,}."})
    kind = "child_welfare_case"
    category = category_of_kind(kind)
    require_create(viewer, ChildWelfareEvent, family_id=family.pk, category=category, gate=gate, kind=kind)
    record = ChildWelfareEvent.objects.create(
        family=family,
        event=event,
        occurred_on=occurred_on,
        note=note,
        kind=kind,
        sensitivity=category,
        created_by=viewer.user,
        created_by_org=organization,
    )
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=record,
        action=Action.CREATE,
        verb="child_welfare_event",
        summary=f"{record.get_event_display()}: {occurred_on:%-d %b %Y}",
        category=category,
        kind=kind,
    )
    reschedule_family(viewer=viewer, family_id=family.pk, why=f"{record.get_event_display().lower()} recorded")
    return record


@atomic_write
def correct_child_welfare_event(
    *, viewer: Viewer, event_id: int, occurred_on: date, expected_version: int
) -> ChildWelfareEvent:
    record = ChildWelfareEvent.objects.select_for_update().get(pk=event_id)
    require(viewer, Interaction.CHANGE, record, message="You cannot change this date.")
    if record.version != expected_version:
        raise ConcurrentEditError("Someone else changed this date while you were looking at it. Nothing was saved.")
    if occurred_on > clock.today():
        raise ValidationError({"occurred_on": "The day cannot be in the future."})
    before = record.occurred_on
    if before == occurred_on:
        return record
    record.occurred_on = occurred_on
    record.version += 1
    record.save()
    record_written(
        viewer=viewer,
        family_id=record.family_id,
        record=record,
        action=Action.UPDATE,
        verb="child_welfare_event_corrected",
        summary=f"{record.get_event_display()} corrected: {before:%-d %b %Y} → {occurred_on:%-d %b %Y}",
        category=record.sensitivity,
        kind=record.kind,
    )
    reschedule_family(viewer=viewer, family_id=record.family_id, why=f"{record.get_event_display().lower()} corrected")
    return record


# --- records that complete steps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """A record that may complete a step: ``type`` as in a pathway file's ``completed_by`` (screening, referral,
    document, meeting), ``key`` (the instrument, the referral's need, the document or meeting), the referral's
    status, the day, the organisation that made it, and which record it is ("ScreeningResponse:12")."""

    type: str
    key: str
    on: date
    organization_id: int
    record: str
    status: str = ""
    sent_on: date | None = None  # a referral's day of sending (what a step waiting for it to be sent counts)

    def day_for(self, step: Step) -> date:
        if self.type == "referral" and self.sent_on and (step.completed_by.status or "requested") == "requested":
            return self.sent_on
        return self.on


def _matches(step: Step, evidence: Evidence) -> bool:
    done_by = step.completed_by
    if done_by.type != evidence.type:
        return False
    if evidence.type == "screening":
        return evidence.key in (done_by.instruments or ())
    if evidence.type == "referral":
        if evidence.key not in (done_by.needs or ()) or evidence.status not in REFERRAL_PROGRESS:
            return False
        wanted = done_by.status or "requested"
        return REFERRAL_PROGRESS.index(evidence.status) >= REFERRAL_PROGRESS.index(wanted)
    if evidence.type == "document":
        return evidence.key == done_by.document
    if evidence.type == "meeting":
        return evidence.key == done_by.meeting
    return False


def evidence_recorded(*, viewer: Viewer | None, family_id: int, evidence: Evidence) -> list[PathwayStep]:
    """Complete the first open occurrence of each step a record completes, on the family's active enrolments by
    the organisation that made the record (only its own records complete its steps). The steps completed."""
    done: list[PathwayStep] = []
    enrolments = PathwayEnrolment.objects.select_related("family__parent").filter(
        family_id=family_id, status=EnrolmentStatus.ACTIVE, created_by_org_id=evidence.organization_id
    )
    for enrolment in enrolments:
        pathway = pathway_of(enrolment)
        matching = [s for s in pathway.steps if _matches(s, evidence)]
        changed = False
        for step in matching:
            day = evidence.day_for(step)
            row = (
                PathwayStep.objects.select_for_update()
                .filter(enrolment=enrolment, step_key=step.key, status=StepStatus.OPEN)
                .order_by("occurrence")
                .first()
            )
            if row is None or day < enrolment.enrolled_on - EVIDENCE_LOOKBACK:
                continue
            row.status = StepStatus.DONE
            row.done_on = day
            row.done_by = viewer.user if viewer is not None else None
            row.evidence = evidence.record[:80]
            row.version += 1
            row.save()
            record_event(
                actor=viewer.user if viewer is not None else None,
                action=Action.UPDATE,
                record_type="PathwayStep",
                record_id=row.pk,
                family_id=family_id,
                detail={"done_by_record": evidence.record, "done_on": day.isoformat()},
            )
            done.append(row)
            changed = True
        if changed:
            _reschedule(enrolment, pathway)
    return done


def _match_existing_evidence(enrolment: PathwayEnrolment, viewer: Viewer) -> None:
    """At enrolment: the organisation's own records made since shortly before (a screen at intake the same week)
    complete their steps."""
    for evidence in existing_evidence(enrolment, since=enrolment.enrolled_on - EVIDENCE_LOOKBACK):
        evidence_recorded(viewer=viewer, family_id=enrolment.family_id, evidence=evidence)


def fidelity_days(enrolment: PathwayEnrolment, steps: Iterable[PathwayStep] | None = None) -> int | None:
    """START's fidelity figure: days from the CPS report to the fifth treatment session (None until both are
    known)."""
    rows = list(steps) if steps is not None else list(enrolment.steps.all())
    fifth = next(
        (r for r in rows if r.step_key == "fifth_treatment_session" and r.status == StepStatus.DONE and r.done_on),
        None,
    )
    if fifth is None or fifth.done_on is None:
        return None
    report = anchors_for(enrolment, rows).get("cps_report")
    if report is None:
        return None
    return (fifth.done_on - report).days


# --- shared decision-making -----------------------------------------------------------------------------------

# A shared decision-making record is filed as what it reveals at the organisation that made it: at a Part 2
# programme, her treatment plan; at the child-welfare agency, its case; elsewhere, her care pathway.
DECISION_KINDS = {
    "sud_treatment": "treatment_plan",
    "opioid_treatment": "treatment_plan",
    "child_welfare": "child_welfare_case",
}


def decision_kind(organization_type: str) -> str:
    return DECISION_KINDS.get(organization_type, "care_pathway")


@atomic_write
def record_shared_decision(
    *,
    viewer: Viewer,
    family: Family,
    met_on: date,
    topics: Mapping[str, Mapping[str, Any]],
    goals: str = "",
    who_took_part: str = "",
    gate: RecordGate | None = None,
) -> SharedDecisionRecord:
    """The record of a shared decision-making conversation; it completes the pathway step that waits for one (on
    the organisation's own enrolments)."""
    from kinfold.pathways.models import DecisionTopic

    assert viewer.membership is not None
    organization = viewer.membership.organization
    if met_on > clock.today():
        raise ValidationError({"met_on": "The day cannot be in the future."})
    clean: dict[str, dict[str, Any]] = {}
    for topic in DecisionTopic.values:
        entry = topics.get(topic, {})
        words = {part: str(entry.get(part, "") or "").strip() for part in ("questions", "preferences", "decision")}
        for part, text in words.items():
            problem = text_limits.DECISION_WORDS.problem(text)
            if problem:
                raise ValidationError({f"{topic}__{part}": problem})
        clean[topic] = {"discussed": bool(entry.get("discussed")), **words}
    unknown = set(topics) - set(DecisionTopic.values)
    if unknown:
        raise ValidationError(f"Unknown topics: {', '.join(sorted(unknown))}.")
    if not any(t["discussed"] for t in clean.values()):
        raise ValidationError("Tick at least one topic you talked about.")
    goals = _clean_note(goals)
    who_took_part = who_took_part.strip()[:300]
    kind = decision_kind(organization.type)
    category = category_of_kind(kind)
    require_create(viewer, SharedDecisionRecord, family_id=family.pk, category=category, gate=gate, kind=kind)
    record = SharedDecisionRecord.objects.create(
        family=family,
        met_on=met_on,
        who_took_part=who_took_part,
        topics=clean,
        goals=goals,
        kind=kind,
        sensitivity=category,
        created_by=viewer.user,
        created_by_org=organization,
    )
    discussed = sum(1 for t in clean.values() if t["discussed"])
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=record,
        action=Action.CREATE,
        verb="shared_decision_recorded",
        summary=f"Shared decision-making conversation recorded ({discussed} topic{'s' if discussed != 1 else ''})",
        category=category,
        kind=kind,
    )
    shared_decision_recorded(viewer, record)
    return record


# --- the records of the apps pathways builds on, as evidence --------------------------------------------------
# The apps that write them call the ``*_recorded`` / ``*_completed`` function here as part of the same write;
# enrolling a family reads what already exists (``existing_evidence``).

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


# --- the daily reminders --------------------------------------------------------------------------------------
# Tell each responsible person, once, of her steps that became overdue, and, after a grace period
# (``KINFOLD_PATHWAY_GRACE_DAYS``), the supervisors of the organisation that enrolled the family (its CPS
# supervisors and programme leads), once. One email per person per run, however many steps; it names no family,
# person, programme or step (an email leaves Kinfold) and links to "My steps", whose page asks the door. Each
# step's notice is claimed by a conditional update under a row lock that a second run skips, so running the job
# twice, or twice at once, tells each person once. ``tasks.py`` runs it daily.

_CHUNK = 2000
SUPERVISING_ROLES = (Role.CPS_SUPERVISOR, Role.PROGRAMME_LEAD)


@dataclass
class Reminders:
    told: dict[int, list[int]] = field(default_factory=dict)  # membership id -> step ids (overdue notices)
    escalated: dict[int, list[int]] = field(default_factory=dict)  # supervisor membership id -> step ids

    @property
    def people(self) -> int:
        return len(self.told) + len(self.escalated)


def grace_days() -> int:
    return int(getattr(settings, "KINFOLD_PATHWAY_GRACE_DAYS", 3))


Row = tuple[int, int | None, int]  # step id, assignee (membership) id, enrolling organisation id


def _claim(rows: Sequence[Row], field_name: str, today: date) -> list[Row]:
    """Mark ``field_name`` = today on the rows still unmarked; those this run marked."""
    claimed: list[Row] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        ids = [r[0] for r in chunk]
        locked = set(
            PathwayStep.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, **{f"{field_name}__isnull": True})
            .order_by()
            .values_list("pk", flat=True)
        )
        if not locked:
            continue
        PathwayStep.objects.filter(pk__in=locked, **{f"{field_name}__isnull": True}).update(**{field_name: today})
        claimed.extend(r for r in chunk if r[0] in locked)
    return claimed


def remind_due_steps(*, today: date | None = None) -> Reminders:
    """The daily reminders (see the module's docstring). Who was told of what."""
    today = today or clock.today()
    out = Reminders()
    open_steps = PathwayStep.objects.filter(status=StepStatus.OPEN, enrolment__status=EnrolmentStatus.ACTIVE)
    with transaction.atomic():
        overdue = list(
            open_steps.filter(due_on__lt=today, overdue_notice_on__isnull=True, assignee__isnull=False)
            .order_by("pk")
            .values_list("pk", "assignee_id", "created_by_org_id")
        )
        by_person: dict[int, list[int]] = defaultdict(list)
        for step_id, assignee_id, _org in _claim(overdue, "overdue_notice_on", today):
            assert assignee_id is not None
            by_person[assignee_id].append(step_id)
        late = list(
            open_steps.filter(due_on__lt=today - timedelta(days=grace_days()), escalated_on__isnull=True)
            .order_by("pk")
            .values_list("pk", "assignee_id", "created_by_org_id")
        )
        claimed = [step_id for step_id, _assignee, _org in _claim(late, "escalated_on", today)]
        supervisors = _supervisors_of(claimed)
        out.told = dict(by_person)
        out.escalated = dict(supervisors)
        for membership_id, step_ids in [*by_person.items(), *supervisors.items()]:
            record_event(
                actor=None,
                action=Action.UPDATE,
                record_type="PathwayStep",
                detail={
                    "reminder": "overdue" if membership_id in by_person else "escalated",
                    "membership_id": membership_id,
                    "step_ids": step_ids[:1000],
                    "steps": len(step_ids),
                },
            )
        emails = _emails(by_person, supervisors)
        transaction.on_commit(lambda: _send(emails))
    return out


def _supervisors_of(step_ids: list[int]) -> dict[int, list[int]]:
    """Who hears of steps overdue past the grace period: the enrolling organisation's CPS supervisors and
    programme leads whose role may read the step's category; where none may, the family's designated
    coordinator, if hers may. Membership id -> step ids."""
    out: dict[int, list[int]] = defaultdict(list)
    if not step_ids:
        return out
    rows: list[tuple[int, int, str, int]] = []
    for start in range(0, len(step_ids), _CHUNK):
        rows += PathwayStep.objects.filter(pk__in=step_ids[start : start + _CHUNK]).values_list(
            "pk", "created_by_org_id", "sensitivity", "family_id"
        )
    candidates: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for membership_id, org_id, role in Membership.objects.filter(
        organization_id__in={org for _, org, _, _ in rows},
        role__in=SUPERVISING_ROLES,
        is_active=True,
        user__is_active=True,
    ).values_list("pk", "organization_id", "role"):
        candidates[org_id].append((membership_id, role))
    orphans: list[tuple[int, str, int]] = []
    for step_id, org_id, category, family_id in rows:
        readers = [m for m, role in candidates.get(org_id, []) if _role_reads(role, category)]
        for membership_id in readers:
            out[membership_id].append(step_id)
        if not readers:
            orphans.append((step_id, category, family_id))
    if orphans:
        coordinators: dict[int, tuple[int, str]] = {}
        for family_id, membership_id, role in (
            CareTeamMember.objects.active()
            .filter(care_team__family_id__in={f for _, _, f in orphans}, is_coordinator=True)
            .values_list("care_team__family_id", "membership_id", "membership__role")
        ):
            coordinators[family_id] = (membership_id, role)
        for step_id, category, family_id in orphans:
            found = coordinators.get(family_id)
            if found is not None and _role_reads(found[1], category):
                out[found[0]].append(step_id)
    return out


def _role_reads(role: str, category: str) -> bool:
    access = role_access(role)
    return access is not None and category in access.categories


def _emails(by_person: dict[int, list[int]], supervisors: dict[int, list[int]]) -> list[tuple[str, str, str]]:
    addresses = dict(Membership.objects.filter(pk__in=[*by_person, *supervisors]).values_list("pk", "user__email"))
    url = f"{settings.KINFOLD_SITE_URL}/pathways/steps/"
    out = []
    for membership_id, step_ids in by_person.items():
        n = len(step_ids)
        subject = f"Kinfold: {n} step{'s' if n != 1 else ''} on your caseload {'are' if n != 1 else 'is'} overdue"
        body = (
            f"{n} pathway step{'s' if n != 1 else ''} you are responsible for passed {'their' if n != 1 else 'its'} "
            f"due date.\n\nSee them in Kinfold: {url}\n\nThis email names no family on purpose."
        )
        if addresses.get(membership_id):
            out.append((addresses[membership_id], subject, body))
    for membership_id, step_ids in supervisors.items():
        n = len(step_ids)
        subject = f"Kinfold: {n} step{'s' if n != 1 else ''} overdue for more than {grace_days()} days"
        body = (
            f"{n} pathway step{'s' if n != 1 else ''} of your organisation {'have' if n != 1 else 'has'} been overdue "
            f"for more than {grace_days()} days.\n\nSee your organisation's steps in Kinfold: {url}?scope=organization"
            "\n\nThis email names no family on purpose."
        )
        if addresses.get(membership_id):
            out.append((addresses[membership_id], subject, body))
    return out


def _send(emails: list[tuple[str, str, str]]) -> None:
    """One connection for the run's emails; a failed one is logged and the rest still go (the step's notice stays
    claimed: My steps shows it)."""
    if not emails:
        return
    try:
        connection = get_connection()
        connection.open()
    except Exception:
        logger.exception("pathway reminders: cannot reach the mail server")
        return
    try:
        for address, subject, body in emails:
            try:
                connection.send_messages([EmailMessage(subject, body, None, [address], connection=connection)])
            except Exception:
                logger.exception("pathway reminder email to a staff member failed")
    finally:
        connection.close()
