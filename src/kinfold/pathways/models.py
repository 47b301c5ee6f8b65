"""Pathways: a family enrolled in a programme's pathway (``PathwayEnrolment``, pinned to the version of the pathway
file it was enrolled in, whose snapshot it keeps) has one ``PathwayStep`` row per step occurrence, each with its due
date, the person responsible, and whether and when it was done. The anchors due dates count from are the family's
own records: the enrolment, her pregnancy (estimated due date, delivery), a Plan of Safe Care's discharge day, and
the child-welfare agency's ``ChildWelfareEvent`` records (report, investigation, case opened … case closed).

Two records complete steps besides a person ticking them: a ``SharedDecisionRecord`` (the structured conversation
the perinatal guidelines ask for) and a ``PlanOfSafeCare`` with its ``PlanNeed`` rows. Each is a record of the
organisation that made it, filed under a kind (``access/data/kinds.yaml``), so the door decides who reads it. The
rules live in ``services.py``; the pathway files themselves in ``definitions.py``.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from kinfold import clock, text_limits
from kinfold.families.models import Family, FamilyRecord, Person
from kinfold.organizations.models import Membership

CHILD_WELFARE_KIND = "child_welfare_case"
PLAN_OF_SAFE_CARE_KIND = "plan_of_safe_care"


class ChildWelfareEventType(models.TextChoices):
    """The moments of a family's involvement with child welfare that pathways count from (anchors)."""

    CPS_REPORT = "cps_report", "Report to child protective services"
    SCREENED_IN = "screened_in", "Report screened in"
    SCREENED_OUT = "screened_out", "Report screened out"
    INVESTIGATION = "investigation", "Investigation or assessment began"
    CASE_OPENED = "case_opened", "Case opened for services"
    SAFETY_PLAN = "safety_plan", "Safety plan agreed"
    REMOVAL = "removal", "Child placed out of the home"
    REUNIFICATION = "reunification", "Child returned home (reunification)"
    CASE_CLOSED = "case_closed", "Case closed"


class ChildWelfareEvent(FamilyRecord):
    """One moment of child-welfare involvement, recorded by the child-welfare agency."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="child_welfare_events")
    event = models.CharField(max_length=20, choices=ChildWelfareEventType.choices)
    occurred_on = models.DateField()
    note = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=40, default=CHILD_WELFARE_KIND)

    class Meta:
        ordering = ["occurred_on", "pk"]
        indexes = [models.Index(fields=["family", "event"])]

    def __str__(self) -> str:
        return f"{self.get_event_display()} ({self.occurred_on:%-d %b %Y})"


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class PathwayEnrolment(FamilyRecord):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="pathway_enrolments")
    pathway_key = models.CharField(max_length=60)
    pathway_version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)  # as the pathway named itself at enrolment
    definition = models.JSONField()  # the pathway file's snapshot: families stay on the version they joined
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE)
    enrolled_on = models.DateField(default=clock.today)
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    # START pairs a caseworker with a family mentor on each family; other pathways may leave these empty.
    caseworker = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mentor = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-enrolled_on", "-pk"]
        # A list of many families' steps parses one snapshot per pathway version (services.attach_pathways).
        indexes = [models.Index(fields=["pathway_key", "pathway_version"])]
        constraints = [
            models.UniqueConstraint(
                fields=["family", "pathway_key"],
                condition=models.Q(status="active"),
                name="one_active_enrolment_per_pathway",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.pathway_version})"

    @property
    def is_active(self) -> bool:
        return self.status == EnrolmentStatus.ACTIVE


class StepStatus(models.TextChoices):
    OPEN = "open", "To do"
    DONE = "done", "Done"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class PathwayStep(FamilyRecord):
    """One occurrence of one step of an enrolment (a repeating step has one row per occurrence)."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="pathway_steps")
    enrolment = models.ForeignKey(PathwayEnrolment, on_delete=models.CASCADE, related_name="steps")
    step_key = models.CharField(max_length=60)
    occurrence = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveSmallIntegerField(default=0)  # the step's place in the pathway's order
    title = models.CharField(max_length=200)
    role = models.CharField(max_length=32)
    completed_by = models.CharField(max_length=12)  # form | referral | screening | document | meeting
    kind = models.CharField(max_length=40)
    due_on = models.DateField(null=True, blank=True)  # None: its anchor is not known yet
    assignee = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.OPEN)
    done_on = models.DateField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.STEP_NOTE.chars)])
    evidence = models.CharField(max_length=80, blank=True)  # "ScreeningResponse:12": the record that completed it
    # The once-only notices of the daily task: the day the responsible person was told it is overdue, and the day
    # her supervisor was (after the grace period).
    overdue_notice_on = models.DateField(null=True, blank=True)
    escalated_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "position", "occurrence", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "step_key", "occurrence"], name="one_row_per_occurrence")
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_on"]),
            models.Index(fields=["family", "status", "due_on"]),
            models.Index(fields=["status", "due_on"]),
            models.Index(fields=["created_by_org", "status", "due_on"]),
        ]

    def __str__(self) -> str:
        return self.title if self.occurrence == 1 else f"{self.title} ({self.occurrence})"

    @property
    def is_open(self) -> bool:
        return self.status == StepStatus.OPEN


# --- shared decision-making -----------------------------------------------------------------------------------


