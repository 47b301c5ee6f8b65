"""Screening: a ``ScreeningResponse`` is one instrument given to the parent (with staff, on the tablet in parent
mode, or on her own phone from a one-time link), a record of the organisation that gave it, filed under the kind
of information its instrument file names for that organisation's type. A critical answer raises exactly one
``SafetyAlert`` (a record of the same organisation and kind, so the door lets read it exactly those who may
read the response), which stays open until someone records what was done. The instruments themselves are data
files (``instruments.py``); the rules live in ``services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from kinfold import clock, text_limits
from kinfold.families.models import Family, FamilyRecord


class ScreeningStatus(models.TextChoices):
    IN_PROGRESS = "in-progress", "Started, not finished"
    COMPLETED = "completed", "Completed"
    WITHDRAWN = "withdrawn", "Withdrawn"


class HowGiven(models.TextChoices):
    WITH_STAFF = "with_staff", "Filled in with her by staff"
    PARENT_MODE = "parent_mode", "On the tablet, in parent mode"
    LINK = "link", "On her phone, from a link"


class ScreeningResponse(FamilyRecord):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="screenings")
    instrument = models.CharField(max_length=40)
    instrument_version = models.CharField(max_length=20)
    short_title = models.CharField(max_length=40)  # as the instrument named itself when it was given
    kind = models.CharField(max_length=40)  # the kind of information (access/data/kinds.yaml)
    language = models.CharField(max_length=5, default="en")
    how_given = models.CharField(max_length=16, choices=HowGiven.choices, default=HowGiven.WITH_STAFF)
    status = models.CharField(max_length=16, choices=ScreeningStatus.choices, default=ScreeningStatus.IN_PROGRESS)
    answers = models.JSONField(default=dict, blank=True)  # item key → option value, number, or list of values
    results = models.JSONField(default=dict, blank=True)  # instruments.Result.as_json(), set once at completion
    positive = models.BooleanField(default=False)
    critical = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The one-time link (only its SHA-256 is kept; it dies when the response is completed or withdrawn).
    link_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    link_expires_at = models.DateTimeField(null=True, blank=True)
    link_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["family", "instrument", "-completed_at"])]

    def __str__(self) -> str:
        return f"{self.short_title} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == ScreeningStatus.IN_PROGRESS

    @property
    def link_works(self) -> bool:
        return (
            self.is_open
            and bool(self.link_token_hash)
            and self.link_expires_at is not None
            and self.link_expires_at > clock.now()
        )


class AlertAction(models.TextChoices):
    """What was done about a critical answer: recorded before the alert can be closed."""

    SAFETY_PLAN = "safety_plan", "Made a safety plan with her"
    CRISIS_LINE = "crisis_line", "Called or texted 988 (the Suicide and Crisis Lifeline) with her"
    EMERGENCY = "emergency", "Called 911 or took her to emergency care"
    URGENT_CARE = "urgent_care", "Arranged urgent mental-health care today"
    ASSESSED = "assessed", "A clinician spoke with her: no immediate danger, follow-up arranged"
    SAFETY_SERVICES = "safety_services", "Connected her with help for safety at home (domestic violence services)"
    OTHER = "other", "Something else (say what)"


class SafetyAlert(FamilyRecord):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="safety_alerts")
    # One alert per response, ever: a database constraint, not only a rule.
    response = models.OneToOneField(ScreeningResponse, on_delete=models.CASCADE, related_name="alert")
    kind = models.CharField(max_length=40)
    reason = models.CharField(max_length=300)  # which answers, in plain words (no answer text)
    raised_at = models.DateTimeField(default=clock.now)
    notified = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=24, choices=AlertAction.choices, blank=True)
    action_note = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.ALERT_NOTE.chars)])

    class Meta:
        ordering = ["-raised_at", "-pk"]

    def __str__(self) -> str:
        return f"Safety alert ({'closed' if self.resolved_at else 'open'})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
