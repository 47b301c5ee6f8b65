"""selectors.py — reading pathways through the door: one enrolment, step or child-welfare date by id, the family
page's section (each enrolment's steps with their states, the child-welfare dates, the shared decision-making
records and Plans of Safe Care the viewer may read), the caseload's step counts, and "my steps" (what is overdue
and due this week for the viewer, or for her organisation).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from kinfold import clock
from kinfold.access.door import Access, access_record
from kinfold.access.facts import Compiled, compiled_batch
from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, category_of_kind, role_access
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.families.models import CareTeamMember, Family
from kinfold.families.sections import Notice, SectionContext
from kinfold.organizations.models import Membership, Role, role_words
from kinfold.pathways import services
from kinfold.pathways.definitions import Pathway
from kinfold.pathways.models import (
    ChildWelfareEvent,
    EnrolmentStatus,
    PathwayEnrolment,
    PathwayStep,
    PlanOfSafeCare,
    SharedDecisionRecord,
    StepStatus,
)
from kinfold.pathways.services import STATE_WORDS, StepState, step_state
from kinfold.prepared import prepared_list
from kinfold.screening.instruments import catalogue

# "Due this week": due within the next seven days, today included.
WEEK = timedelta(days=6)


def access_step(*, viewer: Viewer, step_id: int, interaction: str = Interaction.READ) -> Access[PathwayStep]:
    family_id = PathwayStep.objects.filter(pk=step_id).values_list("family_id", flat=True).first() or 0
    return access_record(
        viewer,
        PathwayStep.objects.select_related(
            "enrolment", "assignee__user", "done_by", "family__parent", "created_by_org"
        ),
        step_id,
        family_id=family_id,
        interaction=interaction,
    )


def access_enrolment(
    *, viewer: Viewer, enrolment_id: int, interaction: str = Interaction.READ
) -> Access[PathwayEnrolment]:
    family_id = PathwayEnrolment.objects.filter(pk=enrolment_id).values_list("family_id", flat=True).first() or 0
    return access_record(
        viewer,
        PathwayEnrolment.objects.select_related("family__parent", "created_by_org", "caseworker__user", "mentor__user"),
        enrolment_id,
        family_id=family_id,
        interaction=interaction,
    )


def access_child_welfare_event(
    *, viewer: Viewer, event_id: int, interaction: str = Interaction.READ
) -> Access[ChildWelfareEvent]:
    family_id = ChildWelfareEvent.objects.filter(pk=event_id).values_list("family_id", flat=True).first() or 0
    return access_record(
        viewer,
        ChildWelfareEvent.objects.select_related("family__parent", "created_by_org"),
        event_id,
        family_id=family_id,
        interaction=interaction,
    )


def access_decision(
    *, viewer: Viewer, record_id: int, interaction: str = Interaction.READ
) -> Access[SharedDecisionRecord]:
    family_id = SharedDecisionRecord.objects.filter(pk=record_id).values_list("family_id", flat=True).first() or 0
    return access_record(
        viewer,
        SharedDecisionRecord.objects.select_related("family__parent", "created_by", "created_by_org"),
        record_id,
        family_id=family_id,
        interaction=interaction,
    )


# --- a step as a page shows it --------------------------------------------------------------------------------


@dataclass
class StepView:
    step: PathwayStep
    state: str
    help: str = ""
    completed_by: str = ""
    may_change: bool = False
    role_words: str = ""

    @property
    def state_words(self) -> str:
        return STATE_WORDS[self.state]

    @property
    def is_late(self) -> bool:
        return self.state in (StepState.OVERDUE, StepState.DONE_LATE)


COMPLETED_BY_WORDS = {
    "form": "Tick it done when it has happened.",
    "referral": "Done when the referral is {status}.",
    "screening": "Done when one of these screenings is completed here: {instruments}.",
    "document": "Done when the Plan of Safe Care is agreed with her.",
    "meeting": "Done when a shared decision-making conversation is recorded here.",
}


def _completed_by_words(pathway: Pathway, step_key: str) -> str:
    try:
        step = pathway.step(step_key)
    except KeyError:
        return ""
    done_by = step.completed_by
    words = COMPLETED_BY_WORDS.get(done_by.type, "")
    if done_by.type == "referral":
        status = {"requested": "sent", "in-progress": "under way"}.get(done_by.status or "requested", done_by.status)
        return words.format(status=status)
    if done_by.type == "screening":
        names = []
        for key in done_by.instruments or ():
            instrument = catalogue().get(key)
            names.append(instrument.short_title if instrument is not None else key)
        return words.format(instruments=", ".join(names))
    return words


def step_view(step: PathwayStep, *, today: date, gate: RecordGate | None = None) -> StepView:
    pathway = services.pathway_of(step.enrolment)
    definition = next((s for s in pathway.steps if s.key == step.step_key), None)
    return StepView(
        step=step,
        state=step_state(step, today=today, due_soon_days=pathway.due_soon_days),
        help=definition.help.en if definition is not None and definition.help is not None else "",
        completed_by=_completed_by_words(pathway, step.step_key),
        may_change=bool(gate and gate.may(Interaction.CHANGE, step, family_id=step.family_id)),
        role_words=role_words(step.role) if step.role in Role.values else step.role.replace("_", " "),
    )


@dataclass
class EnrolmentView:
    enrolment: PathwayEnrolment
    steps: list[StepView]
    fidelity_days: int | None = None
    may_change: bool = False

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for view in self.steps:
            out[view.state] += 1
        return dict(out)

    @property
    def next_steps(self) -> list[StepView]:
        return [v for v in self.steps if v.step.is_open]


# --- the family page ------------------------------------------------------------------------------------------


def _enrolments(family_id: Any) -> QuerySet[PathwayEnrolment]:
    return PathwayEnrolment.objects.filter(family_id=family_id).select_related(
        "caseworker__user", "mentor__user", "created_by_org"
    )[:50]


def _events(family_id: Any) -> QuerySet[ChildWelfareEvent]:
    return ChildWelfareEvent.objects.filter(family_id=family_id)


def _decisions(family_id: Any) -> QuerySet[SharedDecisionRecord]:
    return SharedDecisionRecord.objects.filter(family_id=family_id).select_related("created_by_org")[:50]


def _plans(family_id: Any) -> QuerySet[PlanOfSafeCare]:
    return PlanOfSafeCare.objects.filter(family_id=family_id)[:20]


def family_pathways(context: SectionContext) -> dict[str, Any]:
    gate = context.gate
    family = context.family
    viewer = context.viewer
    today = clock.today()
    enrolments = gate.visible(prepared_list("pathways.enrolments", _enrolments, family.pk), family_id=family.pk)
    views = []
    if enrolments:
        steps = list(PathwayStep.objects.filter(enrolment__in=enrolments).select_related("assignee__user", "done_by"))
        by_enrolment: dict[int, list[PathwayStep]] = defaultdict(list)
        for step in gate.visible(steps, family_id=family.pk):
            by_enrolment[step.enrolment_id].append(step)
        for enrolment in enrolments:
            rows = sorted(
                by_enrolment.get(enrolment.pk, []),
                key=lambda s: (s.due_on is None, s.due_on or today, s.position, s.occurrence),
            )
            for row in rows:
                row.enrolment = enrolment
            views.append(
                EnrolmentView(
                    enrolment=enrolment,
                    steps=[step_view(s, today=today, gate=gate) for s in rows],
                    fidelity_days=services.fidelity_days(enrolment, rows) if enrolment.pathway_key == "start" else None,
                    may_change=gate.may(Interaction.CHANGE, enrolment, family_id=family.pk),
                )
            )
    events = gate.visible(prepared_list("pathways.events", _events, family.pk), family_id=family.pk)
    decisions = gate.visible(prepared_list("pathways.decisions", _decisions, family.pk), family_id=family.pk)
    plans = gate.visible(prepared_list("pathways.plans", _plans, family.pk), family_id=family.pk)
    organization = viewer.membership.organization if viewer.membership is not None else None
    active_keys = {v.enrolment.pathway_key for v in views if v.enrolment.status == EnrolmentStatus.ACTIVE}
    offered = [p for p in family_pathways_offered(viewer=viewer, family=family, gate=gate) if p.key not in active_keys]
    may_record_dates = (
        organization is not None
        and organization.type == "child_welfare"
        and gate.may_create(
            ChildWelfareEvent,
            family_id=family.pk,
            category=category_of_kind("child_welfare_case"),
            kind="child_welfare_case",
        )
    )
    return {
        "enrolments": views,
        "active": [v for v in views if v.enrolment.status == EnrolmentStatus.ACTIVE],
        "ended": [v for v in views if v.enrolment.status != EnrolmentStatus.ACTIVE],
        "events": events,
        "decisions": decisions,
        "plans": plans,
        "offered": offered,
        "may_record_dates": may_record_dates,
        "may_record_decision": organization is not None,
        "may_start_plan": organization is not None and organization.type in ("hospital", "obstetric"),
    }


def family_pathways_offered(*, viewer: Viewer, family: Family, gate: RecordGate) -> list[Pathway]:
    """The pathways the viewer's organisation enrols families in and whose records her role may file (the door)."""
    if viewer.membership is None:
        return []
    organization = viewer.membership.organization
    out = []
    for pathway in services.offered_to(organization):
        kind = pathway.kind_for(organization.type)
        if kind and gate.may_create(PathwayEnrolment, family_id=family.pk, category=category_of_kind(kind), kind=kind):
            out.append(pathway)
    return out


