"""Pathways at scale (issue 14): the caseload and "My steps" at 1,000, 10,000 and 100,000 families, and the daily
reminder task over every enrolment, on PostgreSQL.

Keeps its own scratch database (``--database``, default ``kinfold_bench_pathways``; ``--reseed`` drops it first; it
is dropped at the end unless ``--keep``, and a kept one is reused). It builds a synthetic region of about 200
organisations — 40 child-welfare agencies (caseworkers, family mentors, supervisors), prenatal clinics, birthing
hospitals, opioid treatment and other treatment programmes, paediatric clinics, community and home-visiting
organisations — with about 3,150 staff, then families, each with her parent, care team and timeline lines,
enrolled in START (30%), the perinatal year (50%) or a Plan of Safe Care (20%, half of them also in the perinatal
year). A few families are made and enrolled through the real services (``families.services``,
``pathways.services.enrol``, ``complete_step``, ``record_child_welfare_event``, ``delivery_record``): these are the
templates. Every other family's ``PathwayEnrolment`` and ``PathwayStep`` rows are copies of a template's (same
step keys, occurrences, titles, roles, kinds, categories, enrolling organisation's type), written with ``COPY``,
its dates moved so that about 10% of families have an overdue step and about 20% a step due this week (steps due
before today are done, except the overdue ones); the people responsible are her team's by role, as ``enrol``
assigns them.

At each size (1,000, 10,000, then ``--families``, growing the same database) it measures, signed in with Django's
test client (``force_login``): the caseload page (``/families/``) of a CPS caseworker with 60 families, her
"My steps" page (``/pathways/steps/``) and her supervisor's organisation's steps
(``/pathways/steps/?scope=organization``): SQL statements (which must not change with the region's size; a change
prints CHANGED) and the median and p95 server time. Then it times ``kinfold.pathways.tasks.remind_due_steps`` over
every enrolment, with the emails going to an SMTP server on loopback in its own process (or Django's locmem
backend: ``--email locmem``), and runs it again to show that nobody is told twice. Goal: under 60 s at 100,000
families (a miss prints MISSED). ``--explain`` prints EXPLAIN ANALYZE of the task's and the pages' statements.

    uv run --frozen python bench/pathways.py [--families 100000] [--reseed] [--keep] [--explain]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import _common as c
import referrals as r

SCRATCH_DATABASE = "kinfold_bench_pathways"
SEED = 14
SIZES = (1_000, 10_000)
GOAL_SECONDS = 60.0
MARKER = "PathwaysBenchRegion"
CASEWORKER = "bench.caseworker"  # a CPS caseworker with 60 START families
SUPERVISOR = "bench.supervisor"  # her CPS supervisor (the organisation's steps)
CASELOAD = 60
CHUNK = 5_000  # families written per transaction

# Organisation types: (how many, staff per organisation as (role, count)).
ORGANISATIONS: dict[str, tuple[int, list[tuple[str, int]]]] = {
    "child_welfare": (
        40,
        [
            ("cps_caseworker", 12),
            ("family_mentor", 12),
            ("cps_supervisor", 2),
            ("programme_lead", 1),
            ("privacy_officer", 1),
        ],
    ),
    "obstetric": (
        50,
        [("care_coordinator", 5), ("ob_clinician", 4), ("nurse", 2), ("social_worker", 1), ("programme_lead", 1)],
    ),
    "hospital": (
        15,
        [("social_worker", 8), ("nurse", 6), ("nicu_nurse", 2), ("care_coordinator", 3), ("programme_lead", 1)],
    ),
    "opioid_treatment": (
        25,
        [("moud_prescriber", 4), ("sud_counselor", 6), ("care_coordinator", 3), ("programme_lead", 1)],
    ),
    "sud_treatment": (10, [("sud_counselor", 6), ("therapist", 2), ("care_coordinator", 2), ("programme_lead", 1)]),
    "pediatric": (20, [("pediatrician", 6), ("nurse", 3), ("programme_lead", 1)]),
    "community": (25, [("care_coordinator", 6), ("peer_recovery_coach", 4), ("programme_lead", 1)]),
    "home_visiting": (15, [("home_visitor", 8), ("programme_lead", 1)]),
}
ORG_NAMES = {
    "child_welfare": "Child and Family Services, District {n}",
    "obstetric": "Prenatal and Women's Health Clinic {n}",
    "hospital": "Birthing Hospital {n}",
    "opioid_treatment": "Opioid Treatment Program {n}",
    "sud_treatment": "Recovery and Treatment Center {n}",
    "pediatric": "Children's Health Clinic {n}",
    "community": "Family Resource Center {n}",
    "home_visiting": "Home Visiting Program {n}",
}
PART2 = {"opioid_treatment", "sud_treatment"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", type=int, default=100_000, help="families at the last size (100000)")
    p.add_argument("--requests", type=int, default=30, help="timed requests per page (30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed requests per page first (3)")
    p.add_argument("--email", choices=("smtp", "locmem"), default="smtp", help="where the task's emails go (smtp)")
    p.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the task's and the pages' statements")
    p.add_argument("--show-sql", action="store_true", help="print every SQL statement of each measured page")
    p.add_argument(
        "--database-url",
        default=os.environ.get("KINFOLD_BENCH_DATABASE_URL") or os.environ.get("KINFOLD_DATABASE_URL") or r.SERVER_URL,
        help="any postgres:// URL on the server to use: only its server is used",
    )
    p.add_argument("--database", default=SCRATCH_DATABASE, help=f"the scratch database ({SCRATCH_DATABASE})")
    p.add_argument("--reseed", action="store_true", help="drop the scratch database first (a kept one is reused)")
    p.add_argument("--keep", action="store_true", help="keep the scratch database afterwards (dropped by default)")
    return p


def sizes_for(families: int) -> list[int]:
    return sorted({s for s in SIZES if s < families} | {families})


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


def at(day: date, hour: int = 9) -> datetime:
    from kinfold import clock

    return datetime.combine(day, dtime(hour, 0), tzinfo=clock.zone())


# --- the organisations and staff ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    membership_id: int
    user_id: int
    org_id: int
    role: str
    name: str


@dataclass
class Region:
    orgs: dict[str, list[int]]  # type -> organisation ids, in order
    org_type: dict[int, str]
    staff: dict[tuple[int, str], list[Staff]]  # (organisation, role) -> staff, in order
    caseworker: Staff
    supervisor: Staff

    def people(self, org_id: int, role: str) -> list[Staff]:
        return self.staff.get((org_id, role), [])

    def anyone(self, rng: random.Random, org_type: str, role: str) -> Staff:
        org = rng.choice(self.orgs[org_type])
        return rng.choice(self.people(org, role))


def build_staff(rng: random.Random) -> None:
    """About 200 organisations and 3,150 staff (one unusable password each), plus the two benchmark people."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from kinfold.demo import names
    from kinfold.demo.synthetic import write_rows
    from kinfold.organizations.models import Membership, Organization

    user_model = get_user_model()
    orgs = []
    for org_type, (count, _) in ORGANISATIONS.items():
        for n in range(count):
            orgs.append(
                Organization(
                    name=ORG_NAMES[org_type].format(n=n + 1),
                    type=org_type,
                    region="Lakeview County",
                    is_part2_program=org_type in PART2,
                )
            )
    Organization.objects.bulk_create(orgs)
    unusable = make_password(None)
    from django.db.models import Max

    users: list[dict[str, Any]] = []
    memberships: list[dict[str, Any]] = []
    user_base = user_model._default_manager.aggregate(m=Max("pk"))["m"] or 0
    membership_base = Membership.objects.aggregate(m=Max("pk"))["m"] or 0
    taken: Counter[str] = Counter()
    joined = at(date(2024, 1, 8))

    def add(org: Organization, role: str, first: str, last: str, username: str = "") -> None:
        if not username:
            base = f"{_ascii(first)}.{_ascii(last)}"
            taken[base] += 1
            username = f"{base}{taken[base]}"
        user_id = user_base + len(users) + 1
        users.append(
            dict(
                id=user_id,
                username=username,
                first_name=first,
                last_name=last,
                email=f"{username}@example.org",
                password=unusable,
                date_joined=joined,
                is_active=True,
                is_staff=False,
                is_superuser=False,
            )
        )
        memberships.append(
            dict(id=membership_base + len(memberships) + 1, user_id=user_id, organization_id=org.pk, role=role)
        )

    for org in Organization.objects.order_by("pk"):
        for role, count in ORGANISATIONS[org.type][1]:
            for _ in range(count):
                add(org, role, rng.choice(names.STAFF_FIRST_NAMES), rng.choice(names.SURNAMES))
    first_agency = Organization.objects.filter(type="child_welfare").order_by("pk").first()
    assert first_agency is not None
    add(first_agency, "cps_caseworker", "Dana", "Whitaker", CASEWORKER)
    add(first_agency, "cps_supervisor", "Rosa", "Delgado", SUPERVISOR)
    write_rows(user_model, users)
    write_rows(Membership, memberships)
    reset_sequences([user_model, Membership])


