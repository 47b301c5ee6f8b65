"""safecare.py — the Plan of Safe Care (CAPTA as amended by CARA): its services (writes) and selectors (reads).

A birthing hospital's or an obstetric clinic's staff start a plan for an infant with prenatal substance exposure
(the infant chosen among the children of the family the door lets her see, the day and the reasons the infant
was identified, the expected discharge day), write its needs domain by domain with the parents (each with who is
responsible, the service, a referral of this family she may see, and its status), record the notification to
child welfare (a notification or a report, as the jurisdiction's ``KINFOLD_POSC_NOTIFICATION`` says), agree the
plan with her before discharge (this completes the pathway step "plan built before discharge"), record the
discharge (the pathways' due dates count from it), and close the plan after monitoring.

Every write asks the door (``require`` / ``require_create``), validates in plain words, is one transaction
(``atomic_write``), refuses a stale ``version`` (``ConcurrentEditError``), and writes a timeline line and an audit
event filed as the plan is. Every read goes through ``access_record`` and a ``RecordGate``: a page, a print view
or a PDF shows only the records the door lets the viewer read, and accounts for them (``record_disclosures``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db.models import F

from kinfold import clock, text_limits
from kinfold.access.door import Access, access_record, require, require_create
from kinfold.access.gate import RecordGate
from kinfold.access.rules import REDISCLOSURE_NOTICE_TEXT
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, category_of_kind
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import Refused, atomic_write, record_event
from kinfold.families.models import Family, FamilyRelationship, Person, RelationshipCategory
from kinfold.families.services import ConcurrentEditError
from kinfold.families.timeline import record_written
from kinfold.organizations.models import OrganizationType
from kinfold.pathways import services
from kinfold.pathways.models import (
    INFANT_DOMAINS,
    PLAN_OF_SAFE_CARE_KIND,
    IdentificationReason,
    NeedStatus,
    NotificationKind,
    PlanDomain,
    PlanNeed,
    PlanOfSafeCare,
    PlanStatus,
)
from kinfold.referrals.models import Referral, ReferralEvent
from kinfold.referrals.selectors import ReferralView, view_of

# The longest text of a need's fields (the model's column lengths), refused in the same plain words everywhere.
NEED_TEXT = text_limits.TextLimit(300, "the need")
RESPONSIBLE = text_limits.TextLimit(200, "who is responsible")
SERVICE = text_limits.TextLimit(300, "the service")
CLOSING_NOTE = text_limits.STEP_NOTE

# Who starts a plan: the birthing hospital, or the obstetric clinic that follows her pregnancy.
PLAN_MAKERS = frozenset({OrganizationType.HOSPITAL, OrganizationType.OBSTETRIC})

# A plan's days stay within a year of the day the infant was identified (a slip of the year is refused).
MAX_SPAN = timedelta(days=366)

FOOTER = "Shared only as her consent allows. Do not re-disclose."

BABY = "baby"
FAMILY = "family"
GROUP_TITLES = {BABY: "Baby", FAMILY: "Parent and family"}
BABY_DOMAINS: tuple[str, ...] = tuple(d.value for d in PlanDomain if d in INFANT_DOMAINS)
FAMILY_DOMAINS: tuple[str, ...] = tuple(d.value for d in PlanDomain if d not in INFANT_DOMAINS)

# What the notification to child welfare is, in plain words, for each jurisdiction's setting.
NOTIFICATION_NAME = {
    NotificationKind.NOTIFICATION: "Notification to child welfare",
    NotificationKind.REPORT: "Report to child protective services",
}
NOTIFICATION_EXPLAINED = {
    NotificationKind.NOTIFICATION: (
        "In this jurisdiction this is a notification, not a report of abuse or neglect. Federal law (CAPTA) asks "
        "the hospital to let child welfare know that a baby was born with prenatal substance exposure and that a "
        "Plan of Safe Care is being made with the family; the notification does not by itself say that anyone "
        "harmed or neglected the baby. Tell her before it is sent, and what it means for her."
    ),
    NotificationKind.REPORT: (
        "In this jurisdiction this is a report to child protective services: child protective services may "
        "contact the family and look into the baby's situation. Tell her before it is made, what it means for "
        "her, and that the Plan of Safe Care shows the care and support already in place."
    ),
}


def plan_category() -> str:
    """The category a Plan of Safe Care and its needs are filed under (from its kind)."""
    return category_of_kind(PLAN_OF_SAFE_CARE_KIND)


def jurisdiction_notification_kind() -> str:
    """What this jurisdiction's notification to child welfare is (``KINFOLD_POSC_NOTIFICATION``)."""
    value = str(getattr(settings, "KINFOLD_POSC_NOTIFICATION", NotificationKind.NOTIFICATION)).strip().lower()
    if value not in NotificationKind.values:
        raise ImproperlyConfigured(
            f"KINFOLD_POSC_NOTIFICATION is {value!r}: set it to 'notification' or 'report' (what this "
            "jurisdiction's notification to child welfare about an infant with prenatal substance exposure is)."
        )
    return value


