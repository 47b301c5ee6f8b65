"""A deterministic generator of synthetic regions: organisations, staff, families, pregnancies, care teams.

Everything is invented (names from generic lists, obviously fictional organisations). The same ``seed``
and reference date ``on`` give the same data: one ``random.Random(seed)`` is consumed in a fixed order, and
every date and timestamp is derived from ``on`` (never from the clock). The exceptions are bookkeeping
columns the database or Django stamps at write time (``updated_at``, ``Organization.created_at``) and the
unusable password string, which carry no meaning.

It is built for scale (100,000 families in a few minutes on PostgreSQL): rows are built in memory in chunks
and written (``COPY`` on PostgreSQL, ``bulk_create`` elsewhere) with primary keys assigned here (after
the current maximum of each table), so rows refer to each other without a round trip; foreign keys are
checked at the end of the one transaction. Sequences are reset afterwards so later ordinary inserts do not
collide. One summary
audit event records the generation (not one event per row).

Generating into a database that other people are writing to at the same time is not supported.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max

from kinfold import clock
from kinfold.access.vocabulary import OrganizationClass, Purpose, default_kind, kind_of, version_kinds
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.consent.models import ConsentDirective, ConsentVersion
from kinfold.consent.services import right_to_revoke_text
from kinfold.demo import names
from kinfold.families.models import (
    CareTeam,
    CareTeamMember,
    Family,
    FamilyActivity,
    FamilyRelationship,
    Language,
    Person,
    PregnancyEpisode,
    PregnancyOutcome,
    RelationshipCategory,
    Sensitivity,
)
from kinfold.notes.models import NOTE_CATEGORY, Note, NoteKind
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role, role_words

OT = OrganizationType
CONTACT = Sensitivity.CONTACT.value
GENERAL_HEALTH = Sensitivity.GENERAL_HEALTH.value

FAMILIES_PER_ORGANIZATION = 400
CHUNK_FAMILIES = 5000
BATCH_SIZE = 5000
SPANISH_SHARE = 0.2
SUD_TREATMENT = Sensitivity.SUD_TREATMENT.value
MENTAL_HEALTH = Sensitivity.MENTAL_HEALTH.value
# The consents parents commonly sign at enrolment, as (title, template key, discloser class, recipient class,
# purposes, categories), and the share of parents who sign each. Treatment information reaches child welfare
# only under its own consent, never under the team-wide one.
_TPO = (str(Purpose.TREATMENT), str(Purpose.PAYMENT), str(Purpose.OPERATIONS))
CONSENT_GRANTS: tuple[tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "Team-wide coordination",
        "team_wide",
        str(OrganizationClass.MY_CARE_TEAM),
        str(OrganizationClass.MY_CARE_TEAM),
        (*_TPO, str(Purpose.CARE_COORDINATION), str(Purpose.CHILD_WELFARE_CASE)),
        (CONTACT, GENERAL_HEALTH, Sensitivity.SOCIAL_NEEDS.value, Sensitivity.CHILD_WELFARE.value),
    ),
    (
        "Treatment information for my treating providers",
        "treating_providers",
        str(OrganizationClass.PART2_PROGRAMS),
        str(OrganizationClass.TREATING_PROVIDERS),
        _TPO,
        (SUD_TREATMENT, MENTAL_HEALTH),
    ),
    (
        "Treatment progress updates for child protective services",
        "cps_status",
        str(OrganizationClass.PART2_PROGRAMS),
        str(OrganizationClass.CHILD_WELFARE),
        (str(Purpose.CHILD_WELFARE_CASE),),
        (SUD_TREATMENT,),
    ),
    # Stand-alone (42 CFR 2.31(d)) and naming the court itself: the recipient class is replaced by the court.
    (
        "Compliance reports to the family treatment court",
        "court_compliance",
        str(OrganizationClass.MY_CARE_TEAM),
        "",
        (str(Purpose.COURT_PROCEEDING),),
        (CONTACT, SUD_TREATMENT, Sensitivity.LEGAL.value),
    ),
)
CONSENT_SHARES = (0.88, 0.6, 0.4, 0.9)
# The kinds each grant lists: every kind of its categories, except where a template promises fewer (the CPS
# update shares attendance and medication, nothing else; see consent/data/consent_templates.yaml).
GRANT_KINDS = {"cps_status": ("treatment_attendance", "medication")}
# Which kinds of note each role writes (only health-care providers write SUD-treatment records).
NOTE_KINDS_BY_ROLE: dict[str, tuple[str, ...]] = {
    Role.SUD_COUNSELOR: (NoteKind.TREATMENT_ATTENDANCE, NoteKind.TREATMENT_ATTENDANCE, NoteKind.TOXICOLOGY),
    Role.MOUD_PRESCRIBER: (NoteKind.MEDICATION,),
    Role.THERAPIST: (NoteKind.THERAPY_NOTE,),
    Role.OB_CLINICIAN: (NoteKind.PRENATAL_VISIT,),
    Role.CPS_CASEWORKER: (NoteKind.CASE_NOTE, NoteKind.CONTACT_LOG),
    Role.COURT_COORDINATOR: (NoteKind.COURT_REPORT,),
    Role.CARE_COORDINATOR: (NoteKind.SOCIAL_NEEDS, NoteKind.CONTACT_LOG),
    Role.PEER_RECOVERY_COACH: (NoteKind.SOCIAL_NEEDS, NoteKind.CONTACT_LOG),
    Role.HOME_VISITOR: (NoteKind.SOCIAL_NEEDS,),
}
NOTE_SUMMARIES: dict[str, tuple[str, ...]] = {
    NoteKind.TREATMENT_ATTENDANCE: (
        "Attended group session",
        "Attended individual counselling session",
        "Rescheduled session for a prenatal visit",
        "Attended intensive outpatient programme, three days this week",
    ),
    NoteKind.TOXICOLOGY: ("Toxicology result consistent with prescribed medication", "Toxicology result discussed"),
    NoteKind.MEDICATION: (
        "Buprenorphine dose steady; next visit in two weeks",
        "Methadone dose adjusted in third trimester",
        "Prescription renewed; no side effects reported",
    ),
    NoteKind.THERAPY_NOTE: ("Therapy session: coping skills", "Therapy session: sleep and stress"),
    NoteKind.PRENATAL_VISIT: ("Routine prenatal visit", "Ultrasound scheduled", "Blood pressure check, normal"),
    NoteKind.CASE_NOTE: ("Home visit completed; safe sleep set up", "Plan of safe care reviewed with the family"),
    NoteKind.CONTACT_LOG: ("Phone call: confirmed next appointment", "Text message: transport arranged"),
    NoteKind.COURT_REPORT: ("Compliance hearing scheduled", "Progress noted at review hearing"),
    NoteKind.SOCIAL_NEEDS: (
        "Helped apply for WIC",
        "Transport to appointments arranged",
        "Connected with a diaper bank",
        "Housing application submitted",
    ),
}

# How many organisations of each type, relative to each other (a region has more community organisations
# than courts). The total is about one organisation per FAMILIES_PER_ORGANIZATION families.
TYPE_WEIGHTS: dict[str, float] = {
    OT.CHILD_WELFARE: 1.0,
    OT.SUD_TREATMENT: 1.5,
    OT.OPIOID_TREATMENT: 1.0,
    OT.OBSTETRIC: 1.5,
    OT.HOSPITAL: 0.6,
    OT.PEDIATRIC: 1.5,
    OT.COURT: 0.5,
    OT.COMMUNITY: 3.0,
    OT.PEER_RECOVERY: 1.5,
    OT.HOME_VISITING: 1.0,
    OT.HEALTH_DEPARTMENT: 0.3,
}

# Staff of each organisation type: (role, share of all families with this role on their team, families
# per person (caseload), at least this many per organisation). Every organisation also has one privacy
# officer. Roles with a share of 0 are not on care teams; their caseload is "families per staff member".
STAFFING: dict[str, tuple[tuple[str, float, int, int], ...]] = {
    OT.CHILD_WELFARE: (
        (Role.CPS_CASEWORKER, 0.45, 25, 2),
        (Role.CPS_SUPERVISOR, 0.0, 180, 1),
    ),
    OT.SUD_TREATMENT: (
        (Role.MOUD_PRESCRIBER, 0.28, 90, 1),
        (Role.SUD_COUNSELOR, 0.17, 40, 1),
        (Role.THERAPIST, 0.05, 40, 1),
        (Role.FRONT_DESK, 0.0, 900, 1),
        (Role.BILLING, 0.0, 1800, 1),
    ),
    OT.OPIOID_TREATMENT: (
        (Role.MOUD_PRESCRIBER, 0.42, 90, 1),
        (Role.SUD_COUNSELOR, 0.17, 40, 1),
        (Role.THERAPIST, 0.05, 40, 1),
        (Role.NURSE, 0.0, 700, 1),
        (Role.FRONT_DESK, 0.0, 900, 1),
        (Role.BILLING, 0.0, 1800, 1),
    ),
    OT.OBSTETRIC: (
        (Role.OB_CLINICIAN, 0.45, 80, 1),
        (Role.NURSE, 0.06, 60, 1),
        (Role.FRONT_DESK, 0.0, 1500, 1),
    ),
    OT.HOSPITAL: (
        (Role.NICU_NURSE, 0.08, 20, 2),
        (Role.SOCIAL_WORKER, 0.12, 40, 1),
        (Role.NURSE, 0.0, 500, 1),
    ),
    OT.PEDIATRIC: (
        (Role.PEDIATRICIAN, 0.25, 120, 1),
        (Role.NURSE, 0.0, 800, 1),
    ),
    OT.COURT: (
        (Role.COURT_COORDINATOR, 0.14, 40, 1),
        (Role.JUDGE, 0.0, 10**9, 1),
    ),
    OT.COMMUNITY: ((Role.CARE_COORDINATOR, 0.62, 40, 1),),
    OT.PEER_RECOVERY: (
        (Role.PEER_RECOVERY_COACH, 0.42, 30, 1),
        (Role.FAMILY_MENTOR, 0.08, 20, 1),
    ),
    OT.HOME_VISITING: ((Role.HOME_VISITOR, 0.22, 25, 1),),
    OT.HEALTH_DEPARTMENT: (
        (Role.PROGRAMME_LEAD, 0.0, 20000, 1),
        (Role.QUALITY, 0.0, 40000, 1),
    ),
}

TITLES: dict[str, tuple[str, ...]] = {
    Role.CARE_COORDINATOR: ("Care coordinator", "Family care coordinator", "Case manager"),
    Role.CPS_CASEWORKER: ("Caseworker", "Ongoing services caseworker", "Family services caseworker"),
    Role.CPS_SUPERVISOR: ("Casework supervisor",),
    Role.MOUD_PRESCRIBER: ("Physician", "Nurse practitioner", "Physician assistant"),
    Role.SUD_COUNSELOR: ("Counsellor", "Recovery counsellor", "Licensed SUD counsellor"),
    Role.THERAPIST: ("Therapist", "Perinatal mental health therapist"),
    Role.OB_CLINICIAN: ("Obstetrician", "Certified nurse-midwife", "Women's health nurse practitioner"),
    Role.NURSE: ("Registered nurse", "Nurse"),
    Role.NICU_NURSE: ("NICU nurse", "Neonatal nurse"),
    Role.PEDIATRICIAN: ("Paediatrician", "Paediatric nurse practitioner"),
    Role.SOCIAL_WORKER: ("Perinatal social worker", "Hospital social worker"),
    Role.PEER_RECOVERY_COACH: ("Peer recovery coach", "Certified peer recovery specialist"),
    Role.FAMILY_MENTOR: ("Family mentor", "Family peer mentor"),
    Role.HOME_VISITOR: ("Home visitor", "Nurse home visitor", "Parent educator"),
    Role.COURT_COORDINATOR: ("Treatment court coordinator",),
    Role.JUDGE: ("Judge",),
    Role.FRONT_DESK: ("Front desk", "Patient services"),
    Role.BILLING: ("Billing specialist",),
    Role.QUALITY: ("Quality improvement analyst", "Epidemiologist"),
    Role.PRIVACY_OFFICER: ("Privacy officer",),
    Role.PROGRAMME_LEAD: ("Programme lead, maternal and child health",),
}

# Which organisation types a care-team role is drawn from.
ROLE_ORG_TYPES: dict[str, tuple[str, ...]] = {
    Role.CARE_COORDINATOR: (OT.COMMUNITY,),
    Role.PEER_RECOVERY_COACH: (OT.PEER_RECOVERY,),
    Role.FAMILY_MENTOR: (OT.PEER_RECOVERY,),
    Role.HOME_VISITOR: (OT.HOME_VISITING,),
    Role.SOCIAL_WORKER: (OT.HOSPITAL,),
    Role.CPS_CASEWORKER: (OT.CHILD_WELFARE,),
    Role.MOUD_PRESCRIBER: (OT.OPIOID_TREATMENT, OT.SUD_TREATMENT),
    Role.SUD_COUNSELOR: (OT.SUD_TREATMENT, OT.OPIOID_TREATMENT),
    Role.THERAPIST: (OT.SUD_TREATMENT, OT.OPIOID_TREATMENT),
    Role.OB_CLINICIAN: (OT.OBSTETRIC,),
    Role.NURSE: (OT.OBSTETRIC,),
    Role.NICU_NURSE: (OT.HOSPITAL,),
    Role.PEDIATRICIAN: (OT.PEDIATRIC,),
    Role.COURT_COORDINATOR: (OT.COURT,),
}
COORDINATOR_ROLES = (Role.CARE_COORDINATOR, Role.PEER_RECOVERY_COACH, Role.HOME_VISITOR, Role.SOCIAL_WORKER)
COORDINATOR_WEIGHTS = (65, 20, 7, 8)
_COORDINATOR_CUM = list(itertools.accumulate(COORDINATOR_WEIGHTS))
MAX_TEAM = 7

# Embedded / co-located staff: (role, employer types, placed at type, share of those staff placed).
EMBEDDING: tuple[tuple[str, tuple[str, ...], str, float], ...] = (
    (Role.NURSE, (OT.OBSTETRIC, OT.HOSPITAL, OT.PEDIATRIC), OT.CHILD_WELFARE, 0.15),
    (Role.SUD_COUNSELOR, (OT.SUD_TREATMENT, OT.OPIOID_TREATMENT), OT.COURT, 0.06),
    (Role.PEER_RECOVERY_COACH, (OT.PEER_RECOVERY,), OT.HOSPITAL, 0.05),
    (Role.CARE_COORDINATOR, (OT.COMMUNITY,), OT.OBSTETRIC, 0.04),
)

ORG_NAME_PATTERNS: dict[str, tuple[str, ...]] = {
    OT.CHILD_WELFARE: (
        "{region} Child Protective Services, {place} Office",
        "{place} Family Services Office",
    ),
    OT.SUD_TREATMENT: (
        "{place} Recovery Services",
        "{place} Behavioral Health Center",
        "New Path Treatment, {place}",
        "{place} Counseling and Recovery",
    ),
    OT.OPIOID_TREATMENT: ("{place} Opioid Treatment Program", "{place} Medication for OUD Clinic"),
    OT.OBSTETRIC: ("{place} Prenatal Clinic", "{place} Midwifery Practice", "{place} OB/GYN Associates"),
    OT.HOSPITAL: ("{place} Regional Hospital", "{place} Birthing Center and NICU"),
    OT.PEDIATRIC: ("{place} Pediatrics", "{place} Children's Clinic", "Little Steps Pediatrics, {place}"),
    OT.COURT: ("{place} Family Treatment Court", "{region} Family Court, {place} Division"),
    OT.COMMUNITY: (
        "{place} Family Resource Center",
        "{place} Community Services",
        "{place} Housing and Family Support",
        "{place} Family Support Network",
    ),
    OT.PEER_RECOVERY: ("{place} Peer Recovery Network", "{place} Recovery Community Center"),
    OT.HOME_VISITING: ("{place} Home Visiting Program", "{place} Nurse Home Visiting"),
    OT.HEALTH_DEPARTMENT: ("{region} Health Department, {place} District", "{place} Public Health Office"),
}

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

STAGE_WEIGHTS = (("pregnant", 35), ("postpartum", 38), ("parenting", 25), ("not_recorded", 2))


def long_date(d: date) -> str:
    """``8 March 2026``, independent of the process locale."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


