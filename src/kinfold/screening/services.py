"""services.py — giving a screening and acting on it: start one (with staff, on the tablet in parent mode, or by a
one-time link to her phone), save answers as she goes (pause and resume), complete it (exact scoring by the
instrument file; a critical answer raises exactly one safety alert, told at once to the people the door lets read
it), withdraw it, and record what was done about an alert. Every write asks the door and is audited; each is
one transaction.

The one-time link: 32 random bytes, only the SHA-256 kept; it names nothing (no family, no person, no
instrument), works for ``KINFOLD_SCREENING_LINK_DAYS`` days and dies when the response is completed or
withdrawn or a new link replaces it. An unknown, tampered, expired or spent link is the same ``None``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction

from kinfold import clock, text_limits
from kinfold.access.door import require, require_create
from kinfold.access.gate import RecordGate
from kinfold.access.registry import facts_of
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, category_of_kind, role_access
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write, record_event
from kinfold.families.models import CareTeamMember, Family
from kinfold.families.services import ConcurrentEditError
from kinfold.families.timeline import record_written, record_written_from_link
from kinfold.onetime import hash_token, looks_like_token, new_token
from kinfold.pathways import services as pathway_evidence
from kinfold.screening.instruments import Answer, Instrument, get_instrument
from kinfold.screening.models import AlertAction, HowGiven, SafetyAlert, ScreeningResponse, ScreeningStatus

log = logging.getLogger(__name__)

CRISIS_LINES = (
    ("988", "Suicide and Crisis Lifeline: call or text 988 (24 hours, English and Spanish)"),
    ("911", "Emergency: call 911 if she is in danger now"),
    ("1-800-799-7233", "National Domestic Violence Hotline: 1-800-799-7233, or text START to 88788"),
    ("1-833-852-6262", "National Maternal Mental Health Hotline: call or text 1-833-852-6262 (TLC-MAMA)"),
)

DEFAULT_SAFETY_PROTOCOL = (
    "1. Stay with her, or keep her on the phone. Do not leave her alone if she may be in danger now.\n"
    "2. Ask directly about her safety today: thoughts of harming herself, a plan, means, or someone hurting her.\n"
    "3. If she is in danger now, call 911. Otherwise call or text 988 with her, or arrange urgent mental-health "
    "care today.\n"
    "4. Make a safety plan with her: warning signs, people to call, safe places, removing means.\n"
    "5. Tell the clinician responsible for her care and your supervisor today.\n"
    "6. Record here what you did."
)


def link_path(token: str) -> str:
    return f"/s/{token}/"


def safety_protocol(organization: Any) -> str:
    return (getattr(organization, "safety_protocol", "") or "").strip() or DEFAULT_SAFETY_PROTOCOL


# --- starting -------------------------------------------------------------------------------------------------


@atomic_write
def start_screening(
    *,
    viewer: Viewer,
    family: Family,
    instrument_key: str,
    language: str,
    how_given: str,
    gate: RecordGate | None = None,
) -> ScreeningResponse:
    """A new response to ``instrument_key`` for her, in her organisation's name, filed under the kind the
    instrument names for this organisation's type."""
    assert viewer.membership is not None
    try:
        instrument = get_instrument(instrument_key)
    except KeyError:
        raise ValidationError({"instrument": "Choose one of the screening questionnaires listed."}) from None
    organization = viewer.membership.organization
    if instrument.licensed_to and organization.name not in instrument.licensed_to:
        raise ValidationError(
            {"instrument": f"Your organisation does not hold a licence to give the {instrument.short_title}."}
        )
    if how_given not in HowGiven.values:
        raise ValidationError({"how_given": "Choose how she will answer."})
    if language not in ("en", "es"):
        raise ValidationError({"language": "Choose English or Spanish."})
    kind = instrument.kind_for(organization.type)
    category = category_of_kind(kind)
    require_create(viewer, ScreeningResponse, family_id=family.pk, category=category, gate=gate, kind=kind)
    response = ScreeningResponse.objects.create(
        family=family,
        instrument=instrument.key,
        instrument_version=instrument.version,
        short_title=instrument.short_title,
        kind=kind,
        sensitivity=category,
        language=instrument.speaks(language),
        how_given=how_given,
        created_by=viewer.user,
        created_by_org=organization,
    )
    started = f"{instrument.short_title} screening started ({HowGiven(how_given).label.lower()})"
    _line(viewer, response, "screening_started", started, action=Action.CREATE)
    return response