def load_region() -> Region:
    from kinfold.organizations.models import Membership, Organization

    orgs: dict[str, list[int]] = defaultdict(list)
    org_type: dict[int, str] = {}
    for pk, kind in Organization.objects.order_by("pk").values_list("pk", "type"):
        orgs[kind].append(pk)
        org_type[pk] = kind
    staff: dict[tuple[int, str], list[Staff]] = defaultdict(list)
    named: dict[str, Staff] = {}
    for pk, user_id, org_id, role, username, first, last in Membership.objects.order_by("pk").values_list(
        "pk", "user_id", "organization_id", "role", "user__username", "user__first_name", "user__last_name"
    ):
        person = Staff(pk, user_id, org_id, role, f"{first} {last}")
        if username in (CASEWORKER, SUPERVISOR):
            named[username] = person
        else:
            staff[(org_id, role)].append(person)
    return Region(dict(orgs), org_type, dict(staff), named[CASEWORKER], named[SUPERVISOR])


def reset_sequences(models: Sequence[Any]) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(statement)


# --- the templates: families enrolled through the real services ------------------------------------------------


@dataclass(frozen=True)
class StepShape:
    step_key: str
    occurrence: int
    position: int
    title: str
    role: str
    completed_by: str
    kind: str
    sensitivity: str
    rel: int | None  # due date, in days after the enrolment; None: waiting for its anchor


@dataclass
class Template:
    name: str
    pathway_key: str
    pathway_version: int
    title: str
    definition: dict[str, Any]
    kind: str
    sensitivity: str
    org_type: str
    steps: list[StepShape]
    pregnancy: tuple[int, int | None, str, str] | None  # edd, delivered (days after enrolment), outcome, category
    child_welfare: list[tuple[str, int, str, str]]  # event, day (after enrolment), kind, category
    dated: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dated = sorted({s.rel for s in self.steps if s.rel is not None})


TEMPLATE_NAMES = ("start_new", "start_active", "perinatal_pregnant", "perinatal_postpartum", "safe_care")


