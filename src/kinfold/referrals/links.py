"""links.py — one-time links for a receiving organisation without accounts: issuing one (a random token; only
its SHA-256 hash is kept), opening one, and spending one of its actions once. It owns the token and the rules
for when a link works; it never changes a referral (the referral services do, after ``use_action``) and never
says why a link does not work: an unknown, tampered, expired, revoked or closed link is the same ``None``, so
the page behind it can show one answer that reveals nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from kinfold import clock
from kinfold.onetime import hash_token, looks_like_token, new_token
from kinfold.referrals.models import OPEN_STATUSES, Referral, ReferralLink, ReferralStatus

__all__ = [
    "ACTIONS",
    "ACTION_STATUS",
    "actions_left",
    "hash_token",
    "issue_link",
    "link_path",
    "open_link",
    "revoke_links",
    "use_action",
]


# What the holder of a link may do, by the referral's status, and the status each action leads to. A link
# answers for the receiving side only: it can never send, cancel or change what was sent.
ACTION_STATUS: Mapping[str, str] = {
    "accept": ReferralStatus.ACCEPTED,
    "reject": ReferralStatus.REJECTED,
    "start": ReferralStatus.IN_PROGRESS,
    "complete": ReferralStatus.COMPLETED,
    "fail": ReferralStatus.FAILED,
}
ACTIONS: Mapping[str, frozenset[str]] = {
    ReferralStatus.REQUESTED: frozenset({"accept", "reject"}),
    ReferralStatus.RECEIVED: frozenset({"accept", "reject"}),
    ReferralStatus.ACCEPTED: frozenset({"start", "complete", "fail"}),
    ReferralStatus.IN_PROGRESS: frozenset({"complete", "fail"}),
    ReferralStatus.ON_HOLD: frozenset({"complete", "fail"}),
}


def link_path(token: str) -> str:
    """The path of the answer page for ``token`` (the site's address goes in front in an email)."""
    return f"/referrals/answer/{token}/"


def issue_link(referral: Referral, email: str, *, at: datetime | None = None) -> str:
    """A new one-time link to ``referral`` for the receiving organisation's intake contact at ``email``; the
    path of its answer page. The token is shown once, here: Kinfold keeps only its hash. It works for
    ``KINFOLD_REFERRAL_LINK_DAYS`` days."""
    if referral.status not in OPEN_STATUSES:
        raise ValueError("A link can be made only for a referral that is open.")
    at = at or clock.now()
    token = new_token()
    ReferralLink.objects.create(
        referral=referral,
        token_hash=hash_token(token),
        email=email,
        created_at=at,
        expires_at=at + timedelta(days=settings.KINFOLD_REFERRAL_LINK_DAYS),
    )
    return link_path(token)


def _works(link: ReferralLink, at: datetime) -> bool:
    return link.revoked_at is None and at < link.expires_at and link.referral.status in OPEN_STATUSES


def open_link(token: str, *, at: datetime | None = None) -> ReferralLink | None:
    """The link ``token`` opens (with its referral), or ``None`` when it is unknown, altered, expired, revoked,
    or its referral is closed. Callers show the same page for every ``None``."""
    if not looks_like_token(token):
        return None
    link = ReferralLink.objects.select_related("referral").filter(token_hash=hash_token(token)).first()
    if link is None or not _works(link, at or clock.now()):
        return None
    return link


def actions_left(link: ReferralLink) -> frozenset[str]:
    """The actions this link may still take for its referral's current status."""
    return ACTIONS.get(link.referral.status, frozenset()) - set(link.used_actions)


def use_action(link: ReferralLink, action: str, *, at: datetime | None = None) -> bool:
    """Spend ``action`` on ``link``: True the first time it is allowed, False for an action already used, one
    its referral's status does not allow, or a link that no longer works.

    The link's row is locked (``SELECT … FOR UPDATE``) while it is checked and marked, so of two submits at
    once exactly one gets True. Call it inside the transaction that makes the change: the mark commits or
    rolls back with it, and the second submit waits until the first has committed."""
    at = at or clock.now()
    with transaction.atomic():
        locked = (
            ReferralLink.objects.select_for_update(of=("self",)).select_related("referral").filter(pk=link.pk).first()
        )
        if locked is None or not _works(locked, at) or action not in actions_left(locked):
            return False
        locked.used_actions = [*locked.used_actions, action]
        locked.save(update_fields=["used_actions"])
    link.used_actions = locked.used_actions
    return True


def revoke_links(referral: Referral, *, at: datetime | None = None) -> int:
    """Revoke every link of ``referral`` still in force (the referral was reassigned, or an address was
    wrong); how many."""
    return ReferralLink.objects.filter(referral=referral, revoked_at__isnull=True).update(revoked_at=at or clock.now())
