"""Consent directives (every element 42 CFR 2.31 requires), court orders, emergency access, restrictions
and the accounting of disclosures. The decisions themselves are made in ``policy.py``.

A directive is versioned: a change is a new ``ConsentVersion``, never an edit. Revocation ends the whole
directive at the instant it is recorded and never reaches back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar, NoReturn, Protocol, TypeVar

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
    # 2.31(a)(2) how much and what kind of information: the kinds it lists (what it covers), and the
    # categories those kinds belong to (kept for lists and restrictions; never what the policy reads)
    kinds = models.JSONField(default=list)
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
    signer_person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Her legal representative who signed, as recorded on the family (empty when she signed herself).",
    )
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
        return missing_consent_elements(
            self,
            names_discloser_orgs=lambda: self._has("discloser_orgs"),
            names_recipient_orgs=lambda: self._has("recipient_orgs"),
            names_recipient_people=lambda: self._has("recipient_people"),
            parent_is_minor=parent_is_minor,
            minor_signs_alone=minor_signs_alone,
        )

    def _has(self, relation: str) -> bool:
        cache: dict[str, Any] = getattr(self, "_prefetched_objects_cache", {})
        if relation in cache:
            return bool(cache[relation])
        return bool(self.pk) and getattr(self, relation).exists()

    def ends_at(self, *, next_effective_at: datetime | None, revoked_at: datetime | None) -> datetime | None:
        """The first instant this version no longer covers (half-open interval)."""
        return version_ends_at(self, superseded_at=next_effective_at, revoked_at=revoked_at)


class VersionTerms(Protocol):
    """A consent version's terms as the 2.31 check and its interval read them: a ``ConsentVersion``, or the
    plain row the access policy reads (``policy._VersionRow``)."""

    @property
    def number(self) -> int: ...
    @property
    def patient_name(self) -> str: ...
    @property
    def discloser_classes(self) -> Any: ...
    @property
    def recipient_classes(self) -> Any: ...
    @property
    def purposes(self) -> Any: ...
    @property
    def categories(self) -> Any: ...
    @property
    def kinds(self) -> Any: ...
    @property
    def right_to_revoke(self) -> str: ...
    @property
    def effective_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...
    @property
    def expiry_event(self) -> str: ...
    @property
    def expiry_event_recorded_at(self) -> datetime | None: ...
    @property
    def signer_kind(self) -> str: ...
    @property
    def signer_person_id(self) -> int | None: ...
    @property
    def signer_name(self) -> str: ...
    @property
    def signature_typed(self) -> str: ...
    @property
    def signature_drawn(self) -> str: ...
    @property
    def guardian_signature_typed(self) -> str: ...


def missing_consent_elements(
    v: VersionTerms,
    *,
    names_discloser_orgs: Callable[[], bool],
    names_recipient_orgs: Callable[[], bool],
    names_recipient_people: Callable[[], bool],
    parent_is_minor: bool = False,
    minor_signs_alone: bool = True,
) -> list[str]:
    """The 2.31 elements a consent version's terms lack: the one definition of a complete consent, for
    ``ConsentVersion.missing_elements`` and for the access policy, which reads versions as values. Whether
    a version names organisations or people is asked only when its classes leave the question open (a
    version's links may not be loaded)."""
    missing = []
    if not v.patient_name.strip():
        missing.append("patient's name")
    if not v.discloser_classes and not names_discloser_orgs():
        missing.append("who may share")
    if not v.recipient_classes and not names_recipient_orgs() and not names_recipient_people():
        missing.append("who may receive")
    if not v.purposes:
        missing.append("purpose")
    if not v.kinds and not v.categories:
        missing.append("what information")
    if not v.right_to_revoke.strip():
        missing.append("the right to revoke")
    if v.expires_at is None and not v.expiry_event.strip():
        missing.append("expiry")
    if not v.signer_name.strip():
        missing.append("signer's name")
    if v.signer_kind == SignerKind.LEGAL_REPRESENTATIVE and v.signer_person_id is None:
        # 42 CFR 2.31: only the parent or her legal representative, recorded on the family, signs for her.
        missing.append("which recorded legal representative signed")
    if not (v.signature_typed.strip() or v.signature_drawn.strip()):
        missing.append("signature")
    if parent_is_minor and not minor_signs_alone and not v.guardian_signature_typed.strip():
        missing.append("guardian's signature")
    if parent_is_minor and minor_signs_alone and v.signer_kind == SignerKind.LEGAL_REPRESENTATIVE:
        # Where a minor may consent alone (2.14) she signs: her guardian's signature alone covers nothing.
        missing.append("the minor parent's own signature")
    return missing


V = TypeVar("V", bound=VersionTerms)


def superseding_version(later_versions: Iterable[V]) -> V | None:
    """Of the versions signed after one version, the one whose effective instant ends it first.

    A new version supersedes every earlier one at its effective instant, so a version ends at the
    earliest effective instant of any later version, not only at the next-numbered one's: a version
    signed today replaces a future-dated one before it takes effect, and the two never overlap."""
    return min(later_versions, key=lambda v: (v.effective_at, v.number), default=None)


def version_ends_at(v: VersionTerms, *, superseded_at: datetime | None, revoked_at: datetime | None) -> datetime | None:
    """The first instant a version no longer covers (half-open interval): the first of the superseding
    version's effective instant, its expiry, its expiry event and the directive's revocation."""
    ends = [t for t in (superseded_at, v.expires_at, v.expiry_event_recorded_at, revoked_at) if t is not None]
    return min(ends) if ends else None


class CourtOrder(FamilyRecord):
    """A court order authorising disclosure of specific records to a specific court for a period (2.64/2.65)."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="court_orders")
    court = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="court_orders")
    named_person = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    order_reference = models.CharField(max_length=100)
    issued_on = models.DateField()
    judge_name = models.CharField(max_length=200, blank=True)
    # What it names: categories of records, and/or specific records ({"type": …, "id": …}); kinds that
    # need a consent of their own (SUD counselling notes) are reached only where named in ``kinds``.
    categories = models.JSONField(default=list)
    kinds = models.JSONField(default=list, blank=True)
    records = models.JSONField(default=list, blank=True)
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


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError(self.model.append_only_message)

    def delete(self) -> NoReturn:
        raise PermissionError(self.model.append_only_message)


class AppendOnlyRecord(models.Model):
    """A row that is written once and never changed or deleted through the code (the accounting of
    disclosures, the privacy officers' notifications)."""

    append_only_message: ClassVar[str] = "This record is append-only."

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError(self.append_only_message)
        super().save(*args, **kwargs)


class EmergencyNotification(AppendOnlyRecord):
    """That one organisation's privacy officers were told about one emergency (42 CFR 2.51(c)): the
    clinician's own organisation at declaration, each other organisation when its records are first opened.

    One row per emergency and organisation, so an organisation is told once however many of its records
    are opened later. ``recipients`` are the addresses the email was sent to (empty: the organisation had no
    active privacy officer with an email address, and nobody could be told); whether delivery succeeded is
    in the audit trail. ``records_opened`` counts the records opened on the page that triggered it (0 for
    the declaration); every record opened is in the accounting of disclosures."""

    emergency = models.ForeignKey(EmergencyAccess, on_delete=models.PROTECT, related_name="notifications")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    notified_at = models.DateTimeField()
    recipients = models.JSONField(default=list, blank=True)
    records_opened = models.PositiveIntegerField(default=0)

    append_only_message = "Emergency notifications are append-only."

    class Meta:
        ordering = ["notified_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["emergency", "organization"], name="emergency_notification_once_per_organization"
            )
        ]

    def __str__(self) -> str:
        return f"Emergency {self.emergency_id}: organisation {self.organization_id} told"


class RestrictionStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    AGREED = "agreed", "Agreed"
    REFUSED = "refused", "Refused"
    ENDED = "ended", "Ended"


class Restriction(FamilyRecord):
    """The parent's request that a disclosure be restricted (42 CFR 2.26; 45 CFR 164.522).

    An agreed restriction may end (45 CFR 164.522(a)(2)): at her request, for everything from the instant
    it is recorded; or by the disclosing organisation telling her, and then only for what it creates or
    receives from that instant on. A self-pay restriction toward a health plan is never ended by the
    organisation alone."""

    class EndRequestedBy(models.TextChoices):
        PARENT = "parent", "At her request"
        ORGANIZATION = "organization", "By the organisation"

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
    # 45 CFR 164.522(a)(2): the end of an agreed restriction, who asked for it, and who recorded it.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    ended_on_request_of = models.CharField(max_length=12, blank=True, choices=EndRequestedBy.choices)
    end_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient_org__isnull=False) | models.Q(recipient_person__isnull=False),
                name="restriction_names_a_recipient",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        status="ended",
                        ended_at__isnull=False,
                        decided_at__isnull=False,
                        ended_at__gte=models.F("decided_at"),
                        ended_on_request_of__in=["parent", "organization"],
                    )
                    | (~models.Q(status="ended") & models.Q(ended_at__isnull=True, ended_on_request_of=""))
                ),
                name="restriction_end_recorded_with_ended_status",
                violation_error_message="An ended restriction records when it ended, after it was agreed, and at "
                "whose request.",
            ),
            models.CheckConstraint(
                condition=~models.Q(ended_on_request_of="organization", end_reason=""),
                name="restriction_organization_end_has_reason",
                violation_error_message="The organisation gives a reason when it ends a restriction.",
            ),
            # 45 CFR 164.522(a)(1)(vi): a self-pay restriction toward a health plan binds the organisation.
            models.CheckConstraint(
                condition=~models.Q(is_self_pay_to_health_plan=True, ended_on_request_of="organization"),
                name="restriction_self_pay_not_ended_by_organization",
                violation_error_message="A restriction on telling a health plan about care she paid for herself "
                "cannot be ended by the organisation.",
            ),
        ]

    def __str__(self) -> str:
        return f"Restriction {self.pk} ({self.status})"


