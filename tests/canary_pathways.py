"""The canary's pathways (issue 14): what ``tests/test_canary.py`` adds to each generated world for the pathways app,
and how it fills, posts to and judges the pathway and Plan of Safe Care routes.

Each generated world (``WorldSpec.pathways``) gets, through the services (so the door refuses what it should while
the world is made):

- a CPS report date recorded by the CPS agency's caseworker (a ``ChildWelfareEvent``; its note carries a marker);
- the family enrolled in START by the caseworker (her organisation's ``PathwayEnrolment`` and ``PathwayStep`` rows;
  no family mentor in the world, so the START pair is the caseworker alone), and the child's screen ticked done
  with a note that carries a marker, by the caseworker or a team member the door lets change it;
- a shared decision-making record (its goals and one topic's decision carry markers) by a staff member who may make
  one (filed by her organisation's type: a Part 2 programme's is her treatment plan, a Part 2 record);
- a Plan of Safe Care started by the obstetric clinic's clinician, for her infant when the door lets the clinician
  see the infant, with a need for the baby (linked to a referral when she may read one) whose words carry a marker;
  perhaps agreed with her (a need for the parent too, with its marker) and then closed (the closing note's marker
  is the plan's own);
- and a shared decision-making record the outsider makes with the decoy family (a marker nobody else may see).

An enrolment and a step without a note have no words of their own (the pathway's title and step titles are the
same for every family on it, the START pair's names are directory data, and their dates are Kinfold's
arithmetic, shared with other records' dates): like the family and its care team they carry no marker; what
reading them reveals is judged through the step whose note carries one (the same organisation's record, of the
same kind) and through the parent's name each page shows. A plan that is not closed has no words either: its
needs carry its markers.

The dates are chosen apart from the dates that are markers (a pregnancy's due date: 30 days ago for the delivered
one, 100 to 190 days on for an ongoing one), so no pathway date is mistaken for one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from unittest import mock

from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import strategies as st

from kinfold import clock
from kinfold.access.vocabulary import Interaction, category_of_kind
from kinfold.families import services as family_services
from kinfold.families.models import CareTeamMember, FamilyRelationship, RelationshipCategory
from kinfold.pathways import definitions
from kinfold.pathways import services as pathway_services
from kinfold.pathways.models import (
    PLAN_OF_SAFE_CARE_KIND,
    ChildWelfareEvent,
    PathwayEnrolment,
    PathwayStep,
    PlanNeed,
    PlanOfSafeCare,
    SharedDecisionRecord,
    StepStatus,
)
from kinfold.pathways.safecare import pdf as safecare_pdf
from kinfold.pathways.safecare import services as safecare

if TYPE_CHECKING:
    from kinfold.access.viewer import Viewer
    from tests.test_canary import Plan, World

# Days before today (the world's "now") of the pathway records' dates: none is 30 days ago (the delivered
# pregnancy's due date, a marker) nor in the future.
REPORT_DAYS = 12  # the CPS report
ENROLLED_DAYS = 10  # START enrolment
STEP_DONE_DAYS = 5  # the child's screen
MET_DAYS = 7  # the shared decision-making conversation
IDENTIFIED_DAYS = 20  # the infant identified: the day of the delivery (written 20 days ago)
NOTIFIED_DAYS = 19
AGREED_DAYS = 17
DISCHARGE_DAYS = 16  # expected discharge


def _ago(days: int) -> date:
    return clock.today() - timedelta(days=days)


@dataclass(frozen=True)
class PathwaySpec:
    join: bool  # the caseworker and the OB clinician join her team first (if not on it), as their programmes would
    step_by: str  # who ticks the child's screen done (the caseworker if the door refuses her)
    decision_by: str  # who records the shared decision-making conversation (the next who may, if refused)
    plan_fate: str  # draft, agreed, closed


@st.composite
def pathway_specs(draw: Any) -> PathwaySpec:
    return PathwaySpec(
        join=draw(st.integers(0, 3)) > 0,
        step_by=draw(st.sampled_from(["cps", "cps", "coord", "court", "ob"])),
        decision_by=draw(st.sampled_from(["coord", "counsellor", "cps", "ob"])),
        plan_fate=draw(st.sampled_from(["draft", "agreed", "closed"])),
    )


# --- the world's pathway records ---------------------------------------------------------------------------------


def _on_team(w: World, key: str) -> bool:
    return (
        CareTeamMember.objects.active().filter(care_team__family=w.family, membership=w.staff[key]).exists()
        if key in w.staff
        else False
    )


def _join(w: World, key: str) -> None:
    if key not in w.staff or _on_team(w, key):
        return
    membership = w.staff[key]
    w.act(
        "coord",
        f"add {key} to the team (pathways)",
        lambda v: family_services.care_team_member_add(
            viewer=v, family=w.family, membership=membership, role=membership.role
        ),
        others=False,
    )


def build_pathways(w: World, new_marker: Callable[[], str]) -> None:
    """The world's pathway records (see the module's docstring), each marked where it has words."""
    decoy_decision(w, new_marker)
    spec = w.spec.pathways
    if spec is None:
        return
    if spec.join:
        _join(w, "cps")
    report = new_marker()
    event = w.act(
        "cps",
        "record the CPS report date",
        lambda v: pathway_services.record_child_welfare_event(
            viewer=v, family=w.family, event="cps_report", occurred_on=_ago(REPORT_DAYS), note=f"Reported {report}"
        ),
        others=["cps"],
    )
    if event is not None:
        w.mark(report, event, "the CPS report date (its note)")
    enrolment = w.act(
        "cps",
        "enrol her in START",
        lambda v: pathway_services.enrol(
            viewer=v, family=w.family, pathway_key="start", enrolled_on=_ago(ENROLLED_DAYS), caseworker=w.staff["cps"]
        ),
        others=["cps"],
    )
    if enrolment is not None:
        complete_a_step(w, enrolment, spec.step_by, new_marker)
    shared_decision(w, spec.decision_by, new_marker)
    if spec.join:
        _join(w, "ob")
    plan_of_safe_care(w, spec.plan_fate, new_marker)


def complete_a_step(w: World, enrolment: PathwayEnrolment, by: str, new_marker: Callable[[], str]) -> None:
    step = PathwayStep.objects.get(enrolment=enrolment, step_key="trauma_screen_child", occurrence=1)
    marker = new_marker()

    def done(v: Viewer) -> PathwayStep:
        return pathway_services.complete_step(
            viewer=v,
            step_id=step.pk,
            done_on=_ago(STEP_DONE_DAYS),
            note=f"Screened with the ASQ:SE-2 {marker}",
            expected_version=PathwayStep.objects.get(pk=step.pk).version,
        )

    completed = w.act(by, "tick a START step done", done, others=["cps"])
    if completed is not None:
        w.mark(marker, completed, f"START step {completed.pk} ({completed.title}; its note)")


def _decision(v: Viewer, family: Any, goals: str, decision: str) -> SharedDecisionRecord:
    return pathway_services.record_shared_decision(
        viewer=v,
        family=family,
        met_on=_ago(MET_DAYS),
        topics={
            "moud": {"discussed": True, "questions": "Will my baby need care?", "decision": f"I choose {decision}"},
            "child_welfare": {"discussed": True},
        },
        goals=f"Keep my baby home {goals}",
        who_took_part="She and her team",
    )


def shared_decision(w: World, by: str, new_marker: Callable[[], str]) -> None:
    goals, decision = new_marker(), new_marker()
    record = w.act(
        by, "record a shared decision-making conversation", lambda v: _decision(v, w.family, goals, decision)
    )
    if record is not None:
        w.mark(
            (goals, decision),
            record,
            f"shared decision-making record {record.pk} ({record.kind}, by {record.created_by_org.name})",
        )


def decoy_decision(w: World, new_marker: Callable[[], str]) -> None:
    """The outsider's conversation with the decoy family: hers alone (its id is also asked for by everyone)."""
    goals, decision = new_marker(), new_marker()
    record = _decision(w.viewer("outsider"), w.decoy, goals, decision)
    w.mark((goals, decision), record, "the decoy family's shared decision-making record")