@dataclass(frozen=True)
class NamedOrganization:
    """An organisation with a fixed name (for the demo). ``in_pool=False``: nobody from it is on a team."""

    name: str
    type: str
    in_pool: bool = True


@dataclass(frozen=True)
class NamedStaff:
    """A person with a fixed name and username (for the demo), placed on a number of families' teams.

    ``families`` of them, of which ``coordinates`` as the designated coordinator; with ``among`` (another
    named person's username) they are drawn from that person's families.
    """

    username: str
    first_name: str
    last_name: str
    organization: str
    role: str
    title: str = ""
    families: int = 0
    coordinates: int = 0
    among: str = ""


@dataclass
class RegionSummary:
    region: str
    seed: int
    on: date
    organizations: int = 0
    staff: int = 0
    embedded_staff: int = 0
    families: int = 0
    people: int = 0
    relationships: int = 0
    pregnancies: int = 0
    infants: int = 0
    care_team_members: int = 0
    activities: int = 0
    spanish_speaking_parents: int = 0
    consents: int = 0
    notes: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        return {
            "organizations": self.organizations,
            "staff": self.staff,
            "embedded_staff": self.embedded_staff,
            "families": self.families,
            "people": self.people,
            "relationships": self.relationships,
            "pregnancies": self.pregnancies,
            "infants": self.infants,
            "care_team_members": self.care_team_members,
            "activities": self.activities,
            "spanish_speaking_parents": self.spanish_speaking_parents,
            "consents": self.consents,
            "notes": self.notes,
            "stages": dict(self.stages),
        }

    def lines(self) -> list[str]:
        stages = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in self.stages.items())
        return [
            f"Region {self.region!r} (seed {self.seed}, as of {self.on.isoformat()}):",
            f"  {self.organizations:,} organisations, {self.staff:,} staff "
            f"({self.embedded_staff:,} embedded or co-located elsewhere)",
            f"  {self.families:,} families ({stages})",
            f"  {self.spanish_speaking_parents:,} Spanish-speaking parents",
            f"  {self.people:,} people, {self.relationships:,} relationships, "
            f"{self.pregnancies:,} pregnancies, {self.infants:,} infants linked to a birth",
            f"  {self.care_team_members:,} care-team places, {self.activities:,} timeline lines",
            f"  {self.consents:,} consents, {self.notes:,} notes",
            f"  generated in {self.elapsed_seconds:.1f} s",
        ]