def notification_kind_of(plan: PlanOfSafeCare) -> str:
    """The plan's own kind of notification (fixed when it was started), else the jurisdiction's."""
    if plan.notification_kind in NotificationKind.values:
        return plan.notification_kind
    return jurisdiction_notification_kind()


def domain_title(domain: str) -> str:
    """A domain's words without its group ("Safe sleep" under "Baby")."""
    label = str(PlanDomain(domain).label)
    words = label.split(": ", 1)[-1]
    return words[:1].upper() + words[1:]


def group_of(domain: str) -> str:
    return BABY if domain in BABY_DOMAINS else FAMILY


def _day(value: date | None) -> str:
    return f"{value:%-d %B %Y}" if value is not None else ""


# --- fetching by id -------------------------------------------------------------------------------------------


def family_id_of_plan(plan_id: int) -> int:
    return PlanOfSafeCare.objects.filter(pk=plan_id).values_list("family_id", flat=True).first() or 0


def family_id_of_need(need_id: int) -> int:
    return PlanNeed.objects.filter(pk=need_id).values_list("family_id", flat=True).first() or 0


def access_plan(*, viewer: Viewer, plan_id: int, interaction: str = Interaction.READ) -> Access[PlanOfSafeCare]:
    return access_record(
        viewer,
        PlanOfSafeCare.objects.select_related("family__parent", "infant", "created_by_org", "created_by"),
        plan_id,
        family_id=family_id_of_plan(plan_id),
        interaction=interaction,
    )


def access_need(*, viewer: Viewer, need_id: int, interaction: str = Interaction.READ) -> Access[PlanNeed]:
    return access_record(
        viewer,
        PlanNeed.objects.select_related("plan", "plan__family__parent", "created_by_org"),
        need_id,
        family_id=family_id_of_need(need_id),
        interaction=interaction,
    )


# --- who may start one ----------------------------------------------------------------------------------------


def require_may_start(viewer: Viewer, family_id: int, gate: RecordGate | None = None) -> None:
    """Only a hospital's or an obstetric clinic's staff start a plan, and only where the door lets them make
    one for this family; else ``Refused`` (audited). A page offering the form asks this through
    ``require_page``, exactly as its POST will."""
    organization = viewer.membership.organization if viewer.membership is not None else None
    if organization is None or organization.type not in PLAN_MAKERS:
        raise Refused(
            "Only a birthing hospital or an obstetric clinic starts a Plan of Safe Care. The family's care team "
            "follows the plan once it is made.",
            {
                "actor": viewer.user,
                "action": Action.CREATE,
                "record_type": PlanOfSafeCare.__name__,
                "record_id": "",
                "family_id": family_id,
                "purpose": viewer.default_purpose,
                "outcome": Outcome.DENIED,
                "detail": {"interaction": str(Interaction.CREATE), "reason": "not a hospital or obstetric clinic"},
            },
        )
    require_create(
        viewer, PlanOfSafeCare, family_id=family_id, category=plan_category(), gate=gate, kind=PLAN_OF_SAFE_CARE_KIND
    )


# --- form choices -----------------------------------------------------------------------------------------------


def _children(gate: RecordGate, family_id: int) -> list[Person]:
    """Her children (family members of category child) whose relationship and person the door lets her read."""
    rows = list(
        FamilyRelationship.objects.filter(family_id=family_id, category=RelationshipCategory.CHILD)
        .select_related("person")
        .order_by("-person__born_on", "pk")
    )
    return [
        r.person
        for r in rows
        if gate.show(r, label="family member") and gate.show(r.person, family_id=family_id, label=r.person.display_name)
    ]


def infant_choices(*, gate: RecordGate, family: Family) -> list[Person]:
    """The infants a plan may be for: her children the viewer may see (the form shows their names: audited and
    accounted)."""
    children = _children(gate, family.pk)
    record_event(
        actor=gate.viewer.user,
        action=Action.VIEW,
        record_type=Family.__name__,
        record_id=family.pk,
        family_id=family.pk,
        purpose=gate.purpose,
        detail={"page": "Plan of Safe Care form", "children_shown": [p.pk for p in children]},
    )
    gate.record_disclosures(channel="page")
    return children


def _referral_views(gate: RecordGate, family_id: int, ids: Iterable[int] | None = None) -> dict[int, ReferralView]:
    """The family's referrals the viewer may read (only ``ids``, when given), each with its status as she may
    read it (an answer her consent does not let reach her shows only that it was answered)."""
    rows = Referral.objects.filter(family_id=family_id).select_related("receiving_org", "created_by_org")
    if ids is not None:
        wanted = sorted({i for i in ids if i})
        if not wanted:
            return {}
        rows = rows.filter(pk__in=wanted)
    visible = gate.visible(list(rows.order_by("-created_at", "-pk")[:100]), family_id=family_id)
    events: dict[int, list[ReferralEvent]] = defaultdict(list)
    for event in ReferralEvent.objects.filter(referral_id__in=[r.pk for r in visible]).select_related(
        "referral", "created_by_org"
    ):
        events[event.referral_id].append(event)
    return {r.pk: view_of(gate, r, events.get(r.pk, [])) for r in visible}