@dataclass
class EnrolmentPage:
    enrolment: EnrolmentView
    family: Family
    pathway: Pathway
    ended: bool


def enrolment_page(*, viewer: Viewer, enrolment_id: int) -> EnrolmentPage:
    """One enrolment with every step the viewer may read (the door decides each), audited."""
    access = access_enrolment(viewer=viewer, enrolment_id=enrolment_id)
    enrolment = access.record
    gate = access.gate
    today = clock.today()
    rows = gate.visible(
        list(enrolment.steps.select_related("assignee__user", "done_by")), family_id=enrolment.family_id
    )
    for row in rows:
        row.enrolment = enrolment
    rows.sort(key=lambda s: (s.due_on is None, s.due_on or today, s.position, s.occurrence))
    view = EnrolmentView(
        enrolment=enrolment,
        steps=[step_view(s, today=today, gate=gate) for s in rows],
        fidelity_days=services.fidelity_days(enrolment, rows) if enrolment.pathway_key == "start" else None,
        may_change=gate.may(Interaction.CHANGE, enrolment, family_id=enrolment.family_id),
    )
    return EnrolmentPage(
        enrolment=view,
        family=enrolment.family,
        pathway=services.pathway_of(enrolment),
        ended=enrolment.status != EnrolmentStatus.ACTIVE,
    )


