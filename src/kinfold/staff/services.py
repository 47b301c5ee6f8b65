"""Staff who join, change role and leave. Each function is one transaction and audited.

Only a lead of an organisation (a role with ``staff_lead`` in ``access/data/role_access.yaml``: the programme
lead) manages its staff. Leaving is never abrupt for a family: before an account closes, every family where
she coordinates is handed to a colleague (``families.services.team_place_hand_over``, rule H of the door, a
line on each family's timeline); her other team places end with a line saying why. Her sessions end at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse

from kinfold import clock
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import role_access
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write, record_event
from kinfold.families.models import CareTeamMember
from kinfold.families.selectors import team_places_held
from kinfold.families.services import team_place_hand_over
from kinfold.onetime import hash_token, new_token
from kinfold.organizations.models import Membership, Role, role_words
from kinfold.staff import mfa
from kinfold.staff.models import Invitation

KEEP = "keep"
END = "end"


def is_lead(membership: Membership | None) -> bool:
    access = role_access(membership.role) if membership is not None and membership.is_active else None
    return access is not None and access.staff_lead


def require_lead(viewer: Viewer, organization_id: int) -> Membership:
    """The viewer leads this organisation's staff, or PermissionDenied says so."""
    lead = viewer.membership
    if lead is None or not is_lead(lead) or lead.organization_id != organization_id:
        raise PermissionDenied("Only a lead of this organisation manages its staff.")
    return lead


def _audit(viewer: Viewer, event: str, membership: Membership | None = None, **detail: Any) -> None:
    record_event(
        actor=viewer.user,
        action=Action.UPDATE if membership is not None else Action.CREATE,
        record_type="organizations.Membership" if membership is not None else "staff.Invitation",
        record_id=membership.pk if membership is not None else detail.get("invitation", ""),
        detail={"event": event, **detail},
    )


# --- Staff who join -----------------------------------------------------------------------------------------


def invitation_days() -> int:
    return int(settings.KINFOLD_INVITATION_DAYS)


def _send_invitation(invitation: Invitation, token: str) -> None:
    link = settings.KINFOLD_SITE_URL + reverse("staff:join", args=[token])
    inviter = invitation.invited_by.display_name
    body = (
        f"Hello {invitation.first_name},\n\n"
        f"{inviter} invites you to join {invitation.organization.name} on Kinfold as "
        f"{role_words(invitation.role)}.\n\n"
        f"To accept, open this link and choose your username and password. You will then set up a second "
        f"sign-in step with an authenticator app on your phone.\n\n{link}\n\n"
        f"The link works once and until {invitation.expires_at.astimezone(clock.zone()):%d %B %Y at %H:%M}. "
        f"If you did not expect this email, you can ignore it.\n"
    )
    send_mail(f"Join {invitation.organization.name} on Kinfold", body, None, [invitation.email])


@atomic_write
def invite(*, viewer: Viewer, email: str, first_name: str, last_name: str, role: str, title: str = "") -> Invitation:
    """A lead invites a person by email to a role in her organisation; the email leaves once this commits."""
    lead = require_lead(viewer, viewer.organization_id or 0)
    errors: dict[str, str] = {}
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = "Enter an email address like name@example.org."
    if not (first_name or "").strip():
        errors["first_name"] = "Enter her first name."
    if not (last_name or "").strip():
        errors["last_name"] = "Enter her last name."
    if role not in Role.values:
        errors["role"] = "Choose her role."
    if not errors:
        if get_user_model().objects.filter(email__iexact=email, is_active=True).exists():
            errors["email"] = "Someone with this email address already has a Kinfold account."
        elif _waiting(lead.organization_id).filter(email__iexact=email).exists():
            errors["email"] = "An invitation to this address is already waiting. Send it again or withdraw it below."
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    token = new_token()
    invitation = Invitation.objects.create(
        organization_id=lead.organization_id,
        role=role,
        title=(title or "").strip(),
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        invited_by=lead,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(days=invitation_days()),
    )
    _audit(viewer, "staff_invited", invitation=invitation.pk, role=role)
    transaction.on_commit(lambda: _send_invitation(invitation, token))
    return invitation