def referral_words(view: ReferralView) -> str:
    referral = view.referral
    return f"{referral.get_need_display()} referral to {referral.receiving_org.name}"


def referral_choices(*, gate: RecordGate, family_id: int) -> list[tuple[int, str]]:
    """The family's referrals she may link to a need: "Housing referral to … (Sent, waiting for an answer)"."""
    views = _referral_views(gate, family_id)
    gate.record_disclosures(channel="page")
    return [(pk, f"{referral_words(v)} ({v.status_words})") for pk, v in views.items()]


# --- the plan's page ------------------------------------------------------------------------------------------


@dataclass
class NeedView:
    need: PlanNeed
    referral: ReferralView | None = None
    may_change: bool = False
    may_remove: bool = False

    @property
    def referral_words(self) -> str:
        return referral_words(self.referral) if self.referral is not None else ""

    @property
    def referral_status(self) -> str:
        return self.referral.status_words if self.referral is not None else ""


@dataclass
class DomainView:
    domain: str
    title: str
    needs: list[NeedView] = field(default_factory=list)


@dataclass
class DomainGroup:
    key: str
    title: str
    domains: list[DomainView]

    @property
    def count(self) -> int:
        return sum(len(d.needs) for d in self.domains)


def _groups(needs: list[NeedView]) -> list[DomainGroup]:
    by_domain: dict[str, list[NeedView]] = defaultdict(list)
    for view in needs:
        by_domain[view.need.domain].append(view)
    return [
        DomainGroup(
            key=key,
            title=GROUP_TITLES[key],
            domains=[DomainView(d, domain_title(d), by_domain.get(d, [])) for d in domains],
        )
        for key, domains in ((BABY, BABY_DOMAINS), (FAMILY, FAMILY_DOMAINS))
    ]


def missing_for_agreement(domains: Iterable[str]) -> str:
    """Why a plan with needs in ``domains`` cannot be agreed yet, in plain words ("" when it can)."""
    present = set(domains)
    baby = bool(present & set(BABY_DOMAINS))
    family = bool(present & set(FAMILY_DOMAINS))
    if baby and family:
        return ""
    if not baby and not family:
        missing = "a need for the baby and a need for the parent or family"
    elif not baby:
        missing = "a need for the baby (under “Baby”)"
    else:
        missing = "a need for the parent or family (under “Parent and family”)"
    return (
        "A plan is agreed when it covers both the baby and the parent or family. Before agreeing it with her, "
        f"add {missing}."
    )


@dataclass
class PlanPage:
    plan: PlanOfSafeCare
    gate: RecordGate
    parent_name: str
    infant_name: str  # "" when no infant is chosen yet, or the viewer may not read the infant's record
    infant_chosen: bool
    groups: list[DomainGroup]
    today: date
    may_change: bool = False
    may_add_need: bool = False

    @property
    def family(self) -> Family:
        return self.plan.family

    @property
    def reasons(self) -> list[str]:
        return reason_words(self.plan.reasons)

    @property
    def is_closed(self) -> bool:
        return self.plan.status == PlanStatus.CLOSED

    @property
    def is_draft(self) -> bool:
        return self.plan.status == PlanStatus.DRAFT

    @property
    def editable(self) -> bool:
        return self.may_change and not self.is_closed

    @property
    def notification_kind(self) -> str:
        return notification_kind_of(self.plan)

    @property
    def notification_name(self) -> str:
        return NOTIFICATION_NAME[NotificationKind(self.notification_kind)]

    @property
    def notification_explained(self) -> str:
        return NOTIFICATION_EXPLAINED[NotificationKind(self.notification_kind)]

    @property
    def discharge_passed(self) -> bool:
        day = self.plan.discharge_day
        return day is not None and day < self.today

    @property
    def late(self) -> bool:
        """Not agreed yet, and the discharge day has passed."""
        return self.is_draft and self.discharge_passed

    @property
    def agreed_late(self) -> bool:
        plan = self.plan
        day = plan.discharge_day
        return plan.agreed_on is not None and day is not None and plan.agreed_on > day

    @property
    def missing(self) -> str:
        return missing_for_agreement(v.need.domain for g in self.groups for d in g.domains for v in d.needs)


def reason_words(reasons: Iterable[str]) -> list[str]:
    return [str(IdentificationReason(r).label) for r in reasons if r in IdentificationReason.values]


def _needs(gate: RecordGate, plan: PlanOfSafeCare) -> list[PlanNeed]:
    rows = list(PlanNeed.objects.filter(plan=plan).order_by("pk"))
    for row in rows:
        row.plan = plan
    return gate.visible(rows, family_id=plan.family_id)


