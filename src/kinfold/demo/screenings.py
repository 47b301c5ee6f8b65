"""The demo region's screenings: a few of Ana Rivera's families have screenings over the perinatal year, so the
family page's scores over time, a positive screen's next steps and a safety alert waiting for a recorded action
can be seen at once. Written through the screening services (the door decides, the trail records), once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kinfold import clock
from kinfold.demo.referrals import _viewer
from kinfold.families.models import CareTeamMember, Family
from kinfold.screening import services
from kinfold.screening.models import ScreeningResponse

# (instrument, answers, days ago): her mood over months, then a screen that needs a next step.
HISTORY: list[tuple[str, dict[str, Any], int]] = [
    ("phq9", {**{f"q{n}": 0 for n in range(1, 9)}, "q9": 0}, 120),
    ("phq9", {**{f"q{n}": 1 for n in range(1, 9)}, "q9": 0, "q10": 1}, 60),
    ("phq9", {**{f"q{n}": 2 for n in range(1, 9)}, "q9": 0, "q10": 2}, 7),
]
# Another family: an EPDS with item 10 answered "Hardly ever" (a safety alert, open for the demo to act on).
EPDS_WITH_ALERT = {"q1": 1, "q2": 1, "q3": 2, "q4": 2, "q5": 1, "q6": 2, "q7": 1, "q8": 2, "q9": 1, "q10": 1}
# A social-needs screen that proposes housing and food help.
AHC_HOUSING_AND_FOOD = {"q1": 2, "q2": [0], "q3": 1, "q4": 1, "q5": 0, "q6": 0, "q7": 1, "q8": 1, "q9": 1, "q10": 1}


def load_demo_screenings() -> int:
    """The demo's screenings (once); how many were made."""
    ana = _viewer("ana.rivera")
    if ana is None or ana.membership is None or ScreeningResponse.objects.exists():
        return 0
    family_ids = list(
        CareTeamMember.objects.active()
        .filter(membership=ana.membership, is_coordinator=True)
        .order_by("care_team__family_id")
        .values_list("care_team__family_id", flat=True)[:3]
    )
    families = list(Family.objects.filter(pk__in=family_ids).order_by("pk"))
    plans: list[list[tuple[str, dict[str, Any], int]]] = [
        [(key, answers, days) for key, answers, days in HISTORY] + [("ahc_hrsn", AHC_HOUSING_AND_FOOD, 5)],
        [("epds", EPDS_WITH_ALERT, 1)],
    ]
    made = 0
    for family, plan in zip(families, plans, strict=False):
        for key, answers, days in plan:
            response = services.start_screening(
                viewer=ana, family=family, instrument_key=key, language="en", how_given="with_staff"
            )
            response = services.save_answers(viewer=ana, response=response, raw=answers, version=response.version)
            response = services.complete(viewer=ana, response=response, version=response.version)
            when = clock.now() - timedelta(days=days)
            ScreeningResponse.objects.filter(pk=response.pk).update(created_at=when, completed_at=when)
            made += 1
    return made
