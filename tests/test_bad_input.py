"""Bad input is refused with a clear message (issue 11, "Found by trying it as a new user would"): a parent
aged 6 with a due date, dates of birth and due dates that cannot be right, a delivery before the pregnancy
began, and a note of a million characters. Every text field has a limit that the model, the form, the service
and the API's schemas share (``kinfold.text_limits``), and a refused write saves nothing.

The API only reads today: its inputs (the caseload's filters) are validated here, and ``Limited``, the limit
its write schemas will use, is shown to refuse in the pages' words; the services behind the forms are called
directly too, as a command or a later endpoint would call them."""

from __future__ import annotations

import base64
import html
from datetime import date, timedelta
from typing import Annotated, Any

import pytest
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.test import Client
from django.urls import reverse
from ninja import Schema
from pydantic import ValidationError as PydanticValidationError

from kinfold import clock, text_limits
from kinfold.api.routes import Limited
from kinfold.audit.models import AuditEvent
from kinfold.families import services
from kinfold.families.forms import DeliveryForm, FamilyCreateForm, FamilyMemberForm, PregnancyForm
from kinfold.families.models import Family, FamilyActivity, FamilyRelationship, Person, PregnancyEpisode
from kinfold.notes.forms import NoteForm
from kinfold.notes.models import Note
from tests.factories import TEST_PASSWORD, make_family, viewer_of
from tests.support import client_for, text

pytestmark = pytest.mark.django_db

MILLION = 1_000_000