def _build(gate: RecordGate, plan: PlanOfSafeCare) -> tuple[str, str, list[NeedView]]:
    """Show what the viewer may read of the plan: her name, the infant's, the needs and their referrals."""
    family = plan.family
    parent = family.parent
    parent_name = parent.display_name if parent is not None and gate.show(parent, family_id=family.pk) else ""
    infant = plan.infant
    infant_name = ""
    if infant is not None and gate.show(infant, family_id=family.pk, label="infant"):
        infant_name = infant.display_name
    needs = _needs(gate, plan)
    referrals = _referral_views(gate, family.pk, [n.referral_id_ref for n in needs if n.referral_id_ref])
    views = [NeedView(n, referrals.get(n.referral_id_ref or 0)) for n in needs]
    return parent_name, infant_name, views


def plan_page(*, viewer: Viewer, plan_id: int) -> PlanPage:
    """A plan as the viewer may see it (a 404, audited, when she may not read it)."""
    found = access_plan(viewer=viewer, plan_id=plan_id)
    plan, gate = found.record, found.gate
    parent_name, infant_name, views = _build(gate, plan)
    may_change = gate.may(Interaction.CHANGE, plan)
    for view in views:
        view.may_change = may_change and gate.may(Interaction.CHANGE, view.need)
        view.may_remove = may_change and gate.may(Interaction.RETIRE, view.need)
    gate.record_disclosures(channel="page")
    return PlanPage(
        plan=plan,
        gate=gate,
        parent_name=parent_name,
        infant_name=infant_name,
        infant_chosen=plan.infant_id is not None,
        groups=_groups(views),
        today=clock.today(),
        may_change=may_change,
        may_add_need=may_change
        and gate.may_create(PlanNeed, family_id=plan.family_id, category=plan.sensitivity, kind=plan.kind),
    )


# --- the printed plan (print view and PDF) ---------------------------------------------------------------------


@dataclass
class PrintedNeed:
    need: str
    responsible: str
    service: str
    status: str
    referral: str = ""


@dataclass
class PrintedDomain:
    title: str
    needs: list[PrintedNeed]


@dataclass
class PrintedGroup:
    title: str
    domains: list[PrintedDomain]


@dataclass
class PlanDocument:
    """What a printed copy of a plan carries: only what the viewer may read, accounted as printed."""

    plan_id: int
    title: str
    parent_name: str
    infant_name: str
    status: str
    dates: list[tuple[str, str]]
    reasons: list[str]
    groups: list[PrintedGroup]
    notification: str
    notification_explained: str
    closing_note: str
    printed_at: datetime
    printed_by: str
    organization: str
    notice: str = ""  # the 42 CFR 2.32 notice, when a Part 2 record is printed outside its programme
    footer: str = FOOTER

    @property
    def filename(self) -> str:
        return f"plan-of-safe-care-{self.plan_id}.pdf"


def _printed_dates(plan: PlanOfSafeCare) -> list[tuple[str, str]]:
    rows = [("Identified", _day(plan.identified_on))]
    if plan.expected_discharge_on:
        rows.append(("Expected discharge", _day(plan.expected_discharge_on)))
    if plan.discharged_on:
        rows.append(("Discharged", _day(plan.discharged_on)))
    if plan.agreed_on:
        rows.append(("Agreed with her", _day(plan.agreed_on)))
    if plan.closed_on:
        rows.append(("Closed", _day(plan.closed_on)))
    return rows


def notification_line(plan: PlanOfSafeCare) -> str:
    name = NOTIFICATION_NAME[NotificationKind(notification_kind_of(plan))]
    if plan.notified_on:
        return f"{name}: made on {_day(plan.notified_on)}."
    return f"{name}: not recorded yet."