class Disclosure(AppendOnlyRecord):
    """One permitted access by someone outside the creating organisation in which content was shown.

    Every page view that shows another organisation's record writes some, so the table is the largest and most
    written in Kinfold: it has one index besides its key, ``(family, -occurred_at)``, which every read of it uses
    (her accounting of disclosures, the family's). Its other references keep their foreign-key constraints but no
    index of their own (each cost every page its upkeep): they are read through the family, and what they point
    at (organisations, accounts, consent versions, court orders, emergencies) is never deleted by Kinfold."""

    occurred_at = models.DateTimeField()
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="disclosures", db_index=False)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    recipient_name = models.CharField(max_length=220)
    recipient_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    disclosing_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_index=False)
    purpose = models.CharField(max_length=40)
    rule = models.CharField(max_length=4)
    consent_version = models.ForeignKey(
        ConsentVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="disclosures", db_index=False
    )
    court_order = models.ForeignKey(
        CourtOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    emergency = models.ForeignKey(
        EmergencyAccess, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    channel = models.CharField(max_length=20, default="page")
    categories = models.JSONField(default=list)
    records = models.JSONField(default=list)

    append_only_message = "The accounting of disclosures is append-only."

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["family", "-occurred_at"])]

    def __str__(self) -> str:
        return f"Disclosure to {self.recipient_name} on {self.occurred_at:%Y-%m-%d}"


CONSENT_SENSITIVITY = Sensitivity.CONTACT
