"""Screening (issue 13): giving one with staff, on the tablet and by a one-time link; exact scores stored at
completion; a critical answer alerts exactly once and only the people the door lets read it; an alert closes
only with a recorded action; the link expires, dies on submission and leaks nothing when tampered with; the
family page's scores over time; FHIR R4 export. Real database, the real door, a real SMTP server."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from kinfold import clock
from kinfold.access.vocabulary import category_of_kind
from kinfold.audit.models import AuditEvent
from kinfold.audit.services import Refused
from kinfold.families.models import FamilyActivity
from kinfold.families.services import ConcurrentEditError, care_team_member_add
from kinfold.organizations.models import OrganizationType, Role
from kinfold.screening import selectors, services
from kinfold.screening.fhir import build_questionnaire, build_questionnaire_response
from kinfold.screening.instruments import catalogue, get_instrument
from kinfold.screening.models import AlertAction, HowGiven, SafetyAlert, ScreeningResponse, ScreeningStatus
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.django_db

PHQ9_NINE_ONES = {f"q{n}": 1 for n in range(1, 10)}  # 9: mild, item 9 critical


@pytest.fixture
def family(coordinator):
    return make_family(coordinator)


def give(member, family, instrument="phq9", how=HowGiven.WITH_STAFF, language="en"):
    return services.start_screening(
        viewer=viewer_of(member), family=family, instrument_key=instrument, language=language, how_given=how
    )


def answer_and_complete(member, response, answers):
    viewer = viewer_of(member)
    response = services.save_answers(viewer=viewer, response=response, raw=answers, version=response.version)
    return services.complete(viewer=viewer, response=response, version=response.version)


# --- every shipped file ---------------------------------------------------------------------------------------


def test_every_shipped_instrument_validates_and_its_fhir_questionnaire_validates():
    shipped = catalogue()
    assert {"phq9"} <= set(shipped)
    for instrument in shipped.values():
        questionnaire = build_questionnaire(instrument)
        data = json.loads(questionnaire.model_dump_json(exclude_none=True))
        assert data["resourceType"] == "Questionnaire"
        assert [i["linkId"] for i in data["item"]][: len(instrument.items)] == [i.key for i in instrument.items]
        assert instrument.citation and instrument.licence


# --- giving and scoring ------------------------------------------------------------------------------------------


def test_a_completed_screening_stores_its_exact_score_and_writes_the_timeline(coordinator, family):
    response = give(coordinator, family)
    assert response.kind == "mental_health_screen" and response.sensitivity == "mental_health"
    done = answer_and_complete(coordinator, response, {**{f"q{n}": 2 for n in range(1, 9)}, "q9": 0, "q10": 1})
    assert done.status == ScreeningStatus.COMPLETED and done.completed_at is not None
    total = done.results["scales"][0]
    assert total["score"] == 16 and total["band"] == "Moderately severe" and total["positive"]
    assert done.positive and not done.critical and done.results["needs"] == ["mental_health"]
    line = FamilyActivity.objects.filter(family=family, verb="screening_completed").get()
    assert "16 (Moderately severe)" in line.summary and line.sensitivity == "mental_health"
    assert not SafetyAlert.objects.exists()


def test_a_response_that_cannot_be_scored_says_why(coordinator, family):
    done = answer_and_complete(coordinator, give(coordinator, family), {"q1": 1, "q2": 1, "q3": 1})
    total = done.results["scales"][0]
    assert total["score"] is None and "6 questions not answered" in total["unscored"]
    assert not done.positive


def test_a_filing_follows_the_organisation_type_that_gives_it(treatment_org):
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    family = make_family(counsellor, given_name="Tia")
    instrument = next((i for i in catalogue().values() if i.filing.by_organization_type), None)
    if instrument is None:
        pytest.skip("no shipped instrument files by organisation type")
    kind = instrument.kind_for(treatment_org.type)
    response = give(counsellor, family, instrument=instrument.key)
    assert response.kind == kind and response.sensitivity == category_of_kind(kind)


def test_answers_are_validated_and_nothing_is_saved_on_a_bad_one(coordinator, family):
    response = give(coordinator, family)
    with pytest.raises(ValidationError) as raised:
        services.save_answers(
            viewer=viewer_of(coordinator), response=response, raw={"q1": 1, "q2": 7}, version=response.version
        )
    assert "q2" in raised.value.message_dict
    response.refresh_from_db()
    assert response.answers == {}


def test_a_stale_save_is_refused_and_loses_nothing(coordinator, family):
    response = give(coordinator, family)
    viewer = viewer_of(coordinator)
    services.save_answers(viewer=viewer, response=response, raw={"q1": 2}, version=response.version)
    with pytest.raises(ConcurrentEditError):
        services.save_answers(viewer=viewer, response=response, raw={"q1": 0}, version=response.version)
    response.refresh_from_db()
    assert response.answers == {"q1": 2}


def test_a_completed_response_cannot_be_changed(coordinator, family):
    done = answer_and_complete(coordinator, give(coordinator, family), PHQ9_NINE_ONES | {"q9": 0})
    with pytest.raises(ValidationError):
        services.save_answers(viewer=viewer_of(coordinator), response=done, raw={"q1": 3}, version=done.version)


def test_changing_an_earlier_answer_drops_answers_to_questions_no_longer_asked(coordinator, family):
    response = give(coordinator, family)
    viewer = viewer_of(coordinator)
    response = services.save_answers(viewer=viewer, response=response, raw={"q1": 1, "q10": 2}, version=1)
    assert response.answers == {"q1": 1, "q10": 2}
    response = services.save_answers(viewer=viewer, response=response, raw={"q1": 0}, version=response.version)
    assert response.answers == {"q1": 0}  # q10 is asked only when a problem was checked


def test_someone_who_may_not_open_the_family_cannot_give_a_screening(outsider, family):
    with pytest.raises(Refused):
        give(outsider, family)
    assert not ScreeningResponse.objects.exists()


# --- critical answers ------------------------------------------------------------------------------------------


@pytest.fixture
def clinic_org():
    return OrganizationFactory(name="Lakeview Women's Health", type=OrganizationType.OBSTETRIC)


@pytest.fixture
def clinician(clinic_org):
    return staff(clinic_org, Role.OB_CLINICIAN, user__first_name="Olga", user__last_name="Nurse")


def test_an_alert_cannot_be_raised_twice_for_one_response(coordinator, family):
    done = answer_and_complete(coordinator, give(coordinator, family), PHQ9_NINE_ONES)
    assert SafetyAlert.objects.filter(response=done).count() == 1
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        services._raise_alert(done)
    assert SafetyAlert.objects.filter(response=done).count() == 1


def test_an_alert_closes_only_with_an_action_and_words(coordinator, family):
    done = answer_and_complete(coordinator, give(coordinator, family), PHQ9_NINE_ONES)
    alert = SafetyAlert.objects.get(response=done)
    viewer = viewer_of(coordinator)
    with pytest.raises(ValidationError) as raised:
        services.resolve_alert(viewer=viewer, alert=alert, action="", note="  ", version=alert.version)
    assert set(raised.value.message_dict) == {"action", "note"}
    alert.refresh_from_db()
    assert alert.is_open
    services.resolve_alert(
        viewer=viewer,
        alert=alert,
        action=AlertAction.SAFETY_PLAN,
        note="Safety plan made; sees Dr. K tomorrow.",
        version=alert.version,
    )
    alert.refresh_from_db()
    assert not alert.is_open and alert.resolved_by == coordinator.user and alert.action == "safety_plan"
    with pytest.raises(ConcurrentEditError):
        services.resolve_alert(viewer=viewer, alert=alert, action="other", note="again", version=alert.version)
    assert FamilyActivity.objects.filter(verb="safety_alert_closed").count() == 1


def test_my_alerts_lists_only_open_alerts_the_door_still_lets_her_read(coordinator, family, outsider):
    answer_and_complete(coordinator, give(coordinator, family), PHQ9_NINE_ONES)
    assert [a.family_id for a in selectors.my_open_alerts(viewer=viewer_of(coordinator))] == [family.pk]
    assert selectors.my_open_alerts(viewer=viewer_of(outsider)) == []


# --- the one-time link -----------------------------------------------------------------------------------------


def test_the_link_works_once_and_dies_on_submission(coordinator, family):
    response = give(coordinator, family, how=HowGiven.LINK)
    token = services.send_link(viewer=viewer_of(coordinator), response=response)
    assert services.link_path(token) == f"/s/{token}/" and len(token) == 43  # 256 random bits, nothing else
    assert services.open_link(token) is not None
    assert services.save_from_link(token=token, raw={f"q{n}": 0 for n in range(1, 10)}) is not None
    done = services.complete_from_link(token=token)
    assert done is not None and done.status == ScreeningStatus.COMPLETED
    assert services.open_link(token) is None
    assert services.complete_from_link(token=token) is None
    assert services.save_from_link(token=token, raw={"q1": 3}) is None
    done.refresh_from_db()
    assert done.answers["q1"] == 0
    event = AuditEvent.objects.filter(record_type="ScreeningResponse", record_id=str(done.pk)).order_by("pk").last()
    assert event is not None


def test_a_link_expires_and_a_new_link_replaces_the_old(coordinator, family, settings):
    response = give(coordinator, family, how=HowGiven.LINK)
    viewer = viewer_of(coordinator)
    first = services.send_link(viewer=viewer, response=response)
    second = services.send_link(viewer=viewer, response=response)
    assert services.open_link(first) is None and services.open_link(second) is not None
    ScreeningResponse.objects.filter(pk=response.pk).update(link_expires_at=clock.now() - timedelta(seconds=1))
    assert services.open_link(second) is None


@pytest.mark.parametrize("bad", ["", "x", "a" * 43, "A" * 44, "%00" * 15])
def test_a_tampered_link_shows_the_same_page_as_any_dead_link(coordinator, family, bad, client):
    response = give(coordinator, family, how=HowGiven.LINK)
    token = services.send_link(viewer=viewer_of(coordinator), response=response)
    tampered = bad or token[:-1] + ("A" if token[-1] != "A" else "B")
    page = client.get(f"/s/{tampered}/")
    assert page.status_code == 404
    text = page.content.decode()
    assert "This link does not work" in text and "Maria" not in text and "PHQ" not in text


def test_her_phone_walks_the_questionnaire_pauses_resumes_and_sends(coordinator, family):
    response = give(coordinator, family, instrument="phq9", how=HowGiven.LINK, language="es")
    token = services.send_link(viewer=viewer_of(coordinator), response=response)
    phone = Client()
    first = phone.get(f"/s/{token}/")
    text = first.content.decode()
    assert first.status_code == 200 and 'lang="es"' in text and "Poco interés o placer" in text
    assert "Maria" not in text and "Lopez" not in text  # nothing personal on her page
    answers = {f"answer-q{n}": "0" for n in range(1, 10)}
    saved = phone.post(
        f"/s/{token}/?lang=es", {**answers, "shown": [f"q{n}" for n in range(1, 10)], "go": "pause"}, follow=True
    )
    assert saved.status_code == 200 and "Sus respuestas están guardadas" in saved.content.decode()
    response.refresh_from_db()
    assert response.answers == {f"q{n}": 0 for n in range(1, 10)} and response.is_open
    review = phone.get(f"/s/{token}/?lang=es&review=1")
    assert "Revise sus respuestas" in review.content.decode()
    sent = phone.post(f"/s/{token}/?lang=es", {"go": "submit"}, follow=True)
    assert sent.status_code == 200 and "Gracias" in sent.content.decode()
    assert "Bridges Family Resource Center" in sent.content.decode()  # not a Part 2 programme: named
    assert "Gracias" in phone.get(f"/s/{token}/?lang=es&done=1").content.decode()  # she may reload it
    assert Client().get(f"/s/{token}/?lang=es&done=1").status_code == 404  # only in her own browser
    response.refresh_from_db()
    assert response.status == ScreeningStatus.COMPLETED and response.results["scales"][0]["score"] == 0
    assert phone.get(f"/s/{token}/").status_code == 404


# --- pages and the family section ---------------------------------------------------------------------------------


def test_the_family_page_shows_scores_over_time_with_a_table(coordinator, family, client):
    for answers in ({f"q{n}": 0 for n in range(1, 10)}, {**{f"q{n}": 2 for n in range(1, 9)}, "q9": 0}):
        answer_and_complete(coordinator, give(coordinator, family), answers)
    client.force_login(coordinator.user)
    page = client.get(f"/families/{family.pk}/").content.decode()
    assert 'data-testid="series"' in page and 'data-instrument="phq9"' in page
    assert "Minimal or none" in page and "Moderately severe" in page
    assert "<svg" in page and 'aria-label="Chart of PHQ-9 scores' in page


def test_the_response_page_shows_the_alert_protocol_and_crisis_lines_and_closes_it(coordinator, family, client):
    done = answer_and_complete(coordinator, give(coordinator, family), PHQ9_NINE_ONES)
    client.force_login(coordinator.user)
    page = client.get(f"/screening/{done.pk}/").content.decode()
    assert "Safety alert: act today" in page and "988" in page and "Record what was done" in page
    alert = SafetyAlert.objects.get(response=done)
    refused = client.post(f"/screening/alerts/{alert.pk}/close/", {"version": alert.version, "action": "crisis_line"})
    assert refused.status_code == 400
    alert.refresh_from_db()
    assert alert.is_open
    closed = client.post(
        f"/screening/alerts/{alert.pk}/close/",
        {"version": alert.version, "action": "crisis_line", "note": "Called 988 together; follow-up Monday."},
    )
    assert closed.status_code == 302
    alert.refresh_from_db()
    assert not alert.is_open


def test_a_reader_without_consent_sees_neither_the_response_nor_its_alert(coordinator, family, clinician, client):
    care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=clinician, role=Role.OB_CLINICIAN)
    consent_team_wide(family, by=coordinator, categories=("contact",), purposes=("treatment", "care_coordination"))
    done = answer_and_complete(clinician, give(clinician, family), PHQ9_NINE_ONES)
    client.force_login(coordinator.user)
    assert client.get(f"/screening/{done.pk}/").status_code == 404
    page = client.get(f"/families/{family.pk}/").content.decode()
    assert "Safety alert" not in page and 'data-instrument="phq9"' not in page
    alert = SafetyAlert.objects.get(response=done)
    assert (
        client.post(f"/screening/alerts/{alert.pk}/close/", {"version": 1, "action": "other", "note": "x"}).status_code
        == 404
    )
    alert.refresh_from_db()
    assert alert.is_open


def test_staff_fill_it_in_with_her_and_finish(coordinator, family, client):
    client.force_login(coordinator.user)
    started = client.post(
        f"/screening/family/{family.pk}/new/", {"instrument": "phq9", "language": "en", "how_given": "with_staff"}
    )
    response = ScreeningResponse.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/screening/{response.pk}/fill/"
    fill = client.get(f"/screening/{response.pk}/fill/").content.decode()
    assert "Little interest or pleasure in doing things" in fill
    posted = {f"answer-q{n}": "3" for n in range(1, 10)}
    posted |= {"shown": [f"q{n}" for n in range(1, 10)], "go": "review", "version": response.version}
    first = client.post(f"/screening/{response.pk}/fill/", posted)
    assert first.status_code == 302  # a new question (how difficult) is now asked: shown again
    response.refresh_from_db()
    assert (
        client.post(f"/screening/{response.pk}/fill/", {"go": "submit", "version": response.version}).status_code == 302
    )
    response.refresh_from_db()
    assert response.status == ScreeningStatus.COMPLETED and response.results["scales"][0]["score"] == 27


def test_fhir_questionnaire_response_through_the_api(coordinator, family, client, outsider):
    done = answer_and_complete(coordinator, give(coordinator, family), {f"q{n}": 1 for n in range(1, 9)} | {"q9": 0})
    resource = build_questionnaire_response(done, get_instrument("phq9"))
    data = json.loads(resource.model_dump_json(exclude_none=True))
    assert data["status"] == "completed" and data["item"][0]["answer"][0]["valueCoding"]["code"] == "LA6569-3"
    assert data["item"][-1]["linkId"] == "score-total" and data["item"][-1]["answer"][0]["valueDecimal"] == 8
    client.force_login(coordinator.user)
    got = client.get(f"/api/fhir/QuestionnaireResponse/{done.pk}")
    assert got.status_code == 200 and got.json()["id"] == str(done.pk)
    client.force_login(outsider.user)
    assert client.get(f"/api/fhir/QuestionnaireResponse/{done.pk}").status_code == 404
    assert client.get("/api/fhir/Questionnaire/phq9").json()["code"][0]["code"] == "44249-1"


def test_her_phone_never_names_a_part2_programme(treatment_org):
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    family = make_family(counsellor, given_name="Tia")
    response = give(counsellor, family, instrument="phq9", how=HowGiven.LINK)
    token = services.send_link(viewer=viewer_of(counsellor), response=response)
    phone = Client()
    page = phone.get(f"/s/{token}/").content.decode()
    assert treatment_org.name not in page and "Questions from your care team" in page
    done = phone.post(f"/s/{token}/", {"go": "submit"}, follow=True).content.decode()
    assert treatment_org.name not in done and "sent to your care team" in done


def test_the_tablet_in_parent_mode_asks_her_and_goes_back_to_her_pages(coordinator, family, client):
    client.force_login(coordinator.user)
    started = client.post(
        f"/screening/family/{family.pk}/new/", {"instrument": "phq2", "language": "en", "how_given": "parent_mode"}
    )
    assert started.status_code == 302 and started["Location"] == "/parent/questionnaire/"
    response = ScreeningResponse.objects.get()
    tablet = client.get("/parent/questionnaire/").content.decode()
    assert "Little interest or pleasure in doing things" in tablet and 'data-testid="parent-mode-header"' in tablet
    assert client.get(f"/families/{family.pk}/")["Location"] == "/parent/"  # staff pages stay locked
    client.post("/parent/questionnaire/", {"answer-q1": "3", "answer-q2": "2", "shown": ["q1", "q2"], "go": "review"})
    thanks = client.post("/parent/questionnaire/", {"go": "submit"}).content.decode()
    assert "give the tablet back" in thanks.lower()
    response.refresh_from_db()
    assert response.status == ScreeningStatus.COMPLETED and response.results["scales"][0]["score"] == 5
    assert client.get("/parent/questionnaire/")["Location"] == "/parent/"


def test_a_blank_self_harm_question_is_flagged_for_staff_to_ask(coordinator, family, client):
    done = answer_and_complete(coordinator, give(coordinator, family), {f"q{n}": 0 for n in range(1, 9)})
    assert done.results["critical_unanswered"] == ["q9"] and not done.critical
    client.force_login(coordinator.user)
    page = client.get(f"/screening/{done.pk}/").content.decode()
    assert 'data-testid="blank-critical"' in page and "Question 9 was left blank" in page


def test_only_a_lead_writes_the_safety_protocol_and_alerts_show_it(coordinator, family, client):
    lead = staff(coordinator.organization, Role.PROGRAMME_LEAD)
    client.force_login(coordinator.user)
    assert client.post("/screening/protocol/", {"protocol": "Call Dr K."}).status_code == 403
    client.force_login(lead.user)
    assert client.post("/screening/protocol/", {"protocol": "x" * 4001}).status_code == 400
    assert (
        client.post("/screening/protocol/", {"protocol": "1. Stay with her.\n2. Call Dr. Kim at 555-0100."}).status_code
        == 302
    )
    done = answer_and_complete(coordinator, give(coordinator, family), PHQ9_NINE_ONES)
    client.force_login(coordinator.user)
    page = client.get(f"/screening/{done.pk}/").content.decode()
    assert "Call Dr. Kim at 555-0100." in page and "988" in page


def test_the_clinicians_on_her_team_are_told_when_the_door_lets_them_read_it(coordinator, family, clinician):
    care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=clinician, role=Role.OB_CLINICIAN)
    consent_team_wide(family, by=coordinator, categories=("contact", "mental_health"), purposes=("treatment",))
    done = answer_and_complete(coordinator, give(coordinator, family), PHQ9_NINE_ONES)
    alert = SafetyAlert.objects.get(response=done)
    assert set(alert.notified.all()) == {coordinator.user, clinician.user}