def plan_document(*, viewer: Viewer, plan_id: int, channel: str) -> PlanDocument:
    """A copy of the plan to print (``channel="print"``) or download as a PDF (``channel="export"``): only the
    records the door lets the viewer read (the plan, each need, her name, the infant's, each linked referral),
    accounted under ``channel`` and audited (a view, or an export for a download)."""
    found = access_plan(viewer=viewer, plan_id=plan_id)
    plan, gate = found.record, found.gate
    gate.show(plan, label="Plan of Safe Care")  # what is printed is accounted as printed
    parent_name, infant_name, views = _build(gate, plan)
    shown_needs = [v.need.pk for v in views]
    groups = []
    for group in _groups(views):
        domains = [
            PrintedDomain(
                title=d.title,
                needs=[
                    PrintedNeed(
                        need=v.need.need,
                        responsible=v.need.responsible,
                        service=v.need.service,
                        status=v.need.get_status_display(),
                        referral=f"{v.referral_words}: {v.referral_status}" if v.referral is not None else "",
                    )
                    for v in d.needs
                ],
            )
            for d in group.domains
        ]
        groups.append(PrintedGroup(group.title, domains))
    notice = REDISCLOSURE_NOTICE_TEXT if gate.any_notice else ""
    gate.record_disclosures(channel=channel)
    record_event(
        actor=viewer.user,
        action=Action.EXPORT if channel == "export" else Action.VIEW,
        record_type=PlanOfSafeCare.__name__,
        record_id=plan.pk,
        family_id=plan.family_id,
        purpose=gate.purpose,
        detail={"channel": channel, "needs": shown_needs, "infant_shown": bool(infant_name)},
    )
    assert viewer.membership is not None
    return PlanDocument(
        plan_id=plan.pk,
        title="Plan of Safe Care",
        parent_name=parent_name,
        infant_name=infant_name or ("Her baby (not named in the plan yet)" if plan.infant_id is None else "Her baby"),
        status=plan.get_status_display(),
        dates=_printed_dates(plan),
        reasons=reason_words(plan.reasons),
        groups=groups,
        notification=notification_line(plan),
        notification_explained=NOTIFICATION_EXPLAINED[NotificationKind(notification_kind_of(plan))],
        closing_note=plan.closing_note,
        printed_at=clock.now(),
        printed_by=viewer.membership.display_name,
        organization=viewer.membership.organization.name,
        notice=notice,
    )


# --- writing: helpers -------------------------------------------------------------------------------------------


def _locked_plan(plan_id: int) -> PlanOfSafeCare:
    return (
        PlanOfSafeCare.objects.select_for_update(of=("self",))
        .select_related("family__parent", "infant", "created_by_org")
        .get(pk=plan_id)
    )


def _check_version(record: PlanOfSafeCare | PlanNeed, expected_version: int) -> None:
    if record.version != expected_version:
        what = "this plan" if isinstance(record, PlanOfSafeCare) else "this need"
        raise ConcurrentEditError(
            f"Someone else changed {what} while you were looking at it. Nothing was saved: look at it again, "
            "then make your change."
        )


def _still_open(plan: PlanOfSafeCare) -> None:
    if plan.status == PlanStatus.CLOSED:
        raise ValidationError("This plan is closed; it can no longer change.")


def _line(
    viewer: Viewer,
    plan: PlanOfSafeCare,
    record: PlanOfSafeCare | PlanNeed,
    verb: str,
    summary: str,
    *,
    action: str = Action.UPDATE,
    detail: dict[str, Any] | None = None,
) -> None:
    """The timeline line and audit event of a write to a plan or a need, filed as the plan is."""
    record_written(
        viewer=viewer,
        family_id=plan.family_id,
        record=record,
        action=action,
        verb=verb,
        summary=summary[:200],
        category=plan.sensitivity,
        kind=plan.kind,
        detail={"plan": plan.pk, **(detail or {})},
    )


def _bump(plan: PlanOfSafeCare) -> None:
    """A need changed: the plan as she read it has changed too (agreeing on an older page is refused)."""
    PlanOfSafeCare.objects.filter(pk=plan.pk).update(version=F("version") + 1, updated_at=clock.now())
    plan.version += 1


def _reasons(reasons: Iterable[str], errors: dict[str, str]) -> list[str]:
    chosen = {str(r) for r in reasons}
    if not chosen:
        errors["reasons"] = "Choose at least one reason the baby was identified."
        return []
    if chosen - set(IdentificationReason.values):
        errors["reasons"] = "Choose the reasons from the list."
        return []
    return [r for r in IdentificationReason.values if r in chosen]


def _infant(gate: RecordGate, family_id: int, infant_id: int | None, errors: dict[str, str]) -> Person | None:
    """The infant chosen: one of her children the viewer may see."""
    if infant_id is None:
        return None
    relationship = (
        FamilyRelationship.objects.filter(family_id=family_id, person_id=infant_id, category=RelationshipCategory.CHILD)
        .select_related("person")
        .first()
    )
    if (
        relationship is None
        or not gate.may_see(relationship)
        or not gate.may_see(relationship.person, family_id=family_id)
    ):
        errors["infant"] = "Choose one of her children listed, or “Not on her family's record yet”."
        return None
    return relationship.person


def _check_days(
    identified_on: date,
    expected_discharge_on: date | None,
    errors: dict[str, str],
    today: date,
    *,
    new_identification: bool = True,
) -> None:
    if identified_on > today:
        errors["identified_on"] = "The day the baby was identified cannot be in the future."
    elif new_identification and identified_on < today - MAX_SPAN:
        errors["identified_on"] = "That day is more than a year ago. Check the year."
    if expected_discharge_on is not None and "identified_on" not in errors:
        if expected_discharge_on < identified_on:
            errors["expected_discharge_on"] = (
                "The expected discharge day cannot be before the day the baby was identified."
            )
        elif expected_discharge_on > identified_on + MAX_SPAN:
            errors["expected_discharge_on"] = "That is more than a year after the baby was identified. Check the year."