def basic(membership: Any) -> dict[str, str]:
    token = base64.b64encode(f"{membership.user.username}:{TEST_PASSWORD}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def api_messages(response: Any) -> dict[str, list[str]]:
    """The 422's messages by field (the last part of ``loc``)."""
    found: dict[str, list[str]] = {}
    for item in response.json()["detail"]:
        found.setdefault(str(item["loc"][-1]), []).append(item["msg"])
    return found


def page_says(response: Any, sentence: str) -> bool:
    return sentence in html.unescape(text(response))


def years_before(day: date, years: int) -> date:
    return clock.add_months(day, -12 * years)


def family_form(**changes: Any) -> dict[str, Any]:
    data = {"given_name": "Maria", "family_name": "Lopez", "preferred_language": "en"}
    return {**data, **changes}


def nothing_saved() -> bool:
    return not Family.objects.exists() and not Person.objects.exists() and not PregnancyEpisode.objects.exists()


# --- 1. Ages and pregnancy ------------------------------------------------------------------------------

SIX_MESSAGE = "Maria would be 6 on her due date. Check her date of birth or the due date."


def test_a_parent_aged_six_with_a_due_date_is_refused_with_a_plain_message(coordinator):
    today = clock.today()
    response = client_for(coordinator).post(
        reverse("families:create"),
        family_form(born_on=years_before(today, 6), estimated_due_on=today + timedelta(days=60)),
    )
    assert response.status_code == 400
    assert page_says(response, SIX_MESSAGE)
    assert response.context["form"].errors["estimated_due_on"] == [SIX_MESSAGE]
    assert nothing_saved()


def test_a_parent_aged_six_with_a_due_date_is_refused_by_the_service_whoever_calls_it(coordinator):
    today = clock.today()
    with pytest.raises(ValidationError) as refused:
        make_family(coordinator, born_on=years_before(today, 6), estimated_due_on=today + timedelta(days=60))
    assert refused.value.message_dict == {"estimated_due_on": [SIX_MESSAGE]}
    assert nothing_saved()


def test_a_parent_over_sixty_five_on_her_due_date_is_refused_by_name(coordinator):
    today = clock.today()
    response = client_for(coordinator).post(
        reverse("families:create"),
        family_form(
            preferred_name="Mari", born_on=years_before(today, 70), estimated_due_on=today + timedelta(days=60)
        ),
    )
    assert response.status_code == 400
    assert page_says(response, "Mari would be 70 on her due date. Check her date of birth or the due date.")
    assert nothing_saved()


@pytest.mark.parametrize(("age_on_due_date", "accepted"), [(9, False), (10, True), (38, True), (65, True), (66, False)])
def test_a_pregnancy_is_recorded_for_a_parent_aged_ten_to_sixty_five_on_her_due_date(
    coordinator, age_on_due_date, accepted
):
    edd = clock.today() + timedelta(days=100)
    born_on = years_before(edd, age_on_due_date)
    create = lambda: make_family(coordinator, born_on=born_on, estimated_due_on=edd)  # noqa: E731
    if accepted:
        assert create().pregnancies.get().estimated_due_on == edd
    else:
        with pytest.raises(ValidationError, match=f"Maria would be {age_on_due_date} on her due date"):
            create()
        assert nothing_saved()


def test_a_pregnancy_added_later_or_a_corrected_due_date_checks_her_age(coordinator):
    today = clock.today()
    family = make_family(coordinator, born_on=years_before(today, 11) + timedelta(days=100))
    client = client_for(coordinator)

    # Her 11th birthday is 100 days away: on a due date 60 days out she would be 10 (accepted) ...
    response = client.post(
        reverse("families:pregnancy_add", args=[family.pk]), {"estimated_due_on": today + timedelta(days=60)}
    )
    assert response.status_code == 302
    episode = family.pregnancies.get()
    # ... and a correction to a date on which she would be 9 is refused.
    family_parent = family.parent
    assert family_parent is not None
    Person.objects.filter(pk=family_parent.pk).update(born_on=years_before(today, 10) + timedelta(days=100))
    response = client.post(
        reverse("families:due_date", args=[family.pk, episode.pk]),
        {"estimated_due_on": today + timedelta(days=50), "version": episode.version},
    )
    assert response.status_code == 400
    assert page_says(response, "Maria would be 9 on her due date.")
    episode.refresh_from_db()
    assert episode.estimated_due_on == today + timedelta(days=60)


@pytest.mark.parametrize(
    ("born_on", "message"),
    [
        (lambda today: today + timedelta(days=1), "A date of birth cannot be in the future."),
        (lambda today: date(1899, 12, 31), "A date of birth before 1900 cannot be right. Please check the year."),
    ],
    ids=["in-the-future", "before-1900"],
)
def test_a_date_of_birth_in_the_future_or_before_1900_is_refused(coordinator, born_on, message):
    day = born_on(clock.today())
    response = client_for(coordinator).post(reverse("families:create"), family_form(born_on=day))
    assert response.status_code == 400
    assert response.context["form"].errors["born_on"] == [message]

    with pytest.raises(ValidationError) as refused:
        make_family(coordinator, born_on=day)
    assert refused.value.message_dict == {"born_on": [message]}
    assert nothing_saved()


def test_a_relatives_date_of_birth_in_the_future_is_refused(coordinator):
    family = make_family(coordinator)
    response = client_for(coordinator).post(
        reverse("families:member_add", args=[family.pk]),
        {"given_name": "Rosa", "category": "parent", "born_on": clock.today() + timedelta(days=3)},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["born_on"] == ["A date of birth cannot be in the future."]
    assert not FamilyRelationship.objects.exists()


@pytest.mark.parametrize(
    ("days_from_today", "words"),
    [(44 * 7, "more than 300 days away"), (-7 * 7, "more than 6 weeks ago")],
    ids=["44-weeks-ahead", "7-weeks-past"],
)
def test_a_due_date_more_than_44_weeks_ahead_or_long_past_is_refused(coordinator, days_from_today, words):
    edd = clock.today() + timedelta(days=days_from_today)
    response = client_for(coordinator).post(reverse("families:create"), family_form(estimated_due_on=edd))
    assert response.status_code == 400
    assert words in response.context["form"].errors["estimated_due_on"][0]

    with pytest.raises(ValidationError, match=words):
        make_family(coordinator, estimated_due_on=edd)
    assert nothing_saved()


def _delivery(coordinator: Any, edd: date, delivered_on: date, outcome: str = "live_birth") -> Any:
    family = make_family(coordinator, estimated_due_on=edd)
    episode = family.pregnancies.get()
    response = client_for(coordinator).post(
        reverse("families:delivery", args=[family.pk, episode.pk]),
        {"delivered_on": delivered_on, "outcome": outcome, "infant_names": "Luz", "version": episode.version},
    )
    episode.refresh_from_db()
    return response, episode


def test_a_delivery_date_in_the_future_is_refused(coordinator):
    today = clock.today()
    response, episode = _delivery(coordinator, today + timedelta(days=10), today + timedelta(days=1))
    assert response.status_code == 400
    assert response.context["form"].errors["delivered_on"] == ["The delivery date cannot be in the future."]
    assert episode.delivered_on is None and not episode.infants.exists()


def test_a_delivery_date_before_the_pregnancy_began_is_refused(coordinator):
    today = clock.today()
    edd = today + timedelta(days=200)  # so she is 11 weeks along today; the pregnancy began 80 days ago
    response, episode = _delivery(coordinator, edd, today - timedelta(days=81), outcome="pregnancy_loss")
    assert response.status_code == 400
    [message] = response.context["form"].errors["delivered_on"]
    assert message.startswith("That date is before this pregnancy began")
    assert "Check the date, or correct the due date first." in message
    assert episode.delivered_on is None


def test_an_early_pregnancy_loss_is_recorded_but_not_an_early_birth(coordinator):
    today = clock.today()
    edd = today + timedelta(days=200)  # 11 weeks along
    response, episode = _delivery(coordinator, edd, today)
    assert response.status_code == 400
    [message] = response.context["form"].errors["delivered_on"]
    assert message.startswith("That date is too early for a birth: the pregnancy would have been 11 weeks along")
    assert episode.delivered_on is None and not Person.objects.filter(given_name="Luz").exists()

    family = episode.family
    services.delivery_record(
        viewer=viewer_of(coordinator), episode=episode, delivered_on=today, outcome="pregnancy_loss"
    )
    episode.refresh_from_db()
    assert episode.outcome == "pregnancy_loss" and family.pregnancies.get().delivered_on == today


# --- 2. Limits on every text field -------------------------------------------------------------------------

NOTE_MESSAGE = "Keep the note to 10,000 characters or fewer; it has 1,000,000."


def _no_note_written() -> bool:
    return (
        not Note.objects.exists()
        and not FamilyActivity.objects.filter(verb="note_added").exists()
        and not AuditEvent.objects.filter(record_type="Note", outcome="success").exists()
    )


def test_a_note_of_a_million_characters_is_refused_and_nothing_is_saved(coordinator):
    family = make_family(coordinator)
    response = client_for(coordinator).post(
        reverse("notes:add", args=[family.pk]),
        {"kind": "contact_log", "occurred_on": clock.today(), "summary": "Called her", "body": "a" * MILLION},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["body"] == [NOTE_MESSAGE]
    assert page_says(response, NOTE_MESSAGE)
    assert _no_note_written()


def test_the_service_refuses_a_million_character_note_whoever_calls_it(coordinator):
    """A management command or a later endpoint calls the service directly: it refuses too."""
    from kinfold.notes.services import note_add

    family = make_family(coordinator)
    with pytest.raises(ValidationError) as refused:
        note_add(viewer=viewer_of(coordinator), family=family, kind="contact_log", summary="x", body="a" * MILLION)
    assert refused.value.message_dict == {"body": [NOTE_MESSAGE]}
    assert _no_note_written()


def test_a_note_of_exactly_ten_thousand_characters_is_saved(coordinator):
    family = make_family(coordinator)
    body = "word " * 1999 + "done!"
    response = client_for(coordinator).post(
        reverse("notes:add", args=[family.pk]),
        {"kind": "contact_log", "occurred_on": clock.today(), "summary": "Called her", "body": body},
    )
    assert response.status_code == 302
    assert [len(n.body) for n in Note.objects.all()] == [10_000]


def test_the_note_form_tells_the_browser_its_limits(coordinator):
    family = make_family(coordinator)
    page = client_for(coordinator).get(reverse("notes:add", args=[family.pk])).content.decode()
    assert 'maxlength="10000"' in page and 'maxlength="300"' in page
    assert "Up to 10,000 characters." in page


def test_overlong_names_are_refused_with_the_limit_and_the_length(coordinator):
    long_name, long_phone = "M" * 150, "5" * 41
    expected = {
        "given_name": ["Keep the first name to 100 characters or fewer; it has 150."],
        "phone": ["Keep the phone number to 40 characters or fewer; it has 41."],
    }
    response = client_for(coordinator).post(
        reverse("families:create"), family_form(given_name=long_name, phone=long_phone)
    )
    assert response.status_code == 400
    assert {k: v for k, v in response.context["form"].errors.items()} == expected

    with pytest.raises(ValidationError) as refused:
        make_family(coordinator, given_name=long_name, phone=long_phone)
    assert refused.value.message_dict == expected
    assert nothing_saved()


def test_the_service_checks_every_name_even_where_sqlite_would_store_it(coordinator):
    """SQLite does not enforce a column's length; the service refuses what PostgreSQL would fail on."""
    with pytest.raises(ValidationError) as refused:
        services.family_create(
            viewer=viewer_of(coordinator), given_name="Maria", family_name="L" * 101, pronouns="she/her" * 10
        )
    assert refused.value.message_dict == {
        "family_name": ["Keep the last name to 100 characters or fewer; it has 101."],
        "pronouns": ["Keep the pronouns to 40 characters or fewer; it has 70."],
    }
    assert nothing_saved()


def test_a_relatives_description_over_200_characters_is_refused(coordinator):
    family = make_family(coordinator)
    message = "Keep who this person is to her to 200 characters or fewer; it has 201."
    response = client_for(coordinator).post(
        reverse("families:member_add", args=[family.pk]),
        {"given_name": "Rosa", "category": "friend", "description": "x" * 201},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["description"] == [message]
    with pytest.raises(ValidationError) as refused:
        services.family_member_add(
            viewer=viewer_of(coordinator),
            family=family,
            given_name="Rosa",
            family_name="",
            category="friend",
            description="x" * 201,
        )
    assert refused.value.message_dict == {"description": [message]}
    assert not FamilyRelationship.objects.exists()


def test_an_overlong_baby_name_is_refused_and_no_baby_is_linked(coordinator):
    today = clock.today()
    family = make_family(coordinator, estimated_due_on=today + timedelta(days=5))
    episode = family.pregnancies.get()
    response = client_for(coordinator).post(
        reverse("families:delivery", args=[family.pk, episode.pk]),
        {"delivered_on": today, "outcome": "live_birth", "infant_names": "L" * 101, "version": episode.version},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["infant_names"] == [
        "Keep each baby's name to 100 characters or fewer; it has 101."
    ]
    with pytest.raises(ValidationError, match="Keep each baby's name to 100 characters"):
        services.delivery_record(
            viewer=viewer_of(coordinator),
            episode=episode,
            delivered_on=today,
            outcome="live_birth",
            infants=[{"given_name": "L" * 101}],
        )
    episode.refresh_from_db()
    assert episode.delivered_on is None and not episode.infants.exists()


def test_an_api_search_longer_than_the_limit_or_an_unknown_scope_is_refused(coordinator):
    client = Client()
    response = client.get("/api/families", {"q": "x" * 101}, **basic(coordinator))
    assert response.status_code == 422
    assert api_messages(response) == {"q": ["Keep the search to 100 characters or fewer; it has 101."]}
    assert client.get("/api/families", {"scope": "everyone"}, **basic(coordinator)).status_code == 422
    assert client.get("/api/families", {"sort": "password"}, **basic(coordinator)).status_code == 422
    assert (
        client.get("/api/families", {"scope": "organization", "sort": "-activity"}, **basic(coordinator)).status_code
        == 200
    )


def test_a_hidden_null_character_is_refused_not_a_server_error(coordinator):
    """PostgreSQL cannot store U+0000: it is refused in plain words on every database."""
    from kinfold.notes.services import note_add

    family = make_family(coordinator)
    response = client_for(coordinator).post(
        reverse("notes:add", args=[family.pk]),
        {"kind": "contact_log", "occurred_on": clock.today(), "summary": "Called\x00 her"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["summary"] == [
        "Remove the hidden null character from the summary; it cannot be saved."
    ]
    with pytest.raises(ValidationError, match="Remove the hidden null character from the note"):
        note_add(viewer=viewer_of(coordinator), family=family, kind="contact_log", summary="x", body="a\x00b")
    assert _no_note_written()


def test_an_api_schema_refuses_overlong_text_in_the_pages_words_and_publishes_the_limit():
    """``Limited`` is what the API's write schemas put on each text field."""

    class NoteIn(Schema):
        summary: Annotated[str, Limited(text_limits.NOTE_SUMMARY)]
        body: Annotated[str, Limited(text_limits.NOTE_BODY)] = ""

    with pytest.raises(PydanticValidationError) as refused:
        NoteIn(summary="Called her", body="a" * MILLION)
    assert [(e["loc"], e["msg"]) for e in refused.value.errors()] == [(("body",), NOTE_MESSAGE)]
    assert NoteIn(summary="  Called her  ", body="a" * 10_000).body == "a" * 10_000
    assert NoteIn.model_json_schema()["properties"]["body"]["maxLength"] == 10_000


def test_the_api_publishes_the_search_limit():
    parameters = Client().get("/api/openapi.json").json()["paths"]["/api/families"]["get"]["parameters"]
    q = next(p for p in parameters if p["name"] == "q")
    assert q["schema"]["maxLength"] == text_limits.SEARCH.chars


# Every text column of the apps that hold a family's record and its organisations.
TEXT_MODELS = [m for app in ("families", "notes", "organizations") for m in apps.get_app_config(app).get_models()]


def test_every_text_field_on_the_models_has_a_limit():
    unlimited = [
        f"{model.__name__}.{field.name}"
        for model in TEXT_MODELS
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField) and not any(isinstance(v, MaxLengthValidator) for v in field.validators)
    ]
    assert unlimited == []
    assert Note._meta.get_field("body").validators[0].limit_value == text_limits.NOTE_BODY.chars


FORM_FIELDS_TO_MODEL = {
    FamilyCreateForm: Person,
    FamilyMemberForm: Person,
    NoteForm: Note,
}


@pytest.mark.parametrize("form_class", [FamilyCreateForm, FamilyMemberForm, PregnancyForm, DeliveryForm, NoteForm])
def test_every_text_field_on_the_forms_has_a_limit_no_larger_than_its_column(form_class):
    form = form_class(kinds=[]) if form_class is NoteForm else form_class()
    for name, field in form.fields.items():
        if type(field) is not forms.CharField and not isinstance(field, text_limits.LimitedCharField):
            continue
        assert isinstance(field, text_limits.LimitedCharField), f"{form_class.__name__}.{name} has no plain limit"
        model = FORM_FIELDS_TO_MODEL.get(form_class)
        column = model._meta.get_field(name) if model and name in {f.name for f in model._meta.fields} else None
        if column is None and form_class is FamilyMemberForm and name == "description":
            column = FamilyRelationship._meta.get_field("description")
        if column is not None and column.max_length:
            assert field.max_length == column.max_length, f"{form_class.__name__}.{name}"
