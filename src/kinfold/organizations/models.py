"""Organisations in a region and the people who work for them.

Owns Organization (typed), Membership (a person's one employer, their role there, and where they are
placed when embedded or co-located elsewhere) and Partnership (a memorandum of understanding).
It never decides who may see family data: that is the door, ``kinfold.access``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models

from kinfold import text_limits


class OrganizationType(models.TextChoices):
    CHILD_WELFARE = "child_welfare", "Child welfare / child protective services"
    SUD_TREATMENT = "sud_treatment", "Substance use disorder treatment programme"
    OPIOID_TREATMENT = "opioid_treatment", "Opioid treatment programme"
    OBSTETRIC = "obstetric", "Prenatal and obstetric care"
    HOSPITAL = "hospital", "Birthing hospital / NICU"
    PEDIATRIC = "pediatric", "Paediatric care"
    COURT = "court", "Court / family treatment court"
    COMMUNITY = "community", "Community organisation"
    PEER_RECOVERY = "peer_recovery", "Peer recovery support"
    HOME_VISITING = "home_visiting", "Home visiting"
    HEALTH_DEPARTMENT = "health_department", "Health department"


# Organisations whose records are health-care records (they alone create SUD-treatment records).
HEALTH_CARE_PROVIDER_TYPES = frozenset(
    {
        OrganizationType.SUD_TREATMENT,
        OrganizationType.OPIOID_TREATMENT,
        OrganizationType.OBSTETRIC,
        OrganizationType.HOSPITAL,
        OrganizationType.PEDIATRIC,
    }
)
# Federally assisted SUD treatment programmes: 42 CFR Part 2 applies to every record they create.
PART2_PROGRAM_TYPES = frozenset({OrganizationType.SUD_TREATMENT, OrganizationType.OPIOID_TREATMENT})


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    type = models.CharField(max_length=32, choices=OrganizationType.choices)
    region = models.CharField(max_length=120, default="Lakeview County")
    is_part2_program = models.BooleanField(
        default=False,
        help_text="A federally assisted substance use disorder treatment programme (42 CFR Part 2).",
    )
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=300, blank=True)
    # What its staff do when a screening answer is critical (shown with every safety alert). Blank: Kinfold's
    # general protocol (screening.services.DEFAULT_SAFETY_PROTOCOL).
    safety_protocol = models.TextField(blank=True, validators=[MaxLengthValidator(text_limits.SAFETY_PROTOCOL.chars)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["type"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_health_care_provider(self) -> bool:
        return self.type in HEALTH_CARE_PROVIDER_TYPES


class Role(models.TextChoices):
    """What a person does. Used for staff roles and for roles on a family's care team."""

    CARE_COORDINATOR = "care_coordinator", "Care coordinator"
    CPS_CASEWORKER = "cps_caseworker", "CPS caseworker"
    CPS_SUPERVISOR = "cps_supervisor", "CPS supervisor"
    MOUD_PRESCRIBER = "moud_prescriber", "MOUD prescriber"
    SUD_COUNSELOR = "sud_counselor", "SUD counsellor"
    THERAPIST = "therapist", "Therapist"
    OB_CLINICIAN = "ob_clinician", "OB clinician"
    NURSE = "nurse", "Nurse"
    NICU_NURSE = "nicu_nurse", "NICU nurse"
    PEDIATRICIAN = "pediatrician", "Paediatrician"
    SOCIAL_WORKER = "social_worker", "Social worker"
    PEER_RECOVERY_COACH = "peer_recovery_coach", "Peer recovery coach"
    FAMILY_MENTOR = "family_mentor", "Family mentor"
    HOME_VISITOR = "home_visitor", "Home visitor"
    COURT_COORDINATOR = "court_coordinator", "Court coordinator"
    JUDGE = "judge", "Judge"
    FRONT_DESK = "front_desk", "Front desk"
    BILLING = "billing", "Billing"
    QUALITY = "quality", "Quality improvement"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"
    PROGRAMME_LEAD = "programme_lead", "Programme lead"


def role_words(role: str) -> str:
    """A role in running text: ``care coordinator``, but ``CPS caseworker`` and ``MOUD prescriber``."""
    label = str(Role(role).label)
    first, _, rest = label.partition(" ")
    if not first.isupper():
        first = first.lower()
    return f"{first} {rest.lower()}".strip()


CLINICIAN_ROLES = frozenset(
    {
        Role.MOUD_PRESCRIBER,
        Role.SUD_COUNSELOR,
        Role.THERAPIST,
        Role.OB_CLINICIAN,
        Role.NURSE,
        Role.NICU_NURSE,
        Role.PEDIATRICIAN,
    }
)


class Membership(models.Model):
    """A person's employment: one organisation, one role. Embedded staff keep their employer's access."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    title = models.CharField(max_length=120, blank=True)
    placed_at = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="placed_memberships",
        help_text="Where an embedded or co-located person works day to day. Grants no access.",
    )
    phone = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        indexes = [models.Index(fields=["organization", "role"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(placed_at=models.F("organization")),
                name="membership_placed_elsewhere",
                violation_error_message="An embedded placement must be at a different organisation.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.organization})"

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def is_embedded(self) -> bool:
        return self.placed_at_id is not None


class Partnership(models.Model):
    """A memorandum of understanding between organisations: who does what, from when to when."""

    name = models.CharField(max_length=200)
    parties = models.ManyToManyField(Organization, related_name="partnerships")
    responsibilities = models.TextField(
        blank=True, validators=[MaxLengthValidator(text_limits.PARTNERSHIP_RESPONSIBILITIES.chars)]
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="partnership_dates_in_order",
            )
        ]

    def __str__(self) -> str:
        return self.name