def _reschedule(viewer: Viewer, plan: PlanOfSafeCare, why: str) -> None:
    """The pathways' due dates that count from the discharge day move with it."""
    services.reschedule_family(viewer=viewer, family_id=plan.family_id, why=why)


# --- starting and correcting a plan -----------------------------------------------------------------------------


@atomic_write
def start_plan(
    *,
    viewer: Viewer,
    family: Family,
    infant_id: int | None,
    identified_on: date,
    reasons: Iterable[str],
    expected_discharge_on: date | None = None,
    gate: RecordGate | None = None,
) -> PlanOfSafeCare:
    """A new plan for the infant, in the viewer's organisation's name (a hospital or an obstetric clinic)."""
    gate = gate or RecordGate.open(viewer, [family.pk])
    require_may_start(viewer, family.pk, gate)
    assert viewer.membership is not None
    organization = viewer.membership.organization
    errors: dict[str, str] = {}
    infant = _infant(gate, family.pk, infant_id, errors)
    chosen = _reasons(reasons, errors)
    _check_days(identified_on, expected_discharge_on, errors, clock.today())
    if errors:
        raise ValidationError(errors)
    # One plan at a time per baby, among her own organisation's plans (another's she may not know of).
    if (
        PlanOfSafeCare.objects.filter(family=family, infant=infant, created_by_org=organization)
        .exclude(status=PlanStatus.CLOSED)
        .exists()
    ):
        raise ValidationError(
            {
                "infant": "Your organisation already has a Plan of Safe Care for this baby that is not closed. "
                "Open it from her family's page instead."
            }
        )
    category = plan_category()
    plan = PlanOfSafeCare.objects.create(
        family=family,
        infant=infant,
        identified_on=identified_on,
        reasons=chosen,
        expected_discharge_on=expected_discharge_on,
        notification_kind=jurisdiction_notification_kind(),
        kind=PLAN_OF_SAFE_CARE_KIND,
        sensitivity=category,
        created_by=viewer.user,
        created_by_org=organization,
    )
    summary = "Plan of Safe Care started"
    if expected_discharge_on:
        summary += f"; expected discharge {_day(expected_discharge_on)}"
    _line(viewer, plan, plan, "plan_of_safe_care_started", summary, action=Action.CREATE)
    if expected_discharge_on:
        _reschedule(viewer, plan, "expected discharge day recorded")
    return plan


@atomic_write
def update_details(
    *,
    viewer: Viewer,
    plan_id: int,
    expected_version: int,
    infant_id: int | None,
    identified_on: date,
    reasons: Iterable[str],
    expected_discharge_on: date | None,
) -> PlanOfSafeCare:
    """Correct the infant, the identification and the expected discharge day."""
    plan = _locked_plan(plan_id)
    gate = RecordGate.open(viewer, [plan.family_id])
    require(viewer, Interaction.CHANGE, plan, gate=gate, message="You cannot change this plan.")
    _check_version(plan, expected_version)
    _still_open(plan)
    errors: dict[str, str] = {}
    if infant_id is not None and infant_id == plan.infant_id:
        infant = plan.infant  # unchanged: kept, even if the viewer may not read it
    else:
        infant = _infant(gate, plan.family_id, infant_id, errors)
    chosen = _reasons(reasons, errors)
    _check_days(
        identified_on,
        expected_discharge_on,
        errors,
        clock.today(),
        new_identification=identified_on != plan.identified_on,
    )
    later = [
        (label, day)
        for label, day in (
            ("the notification", plan.notified_on),
            ("the discharge", plan.discharged_on),
            ("the agreement", plan.agreed_on),
        )
        if day is not None and day < identified_on
    ]
    if later and "identified_on" not in errors:
        label, day = later[0]
        errors["identified_on"] = f"That is after {label} ({_day(day)}). Check the dates."
    if errors:
        raise ValidationError(errors)
    before = plan.expected_discharge_on
    plan.infant = infant
    plan.identified_on = identified_on
    plan.reasons = chosen
    plan.expected_discharge_on = expected_discharge_on
    plan.version += 1
    plan.save()
    summary = "Plan of Safe Care: details corrected"
    if before != expected_discharge_on:
        summary += f"; expected discharge {_day(before) or 'not set'} → {_day(expected_discharge_on) or 'not set'}"
    _line(viewer, plan, plan, "plan_of_safe_care_changed", summary)
    if before != expected_discharge_on:
        _reschedule(viewer, plan, "expected discharge day changed")
    return plan


# --- needs --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedInput:
    domain: str
    need: str
    responsible: str
    service: str = ""
    status: str = NeedStatus.PLANNED
    referral_id: int | None = None