@atomic_write
def send_link(*, viewer: Viewer, response: ScreeningResponse) -> str:
    """A new one-time link for her phone (any earlier link stops working); the token, shown once."""
    response = _locked(response.pk)
    require(viewer, Interaction.CHANGE, response)
    if not response.is_open:
        raise ValidationError("This screening is finished; start a new one to send a link.")
    token = new_token()
    now = clock.now()
    response.link_token_hash = hash_token(token)
    response.link_expires_at = now + timedelta(days=settings.KINFOLD_SCREENING_LINK_DAYS)
    response.link_opened_at = None
    response.how_given = HowGiven.LINK
    response.version += 1
    response.save()
    _line(
        viewer, response, "screening_link_sent", f"{response.short_title} screening: a one-time link made for her phone"
    )
    return token


def _line(
    viewer: Viewer, record: ScreeningResponse | SafetyAlert, verb: str, summary: str, action: str = Action.UPDATE
) -> None:
    """The timeline line and audit event of a write to a response or an alert, filed as the record is."""
    record_written(
        viewer=viewer,
        family_id=record.family_id,
        record=record,
        action=action,
        verb=verb,
        summary=summary,
        category=record.sensitivity,
        kind=record.kind,
    )


def _locked(response_id: int) -> ScreeningResponse:
    return (
        ScreeningResponse.objects.select_for_update(of=("self",)).select_related("created_by_org").get(pk=response_id)
    )


# --- answering ------------------------------------------------------------------------------------------------


def clean_answers(instrument: Instrument, raw: Mapping[str, Any]) -> tuple[dict[str, Answer], dict[str, str]]:
    """The valid answers among ``raw`` (item key → value) and a plain-words error for each invalid one."""
    answers: dict[str, Answer] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        try:
            item = instrument.item(key)
        except KeyError:
            errors[key] = "This is not a question of this screening."
            continue
        if value in (None, "", []):
            continue
        try:
            answers[key] = instrument.clean_answer(item, value)
        except ValueError as problem:
            errors[key] = str(problem)
    return answers, errors


def _merge(
    instrument: Instrument, response: ScreeningResponse, answers: Mapping[str, Answer], clear: list[str]
) -> None:
    merged = {**response.answers, **answers}
    for key in clear:
        merged.pop(key, None)
    # An answer to a question the instrument no longer asks (she changed an earlier answer) is dropped.
    asked = {item.key for item in instrument.asked(merged)}
    response.answers = {k: v for k, v in merged.items() if k in asked}


@atomic_write
def save_answers(
    *,
    viewer: Viewer,
    response: ScreeningResponse,
    raw: Mapping[str, Any],
    version: int,
    clear: list[str] | None = None,
) -> ScreeningResponse:
    """Staff (or the tablet in parent mode) save answers so far. Stale ``version``: refused, nothing lost."""
    response = _locked(response.pk)
    require(viewer, Interaction.CHANGE, response)
    _answerable(response)
    if version != response.version:
        raise ConcurrentEditError(
            "These answers were changed on another screen since you opened them. Reload to see them."
        )
    instrument = get_instrument(response.instrument)
    answers, errors = clean_answers(instrument, raw)
    if errors:
        raise ValidationError(errors)
    _merge(instrument, response, answers, clear or [])
    response.version += 1
    response.save()
    record_event(
        actor=viewer.user,
        action=Action.UPDATE,
        record_type="ScreeningResponse",
        record_id=response.pk,
        family_id=response.family_id,
        purpose=viewer.default_purpose,
        detail={"answers_saved": sorted(answers)},
    )
    return response


def _answerable(response: ScreeningResponse) -> None:
    if not response.is_open:
        raise ValidationError("This screening is finished; its answers can no longer be changed.")


@atomic_write
def complete(*, viewer: Viewer, response: ScreeningResponse, version: int) -> ScreeningResponse:
    """Score and close it; a critical answer raises its one alert."""
    response = _locked(response.pk)
    require(viewer, Interaction.CHANGE, response)
    _answerable(response)
    if version != response.version:
        raise ConcurrentEditError(
            "These answers were changed on another screen since you opened them. Reload to see them."
        )
    _complete(response)
    summary = _summary(response)
    _line(viewer, response, "screening_completed", summary)
    pathway_evidence.screening_completed(viewer, response)
    if response.critical:
        _raise_alert(response)
    return response


def _complete(response: ScreeningResponse) -> None:
    instrument = get_instrument(response.instrument)
    result = instrument.score(response.answers)
    now = clock.now()
    response.results = result.as_json()
    response.instrument_version = instrument.version  # the file it was scored by
    response.positive = result.positive
    response.critical = result.critical
    response.status = ScreeningStatus.COMPLETED
    response.completed_at = now
    response.link_token_hash = ""  # the link dies with the submission
    response.version += 1
    response.save()


def _summary(response: ScreeningResponse) -> str:
    parts = []
    for scale in response.results.get("scales", []):
        if scale["score"] is None:
            parts.append("not scored")
        else:
            score = scale["score"]
            parts.append(f"{int(score) if float(score).is_integer() else score} ({scale['band']})")
    words = f"{response.short_title} screening completed: " + "; ".join(parts[:3])
    if response.critical:
        words += ". A safety alert was raised"
    return words[: text_limits.NOTE_SUMMARY.chars]


