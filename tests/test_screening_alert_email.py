"""A critical screening answer is told at once, by a real email through a real SMTP server, to the people the door
lets read it, and the email names nothing about her (issue 13). Its own module: it needs committed transactions
(on_commit sends the email), which the rest of tests/test_screening.py does not."""

from __future__ import annotations

from kinfold.families.services import care_team_member_add
from kinfold.organizations.models import OrganizationType, Role
from kinfold.screening.models import SafetyAlert
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of
from tests.test_screening import PHQ9_NINE_ONES, answer_and_complete, give


def test_a_critical_answer_alerts_once_the_giver_and_the_coordinator_who_may_read_it(
    committing_db, smtp_server, coordinator
):
    family = make_family(coordinator)
    clinic = OrganizationFactory(name="Lakeview Women's Health", type=OrganizationType.OBSTETRIC)
    clinician = staff(clinic, Role.OB_CLINICIAN, user__first_name="Olga", user__last_name="Nurse")
    coordinator.user.email = "ana@example.org"
    coordinator.user.save()
    clinician.user.email = "olga@example.org"
    clinician.user.save()
    care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=clinician, role=Role.OB_CLINICIAN)
    consent_team_wide(family, by=coordinator, categories=("contact",), purposes=("treatment", "care_coordination"))
    # Without a consent covering mental health, the coordinator (another organisation) may not read it.
    done = answer_and_complete(clinician, give(clinician, family), PHQ9_NINE_ONES)
    alert = SafetyAlert.objects.get(response=done)
    assert done.critical and list(alert.notified.all()) == [clinician.user]
    assert "question 9" in alert.reason
    assert smtp_server.received.wait(5)
    rcpts, message = smtp_server.messages[0]
    assert rcpts == ["olga@example.org"] and len(smtp_server.messages) == 1
    body = message.get_content()
    assert "Maria" not in body and "Lopez" not in body and "PHQ" not in body  # nothing personal leaves Kinfold

    # With her consent to share mental health within the team, the next alert reaches the coordinator too.
    consent_team_wide(
        family, by=coordinator, categories=("contact", "mental_health"), purposes=("treatment", "care_coordination")
    )
    second = answer_and_complete(clinician, give(clinician, family), PHQ9_NINE_ONES)
    alert2 = SafetyAlert.objects.get(response=second)
    assert set(alert2.notified.all()) == {clinician.user, coordinator.user}
    assert SafetyAlert.objects.count() == 2  # one per critical response, never more
