"""Break-the-glass (42 CFR 2.51; rule 4): a clinician declares a medical emergency for one family, with a
written reason, and may open every record of that family for purpose ``emergency`` for a window. Her own
organisation's privacy officers are emailed at once; each other organisation's when its records are first
opened (``emergency_records_opened``, which the door's accounting writer calls). Every refusal is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction

from kinfold import clock
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Purpose
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import record_event
from kinfold.consent.models import EmergencyAccess, EmergencyNotification
from kinfold.families.models import Family
from kinfold.organizations.models import Membership, Role


def emergency_window() -> timedelta:
    return timedelta(hours=float(getattr(settings, "KINFOLD_EMERGENCY_ACCESS_HOURS", 4)))


def emergency_declare(*, viewer: Viewer, family: Family, reason: str) -> EmergencyAccess:
    """Break-the-glass (42 CFR 2.51): a clinician opens a family's records in a medical emergency.

    A refusal is audited outside the declaration's transaction, so raising the refusal does not roll
    its audit event back (CONSENT-RULES: every refusal is audited)."""
    now = clock.now()
    refusal = None
    if not viewer.may_see_family_data or not viewer.is_clinician:
        refusal = "Only clinicians can declare a medical emergency."
    elif len(reason.strip()) < 10:
        refusal = "Describe the medical emergency (at least a few words)."
    if refusal is not None:
        record_event(
            actor=viewer.user,
            action=Action.EMERGENCY,
            record_type="Family",
            record_id=family.pk,
            family_id=family.pk,
            purpose=Purpose.EMERGENCY,
            outcome=Outcome.DENIED,
            detail={"refused": refusal},
            at=now,
        )
        if "clinicians" in refusal:
            raise PermissionDenied(refusal)
        raise ValidationError({"reason": refusal})
    return _emergency_record(viewer=viewer, family=family, reason=reason, now=now)


@transaction.atomic
def _emergency_record(*, viewer: Viewer, family: Family, reason: str, now: datetime) -> EmergencyAccess:
    assert viewer.membership is not None
    access = EmergencyAccess.objects.create(
        family=family,
        user=viewer.user,
        membership=viewer.membership,
        reason=reason.strip(),
        declared_at=now,
        expires_at=now + emergency_window(),
    )
    record_event(
        actor=viewer.user,
        action=Action.EMERGENCY,
        record_type="Family",
        record_id=family.pk,
        family_id=family.pk,
        purpose=Purpose.EMERGENCY,
        detail={"emergency_id": access.pk, "reason": access.reason, "expires_at": access.expires_at},
        at=now,
    )
    # Rule 4: the clinician's own organisation is told now; every other organisation is told when its
    # records are first opened (``emergency_records_opened``), since only then is there a disclosure to
    # document.
    own_org_id = viewer.membership.organization_id
    notification = EmergencyNotification.objects.create(
        emergency=access,
        organization_id=own_org_id,
        notified_at=now,
        recipients=_privacy_officer_emails(own_org_id),
        records_opened=0,
    )
    # Not robust: a failed email reaches the view, which tells the clinician to tell her privacy officer.
    transaction.on_commit(partial(emergency_notification_send, notification_id=notification.pk, raise_errors=True))
    return access


def _privacy_officer_emails(organization_id: int) -> list[str]:
    officers = Membership.objects.filter(
        organization_id=organization_id, role=Role.PRIVACY_OFFICER, is_active=True, user__is_active=True
    ).select_related("user")
    return sorted({m.user.email for m in officers if m.user.email})


def emergency_records_opened(*, opened: dict[tuple[int, int], set[tuple[str, int]]], at: datetime) -> None:
    """Tell the privacy officers of each organisation whose records an emergency opened for the first time.

    Called inside the accounting's transaction: the unique (emergency, organisation) row is the claim, so
    two pages opened at once never both email, and the email goes only once the row is committed."""
    emergency_ids = {emergency_id for emergency_id, _ in opened}
    already_told = set(
        EmergencyNotification.objects.filter(emergency_id__in=emergency_ids).values_list(
            "emergency_id", "organization_id"
        )
    )
    for (emergency_id, org_id), records in sorted(opened.items()):
        if (emergency_id, org_id) in already_told:
            continue
        notification, created = EmergencyNotification.objects.get_or_create(
            emergency_id=emergency_id,
            organization_id=org_id,
            defaults={"notified_at": at, "recipients": _privacy_officer_emails(org_id), "records_opened": len(records)},
        )
        if created:
            # Robust: a clinician in an emergency must see the records even if the mail server is down;
            # the failure is in the audit trail.
            transaction.on_commit(partial(emergency_notification_send, notification_id=notification.pk), robust=True)


def _when(instant: datetime) -> str:
    local = instant.astimezone(clock.zone())
    return f"{local:%-d %B %Y} at {local:%H:%M}"


def _notification_email(notification: EmergencyNotification) -> tuple[str, str]:
    """Who, at which organisation, why and when; never the family's names or the records' content."""
    access = notification.emergency
    clinician = access.membership
    who = f"{clinician.display_name} ({clinician.get_role_display()}, {clinician.organization.name})"
    family_id = access.family_id
    if notification.organization_id == clinician.organization_id:
        return (
            f"Kinfold: emergency access to family {family_id}",
            f"{who} declared a medical emergency on {_when(access.declared_at)} and may open every record of "
            f"family {family_id} until {_when(access.expires_at)}.\n\n"
            f"Reason given: {access.reason}\n\n"
            "Each record opened is flagged in the audit trail and listed in the family's accounting of "
            "disclosures. The privacy officers of each other organisation are told when its records are first "
            "opened. Please review it (42 CFR 2.51).",
        )
    org = notification.organization.name
    count = notification.records_opened
    opened = f"{count} of {org}'s records for family {family_id} {'was' if count == 1 else 'were'} opened"
    return (
        f"Kinfold: {org} records opened in a medical emergency (family {family_id})",
        f"{opened} under a declared medical emergency, on {_when(notification.notified_at)}.\n\n"
        f"Opened by: {who}\n"
        f"Emergency declared: {_when(access.declared_at)}; emergency access ends {_when(access.expires_at)}\n"
        f"Reason given: {access.reason}\n\n"
        "This is a disclosure without consent in a medical emergency. Your organisation must document it in the "
        "patient's records: the clinician and the facility they work for, the date and time, and the nature "
        "of the emergency, as given above (42 CFR 2.51(c)).\n\n"
        "Each record opened is listed in the family's accounting of disclosures in Kinfold. Records of yours "
        "opened later in this emergency are listed there too, without another email.",
    )


def emergency_notification_send(*, notification_id: int, raise_errors: bool = False) -> int:
    """Email one organisation's privacy officers about an emergency, and audit whether they were told.

    Runs once the notification row is committed. An organisation with no active privacy officer with an
    email address keeps its row (recipients empty: nobody could be told) and an audit event with outcome
    ``error``, as does an email the mail server refused; ``raise_errors`` passes that failure on."""
    notification = EmergencyNotification.objects.select_related(
        "organization",
        "emergency__membership__organization",
        "emergency__membership__user",
        "emergency__user__membership__organization",
    ).get(pk=notification_id)
    access = notification.emergency
    audit: dict[str, Any] = {
        "actor": access.user,
        "action": Action.EMERGENCY,
        "record_type": "EmergencyNotification",
        "record_id": notification.pk,
        "family_id": access.family_id,
        "purpose": Purpose.EMERGENCY,
    }
    detail: dict[str, Any] = {
        "emergency_id": access.pk,
        "organization_id": notification.organization_id,
        "organization": notification.organization.name,
        "recipients": notification.recipients,
        "records_opened": notification.records_opened,
    }
    if not notification.recipients:
        detail["not_sent"] = "The organisation has no active privacy officer with an email address."
        record_event(**audit, outcome=Outcome.ERROR, detail=detail, at=clock.now())
        return 0
    subject, body = _notification_email(notification)
    try:
        sent = send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=notification.recipients,
        )
    except OSError as error:  # smtplib.SMTPException is an OSError
        detail["not_sent"] = f"The email could not be sent ({type(error).__name__})."
        record_event(**audit, outcome=Outcome.ERROR, detail=detail, at=clock.now())
        if raise_errors:
            raise
        return 0
    record_event(**audit, detail=detail, at=clock.now())
    return sent
