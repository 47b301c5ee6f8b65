"""Families as the parent defines them, their pregnancies, and their care teams across organisations.

Every model here holds family data, so each row records the organisation that created it and a
sensitivity category: the door (``kinfold.access``) decides on those two facts. Derived
perinatal time (gestational age, postpartum day) is computed by ``kinfold.clock``, never stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.text import Truncator

from kinfold import clock, text_limits
from kinfold.organizations.models import Membership, Organization, Role


class Sensitivity(models.TextChoices):
    """Data segmentation categories. SUD treatment records are protected by 42 CFR Part 2."""

    SUD_TREATMENT = "sud_treatment", "SUD treatment (42 CFR Part 2)"
    MENTAL_HEALTH = "mental_health", "Mental health"
    GENERAL_HEALTH = "general_health", "General health"
    CHILD_WELFARE = "child_welfare", "Child welfare"
    LEGAL = "legal", "Legal"
    SOCIAL_NEEDS = "social_needs", "Social needs"
    CONTACT = "contact", "Contact and identity"


class FamilyRecord(models.Model):
    """Provenance every piece of family data carries: who made it, for which organisation, how sensitive."""

    created_by_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    sensitivity = models.CharField(max_length=32, choices=Sensitivity.choices, default=Sensitivity.CONTACT)
    # Optimistic concurrency: a form carries the version it read; a write with a stale one is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    OTHER = "other", "Another language"


class Insurance(models.TextChoices):
    MEDICAID = "medicaid", "Medicaid"
    PRIVATE = "private", "Private insurance"
    NONE = "none", "No insurance"


class Person(FamilyRecord):
    family = models.ForeignKey("Family", on_delete=models.CASCADE, related_name="people")
    given_name = models.CharField(max_length=text_limits.GIVEN_NAME.chars)
    family_name = models.CharField(max_length=text_limits.FAMILY_NAME.chars)
    preferred_name = models.CharField(max_length=text_limits.PREFERRED_NAME.chars, blank=True)
    pronouns = models.CharField(max_length=text_limits.PRONOUNS.chars, blank=True)
    born_on = models.DateField(null=True, blank=True)
    preferred_language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    phone = models.CharField(max_length=text_limits.PHONE.chars, blank=True)
    # Where she lives and how her care is paid for: what "fits this family" in the directory reads.
    postal_code = models.CharField(max_length=text_limits.POSTAL_CODE.chars, blank=True, help_text="Her home ZIP code.")
    county = models.CharField(max_length=text_limits.COUNTY.chars, blank=True)
    insurance = models.CharField(max_length=16, choices=Insurance.choices, blank=True)

    class Meta:
        ordering = ["family_name", "given_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_from(self.given_name, self.preferred_name, self.family_name)

    @staticmethod
    def name_from(given_name: str, preferred_name: str, family_name: str) -> str:
        """Her name as Kinfold shows it (her preferred first name), from the columns (lists read values)."""
        return f"{preferred_name or given_name} {family_name}".strip()

    def age_on(self, on: date) -> clock.Age | None:
        if self.born_on is None or self.born_on > on:
            return None
        return clock.age(born_on=self.born_on, on=on)


class Family(FamilyRecord):
    """One family, named for its parent; the parent's consent governs who sees its records."""

    parent = models.OneToOneField(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="family_as_parent"
    )
    # Kept in step with the parent's name by families.services, for sorting and searching at scale.
    # (Last activity is not stored: each viewer's is the newest timeline line she may read.)
    sort_name = models.CharField(max_length=220, db_index=True, default="")

    class Meta:
        verbose_name_plural = "families"
        ordering = ["sort_name"]

    def __str__(self) -> str:
        return f"Family {self.pk}"


class RelationshipCategory(models.TextChoices):
    PARTNER = "partner", "Partner or spouse"
    PARENT = "parent", "Parent (her own mother or father)"
    CHILD = "child", "Child"
    SIBLING = "sibling", "Sibling"
    OTHER_RELATIVE = "other_relative", "Other relative"
    FOSTER_PARENT = "foster_parent", "Foster or kin caregiver"
    FRIEND = "friend", "Friend"
    SPONSOR = "sponsor", "Recovery sponsor"
    SUPPORT_PERSON = "support_person", "Support person"
    OTHER = "other", "Other"


