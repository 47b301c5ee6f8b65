"""The service directory, shaped like Open Referral HSDS 3.0 (https://docs.openreferral.org/en/latest/).

Kinfold models as columns what it searches, filters and edits (names, descriptions, status, assured date,
addresses and coordinates, languages, Medicaid, the perinatal attributes and eligibility people filter on);
the rest of each HSDS object (phones, schedules, service areas, cost options, required documents, contacts,
funding, accessibility, any field a later HSDS adds) is kept as it arrived in ``extra``, so an export gives
back what was imported. Listings are not family records: nothing here names a parent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kinfold import clock
from kinfold.organizations.models import Organization

# A listing not assured for this long is flagged as possibly out of date.
STALE_AFTER_DAYS = 183


class ServiceStatus(models.TextChoices):
    """HSDS 3.0 ``service.status``."""

    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DEFUNCT = "defunct", "Defunct"
    TEMPORARILY_CLOSED = "temporarily closed", "Temporarily closed"


class Need(models.TextChoices):
    """What a family needs, as referrals and services code it."""

    SUD_TREATMENT = "sud_treatment", "Substance use treatment"
    MOUD = "moud", "Medication for opioid use disorder (MOUD)"
    PRENATAL_CARE = "prenatal_care", "Prenatal care"
    MENTAL_HEALTH = "mental_health", "Mental health"
    HOUSING = "housing", "Housing"
    FOOD = "food", "Food"
    TRANSPORT = "transport", "Transport"
    CHILDCARE = "childcare", "Childcare"
    IPV_SERVICES = "ipv_services", "Safety from violence at home (IPV services)"
    LEGAL_AID = "legal_aid", "Legal aid"
    PEER_SUPPORT = "peer_support", "Peer recovery support"
    HOME_VISITING = "home_visiting", "Home visiting"
    PARENTING_SUPPORT = "parenting_support", "Parenting support"
    OTHER = "other", "Other"


class Moud(models.TextChoices):
    METHADONE = "methadone", "Methadone"
    BUPRENORPHINE = "buprenorphine", "Buprenorphine"
    NALTREXONE = "naltrexone", "Naltrexone"


class DirectoryOrganization(models.Model):
    """HSDS ``organization``: who offers services. ``organization`` links the listing to a Kinfold
    organisation when it has accounts here (its staff keep the listing current and answer referrals in
    Kinfold); without one, referrals reach its intake contact by a one-time link."""

    hsds_id = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=300)
    alternate_name = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    email = models.CharField(max_length=254, blank=True)
    website = models.CharField(max_length=500, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="directory_listings"
    )
    intake_contact_name = models.CharField(max_length=200, blank=True)
    intake_email = models.CharField(max_length=254, blank=True)
    extra = models.JSONField(default=dict, blank=True)  # the rest of the HSDS object, as imported
    source = models.CharField(max_length=200, blank=True)  # the export it was last imported from
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaxonomyTerm(models.Model):
    """HSDS ``taxonomy_term`` (with its taxonomy's name): Open Eligibility, 211 LA/AIRS, Kinfold's own."""

    hsds_id = models.CharField(max_length=100, unique=True)
    code = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    taxonomy = models.CharField(max_length=200, blank=True)
    parent_hsds_id = models.CharField(max_length=100, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["taxonomy", "code", "name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """HSDS ``service``, with the perinatal attributes and eligibility Kinfold's users filter on."""

    hsds_id = models.CharField(max_length=100, unique=True)
    organization = models.ForeignKey(DirectoryOrganization, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=300)
    alternate_name = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    email = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=24, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE)
    assured_date = models.DateField(null=True, blank=True)
    assurer_email = models.CharField(max_length=254, blank=True)
    application_process = models.TextField(blank=True)
    fees_description = models.TextField(blank=True)
    eligibility_description = models.TextField(blank=True)
    minimum_age = models.PositiveSmallIntegerField(null=True, blank=True)
    maximum_age = models.PositiveSmallIntegerField(null=True, blank=True)
    taxonomy_terms = models.ManyToManyField(TaxonomyTerm, blank=True, related_name="services")

    # What it helps with (the referral needs it answers), as a list of ``Need`` codes.
    needs = models.JSONField(default=list, blank=True)
    # Languages spoken (ISO 639-1 codes, "en", "es"); Medicaid accepted (from its cost options).
    languages = models.JSONField(default=list, blank=True)
    accepts_medicaid = models.BooleanField(default=False)
    # Perinatal attributes.
    accepts_pregnant = models.BooleanField(default=False)
    postpartum_programme = models.BooleanField(default=False)
    parenting_programme = models.BooleanField(default=False)
    moud_methadone = models.BooleanField(default=False)
    moud_buprenorphine = models.BooleanField(default=False)
    moud_naltrexone = models.BooleanField(default=False)
    moud_continued_in_hospital = models.BooleanField(
        default=False, help_text="MOUD continued through delivery and NICU stays."
    )
    residential_with_children = models.BooleanField(default=False)
    childcare_on_site = models.BooleanField(default=False)
    transport_help = models.BooleanField(default=False)
    walk_in = models.BooleanField(default=False)
    accepting_new = models.BooleanField(default=True)
    wait_days = models.PositiveSmallIntegerField(null=True, blank=True)
    capacity_note = models.CharField(max_length=300, blank=True)
    # Eligibility beyond age: counties served (empty: any), first pregnancy only, a gestational-age window.
    counties = models.JSONField(default=list, blank=True)
    first_pregnancy_only = models.BooleanField(default=False)
    enrol_before_week = models.PositiveSmallIntegerField(null=True, blank=True)
    enrol_from_week = models.PositiveSmallIntegerField(null=True, blank=True)

    search_text = models.TextField(blank=True, default="")  # names, descriptions, terms: what free text searches
    extra = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=clock.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Optimistic concurrency for staff editing their own listing.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["status"]), models.Index(fields=["assured_date"])]

    def __str__(self) -> str:
        return self.name

    @property
    def moud_offered(self) -> list[str]:
        return [
            m
            for m, on in (
                (Moud.METHADONE, self.moud_methadone),
                (Moud.BUPRENORPHINE, self.moud_buprenorphine),
                (Moud.NALTREXONE, self.moud_naltrexone),
            )
            if on
        ]

    def is_stale(self, today: object = None) -> bool:
        """Not assured for six months (or never)."""
        day = today or clock.today()
        return self.assured_date is None or (day - self.assured_date).days > STALE_AFTER_DAYS  # type: ignore[operator]


class Location(models.Model):
    """HSDS ``location`` with its physical ``address`` flattened in (the first one)."""

    hsds_id = models.CharField(max_length=100, unique=True)
    organization = models.ForeignKey(
        DirectoryOrganization, null=True, blank=True, on_delete=models.CASCADE, related_name="locations"
    )
    name = models.CharField(max_length=300, blank=True)
    address_1 = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=120, blank=True)
    county = models.CharField(max_length=120, blank=True)  # HSDS address.region
    state_province = models.CharField(max_length=60, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, default="US")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["latitude", "longitude"])]

    def __str__(self) -> str:
        return self.name or self.address_1


class ServiceAtLocation(models.Model):
    """HSDS ``service_at_location``: where a service is offered."""

    hsds_id = models.CharField(max_length=100, unique=True)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="at_locations")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="services_here")
    description = models.TextField(blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.service_id} at {self.location_id}"
