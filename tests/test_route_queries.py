"""Issue 15: every page reads what it shows in a constant number of SQL statements, whatever the number of records
(no N+1 anywhere).

One fixed world of the canary (``tests/test_canary.py``): a family with a care team across organisations, consents,
a court order, a restriction, notes, referrals (one answered from its one-time link, one a draft), a critical
screening with its alert, and every pathway record (START with a step done, a CPS report date, a conversation, an
agreed Plan of Safe Care). It first gets one round of every kind of record ``grow`` writes, from each organisation
that writes it, so that each kind a page shows is there before anything is counted (a page that reads a kind once
there is one of it is not mistaken for one that grows with it).

Then every GET route the canary knows (``discover_routes``: pages, forms, exports, family lists, the directory's and
the referral form's family queries, one-time link pages, the API), filled as the canary fills it (the first
``INSTANCES`` instances of each, with the world family's records), is asked by the family's coordinator and, in a
second item, by the CPS caseworker on her team (another organisation: she reads under the parent's consent, so her
pages also write the accounting of disclosures): each request once to warm up (the session, first reads that
write: disclosures, notices read), then once with its statements captured, by shape (``SELECT notes_note``). The
family's records then grow by a second round through the services (notes of three organisations, team places,
family members, consents and new versions of her team-wide consent, court orders, restrictions, referrals,
screenings and their alerts, pathway enrolments, START steps done, child-welfare dates, conversations, Plan of Safe
Care needs, and the timeline lines each writes), and the same requests are made again: each that answers with the
same status (what she may see did not change) must make the same multiset of statements, and every route must have
such a request. Only the accounting of disclosures may come or go (its INSERT and the savepoint or transaction
around it): a page writes it only when it disclosed something. The accounting pages are asked last in each phase:
they read each kind of record the accounting names once (bounded by the kinds, not the records), and so see every
kind the phase disclosed.

A route that still grows with the records is listed in ``KNOWN_GROWTH`` with why: the two tests leave it out, and
``test_a_route_known_to_grow_still_grows`` measures the known routes on their own (both viewers, one world), one
expected failure per route (strict: once a route is fixed its item passes, which fails until the route is taken out
of ``KNOWN_GROWTH``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kinfold import clock
from kinfold.consent.models import ConsentDirective, ConsentVersion, CourtOrder, Restriction
from kinfold.directory.models import Need as FamilyNeed
from kinfold.families import services as family_services
from kinfold.families.models import CareTeamMember, FamilyRelationship
from kinfold.notes import services as note_services
from kinfold.notes.models import Note
from kinfold.pathways import services as pathway_services
from kinfold.pathways.models import (
    ChildWelfareEvent,
    EnrolmentStatus,
    PathwayEnrolment,
    PathwayStep,
    PlanNeed,
    PlanOfSafeCare,
    SharedDecisionRecord,
    StepStatus,
)
from kinfold.pathways.safecare import services as safecare
from kinfold.referrals.models import Referral
from kinfold.screening.models import SafetyAlert, ScreeningResponse
from tests import canary_pathways
from tests.test_canary import (
    COURT_ORDER_WORLD,
    FAMILY_LISTS,
    FAMILY_QUERIES,
    FILLERS,
    REFERRAL_CONSENT,
    REFERRAL_WORLD,
    TEAM_WIDE,
    VARIANTS,
    OrderSpec,
    ReferralSpec,
    RestrictionSpec,
    Route,
    World,
    build,
    discover_routes,
    instances,
    make_referral,
    make_screening,
    new_consent_version,
    new_marker,
    quiet_refusals,
    record_consent,
    record_order,
    request_restriction,
    rolled_back,
)

pytestmark = pytest.mark.django_db

# The canary's referral world (the Part 2 programme, the pantry answering from its link, the OB clinician's draft),
# with a court order naming the court coordinator, an agreed restriction, a critical screening with its alert and
# every pathway record. The OB clinician stays on the team (she keeps the Plan of Safe Care); the community
# organisation's front desk leaves it (a former member), and joins again as the records grow.
WORLD = replace(
    REFERRAL_WORLD,
    team=("ob", "cps", "court", "front"),
    leavers=("front",),
    order=COURT_ORDER_WORLD.order,
    restrictions=(
        RestrictionSpec(
            requester="coord",
            disclosing="cps",
            recipient_org="court",
            recipient_person=None,
            categories=("contact",),
            purposes=(),
            fate="agreed",
        ),
    ),
    screenings=(("coord", "phq9", True, None),),
    pathways=canary_pathways.PathwaySpec(join=True, step_by="cps", decision_by="coord", plan_fate="agreed"),
)
MORE = 3  # how many more of each kind of record each round of growth writes
# How many instances of each route are asked (the first the canary fills: records of the world as built, both
# phases ask the same).
INSTANCES = 2
# The START steps each round ticks done.
STEPS_DONE = (
    ("first_treatment_session", "fifth_treatment_session", "mentor_visits"),
    ("trauma_screen_parent", "joint_home_visit", "treatment_assessment"),
)

# Routes whose statements still grow with the family's records (an N+1 not fixed yet): route name -> why. The two
# tests below leave each out; ``test_a_route_known_to_grow_still_grows`` measures it alone, as an expected failure.
KNOWN_GROWTH: dict[str, str] = {}

# What a page writes only when it disclosed something: the accounting of disclosures, with the savepoint (inside a
# test's transaction) or the transaction around it.
DISCLOSURE = "INSERT consent_disclosure"
AROUND_A_WRITE = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")
# Asked last in each phase (see the module's docstring).
ACCOUNTING = {"consent:accounting", "parentmode:accounting"}


def shape(statement: str) -> str:
    """``SELECT notes_note``, ``INSERT audit_auditevent``, ``BEGIN``: what a statement does, to what (as
    ``bench/_common.py``'s)."""
    verb = statement.lstrip().split(" ", 1)[0].upper()
    marker = {"SELECT": ' FROM "', "INSERT": 'INTO "', "UPDATE": 'UPDATE "', "DELETE": 'FROM "'}.get(verb)
    if marker is None or marker not in statement:
        return verb
    table_name = statement.split(marker, 1)[1].split('"', 1)[0]
    return f"{verb} {table_name}"


# --- asking every route ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """One request: who asks, which route, its URL and headers."""

    viewer: str
    route: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Answer:
    status: int
    statements: tuple[str, ...]

    @property
    def shapes(self) -> Counter[str]:
        return Counter(shape(s) for s in self.statements)


def requests(w: World, routes: list[Route], viewers: tuple[str, ...]) -> list[Asked]:
    """The GETs the canary makes of these routes (the family queries, and the variants of the family routes: an htmx
    partial, a CSV), for the first ``INSTANCES`` instances of each (the world family's records, as built), as each
    viewer; the accounting pages last."""
    # The world family's records only: the decoy family's pages, and her records asked for under its id, do not grow.
    own = replace(w, decoy=w.family, decoy_referral=None)
    values = {name: list(dict.fromkeys(fill(own))) for name, fill in FILLERS.items()}
    queries = {name: list(dict.fromkeys(make(own))) for name, make in FAMILY_QUERIES.items()}
    out = []
    for viewer in viewers:
        for route in sorted(routes, key=lambda r: r.name in ACCOUNTING):
            variants: list[tuple[str, dict[str, Any]]] = [("", {})]
            if "family_id" in route.parameters or route.name in FAMILY_LISTS:
                variants += VARIANTS.get(route.name, [])
            variants += [(query, {}) for query in queries.get(route.name, [])]
            for path in list(dict.fromkeys(instances(route, own, values)))[:INSTANCES]:
                for query, headers in variants:
                    out.append(Asked(viewer, route.name, path + query, tuple(sorted(headers.items()))))
    return out


def ask(asking: list[Asked], clients: dict[str, Client]) -> dict[Asked, Answer]:
    """Each request once to warm up, then once with its statements captured."""
    out: dict[Asked, Answer] = {}
    for asked in asking:
        client, headers = clients[asked.viewer], dict[str, Any](asked.headers)
        try:
            client.get(asked.url, **headers)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(asked.url, **headers)
        except Exception as error:  # a crash names its route and viewer
            raise AssertionError(f"GET {asked.url} as {asked.viewer} raised {error!r}") from error
        out[asked] = Answer(response.status_code, tuple(q["sql"] for q in captured.captured_queries))
    return out


# --- growing the family's records through the services --------------------------------------------------------


def grow(w: World, round_: int) -> None:
    """``MORE`` more of every kind of record the family has (fewer of a few), each written by the organisation that
    writes it in the world, through the services; each round (0, then 1) writes the same kinds from the same
    organisations."""
    family, coord = w.family, w.viewer("coord")
    # Care-team places: her organisation's privacy officer and the Part 2 programme's counsellor; then the
    # programme's privacy officer, and her organisation's front desk again (she had left the team).
    for key in (("cpo", "counsellor"), ("otp_po", "front"))[round_]:
        membership = w.staff[key]
        family_services.care_team_member_add(viewer=coord, family=family, membership=membership, role=membership.role)
    for n in range(MORE):
        family_services.family_member_add(
            viewer=coord,
            family=family,
            given_name=f"Sibling{round_}{n}",
            family_name="Grown",
            category="sibling",
            description=f"her sibling {new_marker()}",
        )
        # Notes of three organisations: hers, the CPS agency's and the Part 2 programme's (which she may not read).
        for author, kind in (("coord", "case_note"), ("cps", "case_note"), ("counsellor", "treatment_attendance")):
            marker = new_marker()
            note_services.note_add(
                viewer=w.viewer(author), family=family, kind=kind, summary=f"Note {marker}", body=f"Details {marker}"
            )
    # Her team-wide consent signed again (a new version), and more consents to her organisation's referrals
    # (``record_consent`` records the world's spec at an index: the spec gets them first).
    for _ in range(MORE - 1):
        new_consent_version(w, w.directive_of[0], TEAM_WIDE)
    w.spec = replace(w.spec, consents=(*w.spec.consents, *([REFERRAL_CONSENT] * MORE)))
    for i in range(len(w.spec.consents) - MORE, len(w.spec.consents)):
        record_consent(w, i)
    for _ in range(MORE - 1):
        order = OrderSpec(
            recorder="cpo",
            categories=("contact", "legal"),
            window="current",
            findings=True,
            findings_later=False,
            named=False,
        )
        record_order(w, order)
        restriction = RestrictionSpec(
            requester="coord",
            disclosing="community",
            recipient_org="court",
            recipient_person=None,
            categories=("social_needs",),
            purposes=(),
            fate="requested",
        )
        request_restriction(w, restriction)
    for fate in ("accepted", "in_progress", "requested"):
        make_referral(w, ReferralSpec("coord", "otp", FamilyNeed.MOUD, 1, fate, "intake"))
    make_referral(w, ReferralSpec("coord", "pantry", FamilyNeed.FOOD, 1, "accepted", "intake"))
    for giver, instrument, critical in (("coord", "phq9", True), ("cps", "audit_c", False), ("coord", "phq9", True)):
        make_screening(w, giver, instrument, critical, None)
    grow_pathways(w, round_)


def grow_pathways(w: World, round_: int) -> None:
    family, cps, ob = w.family, w.viewer("cps"), w.viewer("ob")
    # The perinatal year, the clinic's: ended and started again (an ended enrolment, and an active one).
    for _ in range(2):
        active = PathwayEnrolment.objects.filter(
            family=family, pathway_key="perinatal_year", status=EnrolmentStatus.ACTIVE
        ).first()
        if active is not None:
            pathway_services.end_enrolment(
                viewer=ob, enrolment_id=active.pk, reason="Care moved", expected_version=active.version
            )
        pathway_services.enrol(viewer=ob, family=family, pathway_key="perinatal_year")
    # START steps done: the treatment sessions first (so START's fidelity figure, which reads the enrolment's anchors,
    # is shown before anything is counted), then steps whose due dates the others do not count from.
    start = PathwayEnrolment.objects.get(family=family, pathway_key="start")
    for key in STEPS_DONE[round_]:
        step = PathwayStep.objects.get(enrolment=start, step_key=key, occurrence=1)
        pathway_services.complete_step(
            viewer=cps,
            step_id=step.pk,
            done_on=clock.today() - timedelta(days=2),
            note=f"Done {new_marker()}",
            expected_version=step.version,
        )
    for event in ("screened_in", "investigation", "case_opened"):
        pathway_services.record_child_welfare_event(
            viewer=cps,
            family=family,
            event=event,
            occurred_on=clock.today() - timedelta(days=8),
            note=f"Recorded {new_marker()}",
        )
    for by in ("coord", "cps", "coord"):
        canary_pathways.shared_decision(w, by, new_marker)
    plan = PlanOfSafeCare.objects.get(family=family)
    for n in range(MORE):
        need = safecare.NeedInput("parenting", f"Parenting class {n} {new_marker()}", "Hospital social worker")
        safecare.add_need(viewer=ob, plan_id=plan.pk, data=need)


COUNTED: dict[str, Callable[[World], int]] = {
    model.__name__: lambda w, model=model: model._default_manager.filter(family=w.family).count()
    for model in (
        Note,
        FamilyRelationship,
        ConsentDirective,
        CourtOrder,
        Restriction,
        Referral,
        ScreeningResponse,
        SafetyAlert,
        PathwayEnrolment,
        ChildWelfareEvent,
        SharedDecisionRecord,
        PlanNeed,
    )
} | {
    "CareTeamMember": lambda w: CareTeamMember.objects.filter(care_team__family=w.family).count(),
    "ConsentVersion": lambda w: ConsentVersion.objects.filter(directive__family=w.family).count(),
    "PathwayStep done": lambda w: PathwayStep.objects.filter(family=w.family).exclude(status=StepStatus.OPEN).count(),
}


def counts(w: World) -> dict[str, int]:
    return {name: count(w) for name, count in COUNTED.items()}


# --- comparing -----------------------------------------------------------------------------------------------


def difference(before: Answer, after: Answer) -> Counter[str]:
    """The statements added (positive) or gone (negative) by shape, besides the accounting of disclosures coming or
    going with the savepoint or transaction around it."""
    b, a = before.shapes, after.shapes
    diff = Counter({key: a[key] - b[key] for key in a.keys() | b.keys() if a[key] != b[key]})
    written = diff.pop(DISCLOSURE, 0)
    for wrapper in AROUND_A_WRITE:
        if written and diff.get(wrapper) == written:
            del diff[wrapper]
    return diff


NUMBERS = re.compile(r"\b\d+\b")
LISTS = re.compile(r"\bIN \([^()]*\)")


COLUMNS = re.compile(r'^SELECT .*? FROM "')


def normalised(statement: str) -> str:
    """A statement with its numbers as ``?``, its lists as ``IN (…)`` and its columns as ``…`` (what it reads from
    where is what tells one statement from another)."""
    return COLUMNS.sub('SELECT … FROM "', LISTS.sub("IN (…)", NUMBERS.sub("?", statement)), count=1)


def explain(asked: Asked, before: Answer, after: Answer, diff: Counter[str]) -> str:
    """The route, the request, the shapes that changed and the statements added (numbers as ``?``)."""
    changed = "; ".join(f"{n:+d} {key}" for key, n in sorted(diff.items()))
    added = Counter(normalised(s) for s in after.statements) - Counter(normalised(s) for s in before.statements)
    lines = [f"{asked.route}: GET {asked.url} as {asked.viewer}: {changed}"]
    lines += [f"    +{n} {sql[:300]}" for sql, n in added.most_common(6) if shape(sql) in diff]
    return "\n".join(lines)


def measure(viewers: tuple[str, ...], keep: Callable[[Route], bool]) -> tuple[list[str], list[str], set[str]]:
    """Build the world, grow it once, ask the kept routes, grow it again and ask them again. Returns the
    differences (each explained), the route names no instance of which could be compared, and the names compared."""
    routes = [r for r in discover_routes() if keep(r)]
    assert routes, "no route to ask"
    with rolled_back(), quiet_refusals():
        w = build(WORLD)
        grow(w, 0)
        clients = {}
        for key in viewers:
            clients[key] = Client()
            clients[key].force_login(w.staff[key].user)
        asking = requests(w, routes, viewers)
        before = ask(asking, clients)
        few = counts(w)
        grow(w, 1)
        many = counts(w)
        after = ask(asking, clients)
    assert all(many[k] > few[k] for k in few), f"the records did not all grow: {few} -> {many}"
    problems, compared = [], set()
    for asked in before.keys() & after.keys():
        if before[asked].status != after[asked].status:
            continue  # what she may see changed (a new consent version names more): not the same page
        compared.add(asked.route)
        diff = difference(before[asked], after[asked])
        if diff:
            problems.append(explain(asked, before[asked], after[asked], diff))
    uncompared = sorted({r.name for r in routes} - compared)
    return sorted(problems), uncompared, compared


def not_known_to_grow(route: Route) -> bool:
    return route.name not in KNOWN_GROWTH


@pytest.mark.parametrize("viewer", ["coord", "cps"])
def test_every_route_makes_the_same_statements_for_a_few_records_or_many(db: Any, viewer: str) -> None:
    """As her coordinator (her organisation made most of the records) and as the CPS caseworker on her team (another
    organisation, reading under her consent): every route instance makes the same statements after the family's
    records grew (``KNOWN_GROWTH`` aside)."""
    problems, uncompared, compared = measure((viewer,), not_known_to_grow)
    assert {"families:detail", "api:get_family", "referrals:detail", "pathways:plan"} - set(KNOWN_GROWTH) <= compared
    assert not uncompared, f"no instance of these routes answered the same before and after: {uncompared}"
    assert not problems, "these pages make more statements with more records (an N+1):\n" + "\n".join(problems)


class Grows(AssertionError):
    """A route known to grow still does: the expected failure of ``test_a_route_known_to_grow_still_grows`` (any
    other error there is a real failure)."""


# The known routes' measurement, made once per process for all of them (each route's item reads its share).
_known: dict[str, tuple[list[str], bool]] = {}


def known_growth(route_name: str) -> tuple[list[str], bool]:
    """What grows on ``route_name`` (explained), and whether an instance of it could be compared."""
    if route_name not in _known:
        problems, uncompared, _ = measure(("coord", "cps"), lambda route: route.name in KNOWN_GROWTH)
        for name in KNOWN_GROWTH:
            _known[name] = ([p for p in problems if p.startswith(f"{name}: ")], name not in uncompared)
    return _known[route_name]


@pytest.mark.parametrize(
    "route_name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, raises=Grows, reason=why))
        for name, why in sorted(KNOWN_GROWTH.items())
    ],
)
def test_a_route_known_to_grow_still_grows(db: Any, route_name: str) -> None:
    """Each route of ``KNOWN_GROWTH``, as both viewers: an expected failure until it is fixed (then this passes,
    which fails as strict: take the route out of ``KNOWN_GROWTH``)."""
    problems, compared = known_growth(route_name)
    assert compared, f"no instance of {route_name} answered the same before and after"
    if problems:
        raise Grows("\n".join(problems))