def make_templates(region: Region, today: date) -> dict[str, int]:
    """Five families made and enrolled through the services, each at a different point of its pathway. Their
    enrolment ids, by template name."""
    from kinfold.access.viewer import Viewer
    from kinfold.access.vocabulary import category_of_kind
    from kinfold.families import services as families
    from kinfold.families.models import PregnancyEpisode
    from kinfold.organizations.models import Membership
    from kinfold.pathways import services
    from kinfold.pathways.models import PathwayStep, PlanOfSafeCare

    day = timedelta(days=1)

    def viewer_of(person: Staff) -> Any:
        from django.contrib.auth import get_user_model

        user = get_user_model()._default_manager.select_related("membership__organization").get(pk=person.user_id)
        return Viewer.of(user)

    def membership(person: Staff) -> Membership:
        return Membership.objects.select_related("user", "organization").get(pk=person.membership_id)

    def complete(viewer: Any, enrolment: Any, key: str, on: date) -> None:
        step = PathwayStep.objects.get(enrolment=enrolment, step_key=key, occurrence=1)
        services.complete_step(viewer=viewer, step_id=step.pk, done_on=on, note="", expected_version=step.version)

    def family(viewer: Any, given: str, surname: str, edd: date | None = None) -> Any:
        return families.family_create(
            viewer=viewer,
            given_name=given,
            family_name=surname,
            born_on=today - timedelta(days=27 * 365),
            estimated_due_on=edd,
            phone="555-0100",
            postal_code="40508",
            county="Lakeview County",
        )

    def deliver(viewer: Any, fam: Any, on: date) -> None:
        episode = PregnancyEpisode.objects.select_related("family__parent").get(family=fam, delivered_on__isnull=True)
        families.delivery_record(
            viewer=viewer, episode=episode, delivered_on=on, outcome="live_birth", infants=[{"given_name": "Baby"}]
        )

    out: dict[str, int] = {}
    agency = region.orgs["child_welfare"][1]
    cw_staff, mentor_staff = region.people(agency, "cps_caseworker")[0], region.people(agency, "family_mentor")[0]
    cw = viewer_of(cw_staff)
    cw_m, mentor_m = membership(cw_staff), membership(mentor_staff)
    # START, just begun: the CPS report three days ago; steps after the START referral wait for it.
    fam = family(cw, "Jolene", "Harper")
    families.care_team_member_add(viewer=cw, family=fam, membership=mentor_m, role="family_mentor")
    services.record_child_welfare_event(viewer=cw, family=fam, event="cps_report", occurred_on=today - 3 * day)
    out["start_new"] = services.enrol(
        viewer=cw, family=fam, pathway_key="start", enrolled_on=today - 2 * day, caseworker=cw_m, mentor=mentor_m
    ).pk
    # START under way: referral sent, shared decisions made, treatment begun; every step has its date.
    fam = family(cw, "Marisol", "Bennett")
    families.care_team_member_add(viewer=cw, family=fam, membership=mentor_m, role="family_mentor")
    services.record_child_welfare_event(viewer=cw, family=fam, event="cps_report", occurred_on=today - 50 * day)
    enrolment = services.enrol(
        viewer=cw, family=fam, pathway_key="start", enrolled_on=today - 48 * day, caseworker=cw_m, mentor=mentor_m
    )
    for key, ago in (
        ("intake_screen", 47),
        ("start_referral", 40),
        ("first_sdm_meeting", 37),
        ("treatment_referral", 36),
        ("treatment_assessment", 34),
    ):
        complete(cw, enrolment, key, today - ago * day)
    out["start_active"] = enrolment.pk
    # The perinatal year, pregnant (about 15 weeks), at a prenatal clinic.
    clinic = region.orgs["obstetric"][0]
    coordinator = viewer_of(region.people(clinic, "care_coordinator")[0])
    fam = family(coordinator, "Tamara", "Lindqvist", edd=today + 175 * day)
    ob = membership(region.people(clinic, "ob_clinician")[0])
    families.care_team_member_add(viewer=coordinator, family=fam, membership=ob, role="ob_clinician")
    out["perinatal_pregnant"] = services.enrol(
        viewer=coordinator, family=fam, pathway_key="perinatal_year", enrolled_on=today - 1 * day
    ).pk
    # The perinatal year, six weeks after the birth, at an opioid treatment programme.
    otp = region.orgs["opioid_treatment"][0]
    coordinator = viewer_of(region.people(otp, "care_coordinator")[0])
    fam = family(coordinator, "Kayla", "Okonkwo", edd=today - 38 * day)
    prescriber = membership(region.people(otp, "moud_prescriber")[0])
    families.care_team_member_add(viewer=coordinator, family=fam, membership=prescriber, role="moud_prescriber")
    deliver(coordinator, fam, today - 42 * day)
    out["perinatal_postpartum"] = services.enrol(
        viewer=coordinator, family=fam, pathway_key="perinatal_year", enrolled_on=today - 40 * day
    ).pk
    # A Plan of Safe Care at a birthing hospital, the day after the birth, discharge expected in three days.
    hospital = region.orgs["hospital"][0]
    worker_staff = region.people(hospital, "social_worker")[0]
    worker = viewer_of(worker_staff)
    fam = family(worker, "Brianna", "Castillo", edd=today + 5 * day)
    pediatrician = membership(region.people(region.orgs["pediatric"][0], "pediatrician")[0])
    families.care_team_member_add(viewer=worker, family=fam, membership=pediatrician, role="pediatrician")
    hospital_coordinator = membership(region.people(hospital, "care_coordinator")[0])
    families.care_team_member_add(viewer=worker, family=fam, membership=hospital_coordinator, role="care_coordinator")
    deliver(worker, fam, today - 1 * day)
    kind = "plan_of_safe_care"
    PlanOfSafeCare.objects.create(  # synthetic: the plan's own pages are not measured here
        family=fam,
        identified_on=today - 1 * day,
        reasons=["prenatal_moud"],
        expected_discharge_on=today + 3 * day,
        kind=kind,
        sensitivity=category_of_kind(kind),
        created_by_id=worker_staff.user_id,
        created_by_org_id=hospital,
    )
    out["safe_care"] = services.enrol(
        viewer=worker, family=fam, pathway_key="plan_of_safe_care", enrolled_on=today - 1 * day
    ).pk
    return out


def load_templates(ids: dict[str, int]) -> dict[str, Template]:
    from kinfold.families.models import PregnancyEpisode
    from kinfold.pathways.models import ChildWelfareEvent, PathwayEnrolment, PathwayStep

    out = {}
    for name, pk in ids.items():
        e = PathwayEnrolment.objects.select_related("created_by_org").get(pk=pk)
        start = e.enrolled_on
        steps = [
            StepShape(
                s.step_key,
                s.occurrence,
                s.position,
                s.title,
                s.role,
                s.completed_by,
                s.kind,
                s.sensitivity,
                (s.due_on - start).days if s.due_on else None,
            )
            for s in PathwayStep.objects.filter(enrolment=e).order_by("position", "occurrence")
        ]
        p = PregnancyEpisode.objects.filter(family_id=e.family_id).order_by("-estimated_due_on").first()
        pregnancy = (
            (
                (p.estimated_due_on - start).days,
                (p.delivered_on - start).days if p.delivered_on else None,
                p.outcome,
                p.sensitivity,
            )
            if p
            else None
        )
        events = [
            (v.event, (v.occurred_on - start).days, v.kind, v.sensitivity)
            for v in ChildWelfareEvent.objects.filter(family_id=e.family_id)
        ]
        out[name] = Template(
            name,
            e.pathway_key,
            e.pathway_version,
            e.title,
            e.definition,
            e.kind,
            e.sensitivity,
            e.created_by_org.type,
            steps,
            pregnancy,
            events,
        )
    return out


