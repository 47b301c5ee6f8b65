"""Parent mode: a staff member hands the parent (or her recorded legal representative) the tablet to read and sign.

This module owns the session's record of parent mode (which family, which staff member started it, in which
language, since when, when the tablet was last used, and a consent waiting for her signature) and the moments
parent mode starts and ends, each audited. Starting asks the door: only someone who may open the family starts
it, for that family alone. Leaving asks for the password of the staff member who started it, counted by
django-axes exactly as a sign-in is (so guessing is paused after a few tries), and always signs out: the tablet
goes back to the sign-in page, never to the staff pages. It shows and changes no family record itself
(``selectors`` reads what she sees; a consent she signs is recorded by ``consent.services``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, logout
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from kinfold import clock
from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import record_event
from kinfold.families.models import CareTeamMember, Language, Person
from kinfold.families.selectors import legal_representatives, open_family
from kinfold.organizations.models import OrganizationType

SESSION_KEY = "kinfold_parent_mode"
RECORD_TYPE = "ParentMode"  # how the audit trail names parent mode's own events
LANGUAGES = ("en", "es")
DEFAULT_IDLE_SECONDS = 300

ALREADY_ON = "This tablet is already in parent mode. Give the tablet back first."
NOT_HER_REPRESENTATIVE = "Choose her, or one of her recorded legal representatives."
NOT_YOURS_TO_HAND = (
    "Only a member of her care team from a health-care, treatment or community organisation hands her the "
    "tablet. Parent mode shows her whole team and accounting, which a court or child welfare agency may not read."
)
# Parent mode shows her everything (CONSENT-RULES: the accounting is hers), and the staff member holding the
# tablet could read it too: never staff of the agencies whose reading of her treatment could be used against her.
NEVER_HANDS_THE_TABLET = frozenset({OrganizationType.COURT, OrganizationType.CHILD_WELFARE})


def may_hand_tablet(viewer: Viewer, family_id: int, *, gate: RecordGate | None = None) -> bool:
    """Whether the viewer may start parent mode for the family: she is on its care team now, and her
    organisation is not a court or a child welfare agency (whose staff must not read her whole accounting and
    team by handing themselves the tablet). Opening the family is checked by the door as well."""
    membership = viewer.membership
    if membership is None or not viewer.may_see_family_data:
        return False
    if membership.organization.type in NEVER_HANDS_THE_TABLET:
        return False
    if gate is not None:
        return gate.viewer_on_team(family_id)
    return CareTeamMember.objects.active().filter(care_team__family_id=family_id, membership=membership).exists()


class LeaveOutcome(StrEnum):
    LEFT = "left"  # the right password: parent mode is over and the staff member is signed out
    WRONG = "wrong"  # not the password of the staff member who started it
    PAUSED = "paused"  # too many wrong passwords (django-axes): no password is accepted for a while


@dataclass(frozen=True)
class ParentMode:
    """Parent mode as the session keeps it (plain values: the session is JSON)."""

    family_id: int
    staff_user_id: int
    language: str
    started_at: str  # ISO 8601 instant
    last_seen: float  # seconds since the epoch, as ``time.time()`` gives (the idle sign-out counts from it)
    reader_person_id: int | None = None  # the parent, or her recorded legal representative holding the tablet
    # A consent waiting for her signature: the terms the staff member filled in (the capture form's fields, as
    # posted), the directive a new version belongs to, and the template it started from.
    capture: dict[str, Any] | None = None
    # A screening the staff member handed her the tablet to answer (screening.ScreeningResponse id).
    screening_id: int | None = None

    @property
    def awaits_signature(self) -> bool:
        return self.capture is not None

    @property
    def awaits_screening(self) -> bool:
        return self.screening_id is not None


def parent_mode_of(session: SessionBase) -> ParentMode | None:
    """The session's parent mode, or None when the tablet is not in parent mode."""
    value = session.get(SESSION_KEY)
    if not isinstance(value, dict):
        return None
    try:
        return ParentMode(**value)
    except TypeError:  # a session written by an older shape: not parent mode
        return None


def _save(session: SessionBase, mode: ParentMode) -> None:
    session[SESSION_KEY] = asdict(mode)


def idle_limit_seconds() -> float:
    """How long the tablet may sit unused in parent mode before it signs out (5 minutes unless set)."""
    return float(getattr(settings, "KINFOLD_PARENT_MODE_IDLE_SECONDS", DEFAULT_IDLE_SECONDS))


def is_idle(mode: ParentMode, *, now: float) -> bool:
    return now - mode.last_seen > idle_limit_seconds()


def language_of(person: Person | None) -> str:
    """Her language for the pages: Spanish or English (the pages have no other yet)."""
    return "es" if person is not None and person.preferred_language == Language.SPANISH else "en"