@dataclass(slots=True)
class _Staff:
    membership_id: int
    user_id: int
    org_id: int
    org_name: str
    role: str
    name: str
    org_is_part2: bool = False

    @property
    def line_category(self) -> str:
        """A timeline line naming this person's organisation: a Part 2 record if it is a Part 2 programme."""
        return SUD_TREATMENT if self.org_is_part2 else CONTACT


# The kind of information each generated line tells, as families.services and consent.services file them.
_VERB_KINDS = {
    "family_created": "identity",
    "member_added": "family",
    "pregnancy_recorded": "pregnancy",
    "delivery_recorded": "pregnancy",
    "team_member_added": "care_team",
    "team_member_removed": "care_team",
    "consent_recorded": "consent_record",
}


def _line_kind(verb: str, category: str) -> str:
    """A line's kind: its verb's, unless the line is filed in another category (it names a Part 2 programme)."""
    kind = _VERB_KINDS.get(verb, "")
    known = kind_of(kind) if kind else None
    return kind if known is not None and known.category == category else default_kind(category)


@dataclass(slots=True)
class _Event:
    at: datetime
    verb: str
    summary: str
    sensitivity: str
    by: _Staff
    consent_directive_id: int | None = None  # a line about a consent is seen as the consent is


Row = dict[str, Any]