# --- the link -------------------------------------------------------------------------------------------------


def open_link(token: str) -> ScreeningResponse | None:
    """The open response behind ``token``, or None (unknown, tampered, expired, spent: the same None)."""
    if not looks_like_token(token):
        return None
    response = (
        ScreeningResponse.objects.select_related("created_by_org", "family")
        .filter(link_token_hash=hash_token(token))
        .first()
    )
    if response is None or not response.link_works:
        return None
    return response


def _locked_link(token: str) -> ScreeningResponse | None:
    """The response behind a working link, locked for this transaction (None: the link does not work, or stopped
    working while we waited for the lock)."""
    found = open_link(token)
    if found is None:
        return None
    response = _locked(found.pk)
    if not response.link_works or response.link_token_hash != hash_token(token):
        return None
    return response


@transaction.atomic
def link_opened(response: ScreeningResponse) -> None:
    """The first time she opens the link, the sender's organisation sees that she has (audited, no actor)."""
    if response.link_opened_at is not None:
        return
    ScreeningResponse.objects.filter(pk=response.pk, link_opened_at__isnull=True).update(link_opened_at=clock.now())
    record_event(
        actor=None,
        action=Action.VIEW,
        record_type="ScreeningResponse",
        record_id=response.pk,
        family_id=response.family_id,
        purpose="treatment",
        detail={"via_link": True, "opened": True},
    )


@transaction.atomic
def save_from_link(*, token: str, raw: Mapping[str, Any], clear: list[str] | None = None) -> ScreeningResponse | None:
    """She saves answers on her phone (pause and resume). None: the link does not work (reveals nothing).
    Invalid answers raise ``ValidationError`` (nothing is saved)."""
    response = _locked_link(token)
    if response is None:
        return None
    instrument = get_instrument(response.instrument)
    answers, errors = clean_answers(instrument, raw)
    if errors:
        raise ValidationError(errors)
    _merge(instrument, response, answers, clear or [])
    response.version += 1
    response.save()
    record_event(
        actor=None,
        action=Action.UPDATE,
        record_type="ScreeningResponse",
        record_id=response.pk,
        family_id=response.family_id,
        purpose="treatment",
        detail={"via_link": True, "answers_saved": sorted(answers)},
    )
    return response


@transaction.atomic
def complete_from_link(*, token: str) -> ScreeningResponse | None:
    """She submits on her phone: scored, closed, the link spent. None: the link does not work."""
    response = _locked_link(token)
    if response is None:
        return None
    _complete(response)
    record_written_from_link(
        organization_id=response.created_by_org_id,
        purpose="treatment",
        family_id=response.family_id,
        record=response,
        action=Action.UPDATE,
        verb="screening_completed",
        summary=_summary(response) + " (she answered on her phone, from the link sent)",
        category=response.sensitivity,
        kind=response.kind,
        sent_by=response.created_by,
    )
    pathway_evidence.screening_completed(None, response)
    if response.critical:
        _raise_alert(response)
    return response


@atomic_write
def withdraw(*, viewer: Viewer, response: ScreeningResponse, version: int) -> ScreeningResponse:
    """Stop an unfinished screening (its link dies); its answers so far are kept, unscored."""
    response = _locked(response.pk)
    require(viewer, Interaction.CHANGE, response)
    _answerable(response)
    if version != response.version:
        raise ConcurrentEditError("This screening was changed since you opened it. Reload to see it.")
    response.status = ScreeningStatus.WITHDRAWN
    response.link_token_hash = ""
    response.version += 1
    response.save()
    _line(viewer, response, "screening_withdrawn", f"{response.short_title} screening withdrawn before it was finished")
    return response


# --- safety alerts --------------------------------------------------------------------------------------------


def _raise_alert(response: ScreeningResponse) -> SafetyAlert:
    """The one alert of a critical response (the OneToOne field makes a second impossible), told at once to the
    person who gave the screening and the family's designated coordinator, each only if the door lets her read
    it."""
    instrument = get_instrument(response.instrument)
    items = response.results.get("critical_items", [])
    scales = response.results.get("critical_scales", [])
    reasons = [f"question {_item_number(instrument, key)}" for key in items]
    reasons += [f"the {instrument.scale(key).title.en.lower()} score" for key in scales]
    alert = SafetyAlert.objects.create(
        family_id=response.family_id,
        response=response,
        kind=response.kind,
        sensitivity=response.sensitivity,
        reason=f"{response.short_title}: a critical answer ({', '.join(reasons)})"[:300],
        created_by=response.created_by,
        created_by_org_id=response.created_by_org_id,
    )
    recipients = alert_recipients(alert)
    alert.notified.set(recipients)
    record_event(
        actor=None,
        action=Action.CREATE,
        record_type="SafetyAlert",
        record_id=alert.pk,
        family_id=response.family_id,
        purpose="treatment",
        detail={"response": response.pk, "notified": [u.pk for u in recipients]},
    )
    emails = [u.email for u in recipients if u.email]
    if emails:
        transaction.on_commit(lambda: _email_alert(alert.pk, emails))
    return alert


