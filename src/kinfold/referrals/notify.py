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
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet

from kinfold import clock
from kinfold.access.vocabulary import role_access
from kinfold.organizations.models import Membership, Role
from kinfold.referrals.models import Referral, ReferralNotice

__all__ = [
    "email_notice",
    "email_notices",
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

    Each notice's key is ``"{key}:{user id}"`` (unique), so a repeated job tells nobody twice. The new notices are
    written in one statement (one by one only when someone was told already) and emailed, over one connection,
    once the transaction they were made in commits (at once outside a transaction)."""
    people: dict[int, User] = {}
    for user in recipients:
        if user.pk is not None:
            people.setdefault(user.pk, user)
    if not people:
        return 0
    notices = [
        ReferralNotice(key=f"{key}:{pk}", referral=referral, recipient=user, subject=subject, body=body)
        for pk, user in people.items()
    ]
    try:
        with transaction.atomic():
            ReferralNotice.objects.bulk_create(notices)
        made = notices
    except IntegrityError:  # someone was told already under this key: the others, one by one
        made = [notice for notice in notices if _create_once(notice)]
    deliveries = [(notice.pk, address) for notice in made if (address := people[notice.recipient_id].email)]
    if deliveries:
        transaction.on_commit(partial(email_notices, deliveries, subject=subject, body=body), robust=True)
    return len(made)


def _create_once(notice: ReferralNotice) -> bool:
    try:
        with transaction.atomic():
            notice.save(force_insert=True)
    except IntegrityError:
        return False  # told already, under this key
    return True


def email_notice(notice_id: int) -> bool:
    """Email one notice to its recipient, once: True if it went. A notice already emailed (or being emailed by
    another process) is not sent again; a failure is logged and leaves ``emailed_at`` empty, so a later run
    of ``email_unsent`` can try again."""
    notice = ReferralNotice.objects.select_related("recipient").filter(pk=notice_id).first()
    address = getattr(notice.recipient, "email", "") if notice is not None else ""
    if notice is None or not address:
        return False
    return email_notices([(notice_id, address)], subject=notice.subject, body=notice.body) == 1


def email_notices(deliveries: list[tuple[int, str]], *, subject: str, body: str) -> int:
    """Email notices with the same words, each ``(notice id, address)`` once, over one connection to the mail
    server: how many went. Those already emailed (or being emailed by another process) are not sent again; a
    failure is logged and leaves that notice's ``emailed_at`` empty, so a later run of ``email_unsent`` can try
    again."""
    # Claim them first (one conditional update), so two senders never both send one.
    claimed = _claim([notice_id for notice_id, _ in deliveries])
    mine = [(notice_id, address) for notice_id, address in deliveries if notice_id in claimed]
    sent: list[int] = []
    failed: dict[int, str] = {}
    if not mine:
        return 0
    try:
        with get_connection() as mailer:
            for notice_id, address in mine:
                message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address], connection=mailer)
                try:
                    message.send()
                except Exception as error:  # an email that cannot go must never undo what the caller did
                    failed[notice_id] = type(error).__name__
                else:
                    sent.append(notice_id)
    except Exception as error:  # the mail server could not be reached (or the connection not closed)
        failed.update({notice_id: type(error).__name__ for notice_id, _ in mine if notice_id not in sent})
    if failed:
        ReferralNotice.objects.filter(pk__in=list(failed)).update(emailed_at=None)
        for notice_id, why in failed.items():
            logger.warning("Referral notice %s could not be emailed (%s)", notice_id, why)
    return len(sent)


def _claim(notice_ids: list[int]) -> set[int]:
    """Mark the notices not yet emailed as being emailed now, in one statement: the ids this call marked.
    ``UPDATE … RETURNING`` (PostgreSQL, SQLite 3.35+) tells which: another sender may hold some of them."""
    if not notice_ids:
        return set()
    table = connection.ops.quote_name(ReferralNotice._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(clock.now())
    ids = ", ".join(["%s"] * len(notice_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET emailed_at = %s WHERE emailed_at IS NULL AND id IN ({ids}) RETURNING id",
            [now, *notice_ids],
        )
        return {row[0] for row in cursor.fetchall()}


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