def _clean_need(gate: RecordGate, family_id: int, data: NeedInput, *, keep_referral: int | None = None) -> NeedInput:
    """The need's fields, checked (all problems at once); a referral must be one of hers the viewer may read
    (``keep_referral``: the one already linked, kept unchecked)."""
    errors: dict[str, str] = {}
    need, responsible, service = data.need.strip(), data.responsible.strip(), data.service.strip()
    if data.domain not in PlanDomain.values:
        errors["domain"] = "Choose what the need is about."
    if not need:
        errors["need"] = "Say what is needed, in plain words."
    elif problem := NEED_TEXT.problem(need):
        errors["need"] = problem
    if not responsible:
        errors["responsible"] = "Say who is responsible: a person, a role or an organisation."
    elif problem := RESPONSIBLE.problem(responsible):
        errors["responsible"] = problem
    if problem := SERVICE.problem(service):
        errors["service"] = problem
    if data.status not in NeedStatus.values:
        errors["status"] = "Choose where this need stands."
    referral_id = data.referral_id
    if referral_id is not None and referral_id != keep_referral:
        referral = Referral.objects.filter(pk=referral_id, family_id=family_id).first()
        if referral is None or not gate.may_see(referral, family_id=family_id):
            errors["referral"] = "Choose one of this family's referrals listed, or none."
    if errors:
        raise ValidationError(errors)
    return NeedInput(data.domain, need, responsible, service, data.status, referral_id)


@atomic_write
def add_need(*, viewer: Viewer, plan_id: int, data: NeedInput) -> PlanNeed:
    """A need in one domain of the plan, in the viewer's organisation's name."""
    plan = _locked_plan(plan_id)
    gate = RecordGate.open(viewer, [plan.family_id])
    require(viewer, Interaction.CHANGE, plan, gate=gate, message="You cannot change this plan.")
    require_create(viewer, PlanNeed, family_id=plan.family_id, category=plan.sensitivity, gate=gate, kind=plan.kind)
    _still_open(plan)
    clean = _clean_need(gate, plan.family_id, data)
    assert viewer.membership is not None
    need = PlanNeed.objects.create(
        family_id=plan.family_id,
        plan=plan,
        domain=clean.domain,
        need=clean.need,
        responsible=clean.responsible,
        service=clean.service,
        referral_id_ref=clean.referral_id,
        status=clean.status,
        kind=plan.kind,
        sensitivity=plan.sensitivity,
        created_by=viewer.user,
        created_by_org=viewer.membership.organization,
    )
    _bump(plan)
    _line(
        viewer,
        plan,
        need,
        "plan_of_safe_care_need_added",
        f"Plan of Safe Care: need added ({need.get_domain_display()})",
        action=Action.CREATE,
    )
    return need


def _locked_need(need_id: int) -> tuple[PlanNeed, PlanOfSafeCare]:
    need = PlanNeed.objects.select_for_update(of=("self",)).get(pk=need_id)
    plan = _locked_plan(need.plan_id)
    need.plan = plan
    return need, plan


@atomic_write
def change_need(*, viewer: Viewer, need_id: int, expected_version: int, data: NeedInput) -> PlanNeed:
    """Edit a need (its words, who is responsible, the service, the referral, its status)."""
    need, plan = _locked_need(need_id)
    gate = RecordGate.open(viewer, [plan.family_id])
    require(viewer, Interaction.CHANGE, need, gate=gate, message="You cannot change this need.")
    _check_version(need, expected_version)
    _still_open(plan)
    clean = _clean_need(gate, plan.family_id, data, keep_referral=need.referral_id_ref)
    before = need.status
    need.domain = clean.domain
    need.need = clean.need
    need.responsible = clean.responsible
    need.service = clean.service
    need.referral_id_ref = clean.referral_id
    need.status = clean.status
    need.version += 1
    need.save()
    _bump(plan)
    summary = f"Plan of Safe Care: need updated ({need.get_domain_display()})"
    if before != need.status:
        summary += f", now {need.get_status_display().lower()}"
    _line(viewer, plan, need, "plan_of_safe_care_need_changed", summary, detail={"status": need.status})
    return need


@atomic_write
def remove_need(*, viewer: Viewer, need_id: int, expected_version: int) -> PlanOfSafeCare:
    """Remove a need (asked to confirm first, by the page); the plan it belonged to."""
    need, plan = _locked_need(need_id)
    require(viewer, Interaction.RETIRE, need, message="You cannot remove this need.")
    _check_version(need, expected_version)
    _still_open(plan)
    words = need.get_domain_display()
    _line(
        viewer,
        plan,
        need,
        "plan_of_safe_care_need_removed",
        f"Plan of Safe Care: need removed ({words})",
        action=Action.DELETE,
        detail={"need": need.pk},
    )
    need.delete()
    _bump(plan)
    return plan


# --- notification, agreement, discharge, closure ----------------------------------------------------------------


def _day_problem(day: date, plan: PlanOfSafeCare, what: str) -> str:
    if day > clock.today():
        return f"The day of {what} cannot be in the future."
    if day < plan.identified_on:
        return f"The day of {what} cannot be before the baby was identified ({_day(plan.identified_on)})."
    return ""