def _infant_id(w: World) -> int | None:
    child = (
        FamilyRelationship.objects.filter(family=w.family, category=RelationshipCategory.CHILD)
        .order_by("pk")
        .values_list("person_id", flat=True)
        .first()
    )
    return child


def _start_plan(v: Viewer, w: World) -> PlanOfSafeCare:
    """For her infant; without one when the door does not let the clinician see the infant."""
    kwargs: dict[str, Any] = {
        "viewer": v,
        "family": w.family,
        "identified_on": _ago(IDENTIFIED_DAYS),
        "reasons": ["prenatal_moud", "parent_shared"],
        "expected_discharge_on": _ago(DISCHARGE_DAYS),
    }
    infant = _infant_id(w)
    if infant is not None:
        try:
            with transaction.atomic():
                return safecare.start_plan(infant_id=infant, **kwargs)
        except ValidationError:
            pass
    return safecare.start_plan(infant_id=None, **kwargs)


def _add_need(v: Viewer, plan: PlanOfSafeCare, data: safecare.NeedInput) -> PlanNeed:
    """A need linked to her first referral; unlinked when the door does not let the viewer read it."""
    if data.referral_id is not None:
        try:
            with transaction.atomic():
                return safecare.add_need(viewer=v, plan_id=plan.pk, data=data)
        except ValidationError:
            pass
    unlinked = safecare.NeedInput(data.domain, data.need, data.responsible, data.service, data.status, None)
    return safecare.add_need(viewer=v, plan_id=plan.pk, data=unlinked)


