"""notify.py — telling people about a referral: a ``ReferralNotice`` shown in Kinfold, and the same words by
email. It owns who an organisation's intake leads are, the once-only key of each notice, and the sending of
its email; what a notice says is its caller's. A notice's words must name no family, person or need (an email
leaves Kinfold): they say which organisation and when, and link to the referral, whose page asks the door.
A failed email is logged and left unsent; it never raises into the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from kinfold import clock
from kinfold.access.vocabulary import role_access
from kinfold.organizations.models import Membership, Role
from kinfold.referrals.models import Referral, ReferralNotice

__all__ = [
    "email_notice",
    "email_unsent",
    "intake_leads",
    "mark_read",
    "notify",
    "referral_url",
    "unread_notices",
]

logger = logging.getLogger(__name__)


def referral_url(referral_id: int) -> str:
    """The referral's page, as a full address for an email."""
    return f"{settings.KINFOLD_SITE_URL}/referrals/{referral_id}/"


def intake_leads(organization_id: int) -> list[User]:
    """Who hears about an organisation's referrals before one is assigned: its active programme leads, or,
    when it has none, its active staff whose role takes in referrals (``intake`` in the role table)."""
    memberships = list(
        Membership.objects.filter(organization_id=organization_id, is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    leads = [m.user for m in memberships if m.role == Role.PROGRAMME_LEAD]
    if leads:
        return leads
    return [m.user for m in memberships if (access := role_access(m.role)) is not None and access.intake]


def notify(
    referral: Referral,
    recipients: Iterable[User],
    *,
    key: str,
    subject: str,
    body: str,
) -> int:
    """One notice about ``referral`` for each recipient not yet told under ``key``; how many are new.

    Each notice's key is ``"{key}:{user id}"`` (unique), so a repeated job tells nobody twice. Each new notice
    is emailed once the transaction it was made in commits (at once outside a transaction)."""
    made = 0
    seen: set[int] = set()
    for user in recipients:
        if user.pk is None or user.pk in seen:
            continue
        seen.add(user.pk)
        try:
            with transaction.atomic():
                notice = ReferralNotice.objects.create(
                    key=f"{key}:{user.pk}", referral=referral, recipient=user, subject=subject, body=body
                )
        except IntegrityError:
            continue  # told already, under this key
        made += 1
        transaction.on_commit(partial(email_notice, notice.pk), robust=True)
    return made


def email_notice(notice_id: int) -> bool:
    """Email one notice to its recipient, once: True if it went. A notice already emailed (or being emailed by
    another process) is not sent again; a failure is logged and leaves ``emailed_at`` empty, so a later run
    of ``email_unsent`` can try again."""
    notice = ReferralNotice.objects.select_related("recipient").filter(pk=notice_id).first()
    address = getattr(notice.recipient, "email", "") if notice is not None else ""
    if notice is None or not address:
        return False
    # Claim it first (a conditional update), so two senders never both send it.
    claimed = ReferralNotice.objects.filter(pk=notice_id, emailed_at__isnull=True).update(emailed_at=clock.now())
    if not claimed:
        return False
    try:
        send_mail(
            subject=notice.subject,
            message=notice.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[address],
        )
    except Exception as error:  # an email that cannot go must never undo what the caller did
        ReferralNotice.objects.filter(pk=notice_id).update(emailed_at=None)
        logger.warning("Referral notice %s could not be emailed (%s)", notice_id, type(error).__name__)
        return False
    return True


def email_unsent(*, since: datetime) -> int:
    """Try again to email the notices made since ``since`` whose email has not gone; how many went."""
    pending = ReferralNotice.objects.filter(emailed_at__isnull=True, created_at__gte=since).exclude(recipient__email="")
    return sum(email_notice(pk) for pk in pending.values_list("pk", flat=True))


def unread_notices(user: User) -> QuerySet[ReferralNotice]:
    """The person's notices not yet read, newest first."""
    return ReferralNotice.objects.filter(recipient_id=user.pk, read_at__isnull=True).order_by("-created_at", "-pk")


def mark_read(user: User, notice_ids: Iterable[int] | None = None, *, at: datetime | None = None) -> int:
    """Mark the person's own notices read (those of ``notice_ids``, or all of them); how many. Another
    person's notice is never touched."""
    notices = ReferralNotice.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if notice_ids is not None:
        notices = notices.filter(pk__in=list(notice_ids))
    return notices.update(read_at=at or clock.now())