def write_rows(model: type[models.Model], rows: Sequence[Row | models.Model]) -> None:
    """Insert ``rows`` (dicts keyed by attribute name, or unsaved instances) with their own primary keys.

    On PostgreSQL the rows stream through ``COPY`` (several times faster than ``bulk_create``: no model
    instances, no per-value preparation); ``updated_at`` then equals ``created_at``. Elsewhere they go
    through ``bulk_create``. Either way foreign keys are checked at the end of the transaction.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        objs = [row if isinstance(row, models.Model) else model(**row) for row in rows]
        model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
        return
    fields = list(model._meta.concrete_fields)
    attnames = [f.attname for f in fields]
    defaults: Row = {}
    for f in fields:
        if (
            getattr(f, "auto_now", False)
            or getattr(f, "auto_now_add", False)
            or (f.has_default() and callable(f.default))
        ):
            continue  # timestamps: given explicitly, or ``updated_at`` copied from ``created_at``
        defaults[f.attname] = f.get_default()
    stamped = [f.attname for f in fields if getattr(f, "auto_now", False)]
    as_json = [f.attname for f in fields if isinstance(f, models.JSONField)]
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            values = {**defaults, **(row if isinstance(row, dict) else vars(row))}
            for name in stamped:
                values[name] = values.get(name) or values["created_at"]
            for name in as_json:
                values[name] = json.dumps(values[name])
            copy.write_row([values[name] for name in attnames])


class _Batch:
    """Rows of one chunk of families, written together."""

    def __init__(self) -> None:
        self.families: list[Row] = []
        self.people: list[Row] = []
        self.relationships: list[Row] = []
        self.pregnancies: list[Row] = []
        self.infant_links: list[Row] = []
        self.teams: list[Row] = []
        self.members: list[Row] = []
        self.activities: list[Row] = []
        self.directives: list[Row] = []
        self.consent_versions: list[Row] = []
        self.notes: list[Row] = []
        self.consent_recipient_orgs: list[Row] = []

    def write(self) -> None:
        for model, rows in (
            (Family, self.families),
            (Person, self.people),
            (FamilyRelationship, self.relationships),
            (PregnancyEpisode, self.pregnancies),
            (PregnancyEpisode.infants.through, self.infant_links),
            (CareTeam, self.teams),
            (CareTeamMember, self.members),
            (FamilyActivity, self.activities),
            (ConsentDirective, self.directives),
            (ConsentVersion, self.consent_versions),
            (ConsentVersion.recipient_orgs.through, self.consent_recipient_orgs),
            (Note, self.notes),
        ):
            write_rows(model, rows)


def _next_id(model: type[models.Model]) -> Iterator[int]:
    current = model._default_manager.aggregate(m=Max("pk"))["m"] or 0
    return itertools.count(current + 1)


class _Generator:
    def __init__(
        self,
        *,
        families: int,
        seed: int,
        on: date,
        region: str,
        organizations: Sequence[NamedOrganization],
        staff: Sequence[NamedStaff],
        progress: Callable[[str], None],
    ) -> None:
        self.n = families
        self.seed = seed
        self.on = on
        self.region = region
        self.named_orgs = list(organizations)
        self.named_staff = list(staff)
        self.progress = progress
        self.rng = random.Random(seed)
        self.tz = clock.zone()
        self.summary = RegionSummary(region=region, seed=seed, on=on)
        self.summary.stages = {name: 0 for name, _ in STAGE_WEIGHTS}
        self.ids: dict[type[models.Model], Iterator[int]] = {
            m: _next_id(m)
            for m in (
                Organization,
                get_user_model(),
                Membership,
                Family,
                Person,
                FamilyRelationship,
                PregnancyEpisode,
                PregnancyEpisode.infants.through,
                CareTeam,
                CareTeamMember,
                FamilyActivity,
                ConsentDirective,
                ConsentVersion,
                ConsentVersion.recipient_orgs.through,
                Note,
            )
        }
        self.unusable_password = make_password(None)
        self.established = datetime.combine(on - timedelta(days=4 * 365 + 60), dtime(9), tzinfo=self.tz)
        # Pools of staff who can be put on teams, by role and by (organisation, role).
        self.pool: dict[str, list[_Staff]] = {}
        self.pool_by_org: dict[tuple[int, str], list[_Staff]] = {}
        self.named_by_username: dict[str, _Staff] = {}
        self.pins: dict[int, list[tuple[_Staff, bool]]] = {}
        self._stage_names = [name for name, _ in STAGE_WEIGHTS]
        self._stage_cum = list(itertools.accumulate(w for _, w in STAGE_WEIGHTS))
        self._relative_cum = list(itertools.accumulate(names.RELATIVE_WEIGHTS))

    # --- helpers -------------------------------------------------------------------------------

    def _id(self, model: type[models.Model]) -> int:
        return next(self.ids[model])

    def _weighted(self, cum: list[int], items: Sequence[Any]) -> Any:
        return items[bisect.bisect_right(cum, self.rng.random() * cum[-1])]

    def _at(self, day: date, earliest: datetime | None = None) -> datetime:
        """A working-hours instant on ``day`` (local time), after ``earliest`` if that is the same day."""
        minute = self.rng.randrange(8 * 60, 18 * 60)
        at = datetime.combine(day, dtime(minute // 60, minute % 60), tzinfo=self.tz)
        if earliest is not None and at <= earliest:
            at = earliest + timedelta(minutes=self.rng.randint(2, 25))
        return at.astimezone(UTC)

    def _day_between(self, start: date, end: date) -> date:
        """A day in ``[start, end]``; never on or after the reference date."""
        end = min(end, self.on - timedelta(days=1))
        if start > end:
            return end
        return start + timedelta(days=self.rng.randint(0, (end - start).days))

    def _phone(self) -> str:
        # 555-01xx numbers are reserved for fiction.
        return f"({self.rng.randint(201, 989)}) 555-01{self.rng.randrange(100):02d}"

    # --- organisations and staff ---------------------------------------------------------------

    def build_organizations(self) -> None:
        rng = self.rng
        total = self.n / FAMILIES_PER_ORGANIZATION
        weight_sum = sum(TYPE_WEIGHTS.values())
        taken = set(Organization.objects.values_list("name", flat=True))
        orgs: list[Organization] = []
        self.orgs_by_type: dict[str, list[Organization]] = {}
        self.in_pool: dict[int, bool] = {}
        for org_type in OT.values:
            count = max(1, round(total * TYPE_WEIGHTS[org_type] / weight_sum))
            named = [o for o in self.named_orgs if o.type == org_type]
            count = max(count, sum(1 for o in named if o.in_pool))
            type_orgs: list[tuple[str, bool]] = [(o.name, o.in_pool) for o in named]
            synthetic_needed = count - sum(1 for o in named if o.in_pool)
            places = list(names.PLACES)
            rng.shuffle(places)
            patterns = ORG_NAME_PATTERNS[org_type]
            candidates = (pattern.format(place=place, region=self.region) for place in places for pattern in patterns)
            suffix = itertools.count(2)
            reserved = {o.name for o in self.named_orgs}
            while synthetic_needed > 0:
                name = next(candidates, None)
                if name is None:
                    place = places[next(suffix) % len(places)]
                    name = f"{rng.choice(patterns).format(place=place, region=self.region)} {next(suffix)}"
                if name in taken or name in reserved:
                    continue
                type_orgs.append((name, True))
                synthetic_needed -= 1
            for name, in_pool in type_orgs:
                if name in taken:
                    raise ValueError(f"An organisation named {name!r} already exists.")
                taken.add(name)
                org = Organization(
                    id=self._id(Organization),
                    name=name,
                    type=org_type,
                    region=self.region,
                    is_part2_program=org_type in (OT.SUD_TREATMENT, OT.OPIOID_TREATMENT),
                    created_at=self.established,
                    phone=self._phone(),
                    address=f"{rng.randint(10, 4999)} {rng.choice(names.STREETS)}, {rng.choice(names.PLACES)}",
                )
                orgs.append(org)
                self.in_pool[org.pk] = in_pool
                self.orgs_by_type.setdefault(org_type, []).append(org)
        write_rows(Organization, orgs)
        self.organizations = orgs
        self.summary.organizations = len(orgs)

    def build_staff(self) -> None:
        rng = self.rng
        user_model = get_user_model()
        taken = set(user_model._default_manager.values_list("username", flat=True))
        username_counts: dict[str, int] = {}
        users: list[Any] = []
        memberships: list[Membership] = []
        date_joined = self.established
        named_for_org: dict[str, list[NamedStaff]] = {}
        for person in self.named_staff:
            named_for_org.setdefault(person.organization, []).append(person)

        def add(org: Organization, role: str, first: str, last: str, username: str = "", title: str = "") -> None:
            named = bool(username)
            if not username:
                base = f"{_ascii(first)}.{_ascii(last)}"
                while True:
                    username_counts[base] = username_counts.get(base, 0) + 1
                    username = f"{base}{username_counts[base]}"
                    if username not in taken:
                        break
            elif username in taken:
                raise ValueError(f"A user named {username!r} already exists.")
            taken.add(username)
            user = user_model(
                id=self._id(user_model),
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@example.org",
                password=self.unusable_password,
                date_joined=date_joined,
            )
            users.append(user)
            membership = Membership(
                id=self._id(Membership),
                user_id=user.pk,
                organization_id=org.pk,
                role=role,
                title=title or rng.choice(TITLES.get(role, ("",))),
                phone=self._phone(),
            )
            memberships.append(membership)
            staff = _Staff(membership.pk, user.pk, org.pk, org.name, role, f"{first} {last}", org.is_part2_program)
            if named:
                self.named_by_username[username] = staff
            elif self.in_pool[org.pk] and role in ROLE_ORG_TYPES and org.type in ROLE_ORG_TYPES[role]:
                self.pool.setdefault(role, []).append(staff)
                self.pool_by_org.setdefault((org.pk, role), []).append(staff)
            self._memberships_by_id[membership.pk] = (membership, org)

        self._memberships_by_id: dict[int, tuple[Membership, Organization]] = {}
        for org in self.organizations:
            n_orgs = len(self.orgs_by_type[org.type])
            for role, share, caseload, minimum in STAFFING[org.type]:
                wanted = self.n * (share or 0.3) / caseload / n_orgs
                count = max(minimum, round(wanted * rng.uniform(0.85, 1.15)))
                if not self.in_pool[org.pk]:
                    count = minimum
                for _ in range(count):
                    add(org, role, rng.choice(names.STAFF_FIRST_NAMES), rng.choice(names.SURNAMES))
            add(org, Role.PRIVACY_OFFICER, rng.choice(names.STAFF_FIRST_NAMES), rng.choice(names.SURNAMES))
            for person in named_for_org.get(org.name, []):
                add(org, person.role, person.first_name, person.last_name, person.username, person.title)
        missing = {p.organization for p in self.named_staff} - {o.name for o in self.organizations}
        if missing:
            raise ValueError(f"Named staff refer to unknown organisations: {sorted(missing)}")

        # Embedded and co-located staff: employed by one organisation, working inside another.
        embedded = 0
        for role, employer_types, placed_type, share in EMBEDDING:
            candidates = [
                m
                for m, org in self._memberships_by_id.values()
                if m.role == role and org.type in employer_types and self.in_pool[org.pk]
            ]
            targets = self.orgs_by_type.get(placed_type, [])
            if not candidates or not targets:
                continue
            for membership in rng.sample(candidates, max(1, round(share * len(candidates)))):
                place = rng.choice(targets)
                membership.placed_at_id = place.pk
                membership.title = f"{membership.title}, placed at {place.name}"
                embedded += 1
        write_rows(user_model, users)
        write_rows(Membership, memberships)
        self.summary.staff = len(memberships)
        self.summary.embedded_staff = embedded
        for role in ROLE_ORG_TYPES:
            if not self.pool.get(role):
                raise RuntimeError(f"No staff with role {role} to put on care teams.")

    def build_pins(self) -> None:
        """Decide up front which families the named people are on (so generation stays one pass)."""
        rng = self.rng
        families_of: dict[str, list[int]] = {}
        for person in self.named_staff:
            staff = self.named_by_username[person.username]
            if person.families <= 0:
                continue
            source = families_of.get(person.among) if person.among else None
            indices = sorted(source) if source else list(range(self.n))
            chosen = rng.sample(indices, min(person.families, len(indices)))
            families_of[person.username] = chosen
            for k, index in enumerate(chosen):
                pinned = self.pins.setdefault(index, [])
                coordinates = k < person.coordinates and not any(c for _, c in pinned)
                pinned.append((staff, coordinates))

    # --- families ------------------------------------------------------------------------------

    def _pick_any(self, role: str, exclude: set[int], prefer_org: int | None = None) -> _Staff | None:
        """Someone in ``role`` not already on the team, or None when a small region has nobody left."""
        if all(s.membership_id in exclude for s in self.pool.get(role, [])):
            return None
        return self._pick(role, exclude, prefer_org)

    def _pick(self, role: str, exclude: set[int], prefer_org: int | None = None) -> _Staff:
        rng = self.rng
        if prefer_org is not None and rng.random() < 0.8:
            same = self.pool_by_org.get((prefer_org, role))
            if same:
                choice = rng.choice(same)
                if choice.membership_id not in exclude:
                    return choice
        pool = self.pool[role]
        for _ in range(20):
            choice = rng.choice(pool)
            if choice.membership_id not in exclude:
                return choice
        return next(s for s in pool if s.membership_id not in exclude)

    def _compose(self, stage: str, recent_birth: bool, live_birth: bool) -> tuple[str, list[str]]:
        """The coordinator's role and the other roles on a team, most important first."""
        rng = self.rng
        coordinator = self._weighted(_COORDINATOR_CUM, COORDINATOR_ROLES)
        if coordinator == Role.SOCIAL_WORKER and stage not in ("postpartum",):
            coordinator = Role.CARE_COORDINATOR
        pregnant, postpartum, parenting = stage == "pregnant", stage == "postpartum", stage == "parenting"
        chances: list[tuple[str, float]] = [
            (Role.MOUD_PRESCRIBER, 0.72),
            (Role.CPS_CASEWORKER, 0.3 if pregnant else 0.55),
            (Role.OB_CLINICIAN, 0.85 if pregnant else 0.45 if postpartum else 0.05),
            (Role.PEER_RECOVERY_COACH, 0.3),
            (Role.NICU_NURSE, 0.45 if recent_birth and live_birth else 0.0),
            (Role.PEDIATRICIAN, 0.35 if (postpartum and live_birth) or parenting else 0.0),
            (Role.SUD_COUNSELOR, 0.3),
            (Role.HOME_VISITOR, 0.25 if pregnant or postpartum else 0.12),
            (Role.COURT_COORDINATOR, 0.14),
            (Role.SOCIAL_WORKER, 0.15 if postpartum else 0.0),
            (Role.FAMILY_MENTOR, 0.0),
            (Role.THERAPIST, 0.08),
            (Role.NURSE, 0.08 if pregnant else 0.0),
            (Role.CARE_COORDINATOR, 0.0),
        ]
        others = [role for role, chance in chances if role != coordinator and rng.random() < chance]
        if Role.CPS_CASEWORKER in others and rng.random() < 0.18:
            others.append(Role.FAMILY_MENTOR)  # START: a caseworker paired with a family peer mentor
        if not others:
            others.append(Role.MOUD_PRESCRIBER if rng.random() < 0.6 else Role.PEER_RECOVERY_COACH)
            if others[0] == coordinator:
                others[0] = Role.MOUD_PRESCRIBER
        return coordinator, others

    def family(self, index: int, batch: _Batch) -> None:
        rng, on = self.rng, self.on
        day = timedelta(days=1)
        stage: str = self._weighted(self._stage_cum, self._stage_names)
        self.summary.stages[stage] += 1
        spanish = rng.random() < SPANISH_SHARE
        if spanish:
            given = rng.choice(names.SPANISH_FIRST_NAMES)
            surname = rng.choice(names.SPANISH_SURNAMES if rng.random() < 0.85 else names.SURNAMES)
            self.summary.spanish_speaking_parents += 1
        else:
            given = rng.choice(names.PARENT_FIRST_NAMES)
            surname = rng.choice(names.SURNAMES if rng.random() < 0.9 else names.SPANISH_SURNAMES)
        preferred = names.NICKNAMES.get(given, "") if rng.random() < 0.3 else ""
        pronoun_roll = rng.random()
        pronouns = "she/her" if pronoun_roll < 0.55 else "they/them" if pronoun_roll < 0.58 else ""
        parent_age_years = rng.randint(18, 42)
        parent_born = None if rng.random() < 0.05 else on - timedelta(days=parent_age_years * 365 + rng.randint(0, 364))

        # Perinatal story: pregnancies as (edd, delivered_on, outcome, infants [(given, born, "son"/...)]).
        pregnancies: list[tuple[date, date | None, str, list[tuple[str, str]]]] = []
        recent_birth = live_birth = False

        def babies(count: int) -> list[tuple[str, str]]:
            out = []
            for _ in range(count):
                girl = rng.random() < 0.5
                name = rng.choice(names.GIRL_NAMES if girl else names.BOY_NAMES)
                out.append((name, "girl" if girl else "boy"))
            return out

        orphan_child: tuple[str, str, date] | None = None  # a child recorded without a recorded pregnancy
        if stage == "pregnant":
            ga_days = rng.randint(42, 286)
            edd = on + timedelta(days=280 - ga_days)
            enrol = self._day_between(max(on - timedelta(days=ga_days - 35), on - timedelta(days=200)), on)
            if rng.random() < 0.12:
                # An earlier pregnancy (recorded when she was first enrolled) and a toddler now.
                previous_birth = on - timedelta(days=ga_days + rng.randint(200, 700))
                previous_edd = previous_birth + timedelta(days=rng.randint(-14, 10))
                pregnancies.append((previous_edd, previous_birth, PregnancyOutcome.LIVE_BIRTH, babies(1)))
                enrol = self._day_between(previous_birth - timedelta(days=150), previous_birth - 14 * day)
            pregnancies.append((edd, None, "", []))
        elif stage == "postpartum":
            delivered = on - timedelta(days=rng.randint(1, 365))
            roll = rng.random()
            if roll < 0.05:
                outcome, ga_at_end = str(PregnancyOutcome.PREGNANCY_LOSS), rng.randint(12 * 7, 19 * 7 + 6)
            elif roll < 0.06:
                outcome, ga_at_end = str(PregnancyOutcome.STILLBIRTH), rng.randint(24 * 7, 39 * 7)
            else:
                outcome = str(PregnancyOutcome.LIVE_BIRTH)
                ga_at_end = rng.randint(37 * 7, 41 * 7) if rng.random() < 0.87 else rng.randint(32 * 7, 36 * 7 + 6)
            edd = delivered + timedelta(days=280 - ga_at_end)
            infants = babies(2 if rng.random() < 0.03 else 1) if outcome == PregnancyOutcome.LIVE_BIRTH else []
            pregnancies.append((edd, delivered, outcome, infants))
            live_birth = outcome == PregnancyOutcome.LIVE_BIRTH
            recent_birth = (on - delivered).days <= 90
            conception = edd - timedelta(days=245)
            if rng.random() < 0.7 and delivered - 7 * day > conception:
                enrol = self._day_between(max(conception, delivered - timedelta(days=160)), delivered - 7 * day)
            else:
                enrol = self._day_between(delivered, delivered + timedelta(days=60))
        elif stage == "parenting":
            born = on - timedelta(days=rng.randint(366, 4 * 365 - 30))
            twins = rng.random() < 0.03
            if rng.random() < 0.55:
                edd = born + timedelta(days=rng.randint(-21, 10))
                pregnancies.append((edd, born, PregnancyOutcome.LIVE_BIRTH, babies(2 if twins else 1)))
                enrol = self._day_between(born - timedelta(days=150), born - 7 * day)
                live_birth = True
            else:
                (child_name, kind) = babies(1)[0]
                orphan_child = (child_name, kind, born)
                enrol = self._day_between(born + timedelta(days=30), on - 7 * day)
        else:
            enrol = self._day_between(on - timedelta(days=21), on)

        # The team.
        pinned = self.pins.get(index, [])
        pinned_coordinator = next((s for s, c in pinned if c), None)
        coordinator_role, other_roles = self._compose(stage, recent_birth, live_birth)
        pinned_roles = [s.role for s, c in pinned if not c]
        if pinned_coordinator is not None:
            coordinator_role = pinned_coordinator.role
        elif coordinator_role in pinned_roles:
            coordinator_role = next(r for r in COORDINATOR_ROLES if r not in pinned_roles)
        other_roles = [r for r in other_roles if r != coordinator_role and r not in pinned_roles]
        exclude: set[int] = set()
        coordinator = pinned_coordinator or self._pick(coordinator_role, exclude)
        exclude.add(coordinator.membership_id)
        others: list[tuple[_Staff, str]] = []
        for staff, is_coord in pinned:
            if not is_coord and staff.membership_id not in exclude:
                others.append((staff, staff.role))
                exclude.add(staff.membership_id)
        treatment_org: int | None = None
        for role in other_roles:
            if len(others) >= MAX_TEAM - 1:
                break
            prefer = treatment_org if role in (Role.SUD_COUNSELOR, Role.THERAPIST) else None
            found = self._pick_any(role, exclude, prefer)
            if found is None:
                continue
            staff = found
            if role == Role.MOUD_PRESCRIBER:
                treatment_org = staff.org_id
            exclude.add(staff.membership_id)
            others.append((staff, role))

        # Rows.
        family_id = self._id(Family)
        parent_id = self._id(Person)
        team_id = self._id(CareTeam)
        created_at = self._at(enrol)
        by = coordinator
        parent_name = f"{preferred or given} {surname}"
        events: list[_Event] = [
            _Event(
                created_at,
                "family_created",
                f"Created the family of {parent_name}, with {coordinator.name} as coordinator",
                CONTACT,
                by,
            )
        ]
        cursor = created_at

        def provenance(staff: _Staff, at: datetime, sensitivity: str = CONTACT) -> dict[str, Any]:
            return {
                "created_by_org_id": staff.org_id,
                "created_by_id": staff.user_id,
                "created_at": at,
                "sensitivity": sensitivity,
            }

        batch.people.append(
            dict(
                id=parent_id,
                family_id=family_id,
                given_name=given,
                family_name=surname,
                preferred_name=preferred,
                pronouns=pronouns,
                born_on=parent_born,
                preferred_language=Language.SPANISH if spanish else Language.ENGLISH,
                phone=self._phone() if rng.random() < 0.88 else "",
                **provenance(by, created_at),
            )
        )
        batch.teams.append(dict(id=team_id, family_id=family_id, **provenance(by, created_at)))
        batch.members.append(
            dict(
                id=self._id(CareTeamMember),
                care_team_id=team_id,
                membership_id=coordinator.membership_id,
                role=coordinator.role,
                is_coordinator=True,
                joined_at=created_at,
                **provenance(by, created_at),
            )
        )
        self.summary.care_team_members += 1
        people = 1

        def add_relative(
            given_name: str,
            family_name: str,
            born_on: date | None,
            category: str,
            description: str,
            lives_with: bool,
            at: datetime,
            staff: _Staff,
            person_sensitivity: str = CONTACT,
        ) -> int:
            person_id = self._id(Person)
            batch.people.append(
                dict(
                    id=person_id,
                    family_id=family_id,
                    given_name=given_name,
                    family_name=family_name,
                    born_on=born_on,
                    **provenance(staff, at, person_sensitivity),
                )
            )
            batch.relationships.append(
                dict(
                    id=self._id(FamilyRelationship),
                    family_id=family_id,
                    person_id=person_id,
                    category=category,
                    description=description,
                    lives_with_parent=lives_with,
                    **provenance(staff, at),
                )
            )
            return person_id

        # Relatives, as she describes them, added by the coordinator soon after enrolment.
        n_relatives = self._weighted([15, 45, 75, 90, 100], [0, 1, 2, 3, 4])
        kinds_seen: set[int] = set()
        categories_seen: set[str] = set()
        for _ in range(n_relatives):
            k = self._weighted(self._relative_cum, range(len(names.RELATIVE_KINDS)))
            category, english, spanish_words, sex, min_age, max_age, lives_chance, same_name = names.RELATIVE_KINDS[k]
            if k in kinds_seen or (
                category in (RelationshipCategory.PARTNER, RelationshipCategory.SPONSOR) and category in categories_seen
            ):
                continue
            kinds_seen.add(k)
            categories_seen.add(category)
            if sex in ("boy", "girl"):
                first = rng.choice(names.BOY_NAMES if sex == "boy" else names.GIRL_NAMES)
            elif sex == "man" or (sex == "either" and rng.random() < 0.8):
                first = rng.choice(names.RELATIVE_MEN)
            else:
                first = rng.choice(names.RELATIVE_WOMEN)
            last = surname if same_name else rng.choice(names.SPANISH_SURNAMES if spanish else names.SURNAMES)
            born_on = None
            if category == RelationshipCategory.CHILD or rng.random() < 0.4:
                top = max_age if max_age is not None else min_age + 30
                born_on = on - timedelta(days=rng.randint(min_age * 365, top * 365 + 364))
            at = self._at(self._day_between(enrol, enrol + timedelta(days=30)), cursor)
            add_relative(
                first,
                last,
                born_on,
                category,
                spanish_words if spanish else english,
                rng.random() < lives_chance,
                at,
                by,
            )
            people += 1
            label = spanish_words if spanish else english
            events.append(_Event(at, "member_added", f"Added {first} {last} to the family ({label})", CONTACT, by))

        if orphan_child is not None:
            child_name, kind, born = orphan_child
            at = self._at(self._day_between(enrol, enrol + 14 * day), cursor)
            words = (
                ("mi hijo" if kind == "boy" else "mi hija")
                if spanish
                else f"my {'son' if kind == 'boy' else 'daughter'}"
            )
            add_relative(child_name, surname, born, RelationshipCategory.CHILD, words, True, at, by)
            people += 1
            events.append(
                _Event(at, "member_added", f"Added {child_name} {surname} to the family ({words})", CONTACT, by)
            )

        # Team members join over the first weeks (the NICU nurse and paediatrician at the birth).
        last_delivery = max((p[1] for p in pregnancies if p[1] is not None), default=None)
        joined: list[tuple[_Staff, str, datetime]] = []
        for staff, role in others:
            start, end = enrol, enrol + timedelta(days=60)
            if role in (Role.NICU_NURSE, Role.PEDIATRICIAN, Role.SOCIAL_WORKER) and last_delivery is not None:
                start = max(enrol, last_delivery)
                end = start + timedelta(days=3 if role == Role.NICU_NURSE else 14)
            at = self._at(self._day_between(start, end), created_at)
            joined.append((staff, role, at))
            batch.members.append(
                dict(
                    id=self._id(CareTeamMember),
                    care_team_id=team_id,
                    membership_id=staff.membership_id,
                    role=role,
                    joined_at=at,
                    **provenance(by, at, staff.line_category),
                )
            )
            self.summary.care_team_members += 1
            events.append(
                _Event(
                    at,
                    "team_member_added",
                    f"Added {staff.name} ({staff.org_name}) to the care team as {role_words(role)}",
                    staff.line_category,
                    by,
                )
            )
        # Sometimes someone has left the team (a former caseworker, a transferred coach).
        if rng.random() < 0.06:
            role = rng.choice((Role.CPS_CASEWORKER, Role.PEER_RECOVERY_COACH, Role.HOME_VISITOR))
            former = self._pick_any(role, exclude)
            at = self._at(self._day_between(enrol, enrol + timedelta(days=30)), created_at)
            left = self._at(self._day_between(at.date() + 7 * day, at.date() + timedelta(days=150)), at)
            if former is not None and left > at:
                batch.members.append(
                    dict(
                        id=self._id(CareTeamMember),
                        care_team_id=team_id,
                        membership_id=former.membership_id,
                        role=role,
                        joined_at=at,
                        left_at=left,
                        **provenance(by, at, former.line_category),
                    )
                )
                self.summary.care_team_members += 1
                label = role_words(role)
                added = f"Added {former.name} ({former.org_name}) to the care team as {label}"
                events.append(_Event(at, "team_member_added", added, former.line_category, by))
                events.append(
                    _Event(
                        left,
                        "team_member_removed",
                        f"Removed {former.name} ({former.org_name}) from the care team",
                        former.line_category,
                        by,
                    )
                )

        # Pregnancies: recorded by the OB clinician when she is on the team, else by the coordinator;
        # deliveries by the NICU nurse, social worker or OB clinician when present.
        by_role = {role: staff for staff, role, _ in joined}
        recorder = by_role.get(Role.OB_CLINICIAN, by)
        delivery_recorder = (
            by_role.get(Role.NICU_NURSE) or by_role.get(Role.SOCIAL_WORKER) or by_role.get(Role.OB_CLINICIAN) or by
        )
        joined_at = {staff.membership_id: at for staff, _, at in joined}
        for edd, delivered_on, outcome, infants in pregnancies:
            episode_id = self._id(PregnancyEpisode)
            # Recorded once she is enrolled and about five weeks pregnant; a birth before enrolment is
            # recorded together with the delivery when she enrols.
            start_day = max(enrol, edd - timedelta(days=245))
            retrospective = delivered_on is not None and delivered_on < start_day
            if retrospective:
                recorded_day = enrol
            else:
                recorded_day = self._day_between(
                    start_day, min(start_day + 7 * day, delivered_on or start_day + 7 * day)
                )
            recorded_at = self._at(recorded_day, max(created_at, joined_at.get(recorder.membership_id, created_at)))
            events.append(
                _Event(
                    recorded_at,
                    "pregnancy_recorded",
                    f"Recorded a pregnancy, estimated due date {long_date(edd)}",
                    GENERAL_HEALTH,
                    recorder,
                )
            )
            batch.pregnancies.append(
                dict(
                    id=episode_id,
                    family_id=family_id,
                    person_id=parent_id,
                    estimated_due_on=edd,
                    delivered_on=delivered_on,
                    outcome=outcome,
                    **provenance(recorder, recorded_at, GENERAL_HEALTH),
                )
            )
            if delivered_on is None:
                continue
            delivery_day = recorded_day if retrospective else self._day_between(delivered_on, delivered_on + 2 * day)
            delivery_by = recorder if retrospective else delivery_recorder
            delivery_at = self._at(
                delivery_day, max(recorded_at, joined_at.get(delivery_by.membership_id, recorded_at))
            )
            baby_names = []
            for baby_name, kind in infants:
                if spanish:
                    words = "mi bebé" if rng.random() < 0.5 else ("mi hijo" if kind == "boy" else "mi hija")
                else:
                    words = "my baby" if rng.random() < 0.4 else f"my {'son' if kind == 'boy' else 'daughter'}"
                if len(infants) == 2:
                    words = "uno de mis gemelos" if spanish else "one of my twins"
                person_id = add_relative(
                    baby_name,
                    surname,
                    delivered_on,
                    RelationshipCategory.CHILD,
                    words,
                    rng.random() < 0.9,
                    delivery_at,
                    delivery_by,
                    GENERAL_HEALTH,
                )
                batch.infant_links.append(
                    dict(
                        id=self._id(PregnancyEpisode.infants.through),
                        pregnancyepisode_id=episode_id,
                        person_id=person_id,
                    )
                )
                baby_names.append(f"{baby_name} {surname}")
                people += 1
                self.summary.infants += 1
            outcome_words = PregnancyOutcome(outcome).label.lower()
            summary = f"Recorded the delivery on {long_date(delivered_on)}: {outcome_words}"
            if baby_names:
                summary += f" ({', '.join(baby_names)})"
            events.append(_Event(delivery_at, "delivery_recorded", summary, GENERAL_HEALTH, delivery_by))
            self.summary.pregnancies += 1
        self.summary.pregnancies += sum(1 for p in pregnancies if p[1] is None)

        # Most parents sign a team-wide coordination consent when they enrol; the team then writes notes.
        has_cps = any(role == Role.CPS_CASEWORKER for _, role, _ in joined)
        court = next((staff for staff, role, _ in joined if role == Role.COURT_COORDINATOR), None)
        for grant, share in zip(CONSENT_GRANTS, CONSENT_SHARES, strict=True):
            if (grant[1] == "cps_status" and not has_cps) or (grant[1] == "court_compliance" and court is None):
                continue
            if rng.random() < share:
                signed = created_at + timedelta(minutes=5 + len(batch.directives) % 20)
                if court is not None and grant[1] == "court_compliance":
                    signed = max(signed, joined_at[court.membership_id] + timedelta(minutes=5))
                args = (family_id, parent_id, f"{given} {surname}", by, signed, spanish, events, provenance)
                self._consent(batch, grant, *args, recipient_org_id=court.org_id if court else None)
        self._notes(batch, family_id, by, created_at, joined, provenance)

        events.sort(key=lambda e: e.at)
        for event in events:
            batch.activities.append(
                dict(
                    id=self._id(FamilyActivity),
                    family_id=family_id,
                    occurred_at=event.at,
                    verb=event.verb,
                    summary=event.summary,
                    consent_directive_id=event.consent_directive_id,
                    kind=_line_kind(event.verb, event.sensitivity),
                    **provenance(event.by, event.at, event.sensitivity),
                )
            )
        batch.families.append(
            dict(
                id=family_id,
                parent_id=parent_id,
                sort_name=f"{surname} {given}".lower(),
                **provenance(by, created_at),
            )
        )
        self.summary.families += 1
        self.summary.people += people
        self.summary.activities += len(events)

    def _consent(
        self,
        batch: _Batch,
        grant: tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]],
        family_id: int,
        parent_id: int,
        patient_name: str,
        by: _Staff,
        at: datetime,
        spanish: bool,
        events: list[_Event],
        provenance: Callable[..., dict[str, Any]],
        recipient_org_id: int | None = None,
    ) -> None:
        """One signed consent (version 1) of a kind in ``CONSENT_GRANTS``, in force for three years."""
        title, template_key, discloser, recipient, purposes, categories = grant
        directive_id = self._id(ConsentDirective)
        language = Language.SPANISH if spanish else Language.ENGLISH
        # A consent about treatment records tells whoever reads it that she is in treatment: it is itself
        # a Part 2 record (consent.services.consent_sensitivity).
        about_treatment = SUD_TREATMENT in categories or discloser == OrganizationClass.PART2_PROGRAMS
        sensitivity = SUD_TREATMENT if about_treatment else CONTACT
        batch.directives.append(
            dict(
                id=directive_id,
                family_id=family_id,
                patient_id=parent_id,
                title=title,
                **provenance(by, at, sensitivity),
            )
        )
        version_id = self._id(ConsentVersion)
        batch.consent_versions.append(
            dict(
                id=version_id,
                directive_id=directive_id,
                number=1,
                template_key=template_key,
                patient_name=patient_name,
                discloser_classes=[discloser],
                recipient_classes=[recipient] if recipient else [],
                purposes=sorted(purposes),
                kinds=sorted(GRANT_KINDS.get(template_key) or version_kinds([], categories)),
                categories=sorted(categories),
                right_to_revoke=right_to_revoke_text(language),
                expires_at=at + timedelta(days=3 * 365),
                signer_name=patient_name,
                signature_method="typed",
                signature_typed=patient_name,
                signed_at=at,
                effective_at=at,
                language=language,
                **provenance(by, at, sensitivity),
            )
        )
        if not recipient:
            assert recipient_org_id is not None
            batch.consent_recipient_orgs.append(
                dict(
                    id=self._id(ConsentVersion.recipient_orgs.through),
                    consentversion_id=version_id,
                    organization_id=recipient_org_id,
                )
            )
        summary = f"Recorded a consent: {title.lower()}"
        events.append(_Event(at, "consent_recorded", summary, sensitivity, by, consent_directive_id=directive_id))
        self.summary.consents += 1

    def _notes(
        self,
        batch: _Batch,
        family_id: int,
        coordinator: _Staff,
        created_at: datetime,
        joined: list[tuple[_Staff, str, datetime]],
        provenance: Callable[..., dict[str, Any]],
    ) -> None:
        rng = self.rng
        today = self.on
        writers = [(coordinator, coordinator.role, created_at), *joined]
        for staff, role, since in writers:
            kinds = NOTE_KINDS_BY_ROLE.get(role)
            if not kinds:
                continue
            for _ in range(rng.randint(0, 3)):
                kind = rng.choice(kinds)
                day = self._day_between(since.date(), today) if since.date() < today else today
                at = self._at(day, since)
                batch.notes.append(
                    dict(
                        id=self._id(Note),
                        family_id=family_id,
                        kind=kind,
                        occurred_on=day,
                        summary=rng.choice(NOTE_SUMMARIES[kind]),
                        body="",
                        **provenance(staff, at, str(NOTE_CATEGORY[NoteKind(kind)])),
                    )
                )
                self.summary.notes += 1

    def run(self) -> RegionSummary:
        started = time.monotonic()
        with transaction.atomic():
            self.build_organizations()
            self.build_staff()
            self.progress(f"{self.summary.organizations:,} organisations and {self.summary.staff:,} staff")
            self.build_pins()
            for start in range(0, self.n, CHUNK_FAMILIES):
                batch = _Batch()
                for index in range(start, min(self.n, start + CHUNK_FAMILIES)):
                    self.family(index, batch)
                batch.write()
                self.summary.relationships += len(batch.relationships)
                self.progress(f"{self.summary.families:,} of {self.n:,} families ({time.monotonic() - started:.0f} s)")
            self._reset_sequences()
            self.summary.elapsed_seconds = round(time.monotonic() - started, 2)
            record_event(
                actor=None,
                action=Action.CREATE,
                record_type="SyntheticRegion",
                detail={
                    "region": self.region,
                    "seed": self.seed,
                    "on": self.on.isoformat(),
                    **self.summary.counts(),
                },
            )
        self.summary.elapsed_seconds = round(time.monotonic() - started, 2)
        return self.summary

    def _reset_sequences(self) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), list(self.ids))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def generate_region(
    *,
    families: int,
    seed: int,
    on: date | None = None,
    region: str = "Lakeview County",
    progress: Callable[[str], None] | None = None,
    organizations: Sequence[NamedOrganization] = (),
    staff: Sequence[NamedStaff] = (),
) -> RegionSummary:
    """Create a synthetic region of ``families`` families, as of ``on`` (default: today), in one transaction.

    ``organizations`` and ``staff`` add named organisations and people (the demo uses them); named people
    get unusable passwords here, to be set by the caller.
    """
    if families < 0:
        raise ValueError("families must be zero or more")
    generator = _Generator(
        families=families,
        seed=seed,
        on=on or clock.today(),
        region=region,
        organizations=organizations,
        staff=staff,
        progress=progress or (lambda message: None),
    )
    return generator.run()