def plan_of_safe_care(w: World, fate: str, new_marker: Callable[[], str]) -> None:
    makers = [k for k in ("ob", "ob_front") if k in w.staff]
    plan = w.act("ob", "start a Plan of Safe Care", lambda v: _start_plan(v, w), others=makers)
    if plan is None:
        return
    maker = next(k for k, m in w.staff.items() if m.organization_id == plan.created_by_org_id and k in makers)
    referral = w.referrals[0].pk if w.referrals else None
    needs = [
        ("safe_sleep", "A safe place for the baby to sleep", "Pack 'n Play from the resource centre", referral),
        ("sud_treatment", "Her methadone dose goes on at her clinic", "", None),
    ]
    for domain, words, service, linked in needs[: 1 if fate == "draft" else 2]:
        marker = new_marker()
        data = safecare.NeedInput(domain, f"{words} {marker}", "Hospital social worker", service, "planned", linked)
        need = w.act(maker, f"add a {domain} need", lambda v, data=data: _add_need(v, plan, data), others=makers)
        if need is not None:
            w.mark(marker, need, f"Plan of Safe Care need {need.pk} ({domain})")
    w.act(
        maker,
        "record the notification to child welfare",
        lambda v: safecare.record_notification(
            viewer=v, plan_id=plan.pk, expected_version=_version(plan), notified_on=_ago(NOTIFIED_DAYS)
        ),
        others=makers,
    )
    if fate == "draft":
        return
    agreed = w.act(
        maker,
        "agree the Plan of Safe Care",
        lambda v: safecare.agree_plan(
            viewer=v, plan_id=plan.pk, expected_version=_version(plan), agreed_on=_ago(AGREED_DAYS)
        ),
        others=makers,
    )
    if agreed is None or fate != "closed":
        return
    note = new_marker()
    closed = w.act(
        maker,
        "close the Plan of Safe Care",
        lambda v: safecare.close_plan(
            viewer=v, plan_id=plan.pk, expected_version=_version(plan), note=f"Care goes on {note}"
        ),
        others=makers,
    )
    if closed is not None:
        w.mark(note, closed, f"Plan of Safe Care {closed.pk} (its closing note)")


def _version(plan: PlanOfSafeCare) -> int:
    return PlanOfSafeCare.objects.values_list("version", flat=True).get(pk=plan.pk)


# --- the PDF, as the canary reads it ---------------------------------------------------------------------------------