# --- growing the region -----------------------------------------------------------------------------------------


def schedule(t: Template, bucket: str, rng: random.Random, today: date) -> tuple[date, set[int]]:
    """The enrolment day for a copy of ``t`` whose earliest open step is overdue, due this week or later; and the
    relative days of steps due before today that stay open (the overdue ones)."""
    dated = t.dated
    if not dated:
        return today - timedelta(days=rng.randint(0, 60)), set()
    ahead = [x for x in dated if x >= 0] or dated
    if bucket == "overdue":
        x = rng.choice(ahead)
        start = today - timedelta(days=rng.randint(1, 30) + x)
        late = {y for y in dated if y >= x and start + timedelta(days=y) < today and (y == x or rng.random() < 0.5)}
        return start, late
    if bucket == "week":
        x = rng.choice(ahead)
        return today + timedelta(days=rng.randint(0, min(6, max(0, x))) - x), set()
    # Later: a step due in 7 days or more, every earlier one done (a gap of at least 8 days before it).
    options = []
    for i, x in enumerate(dated):
        hi = min(x - dated[i - 1] - 1, x) if i else x
        if hi >= 7:
            options.append((x, hi))
    if not options:
        return today - timedelta(days=dated[-1] + rng.randint(1, 30)), set()
    x, hi = rng.choice(options)
    return today + timedelta(days=rng.randint(7, hi) - x), set()