def _changeable(viewer: Viewer, plan_id: int, expected_version: int) -> PlanOfSafeCare:
    plan = _locked_plan(plan_id)
    require(viewer, Interaction.CHANGE, plan, message="You cannot change this plan.")
    _check_version(plan, expected_version)
    _still_open(plan)
    return plan


@atomic_write
def record_notification(*, viewer: Viewer, plan_id: int, expected_version: int, notified_on: date) -> PlanOfSafeCare:
    """The day child welfare was notified (or the report made, where the jurisdiction says it is one)."""
    plan = _changeable(viewer, plan_id, expected_version)
    kind = NotificationKind(notification_kind_of(plan))
    name = NOTIFICATION_NAME[kind]
    what = "the notification" if kind == NotificationKind.NOTIFICATION else "the report"
    if problem := _day_problem(notified_on, plan, what):
        raise ValidationError({"notified_on": problem})
    before = plan.notified_on
    plan.notified_on = notified_on
    plan.version += 1
    plan.save()
    verb = "recorded" if before is None else f"corrected (was {_day(before)})"
    _line(
        viewer,
        plan,
        plan,
        "plan_of_safe_care_notified",
        f"Plan of Safe Care: {name[:1].lower()}{name[1:]} {verb}: {_day(notified_on)}",
        detail={"notification_kind": notification_kind_of(plan)},
    )
    return plan


@dataclass(frozen=True)
class Agreed:
    plan: PlanOfSafeCare
    late: bool  # agreed after the discharge day (allowed; CAPTA asks for it before)


@atomic_write
def agree_plan(*, viewer: Viewer, plan_id: int, expected_version: int, agreed_on: date | None = None) -> Agreed:
    """She agrees the plan: it must cover the baby and the parent or family. Before discharge, as CAPTA asks;
    after it, allowed and said to be late. The pathway step "plan built before discharge" is done."""
    plan = _changeable(viewer, plan_id, expected_version)
    agreed_on = agreed_on or clock.today()
    if plan.status != PlanStatus.DRAFT:
        raise ValidationError("This plan is already agreed with her.")
    if problem := _day_problem(agreed_on, plan, "the agreement"):
        raise ValidationError({"agreed_on": problem})
    missing = missing_for_agreement(PlanNeed.objects.filter(plan=plan).values_list("domain", flat=True))
    if missing:
        raise ValidationError(missing)
    discharge = plan.discharge_day
    late = discharge is not None and agreed_on > discharge
    plan.status = PlanStatus.AGREED
    plan.agreed_on = agreed_on
    plan.version += 1
    plan.save()
    summary = f"Plan of Safe Care agreed with her on {_day(agreed_on)}"
    if late:
        summary += f", after the discharge day ({_day(discharge)})"
    _line(viewer, plan, plan, "plan_of_safe_care_agreed", summary, detail={"late": late})
    services.plan_agreed(viewer, plan)
    return Agreed(plan, late)


@atomic_write
def record_discharge(*, viewer: Viewer, plan_id: int, expected_version: int, discharged_on: date) -> PlanOfSafeCare:
    """The day the baby went home (or is to be corrected): due dates counted from discharge move with it."""
    plan = _changeable(viewer, plan_id, expected_version)
    if problem := _day_problem(discharged_on, plan, "discharge"):
        raise ValidationError({"discharged_on": problem})
    before = plan.discharged_on
    if before == discharged_on:
        return plan
    plan.discharged_on = discharged_on
    plan.version += 1
    plan.save()
    verb = "recorded" if before is None else f"corrected (was {_day(before)})"
    _line(
        viewer, plan, plan, "plan_of_safe_care_discharge", f"Plan of Safe Care: discharge {verb}: {_day(discharged_on)}"
    )
    _reschedule(viewer, plan, "discharge recorded" if before is None else "discharge day corrected")
    return plan


@atomic_write
def close_plan(*, viewer: Viewer, plan_id: int, expected_version: int, note: str) -> PlanOfSafeCare:
    """Close the plan after monitoring, with a note on what was done and what goes on."""
    plan = _changeable(viewer, plan_id, expected_version)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say in a few words why the plan closes, and what goes on for the family."})
    if problem := CLOSING_NOTE.problem(note):
        raise ValidationError({"note": problem})
    plan.status = PlanStatus.CLOSED
    plan.closed_on = clock.today()
    plan.closing_note = note
    plan.version += 1
    plan.save()
    _line(viewer, plan, plan, "plan_of_safe_care_closed", "Plan of Safe Care closed")
    return plan


__all__ = [
    "FOOTER",
    "Agreed",
    "NeedInput",
    "PlanDocument",
    "PlanPage",
    "access_need",
    "access_plan",
    "add_need",
    "agree_plan",
    "change_need",
    "close_plan",
    "infant_choices",
    "plan_document",
    "plan_page",
    "record_discharge",
    "record_notification",
    "referral_choices",
    "remove_need",
    "require_may_start",
    "start_plan",
    "update_details",
]