def parent_mode_start(
    *,
    viewer: Viewer,
    family_id: int,
    session: SessionBase,
    reader_person_id: int | None = None,
    language: str | None = None,
    capture: dict[str, Any] | None = None,
    screening_id: int | None = None,
) -> ParentMode:
    """Hand her the tablet: only someone who may open the family (else ``FamilyNotFound``, a 404, audited).
    The pages speak the reader's preferred language unless ``language`` says otherwise."""
    if parent_mode_of(session) is not None:
        raise ValidationError(ALREADY_ON)
    family, gate = open_family(viewer=viewer, family_id=family_id)
    if not may_hand_tablet(viewer, family.pk, gate=gate):
        record_event(
            actor=viewer.user,
            action=Action.VIEW,
            record_type=RECORD_TYPE,
            family_id=family.pk,
            outcome=Outcome.DENIED,
            detail={"event": "start refused", "reason": "not a care-team member who may hand her the tablet"},
        )
        raise ValidationError(NOT_YOURS_TO_HAND)
    parent = family.parent
    assert parent is not None  # open_family: a family she may open has a parent she may read
    reader = parent
    if reader_person_id is not None and reader_person_id != parent.pk:
        # A recorded legal representative sees her consents and accounting as she does (CONSENT-RULES, ruling 7).
        representatives = {p.pk: p for p in legal_representatives(gate=gate, family_id=family.pk)}
        found = representatives.get(reader_person_id)
        if found is None:
            raise ValidationError(NOT_HER_REPRESENTATIVE)
        reader = found
    assert viewer.user_id is not None
    mode = ParentMode(
        family_id=family.pk,
        staff_user_id=viewer.user_id,
        language=language if language in LANGUAGES else language_of(reader),
        started_at=clock.now().isoformat(),
        last_seen=time.time(),
        reader_person_id=reader.pk,
        capture=capture,
        screening_id=screening_id,
    )
    _save(session, mode)
    record_event(
        actor=viewer.user,
        action=Action.VIEW,
        record_type=RECORD_TYPE,
        family_id=family.pk,
        purpose=gate.purpose,
        detail={
            "event": "started",
            "language": mode.language,
            "reader": "parent" if reader is parent else "legal_representative",
            "to_sign": capture is not None,
            "to_screen": screening_id is not None,
        },
    )
    return mode


def parent_mode_touch(*, session: SessionBase, now: float) -> None:
    """The tablet was used: the idle sign-out counts from now."""
    mode = parent_mode_of(session)
    if mode is not None:
        _save(session, replace(mode, last_seen=now))


def parent_mode_language(*, session: SessionBase, language: str) -> None:
    """She switches the pages to English or Spanish."""
    mode = parent_mode_of(session)
    if mode is not None and language in LANGUAGES:
        _save(session, replace(mode, language=language))


def parent_mode_signature_done(*, session: SessionBase) -> None:
    """The consent waiting for her is signed (or she chose not to sign): nothing waits any more."""
    mode = parent_mode_of(session)
    if mode is not None:
        _save(session, replace(mode, capture=None))


def parent_mode_screening_done(*, session: SessionBase) -> None:
    """The screening waiting for her is sent: the tablet goes back to her own pages."""
    mode = parent_mode_of(session)
    if mode is not None:
        _save(session, replace(mode, screening_id=None))


def parent_mode_end(*, request: HttpRequest, reason: str) -> None:
    """Parent mode is over: audited, and the staff member is signed out (the session, parent mode with it, is
    flushed). Whoever holds the tablet next meets the sign-in page."""
    mode = parent_mode_of(request.session)
    record_event(
        actor=request.user,
        action=Action.LOGOUT,
        record_type=RECORD_TYPE,
        family_id=mode.family_id if mode is not None else None,
        detail={"event": "ended", "reason": reason, "started_at": mode.started_at if mode is not None else ""},
    )
    logout(request)


def parent_mode_leave(*, request: HttpRequest, password: str) -> LeaveOutcome:
    """Giving the tablet back: the password of the staff member who started parent mode ends it and signs out.

    The password is checked by ``authenticate``, so django-axes counts each wrong one as a failed sign-in of
    that account from this address, and pauses it after ``AXES_FAILURE_LIMIT``; each refusal is audited."""
    mode = parent_mode_of(request.session)
    staff = request.user
    if mode is None or staff.pk != mode.staff_user_id:
        raise ValidationError("This tablet is not in parent mode.")
    user = authenticate(request, username=staff.get_username(), password=password)
    if user is not None and user.pk == mode.staff_user_id:
        parent_mode_end(request=request, reason="password")
        return LeaveOutcome.LEFT
    paused = bool(getattr(request, "axes_locked_out", False))
    # The page answers a pause itself, in parent mode's layout and her language: otherwise the axes middleware
    # would swap it for the staff sign-in's lockout page.
    request.axes_locked_out = False  # type: ignore[attr-defined]
    record_event(
        actor=staff,
        action=Action.LOGIN_FAILED,
        record_type=RECORD_TYPE,
        family_id=mode.family_id,
        outcome=Outcome.DENIED,
        detail={"event": "leave refused", "reason": "paused" if paused else "wrong password"},
    )
    return LeaveOutcome.PAUSED if paused else LeaveOutcome.WRONG