class Ids:
    """Primary keys handed out here, after each table's current maximum (as the region generator does)."""

    def __init__(self, models: Sequence[Any]) -> None:
        from django.db.models import Max

        self.next = {m: (m._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1 for m in models}

    def __call__(self, model: Any) -> int:
        n = self.next[model]
        self.next[model] = n + 1
        return n


@dataclass
class Rows:
    by_model: dict[Any, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, model: Any, row: dict[str, Any]) -> None:
        self.by_model[model].append(row)


def grow(region: Region, templates: dict[str, Template], target: int, today: date) -> float:
    """Add families until there are ``target``; seconds taken."""
    from django.db import connection, transaction

    from kinfold.demo import names
    from kinfold.demo.synthetic import write_rows
    from kinfold.families.models import CareTeam, CareTeamMember, Family, FamilyActivity, Person, PregnancyEpisode
    from kinfold.pathways.models import ChildWelfareEvent, PathwayEnrolment, PathwayStep

    started = time.monotonic()
    models = [Family, Person, CareTeam, CareTeamMember, PregnancyEpisode, ChildWelfareEvent, PathwayEnrolment]
    models += [PathwayStep, FamilyActivity]
    have = Family.objects.count()
    if have >= target:
        return 0.0
    first_replica = len(TEMPLATE_NAMES)
    bench_buckets = ["overdue"] * 6 + ["week"] * 12 + ["later"] * (CASELOAD - 18)
    random.Random(SEED).shuffle(bench_buckets)
    agencies = region.orgs["child_welfare"]
    start_counts = Counter(
        PathwayEnrolment.objects.filter(pathway_key="start")
        .exclude(caseworker_id=region.caseworker.membership_id)
        .values_list("created_by_org_id", flat=True)
    )
    pairs = {
        a: [(cw, m) for m in region.people(a, "family_mentor") for cw in region.people(a, "cps_caseworker")]
        for a in agencies
    }
    bench_mentors = region.people(agencies[0], "family_mentor")[:4]
    part2 = {o for t in PART2 for o in region.orgs[t]}

    def family_rows(rows: Rows, ids: Ids, index: int) -> None:
        rng = random.Random(f"{SEED}:{index}")
        bench = first_replica <= index < first_replica + CASELOAD
        roll = rng.random()
        pathway = "start" if bench or roll < 0.30 else "perinatal_year" if roll < 0.80 else "plan_of_safe_care"
        if bench:
            bucket = bench_buckets[index - first_replica]
        else:
            roll = rng.random()
            bucket = "overdue" if roll < 0.10 else "week" if roll < 0.30 else "later"
        team: list[tuple[Staff, bool]] = []  # (person, coordinator)
        enrolments: list[tuple[Template, Staff, str, dict[str, Staff], dict[str, Any]]] = []
        if pathway == "start":
            if bench:
                agency = agencies[0]
                cw, mentor = region.caseworker, bench_mentors[(index - first_replica) // 15]
            else:
                agency = rng.choice(agencies)
                k = start_counts[agency]
                start_counts[agency] += 1
                cw, mentor = pairs[agency][k % len(pairs[agency])]
                assert k < 15 * len(pairs[agency]), "a caseworker and mentor pair above START's cap"
            team = [(cw, True), (mentor, False)]
            roles = {"cps_caseworker": cw, "family_mentor": mentor}
            if rng.random() < 0.5:
                treatment = rng.choice(("opioid_treatment", "sud_treatment"))
                counselor = region.anyone(rng, treatment, "sud_counselor")
                team.append((counselor, False))
                roles["sud_counselor"] = counselor
            template = templates["start_new" if rng.random() < 0.35 else "start_active"]
            pair = {"caseworker_id": cw.membership_id, "mentor_id": mentor.membership_id}
            enrolments.append((template, cw, bucket, roles, pair))
        elif pathway == "perinatal_year":
            roll = rng.random()
            org_type = "obstetric" if roll < 0.6 else "opioid_treatment" if roll < 0.85 else "community"
            org = rng.choice(region.orgs[org_type])
            coordinator = rng.choice(region.people(org, "care_coordinator"))
            team = [(coordinator, True)]
            roles = {"care_coordinator": coordinator}
            if org_type == "obstetric":
                roles["ob_clinician"] = rng.choice(region.people(org, "ob_clinician"))
            elif rng.random() < 0.7:
                roles["ob_clinician"] = region.anyone(rng, "obstetric", "ob_clinician")
            if org_type == "opioid_treatment":
                roles["moud_prescriber"] = rng.choice(region.people(org, "moud_prescriber"))
            elif rng.random() < 0.5:
                roles["moud_prescriber"] = region.anyone(rng, "opioid_treatment", "moud_prescriber")
            team += [(roles[k], False) for k in ("ob_clinician", "moud_prescriber") if k in roles]
            template = templates["perinatal_pregnant" if rng.random() < 0.5 else "perinatal_postpartum"]
            enrolments.append((template, coordinator, bucket, roles, {}))
        else:
            hospital = rng.choice(region.orgs["hospital"])
            worker = rng.choice(region.people(hospital, "social_worker"))
            roles = {
                "social_worker": worker,
                "pediatrician": region.anyone(rng, "pediatric", "pediatrician"),
                "care_coordinator": rng.choice(region.people(hospital, "care_coordinator")),
            }
            team = [(worker, True), (roles["pediatrician"], False), (roles["care_coordinator"], False)]
            enrolments.append((templates["safe_care"], worker, bucket, roles, {}))
            if rng.random() < 0.5:  # her prenatal clinic's perinatal year too, after the birth
                clinic = rng.choice(region.orgs["obstetric"])
                coordinator = rng.choice(region.people(clinic, "care_coordinator"))
                ob = rng.choice(region.people(clinic, "ob_clinician"))
                team += [(coordinator, False), (ob, False)]
                peri = {"care_coordinator": coordinator, "ob_clinician": ob}
                enrolments.append((templates["perinatal_postpartum"], coordinator, "later", peri, {}))

        maker = team[0][0]
        spanish = rng.random() < 0.2
        given = rng.choice(names.SPANISH_FIRST_NAMES if spanish else names.PARENT_FIRST_NAMES)
        surname = rng.choice(names.SPANISH_SURNAMES if spanish else names.SURNAMES)
        family_id, parent_id, team_id = ids(Family), ids(Person), ids(CareTeam)
        first = schedule(enrolments[0][0], enrolments[0][2], rng, today)
        created = at(min(first[0], today) - timedelta(days=rng.randint(0, 10)))

        def prov(person: Staff, when: datetime, category: str = "contact") -> dict[str, Any]:
            return dict(
                created_by_org_id=person.org_id, created_by_id=person.user_id, created_at=when, sensitivity=category
            )

        rows.add(
            Family,
            dict(id=family_id, parent_id=parent_id, sort_name=f"{surname} {given}".lower(), **prov(maker, created)),
        )
        rows.add(
            Person,
            dict(
                id=parent_id,
                family_id=family_id,
                given_name=given,
                family_name=surname,
                born_on=today - timedelta(days=rng.randint(18 * 365, 42 * 365)),
                preferred_language="es" if spanish else "en",
                phone=f"555-01{rng.randint(0, 99):02d}",
                postal_code="40508",
                county="Lakeview County",
                **prov(maker, created),
            ),
        )
        rows.add(CareTeam, dict(id=team_id, family_id=family_id, **prov(maker, created)))
        for person, is_coordinator in team:
            rows.add(
                CareTeamMember,
                dict(
                    id=ids(CareTeamMember),
                    care_team_id=team_id,
                    membership_id=person.membership_id,
                    role=person.role,
                    is_coordinator=is_coordinator,
                    joined_at=created,
                    # A place for someone of a Part 2 programme is a Part 2 record: the programme adds her.
                    **(prov(person, created, "sud_treatment") if person.org_id in part2 else prov(maker, created)),
                ),
            )
        rows.add(
            FamilyActivity,
            dict(
                id=ids(FamilyActivity),
                family_id=family_id,
                occurred_at=created,
                verb="family_created",
                summary=f"Created the family of {given} {surname}, with {maker.name} as coordinator",
                kind="identity",
                **prov(maker, created),
            ),
        )
        for n, (template, enroller, bucket_, roles, pair) in enumerate(enrolments):
            start, late = first if n == 0 else schedule(template, bucket_, rng, today)
            enrolled_at = at(start)
            if n == 0 and template.pregnancy is not None:
                edd, delivered, outcome, category = template.pregnancy
                rows.add(
                    PregnancyEpisode,
                    dict(
                        id=ids(PregnancyEpisode),
                        family_id=family_id,
                        person_id=parent_id,
                        estimated_due_on=start + timedelta(days=edd),
                        delivered_on=start + timedelta(days=delivered) if delivered is not None else None,
                        outcome=outcome,
                        **prov(enroller, enrolled_at, category),
                    ),
                )
            for event, day, kind, category in template.child_welfare:
                rows.add(
                    ChildWelfareEvent,
                    dict(
                        id=ids(ChildWelfareEvent),
                        family_id=family_id,
                        event=event,
                        occurred_on=start + timedelta(days=day),
                        kind=kind,
                        **prov(enroller, enrolled_at, category),
                    ),
                )
            enrolment_id = ids(PathwayEnrolment)
            rows.add(
                PathwayEnrolment,
                dict(
                    id=enrolment_id,
                    family_id=family_id,
                    pathway_key=template.pathway_key,
                    pathway_version=template.pathway_version,
                    title=template.title,
                    definition=template.definition,
                    kind=template.kind,
                    status="active",
                    enrolled_on=start,
                    caseworker_id=pair.get("caseworker_id"),
                    mentor_id=pair.get("mentor_id"),
                    **prov(enroller, enrolled_at, template.sensitivity),
                ),
            )
            rows.add(
                FamilyActivity,
                dict(
                    id=ids(FamilyActivity),
                    family_id=family_id,
                    occurred_at=enrolled_at,
                    verb="pathway_enrolled",
                    summary=f"Enrolled in {template.title}",
                    kind=template.kind,
                    **prov(enroller, enrolled_at, template.sensitivity),
                ),
            )
            for s in template.steps:
                due = start + timedelta(days=s.rel) if s.rel is not None else None
                done = due is not None and due < today and s.rel not in late
                done_on = (
                    min(today, due + timedelta(days=rng.choice((-2, -1, 0, 0, 0, 1, 3)))) if done and due else None
                )
                assignee = roles.get(s.role)
                rows.add(
                    PathwayStep,
                    dict(
                        id=ids(PathwayStep),
                        family_id=family_id,
                        enrolment_id=enrolment_id,
                        step_key=s.step_key,
                        occurrence=s.occurrence,
                        position=s.position,
                        title=s.title,
                        role=s.role,
                        completed_by=s.completed_by,
                        kind=s.kind,
                        due_on=due,
                        assignee_id=assignee.membership_id if assignee else None,
                        status="done" if done else "open",
                        done_on=done_on,
                        done_by_id=enroller.user_id if done else None,
                        version=2 if done else 1,
                        **prov(enroller, enrolled_at, s.sensitivity),
                    ),
                )

    while have < target:
        stop = min(target, have + CHUNK)
        ids = Ids(models)
        rows = Rows()
        for index in range(have, stop):
            family_rows(rows, ids, index)
        with transaction.atomic():
            for model in models:
                write_rows(model, rows.by_model.get(model, []))
        have = stop
        print(f"  … {have:,} families ({time.monotonic() - started:.0f} s)", flush=True)
    reset_sequences(models)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would leave a live database: fresh statistics, visibility map
    return time.monotonic() - started


# --- measuring ---------------------------------------------------------------------------------------------------


@dataclass
class Shape:
    families: int
    enrolments: dict[str, int]
    steps: int
    open_steps: int
    overdue_families: int
    week_families: int
    overdue_steps: int
    unassigned_overdue: int


def region_shape(today: date) -> Shape:
    from django.db import connection

    from kinfold.families.models import Family
    from kinfold.pathways.models import PathwayEnrolment, PathwayStep

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(DISTINCT s.family_id) FILTER (WHERE s.due_on < %s),
                      count(DISTINCT s.family_id) FILTER (WHERE s.due_on >= %s AND s.due_on <= %s),
                      count(*), count(*) FILTER (WHERE s.due_on < %s),
                      count(*) FILTER (WHERE s.due_on < %s AND s.assignee_id IS NULL)
               FROM pathways_pathwaystep s JOIN pathways_pathwayenrolment e ON e.id = s.enrolment_id
               WHERE s.status = 'open' AND e.status = 'active'""",
            [today, today, today + timedelta(days=6), today, today],
        )
        overdue_f, week_f, open_steps, overdue_s, unassigned = cursor.fetchone()
    return Shape(
        families=Family.objects.count(),
        enrolments=dict(Counter(PathwayEnrolment.objects.values_list("pathway_key", flat=True))),
        steps=PathwayStep.objects.count(),
        open_steps=open_steps,
        overdue_families=overdue_f,
        week_families=week_f,
        overdue_steps=overdue_s,
        unassigned_overdue=unassigned,
    )


def tag_count(html: str, testid: str) -> int:
    return html.count(f'data-testid="{testid}"')


def heading_count(html: str, heading: str) -> int:
    found = re.search(rf'<h2 id="{heading}">[^<]*<span[^>]*>(\d+)</span>', html)
    return int(found.group(1)) if found else -1


@dataclass
class Page:
    label: str
    url: str
    client: Any
    shows: Callable[[str], str]
    requests: int


@dataclass
class SizeResult:
    size: int
    shape: Shape
    pages: list[c.PageResult]
    shows: list[str]
    task: TaskRun | None = None


def measure_pages(pages: Sequence[Page], size: int, warmup: int) -> tuple[list[c.PageResult], list[str]]:
    results, shows = [], []
    for page in pages:
        result = c.measure_page(page.client, page.label, page.url, f"{size:,}", requests=page.requests, warmup=warmup)
        results.append(result)
        shows.append(page.shows(c.get(page.client, page.url).content.decode()))
    return results, shows


# --- the daily task ------------------------------------------------------------------------------------------------


@dataclass
class TaskRun:
    seconds: float
    statements: int
    sql_seconds: float
    email_seconds: float
    told: int  # people told their own steps are overdue
    supervisors: int  # supervisors told of their organisation's late steps
    notices: int  # steps whose overdue notice this run claimed
    escalations: int  # steps whose escalation this run claimed
    emails: int
    again_seconds: float
    again_people: int
    again_emails: int
    again_statements: int


class Mailbox:
    """Where the task's emails go: an SMTP server on loopback in its own process (so it takes no time from this
    one's interpreter), which writes one line per message; or Django's locmem backend."""

    SERVER = (
        "import signal, sys\n"
        "from aiosmtpd.controller import Controller\n"
        "class Keep:\n"
        "    async def handle_DATA(self, server, session, envelope):\n"
        "        with open(sys.argv[2], 'a') as f:\n"
        "            f.write(' '.join(envelope.rcpt_tos) + '\\n')\n"
        "        return '250 Message accepted for delivery'\n"
        "c = Controller(Keep(), hostname='127.0.0.1', port=int(sys.argv[1]))\n"
        "c.start()\n"
        "signal.sigwait({signal.SIGTERM, signal.SIGINT})\n"
        "c.stop()\n"
    )

    def __init__(self, kind: str) -> None:
        from django.conf import settings

        self.kind = kind
        self.process: subprocess.Popen[bytes] | None = None
        if kind == "locmem":
            settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
            return
        self.log = Path(tempfile.mkstemp(prefix="kinfold-bench-pathways-mail-", suffix=".txt")[1])
        port = r.free_port()
        self.process = subprocess.Popen([sys.executable, "-c", self.SERVER, str(port), str(self.log)])
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    sys.exit("The SMTP server on loopback did not start.")
                time.sleep(0.1)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port

    def count(self) -> int:
        if self.kind == "locmem":
            from django.core import mail

            return len(getattr(mail, "outbox", []))
        return len(self.log.read_text().splitlines())

    def words(self) -> str:
        if self.kind == "locmem":
            return "Django's locmem email backend (in memory)"
        return "an SMTP server (aiosmtpd) on loopback, in its own process; one connection per email, as the task sends"

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.log.unlink(missing_ok=True)


class Statements:
    """Counts the statements a call makes and their time (``connection.execute_wrapper``: no SQL kept)."""

    def __init__(self) -> None:
        self.n = 0
        self.seconds = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.n += 1


def reset_claims() -> int:
    """Forget every notice claimed (a previous size's run, or a kept database's), then vacuum as autovacuum would."""
    from django.db import connection
    from django.db.models import Q

    from kinfold.pathways.models import PathwayStep

    n = PathwayStep.objects.filter(Q(overdue_notice_on__isnull=False) | Q(escalated_on__isnull=False)).update(
        overdue_notice_on=None, escalated_on=None
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE pathways_pathwaystep")
    return n


def task_module() -> Any:
    """The module ``tasks.remind_due_steps`` is defined in (``pathways.services`` today), for its email sender,
    chunk size and grace period."""
    from kinfold.pathways import tasks

    return sys.modules[vars(tasks)["remind_due_steps"].__module__]


def run_task(mailbox: Mailbox, today: date) -> TaskRun:
    from django.db import connection

    from kinfold.pathways.models import PathwayStep

    reset_claims()
    module = task_module()
    original_send = getattr(module, "_send", None)
    email_seconds = 0.0

    def timed_send(emails: list[tuple[str, str, str]]) -> None:
        nonlocal email_seconds
        started = time.perf_counter()
        assert original_send is not None
        original_send(emails)
        email_seconds += time.perf_counter() - started

    if original_send is not None:
        module._send = timed_send  # to time the emails apart (the task's own sender does the sending)
    try:
        before = mailbox.count()
        counter = Statements()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            first = module.remind_due_steps(today=today)  # what tasks.remind_due_steps is
            seconds = time.perf_counter() - started
        emails = mailbox.count() - before
        again_counter = Statements()
        with connection.execute_wrapper(again_counter):
            started = time.perf_counter()
            again = module.remind_due_steps(today=today)
            again_seconds = time.perf_counter() - started
        again_emails = mailbox.count() - before - emails
    finally:
        if original_send is not None:
            module._send = original_send
    return TaskRun(
        seconds=seconds,
        statements=counter.n,
        sql_seconds=counter.seconds,
        email_seconds=email_seconds,
        told=len(first.told),
        supervisors=len(first.escalated),
        notices=PathwayStep.objects.filter(overdue_notice_on=today).count(),
        escalations=PathwayStep.objects.filter(escalated_on=today).count(),
        emails=emails,
        again_seconds=again_seconds,
        again_people=again.people,
        again_emails=again_emails,
        again_statements=again_counter.n,
    )


# --- EXPLAIN --------------------------------------------------------------------------------------------------------


def short_arrays(plan: str) -> str:
    """A plan with its long id lists shortened: ``'{15,19,…}'`` with how many ids."""

    def shorten(found: re.Match[str]) -> str:
        values = found.group(1).split(",")
        return f"'{{{','.join(values[:5])},… {len(values):,} values}}'"

    return re.sub(r"'\{([^}]{120,})\}'", shorten, plan)


def explain_statement(label: str, ms: float, sql: str) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured statement, in a transaction rolled back (an UPDATE or a
    ``SELECT … FOR UPDATE`` changes and locks nothing)."""
    from django.db import connection, transaction

    print(f"\n-- {label} ({ms:.0f} ms when captured): {short_arrays(sql)[:240]} …")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        print(short_arrays("\n".join(row[0] for row in cursor.fetchall())))
        transaction.set_rollback(True)


def explain(pages: Sequence[c.PageResult], today: date, *, per_page: int = 1, in_task: int = 5) -> None:
    """The slowest statements of each page (from its query-counting request) and of the daily task (run once more
    inside a transaction that is rolled back, so it claims nothing and sends no email), with their plans."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    print("\nEXPLAIN (ANALYZE, BUFFERS) of the slowest statements, as the pages and the task sent them")
    for page in pages:
        for ms, sql in page.queries.slowest[:per_page]:
            if sql.lstrip().upper().startswith("SELECT"):
                explain_statement(f"{page.label}, {c.shape(sql)}", ms, sql)
    reset_claims()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        task_module().remind_due_steps(today=today)
        transaction.set_rollback(True)
    timed = sorted(
        ((float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries),
        key=lambda t: t[0],
        reverse=True,
    )
    shapes: Counter[str] = Counter()
    shape_ms: dict[str, float] = defaultdict(float)
    for ms, sql in timed:
        shapes[c.shape(sql)] += 1
        shape_ms[c.shape(sql)] += ms
    print(
        f"\nThe task (rolled back): {len(timed):,} statements, {sum(t for t, _ in timed) / 1000:.2f} s in all: "
        + ", ".join(f"{k} {n:,} ({shape_ms[k] / 1000:.2f} s)" for k, n in shapes.most_common())
    )
    for ms, sql in timed[:in_task]:
        if c.shape(sql).split()[0] in ("SELECT", "UPDATE"):
            explain_statement(f"task, {c.shape(sql)}", ms, sql)


# --- the run ----------------------------------------------------------------------------------------------------------


def ensure_world(today: date) -> tuple[Region, dict[str, Template], date]:
    """The organisations, staff and templates, made once; (region, templates, the day they were made)."""
    from django.contrib.auth import get_user_model

    from kinfold.audit.models import Action, AuditEvent
    from kinfold.audit.services import record_event
    from kinfold.families.models import Family

    marker = AuditEvent.objects.filter(record_type=MARKER).order_by("-pk").first()
    if marker is None:
        if Family.objects.exists() or get_user_model()._default_manager.exists():
            sys.exit("The scratch database holds other data; run again with --reseed to drop it.")
        print("Organisations, staff and the template families (through the services) …", flush=True)
        build_staff(random.Random(SEED))
        region = load_region()
        ids = make_templates(region, today)
        record_event(
            actor=None,
            action=Action.CREATE,
            record_type=MARKER,
            detail={"seed": SEED, "on": today.isoformat(), "templates": ids},
        )
        made_on = today
    else:
        region = load_region()
        ids = {k: int(v) for k, v in marker.detail["templates"].items()}
        made_on = date.fromisoformat(marker.detail["on"])
    return region, load_templates(ids), made_on


def print_size(result: SizeResult, goal_met: bool | None) -> None:
    s = result.shape
    enrolled = ", ".join(f"{k} {v:,}" for k, v in sorted(s.enrolments.items()))
    print(
        f"\n{s.families:,} families: {enrolled}; {s.steps:,} steps, {s.open_steps:,} open, {s.overdue_steps:,} overdue "
        f"({s.unassigned_overdue:,} of them unassigned).\n"
        f"Families with an overdue step: {s.overdue_families:,} ({100 * s.overdue_families / s.families:.1f}%); "
        f"with a step due this week: {s.week_families:,} ({100 * s.week_families / s.families:.1f}%).\n"
    )
    rows = [[*row, shows] for row, shows in zip(c.page_rows(result.pages), result.shows, strict=True)]
    print(c.table((*c.PAGE_HEADERS, "the page shows"), rows))
    t = result.task
    if t is None:
        return
    verdict = "" if goal_met is None else "  (goal < 60 s: met)" if goal_met else "  MISSED (goal < 60 s)"
    print(
        f"\nremind_due_steps: {t.seconds:.2f} s{verdict}; {t.statements:,} statements, {t.sql_seconds:.2f} s of them "
        f"in SQL; emails {t.email_seconds:.2f} s.\n"
        f"  told {t.told:,} people of their overdue steps and {t.supervisors:,} supervisors of late ones "
        f"({t.emails:,} emails); claimed {t.notices:,} overdue notices and {t.escalations:,} escalations.\n"
        f"  run again: {t.again_seconds:.2f} s, {t.again_statements} statements, told {t.again_people} people, "
        f"{t.again_emails} emails" + ("" if t.again_people == 0 and t.again_emails == 0 else "  TOLD AGAIN")
    )


def main() -> None:
    args = parser().parse_args()
    url = r.scratch_url(args.database_url, args.database)
    sizes = sizes_for(args.families)
    c.prepare_database(url, reseed=args.reseed)
    from django.db import connection

    from kinfold import clock

    today = clock.today()
    mailbox = Mailbox(args.email)
    try:
        region, templates, made_on = ensure_world(today)
        if made_on != today:
            print(f"(The region was made on {made_on}; its due dates have aged {(today - made_on).days} days since.)")
        from kinfold.families.models import Family

        have = Family.objects.count()
        if have > sizes[0]:
            kept = [s for s in sizes if s >= have] or [have]
            print(f"The kept database has {have:,} families: measuring at {', '.join(f'{s:,}' for s in kept)} only.")
            sizes = kept
        n, w = args.requests, args.warmup
        cw, sup = c.client_for(CASEWORKER), c.client_for(SUPERVISOR)
        pages = [
            Page(
                "caseload (caseworker)",
                "/families/",
                cw,
                lambda html: (
                    f"{tag_count(html, 'steps-overdue')} overdue, {tag_count(html, 'steps-this-week')} "
                    "this week (25 rows)"
                ),
                n,
            ),
            Page(
                "My steps (caseworker)",
                "/pathways/steps/",
                cw,
                lambda html: (
                    f"{heading_count(html, 'overdue-heading')} overdue, {heading_count(html, 'week-heading')} this week"
                ),
                n,
            ),
            Page(
                "organisation's steps (supervisor)",
                "/pathways/steps/?scope=organization",
                sup,
                lambda html: (
                    f"{heading_count(html, 'overdue-heading')} overdue, {heading_count(html, 'week-heading')} this week"
                ),
                max(5, n // 3),
            ),
        ]
        title = "Pathways: caseload, My steps and the daily reminders (issue 14)"
        print(f"\n{title}\n{'=' * len(title)}")
        print(f"Machine: {c.machine()}")
        print(f"Emails: {mailbox.words()}.")
        results: list[SizeResult] = []
        for size in sizes:
            grown = grow(region, templates, size, today)
            if grown:
                print(f"Grew to {size:,} families in {grown:.0f} s (COPY, then VACUUM ANALYZE).")
            load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"\n--- {size:,} families (load average {load}) " + "-" * 40, flush=True)
            page_results, shows = measure_pages(pages, size, w)
            result = SizeResult(size, region_shape(today), page_results, shows)
            result.task = run_task(mailbox, today)
            results.append(result)
            goal = None if size < 100_000 else result.task.seconds < GOAL_SECONDS
            print_size(result, goal)
            c.print_sql(page_results, show_all=args.show_sql)
        print_summary(results, pages)
        if args.explain:
            explain(results[-1].pages, today)
    finally:
        mailbox.close()
        connection.close()
        if args.keep:
            print(f"\nKept the scratch database {args.database}.")
        else:
            c.drop_scratch_database(url, args.database)


def print_summary(results: Sequence[SizeResult], pages: Sequence[Page]) -> None:
    print("\nStatements by size (the same at every size, or CHANGED):\n")
    headers = ["page", *(f"{r.size:,}" for r in results), ""]
    rows = []
    for i, page in enumerate(pages):
        counts = [r.pages[i].queries.total for r in results]
        changed = len(set(counts)) > 1
        note = (
            "CHANGED: " + c.query_difference(results[0].pages[i].queries, results[-1].pages[i].queries)
            if changed
            else "same"
        )
        rows.append([page.label, *counts, note])
    print(c.table(headers, rows))
    print("\nMedian / p95 ms by size:\n")
    rows = [
        [page.label, *(f"{r.pages[i].median:.1f} / {r.pages[i].p95:.1f}" for r in results)]
        for i, page in enumerate(pages)
    ]
    print(c.table(headers[:-1], rows))
    rows = [
        [
            f"{r.size:,}",
            r.shape.overdue_steps,
            r.task.told + r.task.supervisors if r.task else 0,
            r.task.notices if r.task else 0,
            r.task.escalations if r.task else 0,
            r.task.seconds if r.task else 0.0,
            r.task.again_people if r.task else 0,
        ]
        for r in results
    ]
    print("\nThe daily task by size:\n")
    print(
        c.table(("families", "overdue steps", "people told", "notices", "escalations", "seconds", "told again"), rows)
    )


if __name__ == "__main__":
    main()