class _ReadablePlanPdf(safecare_pdf._PlanPdf):
    """The plan's PDF with its pages' text uncompressed, so the canary finds every marker it draws (fpdf2 deflates
    page content by default). What is drawn is unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_compression(False)


@contextmanager
def readable_pdfs() -> Iterator[None]:
    with mock.patch.object(safecare_pdf, "_PlanPdf", _ReadablePlanPdf):
        yield


# --- the routes: path parameters, read-only pages, family lists -----------------------------------------------------


def _families(w: World) -> list[int]:
    return [w.family.pk, w.decoy.pk]


def _steps(w: World, family_ids: list[int]) -> list[PathwayStep]:
    """A done step (the one with a note first) and the first open one: the other steps are the same pages, and each
    adds its five routes for every viewer."""
    steps = PathwayStep.objects.filter(family_id__in=family_ids)
    done = steps.exclude(status=StepStatus.OPEN).order_by("-note", "pk").first()
    first_open = steps.filter(status=StepStatus.OPEN).order_by("position", "occurrence", "pk").first()
    return [s for s in (done, first_open) if s is not None]


def _ids(rows: Any) -> list[Any]:
    return [row.pk for row in rows] or [0]  # a world without them still asks (a 404 shows nothing)


FILLERS: dict[str, Callable[[World], list[Any]]] = {
    "step_id": lambda w: _ids(_steps(w, _families(w))),
    "event_id": lambda w: _ids(ChildWelfareEvent.objects.filter(family_id__in=_families(w)).order_by("pk")),
    "record_id": lambda w: _ids(SharedDecisionRecord.objects.filter(family_id__in=_families(w)).order_by("pk")),
    "enrolment_id": lambda w: _ids(PathwayEnrolment.objects.filter(family_id__in=_families(w)).order_by("pk")),
    "plan_id": lambda w: _ids(PlanOfSafeCare.objects.filter(family_id__in=_families(w)).order_by("pk")),
    "need_id": lambda w: _ids(PlanNeed.objects.filter(family_id__in=_families(w)).order_by("pk")),
}

PLAN_TARGETS: dict[str | None, Callable[[World], list[Any]]] = {
    "step_id": lambda w: _steps(w, [w.family.pk]),
    "event_id": lambda w: list(ChildWelfareEvent.objects.filter(family=w.family).order_by("pk")),
    "enrolment_id": lambda w: list(PathwayEnrolment.objects.filter(family=w.family).order_by("pk")),
    "plan_id": lambda w: list(PlanOfSafeCare.objects.filter(family=w.family).order_by("pk")),
    "need_id": lambda w: list(PlanNeed.objects.filter(family=w.family).order_by("pk")),
}

READ_ONLY = {
    "pathways:my_steps": "her steps (or her organisation's) that are overdue or due this week",
    "pathways:step": "one step (its forms post to step_done, step_not_applicable, step_reopen, step_reassign)",
    "pathways:enrolment": "one enrolment and its steps (its form posts to pathways:end)",
    "pathways:decision": "one shared decision-making record (never changed once recorded)",
    "pathways:plan": "one Plan of Safe Care (each of its forms is its own route)",
    "pathways:plan_print": "the plan's print view",
    "pathways:plan_pdf": "the plan's PDF download",
}

# "My steps" names the parents of the families whose steps it lists: a family list, asked for with a purpose and
# for her organisation's steps too.
FAMILY_LISTS = {"pathways:my_steps"}
VARIANTS: dict[str, list[tuple[str, dict[str, Any]]]] = {"pathways:my_steps": [("?scope=organization", {})]}


# --- the forms: what each posts, and what the policy must allow for it to write -------------------------------------


def _organization_type(w: World, v: Viewer) -> str:
    found = next((o for o in w.orgs.values() if o.pk == v.organization_id), None)
    return found.type if found is not None else ""


def _enrolment_kind(w: World, v: Viewer, key: str) -> str:
    """The kind an enrolment in ``key`` by the viewer's organisation is filed as (the pathway's first filing when her
    organisation does not enrol in it: the service refuses it before the door)."""
    pathway = definitions.latest(key)
    return pathway.kind_for(_organization_type(w, v)) or next(iter(pathway.filing.values()))


Needs = list[tuple[str, Any]]  # as the canary's: (interaction, a record or the facts of one about to be made)


def plans(plan: type[Plan], new: Callable[..., Any]) -> dict[str, list[Plan]]:
    """The POST plans of the pathway routes (``plan`` and ``new`` are the canary's ``Plan`` and ``_new``)."""

    def enrol(key: str) -> Plan:
        def needs(w: World, _: Any, v: Viewer) -> Needs:
            kind = _enrolment_kind(w, v, key)
            return [(Interaction.CREATE, new(PathwayEnrolment, w, v, category_of_kind(kind), kind=kind))]

        return plan(
            "pathways:enrol",
            None,
            lambda w, _: {"pathway": key, "enrolled_on": clock.today().isoformat(), "caseworker": "", "mentor": ""},
            needs,
        )

    def decision_needs(w: World, _: Any, v: Viewer) -> Needs:
        kind = pathway_services.decision_kind(_organization_type(w, v))
        return [(Interaction.CREATE, new(SharedDecisionRecord, w, v, category_of_kind(kind), kind=kind))]

    def change(route: str, kwarg: str, data: Callable[[World, Any], dict[str, Any]]) -> Plan:
        return plan(route, kwarg, data, lambda w, record, v: [(Interaction.CHANGE, record)])

    def versioned(**fields: Any) -> Callable[[World, Any], dict[str, Any]]:
        """The record's version and ``fields`` (a day given as days before today, counted when posted)."""
        return lambda w, record: {
            "version": record.version,
            **{k: _ago(v).isoformat() if isinstance(v, int) else v for k, v in fields.items()},
        }

    plan_category = category_of_kind(PLAN_OF_SAFE_CARE_KIND)
    return {
        # START (the CPS agency's) and the perinatal year (the clinic's, the programme's, the community's).
        "pathways:enrol": [enrol("start"), enrol("perinatal_year")],
        "pathways:new_date": [
            plan(
                "pathways:new_date",
                None,
                lambda w, _: {"event": "case_opened", "occurred_on": _ago(3).isoformat(), "note": "Posted"},
                lambda w, _, v: [
                    (
                        Interaction.CREATE,
                        new(ChildWelfareEvent, w, v, category_of_kind("child_welfare_case"), kind="child_welfare_case"),
                    )
                ],
            )
        ],
        "pathways:new_decision": [
            plan(
                "pathways:new_decision",
                None,
                lambda w, _: {
                    "met_on": clock.today().isoformat(),
                    "who_took_part": "Posted",
                    "goals": "Posted",
                    "moud__discussed": "on",
                    "moud__decision": "Posted",
                },
                decision_needs,
            )
        ],
        # A step is the enrolling organisation's record; care-team members who may read it change it too.
        "pathways:step_done": [change("pathways:step_done", "step_id", versioned(done_on=0, note="Posted"))],
        "pathways:step_not_applicable": [change("pathways:step_not_applicable", "step_id", versioned(note="Posted"))],
        "pathways:step_reopen": [change("pathways:step_reopen", "step_id", versioned())],
        "pathways:step_reassign": [change("pathways:step_reassign", "step_id", versioned(assignee=""))],
        "pathways:correct_date": [change("pathways:correct_date", "event_id", versioned(occurred_on=14))],
        "pathways:end": [change("pathways:end", "enrolment_id", versioned(note="Posted"))],
        # The Plan of Safe Care: started by a hospital's or an obstetric clinic's staff (the service refuses the
        # others before the door); its changes by its keepers (the team members who may read it too).
        "pathways:plan_new": [
            plan(
                "pathways:plan_new",
                None,
                lambda w, _: {
                    "infant": "",
                    "identified_on": clock.today().isoformat(),
                    "reasons": ["parent_shared"],
                    "expected_discharge_on": "",
                },
                lambda w, _, v: [
                    (Interaction.CREATE, new(PlanOfSafeCare, w, v, plan_category, kind=PLAN_OF_SAFE_CARE_KIND))
                ],
            )
        ],
        "pathways:plan_edit": [
            change(
                "pathways:plan_edit",
                "plan_id",
                lambda w, p: {
                    "version": p.version,
                    "infant": "",
                    "identified_on": p.identified_on.isoformat(),
                    "reasons": list(p.reasons),
                    "expected_discharge_on": _ago(15).isoformat(),
                },
            )
        ],
        "pathways:plan_need_new": [
            plan(
                "pathways:plan_need_new",
                "plan_id",
                lambda w, _: {
                    "domain": "parenting",
                    "need": "Posted",
                    "responsible": "Posted",
                    "service": "",
                    "referral": "",
                    "status": "planned",
                },
                lambda w, p, v: [
                    (Interaction.CHANGE, p),
                    (Interaction.CREATE, new(PlanNeed, w, v, p.sensitivity, kind=p.kind)),
                ],
            )
        ],
        "pathways:plan_notification": [change("pathways:plan_notification", "plan_id", versioned(notified_on=18))],
        "pathways:plan_agree": [
            change("pathways:plan_agree", "plan_id", versioned(agreed_on=AGREED_DAYS, she_agrees="on"))
        ],
        "pathways:plan_discharge": [change("pathways:plan_discharge", "plan_id", versioned(discharged_on=15))],
        "pathways:plan_close": [change("pathways:plan_close", "plan_id", versioned(note="Posted"))],
        "pathways:plan_need_edit": [
            change(
                "pathways:plan_need_edit",
                "need_id",
                lambda w, n: {
                    "version": n.version,
                    "domain": n.domain,
                    "need": "Posted",
                    "responsible": "Posted",
                    "service": "",
                    "referral": "",
                    "status": n.status,
                },
            )
        ],
        # Removing a need retires it (its keepers: rule TEAM_KEPT).
        "pathways:plan_need_remove": [
            plan(
                "pathways:plan_need_remove",
                "need_id",
                lambda w, n: {"version": n.version},
                lambda w, n, v: [(Interaction.RETIRE, n)],
            )
        ],
    }
