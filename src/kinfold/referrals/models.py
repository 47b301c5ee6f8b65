"""Closed-loop referrals: a Referral is a record of the referring organisation (its kind the need), sent to
a receiving organisation under the parent's consent, answered, tracked and closed. Statuses are FHIR Task's
(as the Gravity Project's SDOH referrals use them). Each change of status is a ``ReferralEvent``, a record of
the organisation whose side made it: the receiving organisation's answers are its records (a Part 2
programme's are Part 2 records). A ``ReferralLink`` lets an organisation without accounts answer once per
action from an emailed link. The rules live in ``services.py``; the door decides who sees what.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from kinfold import clock, text_limits
from kinfold.directory.models import DirectoryOrganization, Need, Service
from kinfold.families.models import Family, FamilyRecord
from kinfold.organizations.models import Membership, Organization


class ReferralStatus(models.TextChoices):
    """FHIR R4 Task.status, the subset a referral passes through."""

    DRAFT = "draft", "Draft"
    REQUESTED = "requested", "Sent, waiting for an answer"
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Declined"
    IN_PROGRESS = "in-progress", "In progress"
    ON_HOLD = "on-hold", "On hold"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Did not happen"
    CANCELLED = "cancelled", "Cancelled"


# While open, the receiving organisation's handler reaches the family under rule 2 (CONSENT-RULES, "Referrals").
OPEN_STATUSES = frozenset(
    {
        ReferralStatus.REQUESTED,
        ReferralStatus.RECEIVED,
        ReferralStatus.ACCEPTED,
        ReferralStatus.IN_PROGRESS,
        ReferralStatus.ON_HOLD,
    }
)
CLOSED_STATUSES = frozenset(
    {ReferralStatus.COMPLETED, ReferralStatus.FAILED, ReferralStatus.REJECTED, ReferralStatus.CANCELLED}
)
# Waiting on the receiving side's first answer (the response deadline applies).
AWAITING_ANSWER = frozenset({ReferralStatus.REQUESTED, ReferralStatus.RECEIVED})


class Priority(models.TextChoices):
    """FHIR request priority."""

    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    ASAP = "asap", "As soon as possible"


class Referral(FamilyRecord):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="referrals")
    need = models.CharField(max_length=32, choices=Need.choices)
    kind = models.CharField(max_length=40)  # its kind of information (access/data/kinds.yaml)
    purpose = models.CharField(max_length=40)  # why it is sent: treatment, care coordination…
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.ROUTINE)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals")
    directory_org = models.ForeignKey(
        DirectoryOrganization, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    receiving_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="referrals_received")
    reason = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.NOTE_BODY.chars)])
    status = models.CharField(max_length=16, choices=ReferralStatus.choices, default=ReferralStatus.DRAFT)
    status_changed_at = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)  # the response deadline
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)  # the overdue escalation, sent once
    assigned_to = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals_assigned"
    )
    handoff_note = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.NOTE_BODY.chars)])
    outcome = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.NOTE_BODY.chars)])
    # What was sent, item by item (a snapshot of each as sent), and what was left out and why.
    sent_items = models.JSONField(default=list, blank=True)
    left_out = models.JSONField(default=list, blank=True)
    # A retried submit carries the same key: one referral.
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["family", "-created_at"]),
            models.Index(fields=["receiving_org", "status"]),
            models.Index(fields=["status", "due_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_need_display()} referral"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES


class ReferralEvent(FamilyRecord):
    """One change of a referral's status: who (``created_by``, for ``created_by_org``), when, a reason code
    and words. Append-only."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="referral_events")
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=16, choices=ReferralStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=ReferralStatus.choices)
    reason_code = models.CharField(max_length=40, blank=True)
    words = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.NOTE_BODY.chars)])
    actor_name = models.CharField(max_length=220, blank=True)  # for a link answer: the listing's intake contact
    via_link = models.BooleanField(default=False)
    occurred_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["referral", "occurred_at"])]


class ReferralLink(models.Model):
    """A one-time link for an organisation without accounts: only a hash of its token is kept. It expires,
    and each action (accept, decline, complete…) can be taken from it once."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.CharField(max_length=254)
    created_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()
    used_actions = models.JSONField(default=list, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"One-time link for referral {self.referral_id}"


class CountyHoliday(models.Model):
    """A county's own holiday (beyond US federal ones), as data: deadlines skip it."""

    county = models.CharField(max_length=120)
    day = models.DateField()
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["county", "day"], name="county_holiday_once")]
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.name} ({self.county}, {self.day})"


class ReferralNotice(models.Model):
    """A message Kinfold gives a person about a referral (an overdue escalation, a new referral, an answer):
    shown in Kinfold, and emailed. ``key`` makes a repeated job send nothing twice."""

    key = models.CharField(max_length=120, unique=True)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="notices")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referral_notices")
    created_at = models.DateTimeField(default=clock.now)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.subject
