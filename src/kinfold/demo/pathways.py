"""The demo region's pathways: Carl Jensen (CPS caseworker) and Nia Grant (family mentor) are paired on START with
the families they share, each with a CPS report some days ago, so "My steps" and the caseload show steps done,
due this week and overdue at once; Grace Okafor's pregnant families follow the perinatal year. Written through the
pathway services (the door decides, the trail records), once."""

from __future__ import annotations

from datetime import date, timedelta

from kinfold import clock
from kinfold.access.viewer import Viewer
from kinfold.demo.referrals import _viewer
from kinfold.families.models import CareTeamMember, Family, PregnancyEpisode
from kinfold.pathways import services
from kinfold.pathways.models import ChildWelfareEventType, PathwayEnrolment, PathwayStep, StepStatus

# Days since each START family's CPS report: a spread from "just reported" to "two months in".
REPORT_DAYS_AGO = (3, 9, 16, 24, 33, 45, 58, 70)


def load_demo_pathways() -> int:
    """The demo's pathway enrolments (once); how many were made."""
    carl, nia, grace = _viewer("carl.jensen"), _viewer("nia.grant"), _viewer("grace.okafor")
    if carl is None or nia is None or carl.membership is None or nia.membership is None:
        return 0
    if PathwayEnrolment.objects.exists():
        return 0
    made = 0
    shared = (
        CareTeamMember.objects.active()
        .filter(membership=nia.membership)
        .order_by("care_team__family_id")
        .values_list("care_team__family_id", flat=True)
    )
    for family, days in zip(Family.objects.filter(pk__in=list(shared)).order_by("pk"), REPORT_DAYS_AGO, strict=False):
        reported = clock.today() - timedelta(days=days)
        enrolment = services.enrol(
            viewer=carl,
            family=family,
            pathway_key="start",
            enrolled_on=reported + timedelta(days=1),
            caseworker=carl.membership,
            mentor=nia.membership,
        )
        services.record_child_welfare_event(
            viewer=carl, family=family, event=ChildWelfareEventType.CPS_REPORT, occurred_on=reported
        )
        _do_early_steps(carl, enrolment, reported, days)
        made += 1
    if grace is not None and grace.membership is not None:
        pregnant = (
            PregnancyEpisode.objects.filter(
                delivered_on__isnull=True,
                family__care_team__members__membership=grace.membership,
                family__care_team__members__left_at__isnull=True,
            )
            .order_by("family_id")
            .values_list("family_id", flat=True)
            .distinct()[:3]
        )
        for family in Family.objects.filter(pk__in=list(pregnant)).order_by("pk"):
            services.enrol(viewer=grace, family=family, pathway_key="perinatal_year")
            made += 1
    return made


def _do_early_steps(viewer: Viewer, enrolment: PathwayEnrolment, reported: date, days: int) -> None:
    """The families reported longest ago have their first steps done (some late), so every state shows."""
    if days < 9:
        return
    for key, after in (("intake_screen", 2 if days < 40 else 5), ("start_referral", min(days - 5, 28))):
        step = PathwayStep.objects.filter(enrolment=enrolment, step_key=key, status=StepStatus.OPEN).first()
        if step is None:
            return
        done_on = min(reported + timedelta(days=after), clock.today())
        services.complete_step(viewer=viewer, step_id=step.pk, done_on=done_on, note="", expected_version=step.version)