def _item_number(instrument: Instrument, key: str) -> int:
    return next(n for n, item in enumerate(instrument.items, start=1) if item.key == key)


def alert_recipients(alert: SafetyAlert) -> list[Any]:
    """Who is told at once: the person who gave the screening, the family's designated coordinator, and the
    clinicians on her care team (the responsible clinician is among them whoever gave the screen) — each only if
    the door lets her read the alert."""
    user_model = get_user_model()
    candidates: list[Any] = []
    if alert.created_by_id is not None:
        candidates.append(alert.created_by_id)
    places = (
        CareTeamMember.objects.active()
        .filter(care_team__family_id=alert.family_id)
        .order_by("-is_coordinator", "joined_at")
        .values_list("membership__user_id", "membership__role", "is_coordinator")
    )
    for user_id, role, is_coordinator in places:
        access = role_access(role)
        if (is_coordinator or (access is not None and access.clinician)) and user_id not in candidates:
            candidates.append(user_id)
    users = user_model.objects.filter(pk__in=candidates, is_active=True).select_related(
        "membership", "membership__organization"
    )
    facts = facts_of(alert)
    out = []
    for user in users:
        viewer = Viewer.of(user)
        if not viewer.may_see_family_data:
            continue
        gate = RecordGate.open(viewer, [alert.family_id])
        if gate.decision(facts, interaction=Interaction.READ).permitted:
            out.append(user)
    return sorted(out, key=lambda u: candidates.index(u.pk))


def _email_alert(alert_id: int, emails: list[str]) -> None:
    """An email that names no family, person or answer (it leaves Kinfold): only that an alert waits."""
    body = (
        "A screening answer needs attention today: a safety alert is waiting for you in Kinfold.\n\n"
        f"Open it here: {settings.KINFOLD_SITE_URL}/screening/alerts/{alert_id}/\n\n"
        "If someone is in danger now, call 911. The Suicide and Crisis Lifeline is 988 (call or text)."
    )
    try:
        send_mail("Safety alert: a screening answer needs attention today", body, None, emails)
    except OSError:
        log.warning("safety alert %s: the email could not be sent", alert_id)


@atomic_write
def resolve_alert(*, viewer: Viewer, alert: SafetyAlert, action: str, note: str, version: int) -> SafetyAlert:
    """Close an alert by recording what was done (an action and words, both required)."""
    alert = SafetyAlert.objects.select_for_update(of=("self",)).get(pk=alert.pk)
    require(viewer, Interaction.CHANGE, alert)
    errors: dict[str, str] = {}
    if action not in AlertAction.values:
        errors["action"] = "Choose what was done."
    note = (note or "").strip()
    if not note:
        errors["note"] = "Say in a few words what was done and what happens next."
    elif problem := text_limits.ALERT_NOTE.problem(note):
        errors["note"] = problem
    if errors:
        raise ValidationError(errors)
    if not alert.is_open:
        raise ConcurrentEditError("This alert was already closed by someone else. Reload to see what was recorded.")
    if version != alert.version:
        raise ConcurrentEditError("This alert changed since you opened it. Reload to see it.")
    now = clock.now()
    alert.action = action
    alert.action_note = note
    alert.resolved_at = now
    alert.resolved_by = viewer.user
    alert.version += 1
    alert.save()
    done = str(AlertAction(action).label)
    _line(viewer, alert, "safety_alert_closed", f"Safety alert closed: {done[:1].lower()}{done[1:]}")
    return alert


# --- the organisation's safety protocol -----------------------------------------------------------------------


@transaction.atomic
def set_safety_protocol(*, viewer: Viewer, text: str) -> None:
    """Her organisation's lead writes what its staff do when an answer is critical (blank: Kinfold's own)."""
    from kinfold.staff.services import is_lead

    membership = viewer.membership
    if membership is None or not is_lead(membership):
        raise PermissionDenied("Only a lead of your organisation writes its safety protocol.")
    text = (text or "").strip()
    if problem := text_limits.SAFETY_PROTOCOL.problem(text):
        raise ValidationError({"protocol": problem})
    organization = membership.organization
    organization.safety_protocol = text
    organization.save(update_fields=["safety_protocol"])
    record_event(
        actor=viewer.user,
        action=Action.UPDATE,
        record_type="Organization",
        record_id=organization.pk,
        detail={"safety_protocol": "set" if text else "cleared (Kinfold's own)"},
    )