def export_pathways(data: dict[str, Any], notice: Notice) -> dict[str, Any]:
    return {
        "pathways": [
            {
                "id": v.enrolment.pk,
                "pathway": v.enrolment.pathway_key,
                "version": v.enrolment.pathway_version,
                "status": v.enrolment.status,
                "enrolled_on": v.enrolment.enrolled_on,
                "steps": [
                    {
                        "id": s.step.pk,
                        "step": s.step.step_key,
                        "occurrence": s.step.occurrence,
                        "title": s.step.title,
                        "due_on": s.step.due_on,
                        "status": s.step.status,
                        "state": s.state,
                        "done_on": s.step.done_on,
                        **notice(s.step),
                    }
                    for s in v.steps
                ],
                **notice(v.enrolment),
            }
            for v in data["enrolments"]
        ],
        "child_welfare_dates": [
            {"id": e.pk, "event": e.event, "occurred_on": e.occurred_on, **notice(e)} for e in data["events"]
        ],
    }


# --- the caseload ---------------------------------------------------------------------------------------------


def caseload_step_counts(viewer: Viewer, family_ids: list[int]) -> dict[int, dict[str, int]]:
    """For the caseload: per family, her organisation's open steps her role may see (rule 1) that are overdue or
    due this week. One query (the caseload sends it with its others: ``caseload_steps_query``,
    ``caseload_steps_from``)."""
    query = caseload_steps_query(viewer, family_ids)
    return caseload_steps_from(viewer, compiled_batch([query])[0]) if query is not None else {}


def _steps_due(ids: Any, organization_id: Any, categories: Any, due_by: Any) -> QuerySet[Any]:
    return (
        PathwayStep.objects.filter(
            family_id__in=ids,
            created_by_org_id=organization_id,
            sensitivity__in=categories,
            status=StepStatus.OPEN,
            enrolment__status=EnrolmentStatus.ACTIVE,
            due_on__lte=due_by,
        )
        .order_by()
        .values_list("family_id", "due_on")
    )


def caseload_steps_query(viewer: Viewer, family_ids: list[int]) -> Compiled | None:
    access = role_access(viewer.role) if viewer.role else None
    if viewer.organization_id is None or access is None or not family_ids:
        return None
    values = (viewer.organization_id, access.categories, clock.today() + WEEK)
    return Compiled("caseload steps due", _steps_due, family_ids, values)


def caseload_steps_from(viewer: Viewer, rows: list[tuple[Any, ...]]) -> dict[int, dict[str, int]]:
    today = clock.today()
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"overdue": 0, "this_week": 0})
    for family_id, due_on in rows:
        counts[family_id]["overdue" if due_on is not None and due_on < today else "this_week"] += 1
    return dict(counts)


# --- my steps -------------------------------------------------------------------------------------------------


@dataclass
class DueStep:
    view: StepView
    family: Family
    parent_name: str


@dataclass
class DueList:
    overdue: list[DueStep] = field(default_factory=list)
    this_week: list[DueStep] = field(default_factory=list)
    more: bool = False  # more steps wait than the page lists (the soonest due are listed)
    scope: str = "mine"


