"""Consent directives (every element 42 CFR 2.31 requires), court orders, emergency access, restrictions
and the accounting of disclosures. The decisions themselves are made in ``policy.py``.

A directive is versioned: a change is a new ``ConsentVersion``, never an edit. Revocation ends the whole
directive at the instant it is recorded and never reaches back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NoReturn

from django.conf import settings
from django.db import models

from kinfold import clock
from kinfold.families.models import Family, FamilyRecord, Language, Person, Sensitivity
from kinfold.organizations.models import Membership, Organization


class ConsentDirective(FamilyRecord):
    """One consent the parent gave; its terms live in its versions."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="consent_directives")
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consent_directives")
    title = models.CharField(max_length=200, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_method = models.CharField(
        max_length=20,
        blank=True,
        choices=[("written", "In writing, signed"), ("spoken", "Spoken to a staff member")],
    )
    revocation_received_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revocation_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or f"Consent {self.pk}"

    def is_revoked_at(self, at: datetime) -> bool:
        return self.revoked_at is not None and self.revoked_at <= at


class SignerKind(models.TextChoices):
    PARENT = "parent", "The parent herself"
    LEGAL_REPRESENTATIVE = "legal_representative", "Her legal representative"


class SignatureMethod(models.TextChoices):
    TYPED = "typed", "Typed name"
    DRAWN = "drawn", "Drawn signature"


class ConsentVersion(FamilyRecord):
    """The terms of a directive from its effective instant until the next version, expiry or revocation."""

    directive = models.ForeignKey(ConsentDirective, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    template_key = models.CharField(max_length=40, blank=True)
    # 2.31(a)(1) the patient's name
    patient_name = models.CharField(max_length=220)
    # 2.31(a)(2)/(3) who may disclose: named organisations and/or general designations
    discloser_orgs = models.ManyToManyField(Organization, blank=True, related_name="+")
    discloser_classes = models.JSONField(default=list, blank=True)
    # 2.31(a)(4) to whom: named people, named organisations, and/or classes
    recipient_orgs = models.ManyToManyField(Organization, blank=True, related_name="+")
    recipient_people = models.ManyToManyField(Membership, blank=True, related_name="+")
    recipient_classes = models.JSONField(default=list, blank=True)
    # 2.31(a)(5) purpose: TPO for all future uses, or one specific purpose
    purposes = models.JSONField(default=list)
    purpose_description = models.CharField(max_length=300, blank=True)
    # 2.31(a)(2) how much and what kind of information
    categories = models.JSONField(default=list)
    information_description = models.CharField(max_length=300, blank=True)
    # 2.31(a)(6) the right to revoke and how
    right_to_revoke = models.TextField()
    # 2.31(a)(7) expiry: an instant, or an event (which ends it when recorded)
    expires_at = models.DateTimeField(null=True, blank=True)
    expiry_event = models.CharField(max_length=200, blank=True)
    expiry_event_recorded_at = models.DateTimeField(null=True, blank=True)
    # 2.31(a)(8)/(9) signature and date
    signer_kind = models.CharField(max_length=24, choices=SignerKind.choices, default=SignerKind.PARENT)
    signer_name = models.CharField(max_length=220)
    signature_method = models.CharField(max_length=10, choices=SignatureMethod.choices)
    signature_typed = models.CharField(max_length=220, blank=True)
    signature_drawn = models.TextField(blank=True, help_text="A PNG data URL from the signature pad.")
    guardian_name = models.CharField(max_length=220, blank=True)
    guardian_signature_typed = models.CharField(max_length=220, blank=True)
    signed_at = models.DateTimeField()
    effective_at = models.DateTimeField()
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)

    class Meta:
        ordering = ["directive", "number"]
        constraints = [
            models.UniqueConstraint(fields=["directive", "number"], name="consent_version_number_once"),
            models.CheckConstraint(
                condition=models.Q(effective_at__gte=models.F("signed_at")),
                name="consent_effective_not_before_signed",
                violation_error_message="A consent cannot take effect before it is signed.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.directive} v{self.number}"

    def missing_elements(self, *, parent_is_minor: bool = False, minor_signs_alone: bool = True) -> list[str]:
        """The 2.31 elements this version lacks; a version missing any covers nothing."""
        missing = []
        if not self.patient_name.strip():
            missing.append("patient's name")
        if not self.discloser_classes and not self._has("discloser_orgs"):
            missing.append("who may share")
        if not self.recipient_classes and not self._has("recipient_orgs") and not self._has("recipient_people"):
            missing.append("who may receive")
        if not self.purposes:
            missing.append("purpose")
        if not self.categories:
            missing.append("what information")
        if not self.right_to_revoke.strip():
            missing.append("the right to revoke")
        if self.expires_at is None and not self.expiry_event.strip():
            missing.append("expiry")
        if not self.signer_name.strip():
            missing.append("signer's name")
        if not (self.signature_typed.strip() or self.signature_drawn.strip()):
            missing.append("signature")
        if parent_is_minor and not minor_signs_alone and not self.guardian_signature_typed.strip():
            missing.append("guardian's signature")
        return missing

    def _has(self, relation: str) -> bool:
        cache: dict[str, Any] = getattr(self, "_prefetched_objects_cache", {})
        if relation in cache:
            return bool(cache[relation])
        return bool(self.pk) and getattr(self, relation).exists()

    def ends_at(self, *, next_effective_at: datetime | None, revoked_at: datetime | None) -> datetime | None:
        """The first instant this version no longer covers (half-open interval)."""
        ends = [
            t for t in (next_effective_at, self.expires_at, self.expiry_event_recorded_at, revoked_at) if t is not None
        ]
        return min(ends) if ends else None


def superseding_version(later_versions: Iterable[ConsentVersion]) -> ConsentVersion | None:
    """Of the versions signed after one version, the one whose effective instant ends it first.

    A new version supersedes every earlier one at its effective instant, so a version ends at the
    earliest effective instant of any later version, not only at the next-numbered one's: a version
    signed today replaces a future-dated one before it takes effect, and the two never overlap."""
    return min(later_versions, key=lambda v: (v.effective_at, v.number), default=None)


class CourtOrder(FamilyRecord):
    """A court order authorising disclosure of specific records to a specific court for a period (2.64/2.65)."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="court_orders")
    court = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="court_orders")
    named_person = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    order_reference = models.CharField(max_length=100)
    issued_on = models.DateField()
    judge_name = models.CharField(max_length=200, blank=True)
    categories = models.JSONField(default=list)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    # 42 CFR 2.64(d): both findings are required before Part 2 records may be disclosed.
    finding_other_means_unavailable = models.BooleanField(default=False)
    finding_public_interest_outweighs_harm = models.BooleanField(default=False)

    class Meta:
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")), name="court_order_period_in_order"
            )
        ]

    def __str__(self) -> str:
        return f"Court order {self.order_reference}"

    @property
    def has_part2_findings(self) -> bool:
        return self.finding_other_means_unavailable and self.finding_public_interest_outweighs_harm


class EmergencyAccess(models.Model):
    """Break-the-glass: a clinician's declared medical emergency for one family, for a limited window."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="emergency_accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    declared_at = models.DateTimeField(default=clock.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-declared_at"]
        indexes = [models.Index(fields=["family", "user", "expires_at"])]

    def __str__(self) -> str:
        return f"Emergency access to family {self.family_id} by {self.user_id}"


class RestrictionStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    AGREED = "agreed", "Agreed"
    REFUSED = "refused", "Refused"


class Restriction(FamilyRecord):
    """The parent's request that a disclosure be restricted (42 CFR 2.26; 45 CFR 164.522)."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="restrictions")
    disclosing_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    recipient_org = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recipient_person = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    categories = models.JSONField(default=list)
    purposes = models.JSONField(default=list)
    description = models.CharField(max_length=300, blank=True)
    is_self_pay_to_health_plan = models.BooleanField(
        default=False, help_text="Keep from a health plan what she paid for herself: must be agreed."
    )
    status = models.CharField(max_length=12, choices=RestrictionStatus.choices, default=RestrictionStatus.REQUESTED)
    requested_at = models.DateTimeField(default=clock.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decision_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient_org__isnull=False) | models.Q(recipient_person__isnull=False),
                name="restriction_names_a_recipient",
            )
        ]

    def __str__(self) -> str:
        return f"Restriction {self.pk} ({self.status})"


class DisclosureQuerySet(models.QuerySet["Disclosure"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("The accounting of disclosures is append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError("The accounting of disclosures is append-only.")


class Disclosure(models.Model):
    """One permitted access by someone outside the creating organisation in which content was shown."""

    occurred_at = models.DateTimeField(db_index=True)
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="disclosures")
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recipient_name = models.CharField(max_length=220)
    recipient_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    disclosing_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=40)
    rule = models.CharField(max_length=4)
    consent_version = models.ForeignKey(
        ConsentVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="disclosures"
    )
    court_order = models.ForeignKey(CourtOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    emergency = models.ForeignKey(EmergencyAccess, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, default="page")
    categories = models.JSONField(default=list)
    records = models.JSONField(default=list)

    objects = DisclosureQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["family", "-occurred_at"])]

    def __str__(self) -> str:
        return f"Disclosure to {self.recipient_name} on {self.occurred_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("The accounting of disclosures is append-only.")
        super().save(*args, **kwargs)


CONSENT_SENSITIVITY = Sensitivity.CONTACT