def _waiting(organization_id: int) -> Any:
    return Invitation.objects.filter(
        organization_id=organization_id, accepted_at__isnull=True, withdrawn_at__isnull=True, expires_at__gt=clock.now()
    )


def waiting_invitations(organization_id: int) -> list[Invitation]:
    """Invitations sent and not yet accepted, withdrawn or expired."""
    return list(_waiting(organization_id).select_related("invited_by__user"))


@atomic_write
def resend(*, viewer: Viewer, invitation_id: int) -> Invitation:
    """A new link (the old one stops working) and a new expiry."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    require_lead(viewer, invitation.organization_id)
    if invitation.accepted_at is not None or invitation.withdrawn_at is not None:
        raise ValidationError("This invitation was already accepted or withdrawn.")
    token = new_token()
    invitation.token_hash = hash_token(token)
    invitation.created_at = clock.now()
    invitation.expires_at = invitation.created_at + timedelta(days=invitation_days())
    invitation.save(update_fields=["token_hash", "created_at", "expires_at"])
    _audit(viewer, "staff_invitation_resent", invitation=invitation.pk)
    transaction.on_commit(lambda: _send_invitation(invitation, token))
    return invitation


@atomic_write
def withdraw(*, viewer: Viewer, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
    require_lead(viewer, invitation.organization_id)
    if invitation.accepted_at is not None:
        raise ValidationError("She has already accepted this invitation.")
    if invitation.withdrawn_at is None:
        invitation.withdrawn_at = clock.now()
        invitation.save(update_fields=["withdrawn_at"])
        _audit(viewer, "staff_invitation_withdrawn", invitation=invitation.pk)
    return invitation


def open_invitation(token: str, *, for_update: bool = False) -> Invitation | None:
    """The invitation behind a link, if it still works. An unknown, tampered, expired, used or withdrawn link
    is the same None: the page says one thing and reveals nothing."""
    if not token or len(token) > 100:
        return None
    rows = Invitation.objects.select_related("organization", "invited_by__user")
    if for_update:
        rows = rows.select_for_update()
    invitation = rows.filter(token_hash=hash_token(token)).first()
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.withdrawn_at is not None
        or invitation.expires_at <= clock.now()
    ):
        return None
    return invitation


class InvitationUnusable(Exception):
    """The link no longer works (or never did)."""


@transaction.atomic
def accept_invitation(*, token: str, username: str, password1: str, password2: str) -> Any:
    """She accepts: her account and her place in the organisation are made, and the link is spent."""
    invitation = open_invitation(token, for_update=True)
    if invitation is None:
        raise InvitationUnusable
    User = get_user_model()
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["Choose a username."]
    elif len(username) > 150 or not all(c.isalnum() or c in "@.+-_" for c in username):
        errors["username"] = ["Use up to 150 letters, digits and @ . + - _ only."]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["This username is taken. Choose another."]
    if password1 != password2:
        errors["password2"] = ["The two passwords differ."]
    if not errors:
        candidate = User(
            username=username, email=invitation.email, first_name=invitation.first_name, last_name=invitation.last_name
        )
        try:
            password_validation.validate_password(password1, candidate)
        except ValidationError as exc:
            errors["password1"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user = User.objects.create_user(
        username=username,
        email=invitation.email,
        password=password1,
        first_name=invitation.first_name,
        last_name=invitation.last_name,
    )
    membership = Membership.objects.create(
        user=user, organization=invitation.organization, role=invitation.role, title=invitation.title
    )
    invitation.accepted_at = clock.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    record_event(
        actor=user,
        action=Action.CREATE,
        record_type="organizations.Membership",
        record_id=membership.pk,
        detail={"event": "staff_joined", "invitation": invitation.pk, "role": invitation.role},
    )
    return user


# --- Staff who change role or leave -------------------------------------------------------------------------


def staff_member(viewer: Viewer, membership_id: int) -> Membership:
    """One of her organisation's staff, for its lead (404 for anyone else's)."""
    from django.http import Http404

    membership = Membership.objects.select_related("user", "organization").filter(pk=membership_id).first()
    if membership is None:
        raise Http404
    require_lead(viewer, membership.organization_id)
    return membership


def end_sessions(user: Any) -> int:
    """Delete every session of hers, at once. (An inactive account is also refused on every request.)"""
    user_id = str(user.pk)
    ended = 0
    for session in Session.objects.filter(expire_date__gt=clock.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == user_id:
            session.delete()
            ended += 1
    return ended


@dataclass(frozen=True)
class PlaceChoice:
    """What happens to one team place: handed to a colleague, kept (a role change), or ended."""

    place: CareTeamMember
    to: Membership | None = None
    keep: bool = False


def colleagues(membership: Membership) -> list[Membership]:
    """Active colleagues in her organisation who could take her families."""
    return list(
        Membership.objects.filter(organization_id=membership.organization_id, is_active=True, user__is_active=True)
        .exclude(pk=membership.pk)
        .select_related("user")
        .order_by("user__last_name", "user__first_name")
    )


@atomic_write
def hand_over(*, viewer: Viewer, membership: Membership, choices: Sequence[PlaceChoice], why: str) -> int:
    """Apply a lead's hand-over choices for a colleague's team places; returns how many were handed over."""
    require_lead(viewer, membership.organization_id)
    handed = 0
    for choice in choices:
        if choice.place.membership_id != membership.pk:
            raise ValidationError("A hand-over covers only this person's own team places.")
        if choice.keep:
            continue
        team_place_hand_over(viewer=viewer, place=choice.place, to_membership=choice.to, why=why)
        handed += choice.to is not None
    return handed


@atomic_write
def change_role(
    *, viewer: Viewer, membership: Membership, role: str, choices: Sequence[PlaceChoice] = ()
) -> Membership:
    """Her role changes (what she may see follows from it at once); her team places are handed over or kept as
    her lead chose. A lead does not change her own role here."""
    require_lead(viewer, membership.organization_id)
    if role not in Role.values:
        raise ValidationError({"role": "Choose a role."})
    if membership.pk == viewer.membership_id:
        raise ValidationError({"role": "Ask another lead of your organisation to change your own role."})
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if not membership.is_active:
        raise ValidationError("This account is closed.")
    before = membership.role
    if role == before:
        raise ValidationError({"role": f"She is already {role_words(role)}."})
    hand_over(
        viewer=viewer,
        membership=membership,
        choices=list(choices),
        why=f"her role changed from {role_words(before)} to {role_words(role)}",
    )
    membership.role = role
    membership.save(update_fields=["role"])
    _audit(viewer, "staff_role_changed", membership, before=before, after=role)
    return membership


@atomic_write
def deactivate(*, viewer: Viewer, membership: Membership, choices: Sequence[PlaceChoice] = ()) -> int:
    """Close her account: her coordinator places must be handed over (here or before), her other places end
    with a line on each family's timeline, and her sessions end at once. Returns how many sessions ended."""
    require_lead(viewer, membership.organization_id)
    if membership.pk == viewer.membership_id:
        raise ValidationError("You cannot close your own account. Ask another lead of your organisation.")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if not membership.is_active and not membership.user.is_active:
        raise ValidationError("This account is already closed.")
    chosen = {c.place.pk: c for c in choices}
    if any(c.keep for c in choices):
        raise ValidationError("Her places cannot be kept: her account is closing. Hand them over or end them.")
    for place in team_places_held(membership):
        choice = chosen.get(place.pk)
        if choice is None and place.is_coordinator:
            raise ValidationError(
                f"{membership.display_name} coordinates family {place.care_team.family_id}. Hand it to a "
                "colleague before her account closes: no family is left without a coordinator."
            )
        team_place_hand_over(
            viewer=viewer,
            place=place,
            to_membership=choice.to if choice is not None else None,
            why="her account was closed",
        )
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    user = membership.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = end_sessions(user)
    _audit(viewer, "staff_deactivated", membership, sessions_ended=ended)
    return ended


@atomic_write
def reset_second_factor(*, viewer: Viewer, membership: Membership) -> None:
    """Her phone and her recovery codes are lost: her lead removes her second factor. She enrols a new one at
    her next sign-in; her sessions end now."""
    require_lead(viewer, membership.organization_id)
    if membership.pk == viewer.membership_id:
        raise ValidationError("Ask another lead to reset your own second factor.")
    mfa.forget_devices(membership.user)
    ended = end_sessions(membership.user)
    _audit(viewer, "staff_second_factor_reset", membership, sessions_ended=ended)