class FamilyRelationship(FamilyRecord):
    """How the parent describes a person in her family, in her words, plus a category for reports."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="relationships")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relationships")
    category = models.CharField(max_length=32, choices=RelationshipCategory.choices)
    description = models.CharField(
        max_length=text_limits.RELATIONSHIP_DESCRIPTION.chars,
        blank=True,
        help_text="In the parent's own words, e.g. “the lady who drives me”.",
    )
    lives_with_parent = models.BooleanField(default=False)
    is_legal_representative = models.BooleanField(
        default=False,
        help_text=(
            "Has legal authority to act for her, such as a guardian of a parent under 18 or a court-appointed "
            "guardian; can sign consents on her behalf (42 CFR 2.31)."
        ),
    )

    class Meta:
        ordering = ["family", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["family", "person"], name="relationship_once_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.description or self.get_category_display()}"


class PregnancyOutcome(models.TextChoices):
    LIVE_BIRTH = "live_birth", "Live birth"
    STILLBIRTH = "stillbirth", "Stillbirth"
    PREGNANCY_LOSS = "pregnancy_loss", "Pregnancy loss"
    OTHER = "other", "Other"


class PregnancyEpisode(FamilyRecord):
    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="pregnancies")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="pregnancies")
    estimated_due_on = models.DateField()
    delivered_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=32, choices=PregnancyOutcome.choices, blank=True)
    infants = models.ManyToManyField(Person, blank=True, related_name="birth_episodes")
    first_pregnancy = models.BooleanField(null=True, blank=True, help_text="Whether this is her first pregnancy.")

    class Meta:
        ordering = ["-estimated_due_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["family"],
                condition=models.Q(delivered_on__isnull=True),
                name="one_ongoing_pregnancy_per_family",
                violation_error_message="This family already has an ongoing pregnancy.",
            ),
            models.CheckConstraint(
                condition=(models.Q(delivered_on__isnull=True) & models.Q(outcome=""))
                | (models.Q(delivered_on__isnull=False) & ~models.Q(outcome="")),
                name="pregnancy_outcome_with_delivery",
                violation_error_message="A delivery date and an outcome are recorded together.",
            ),
        ]

    def __str__(self) -> str:
        return f"Pregnancy, due {self.estimated_due_on:%d %b %Y}"

    @property
    def is_ongoing(self) -> bool:
        return self.delivered_on is None

    def gestational_age_on(self, on: date) -> clock.GestationalAge | None:
        """Gestational age on a day while pregnant (or at delivery, once delivered)."""
        reference = self.delivered_on if self.delivered_on and self.delivered_on <= on else on
        try:
            return clock.gestational_age(edd=self.estimated_due_on, on=reference)
        except ValueError:
            return None

    @property
    def gestational_age_at_delivery(self) -> clock.GestationalAge | None:
        return self.gestational_age_on(self.delivered_on) if self.delivered_on else None

    def postpartum_day_on(self, on: date) -> int | None:
        if self.delivered_on is None or self.delivered_on > on:
            return None
        return clock.postpartum_day(delivered_on=self.delivered_on, on=on)


class CareTeam(FamilyRecord):
    family = models.OneToOneField(Family, on_delete=models.CASCADE, related_name="care_team")

    def __str__(self) -> str:
        return f"Care team of family {self.family_id}"


class CareTeamMemberQuerySet(models.QuerySet["CareTeamMember"]):
    def active(self) -> CareTeamMemberQuerySet:
        return self.filter(left_at__isnull=True)


class CareTeamMember(FamilyRecord):
    """A staff member's place on one family's team (FHIR CareTeam.participant), with a period."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="members")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="team_places")
    role = models.CharField(max_length=32, choices=Role.choices)
    is_coordinator = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=clock.now)
    left_at = models.DateTimeField(null=True, blank=True)

    objects = CareTeamMemberQuerySet.as_manager()

    class Meta:
        ordering = ["-is_coordinator", "joined_at"]
        indexes = [models.Index(fields=["membership", "left_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["care_team"],
                condition=models.Q(is_coordinator=True, left_at__isnull=True),
                name="one_designated_coordinator_per_team",
                violation_error_message="A care team has exactly one designated coordinator.",
            ),
            models.UniqueConstraint(
                fields=["care_team", "membership"],
                condition=models.Q(left_at__isnull=True),
                name="one_active_place_per_person_per_team",
                violation_error_message="This person is already on the care team.",
            ),
            models.CheckConstraint(
                condition=models.Q(left_at__isnull=True) | models.Q(is_coordinator=False),
                name="coordinator_is_active_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership} as {self.get_role_display()}"

    @property
    def is_active(self) -> bool:
        return self.left_at is None


SUMMARY_MAX_LENGTH = 300


class FamilyActivity(FamilyRecord):
    """One line of a family's timeline: what happened and who did it, in plain words."""

    family = models.ForeignKey(Family, on_delete=models.CASCADE, related_name="activities")
    occurred_at = models.DateTimeField(default=clock.now)
    verb = models.CharField(max_length=40)
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH)
    # A line that tells of a consent is seen exactly by whoever may see that consent (its id, not a foreign
    # key: families never depends on the consent app).
    consent_directive_id = models.PositiveBigIntegerField(null=True, blank=True)
    # The kind of information the line tells (``access/data/kinds.yaml``); its category is ``sensitivity``.
    kind = models.CharField(max_length=40, default="")

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["family", "-occurred_at"])]
        verbose_name_plural = "family activities"

    def __str__(self) -> str:
        return self.summary

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A long name or organisation must never make a write fail: the line is shortened, not refused.
        self.summary = Truncator(self.summary).chars(SUMMARY_MAX_LENGTH)
        super().save(*args, **kwargs)