def add_to_teams(
    *,
    membership: Membership,
    family_ids: Sequence[int],
    role: str,
    on: datetime | None = None,
) -> int:
    """Put ``membership`` on the teams of ``family_ids`` (not as coordinator), in bulk; skip teams she is on.

    Adds one timeline line per family. Returns how many places were added.
    """
    at = on or clock.now()
    teams = dict(CareTeam.objects.filter(family_id__in=family_ids).values_list("family_id", "pk"))
    already = set(
        CareTeamMember.objects.active()
        .filter(care_team_id__in=teams.values(), membership=membership)
        .values_list("care_team_id", flat=True)
    )
    org = membership.organization
    name = membership.display_name
    provenance = {
        "created_by_org_id": org.pk,
        "created_by_id": membership.user_id,
        "created_at": at,
        "sensitivity": CONTACT,
    }
    # The line names her organisation: a Part 2 record when it is a Part 2 programme.
    line = {**provenance, "sensitivity": SUD_TREATMENT if org.is_part2_program else CONTACT}
    members, activities = [], []
    for family_id in family_ids:
        team_id = teams.get(family_id)
        if team_id is None or team_id in already:
            continue
        members.append(CareTeamMember(care_team_id=team_id, membership=membership, role=role, joined_at=at, **line))
        activities.append(
            FamilyActivity(
                family_id=family_id,
                occurred_at=at,
                verb="team_member_added",
                summary=f"Added {name} ({org.name}) to the care team as {role_words(role)}",
                kind=_line_kind("team_member_added", str(line["sensitivity"])),
                **line,
            )
        )
    with transaction.atomic():
        CareTeamMember.objects.bulk_create(members, batch_size=BATCH_SIZE)
        FamilyActivity.objects.bulk_create(activities, batch_size=BATCH_SIZE)
    return len(members)


def stage_bucket(stage_words: str) -> str:
    """``31 weeks pregnant`` → ``pregnant``; ``postpartum day 4`` → ``postpartum``; and so on."""
    if "pregnant" in stage_words:
        return "pregnant"
    if stage_words.startswith("postpartum"):
        return "postpartum"
    if stage_words.startswith("parenting"):
        return "parenting"
    return "not_recorded"