class DecisionTopic(models.TextChoices):
    """What the perinatal guidelines ask the team to talk through with her (and seed 003's mental health)."""

    OPIOID_USE_RISKS = "opioid_use_risks", "Risks of opioid use in pregnancy, for her and her baby"
    MOUD = "moud", "Medication for opioid use disorder: risks and benefits"
    DOSE_CHANGES = "dose_changes", "Dose changes to expect in pregnancy and after birth"
    CHILD_WELFARE = "child_welfare", "What child-welfare involvement means, and what a Plan of Safe Care is"
    MENTAL_HEALTH = "mental_health", "Mental health in pregnancy and after birth"
    INFANT_CARE = "infant_care", "Caring for her baby: withdrawal signs, feeding, rooming-in"


class SharedDecisionRecord(FamilyRecord):
    """A shared decision-making conversation: per topic whether it was discussed, her questions, her preferences
    and her decision in her own words, and her own goals."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="shared_decisions")
    met_on = models.DateField(default=clock.today)
    who_took_part = models.CharField(max_length=300, blank=True)
    # topic key -> {"discussed": bool, "questions": str, "preferences": str, "decision": str}
    topics = models.JSONField(default=dict)
    goals = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.STEP_NOTE.chars)])
    kind = models.CharField(max_length=40)

    class Meta:
        ordering = ["-met_on", "-pk"]

    def __str__(self) -> str:
        return f"Shared decision-making ({self.met_on:%-d %b %Y})"


# --- the Plan of Safe Care ------------------------------------------------------------------------------------


class IdentificationReason(models.TextChoices):
    PRENATAL_MOUD = "prenatal_moud", "Medication for opioid use disorder taken as prescribed in pregnancy"
    PRENATAL_OPIOIDS = "prenatal_opioids", "Other opioids in pregnancy"
    PRENATAL_OTHER = "prenatal_other", "Other substances in pregnancy (alcohol, stimulants, others)"
    NEWBORN_TEST = "newborn_test", "A newborn toxicology test"
    WITHDRAWAL_SIGNS = "withdrawal_signs", "Signs of neonatal opioid withdrawal"
    PARENT_SHARED = "parent_shared", "She told her care team"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Being written"
    AGREED = "agreed", "Agreed with her"
    CLOSED = "closed", "Closed"


class NotificationKind(models.TextChoices):
    """What the jurisdiction's CAPTA notification to child welfare is (``KINFOLD_POSC_NOTIFICATION``)."""

    NOTIFICATION = "notification", "A notification, not a report of abuse or neglect"
    REPORT = "report", "A report to child protective services"


class PlanOfSafeCare(FamilyRecord):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="plans_of_safe_care")
    infant = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    identified_on = models.DateField(default=clock.today)
    reasons = models.JSONField(default=list)  # IdentificationReason values
    expected_discharge_on = models.DateField(null=True, blank=True)
    discharged_on = models.DateField(null=True, blank=True)
    notified_on = models.DateField(null=True, blank=True)  # the notification to child welfare
    notification_kind = models.CharField(max_length=16, choices=NotificationKind.choices, blank=True)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    agreed_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    closing_note = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.STEP_NOTE.chars)])
    kind = models.CharField(max_length=40, default=PLAN_OF_SAFE_CARE_KIND)

    class Meta:
        ordering = ["-identified_on", "-pk"]

    def __str__(self) -> str:
        return f"Plan of Safe Care ({self.get_status_display().lower()})"

    @property
    def discharge_day(self) -> date | None:
        return self.discharged_on or self.expected_discharge_on


class PlanDomain(models.TextChoices):
    INFANT_HEALTH = "infant_health", "Baby: health and medical care"
    WITHDRAWAL_FEEDING = "withdrawal_feeding", "Baby: withdrawal care and feeding"
    DEVELOPMENT = "development", "Baby: development and early intervention"
    SAFE_SLEEP = "safe_sleep", "Baby: safe sleep"
    PEDIATRIC_FOLLOW_UP = "pediatric_follow_up", "Baby: paediatric follow-up"
    SUD_TREATMENT = "sud_treatment", "Parent: substance use treatment and MOUD continuity"
    HEALTH = "health", "Parent: physical and mental health"
    POSTPARTUM = "postpartum", "Parent: postpartum care and family planning"
    SOCIAL_NEEDS = "social_needs", "Family: housing, food, transport and other needs"
    PARENTING = "parenting", "Family: parenting and peer support"


INFANT_DOMAINS = frozenset(
    {
        PlanDomain.INFANT_HEALTH,
        PlanDomain.WITHDRAWAL_FEEDING,
        PlanDomain.DEVELOPMENT,
        PlanDomain.SAFE_SLEEP,
        PlanDomain.PEDIATRIC_FOLLOW_UP,
    }
)


class NeedStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "Under way"
    MET = "met", "Met"
    DECLINED = "declined", "She chose not to"


class PlanNeed(FamilyRecord):
    """One need in a Plan of Safe Care: its domain, who is responsible, the service (often a referral) and its
    status."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="+")
    plan = models.ForeignKey(PlanOfSafeCare, on_delete=models.CASCADE, related_name="needs")
    domain = models.CharField(max_length=24, choices=PlanDomain.choices)
    need = models.CharField(max_length=300)
    responsible = models.CharField(max_length=200)  # a person, a role or an organisation, in words
    service = models.CharField(max_length=300, blank=True)
    referral_id_ref = models.PositiveBigIntegerField(null=True, blank=True)  # a Referral, when one carries it
    status = models.CharField(max_length=12, choices=NeedStatus.choices, default=NeedStatus.PLANNED)
    kind = models.CharField(max_length=40, default=PLAN_OF_SAFE_CARE_KIND)

    class Meta:
        ordering = ["plan", "domain", "pk"]

    def __str__(self) -> str:
        return f"{self.get_domain_display()}: {self.need}"