# At most this many steps listed (the soonest due first); the page says when more wait.
DUE_LIST_LIMIT = 400


def due_steps(*, viewer: Viewer, scope: str = "mine", today: date | None = None) -> DueList:
    """Open steps overdue or due this week: hers ("mine"), or her organisation's and the families' she coordinates
    ("organization": a supervisor's view, unassigned ones included). Each step and each parent's name is shown
    only where the door lets her."""
    today = today or clock.today()
    out = DueList(scope=scope)
    if viewer.membership is None or not viewer.may_see_family_data:
        return out
    due = PathwayStep.objects.filter(
        status=StepStatus.OPEN, enrolment__status=EnrolmentStatus.ACTIVE, due_on__lte=today + WEEK
    ).order_by("due_on", "pk")
    limit = DUE_LIST_LIMIT + 1  # one more than shown: the page says when more wait
    if scope == "organization":
        # Two index walks, each cut at the limit, rather than one OR the planner answers by scanning the region.
        coordinated = CareTeamMember.objects.active().filter(membership=viewer.membership, is_coordinator=True)
        ours = due.filter(created_by_org_id=viewer.organization_id).values_list("pk", "due_on")[:limit]
        theirs = due.filter(family_id__in=coordinated.values("care_team__family_id")).values_list("pk", "due_on")
        picked = sorted(set(ours).union(theirs[:limit]), key=lambda r: (r[1], r[0]))[:limit]
        rows = PathwayStep.objects.filter(pk__in=[pk for pk, _ in picked]).order_by("due_on", "pk")
    else:
        rows = due.filter(assignee_id=viewer.membership_id)[:limit]
    steps = list(rows.select_related("enrolment", "family__parent", "assignee__user").defer("enrolment__definition"))
    if not steps:
        return out
    if len(steps) > DUE_LIST_LIMIT:
        steps = steps[:DUE_LIST_LIMIT]
        out.more = True
    services.attach_pathways([s.enrolment for s in steps])
    gate = RecordGate.open(viewer, sorted({s.family_id for s in steps}))
    for step in steps:
        parent = step.family.parent
        if parent is None or not gate.may_see(parent, family_id=step.family_id):
            continue
        if not gate.show(step, family_id=step.family_id, label="pathway step"):
            continue
        gate.show(parent, family_id=step.family_id, label="parent's name")
        item = DueStep(step_view(step, today=today, gate=gate), step.family, parent.display_name)
        assert step.due_on is not None
        (out.overdue if step.due_on < today else out.this_week).append(item)
    record_event(
        actor=viewer.user,
        action=Action.LIST,
        record_type="PathwayStep",
        purpose=gate.purpose,
        detail={"step_ids": [d.view.step.pk for d in out.overdue + out.this_week]},
    )
    gate.record_disclosures(channel="list")
    return out


def assignable(step: PathwayStep) -> list[Membership]:
    """Who may be made responsible for a step: the enrolling organisation's active staff and the family's care
    team, by name."""
    team_ids = (
        CareTeamMember.objects.active()
        .filter(care_team__family_id=step.family_id)
        .values_list("membership_id", flat=True)
    )
    people = Membership.objects.filter(is_active=True).filter(
        Q(organization_id=step.created_by_org_id) | Q(pk__in=list(team_ids))
    )
    return sorted(people.select_related("user", "organization"), key=lambda m: (m.user.get_full_name() or "").lower())


def pair_choices(organization_id: int) -> tuple[list[Membership], list[Membership]]:
    """An organisation's active caseworkers and family mentors, for pairing on START."""
    people = list(
        Membership.objects.filter(
            organization_id=organization_id, is_active=True, role__in=[Role.CPS_CASEWORKER, Role.FAMILY_MENTOR]
        ).select_related("user")
    )
    by_name = sorted(people, key=lambda m: (m.user.get_full_name() or m.user.get_username()).lower())
    return [m for m in by_name if m.role == Role.CPS_CASEWORKER], [m for m in by_name if m.role == Role.FAMILY_MENTOR]


def step_history(step: PathwayStep) -> list[PathwayStep]:
    """The other occurrences of a repeating step, in order."""
    return list(
        PathwayStep.objects.filter(enrolment_id=step.enrolment_id, step_key=step.step_key)
        .exclude(pk=step.pk)
        .order_by("occurrence")
    )


def enrolment_is_active(enrolment: PathwayEnrolment) -> bool:
    return enrolment.status == EnrolmentStatus.ACTIVE


__all__ = [
    "DueList",
    "EnrolmentView",
    "StepView",
    "access_child_welfare_event",
    "access_enrolment",
    "access_step",
    "caseload_step_counts",
    "due_steps",
    "family_pathways",
    "step_view",
]
