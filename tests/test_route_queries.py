"""Issue 15: every page reads what it shows in a constant number of SQL statements, whatever the number of records
(no N+1 anywhere).

One fixed world of the canary (``tests/test_canary.py``: a family with a care team across organisations, consents,
a court order, a restriction, notes, referrals, a screening with its alert, pathway records), built through the
services. Every GET route the canary knows (its pages, forms, exports, family lists and queries, the API) is asked
by the family's coordinator and by the CPS caseworker on her team (another organisation: she reads under the
parent's consent, so her pages also write the accounting of disclosures); each route instance once to warm up, then
once with its statements captured, by shape (``SELECT notes_note``). Then the family's records grow through the
services (notes of three organisations, team places, family members, consents and new versions, court orders,
restrictions, referrals, screenings and their alerts, pathway enrolments, steps, dates, conversations and plan
needs, and the timeline lines each writes), and every instance that exists in both phases is asked again: its
statements must be the same multiset. Only the accounting of disclosures may come or go (its INSERT and the
savepoint or transaction around it): a page writes it only when it disclosed something.

A route that genuinely grows is listed in ``KNOWN_GROWTH`` with the reason, and reported as an expected failure
until it is fixed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kinfold import clock
from kinfold.directory.models import Need as FamilyNeed
from kinfold.families import services as family_services
from kinfold.families.models import CareTeamMember
from kinfold.notes import services as note_services
from kinfold.pathways import services as pathway_services
from kinfold.pathways.models import PathwayEnrolment, PathwayStep, PlanOfSafeCare, StepStatus
from kinfold.pathways.safecare import services as safecare
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
    WorldSpec,
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

# The canary's referral world (the Part 2 programme, the pantry answering from its link, a draft), with a court
# order naming the court coordinator, an agreed restriction, a critical screening with its alert and every pathway
# record (START with a step done, a CPS report date, a conversation, an agreed Plan of Safe Care). The OB clinician
# stays on the team (she keeps the plan); the community organisation's front desk leaves it.
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
VIEWERS = ("coord", "cps")  # her coordinator, and a team member of another organisation
GROWTH = 3  # how many more of each kind of record the family gets

# Routes whose statements grow with the family's records (an N+1 not fixed yet): route name -> why. Each is
# reported as an expected failure (xfail) naming the statements that grow, until it is fixed and removed here.
KNOWN_GROWTH: dict[str, str] = {}

# What a page may write or not, by whether it disclosed anything: the accounting of disclosures, and the savepoint
# (in a test's transaction) or transaction around it.
DISCLOSURE = "INSERT consent_disclosure"
WRAPPERS = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")


def shape(statement: str) -> str:
    """``SELECT notes_note``, ``INSERT audit_auditevent``, ``BEGIN``: what a statement does, to what (as
    ``bench/_common.py``'s)."""
    verb = statement.lstrip().split(" ", 1)[0].upper()
    marker = {"SELECT": ' FROM "', "INSERT": 'INTO "', "UPDATE": 'UPDATE "', "DELETE": 'FROM "'}.get(verb)
    if marker is None or marker not in statement:
        return verb
    table_name = statement.split(marker, 1)[1].split('"', 1)[0]
    return f"{verb} {table_name}"


@dataclass(frozen=True)
class Asked:
    """One request: who asks, which route, and the URL."""

    viewer: str
    route: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Answer:
    status: int
    shapes: Counter[str]
    statements: list[str]


def shows_family_data(route: Route) -> bool:
    return True


def requests(w: World, routes: list[Route]) -> Iterator[Asked]:
    """Every GET the canary makes of these routes, as each viewer (without ``?purpose=``)."""
    values = {name: fill(w) for name, fill in FILLERS.items()}
    queries = {name: make(w) for name, make in FAMILY_QUERIES.items()}
    for viewer in VIEWERS:
        for route in routes:
            variants: list[tuple[str, dict[str, Any]]] = [("", {})]
            if "family_id" in route.parameters or route.name in FAMILY_LISTS:
                variants += VARIANTS.get(route.name, [])
            variants += [(query, {}) for query in queries.get(route.name, [])]
            for path in instances(route, w, values):
                for query, headers in variants:
                    yield Asked(viewer, route.name, path + query, tuple(sorted(headers.items())))


def ask_all(w: World, routes: list[Route], clients: dict[str, Client]) -> dict[Asked, Answer]:
    """Each request once to warm up (the session, caches, notices read, disclosures first written), then once with
    its statements captured."""
    out: dict[Asked, Answer] = {}
    for asked in requests(w, routes):
        client = clients[asked.viewer]
        headers = dict(asked.headers)
        client.get(asked.url, **headers)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(asked.url, **headers)
        statements = [q["sql"] for q in captured.captured_queries]
        out[asked] = Answer(response.status_code, Counter(shape(s) for s in statements), statements)
    return out


def grow(w: World, round: int) -> None:
    """More of every kind of record the family has, through the services (each as one who may write it)."""
    family = w.family
    coord = w.viewer("coord")
    # Care-team places: her organisation's privacy officer, the Part 2 programme's counsellor and privacy officer.
    for key in (("cpo", "counsellor"), ("otp_po", "front"))[round]:
        w.act(
            "coord",
            f"add {key} to the team",
            lambda v, key=key: family_services.care_team_member_add(
                viewer=v, family=family, membership=w.staff[key], role=w.staff[key].role
            ),
            others=False,
        )
    for n in range(GROWTH):
        family_services.family_member_add(
            viewer=coord,
            family=family,
            given_name=f"Sibling{n}",
            family_name="Grown",
            category="sibling",
            description=f"her sibling {new_marker()}",
        )
        # Notes of three organisations: her community organisation's, the CPS agency's, the Part 2 programme's.
        for author, kind in (("coord", "case_note"), ("cps", "case_note"), ("counsellor", "treatment_attendance")):
            marker = new_marker()
            w.act(
                author,
                f"write a {kind} note",
                lambda v, kind=kind, marker=marker: note_services.note_add(
                    viewer=v, family=family, kind=kind, summary=f"Note {marker}", body=f"Details {marker}"
                ),
                others=False,
            )
    # Consents: the team-wide consent signed again, and more consents.
    team_wide = w.directive_of[0]
    for _ in range(GROWTH - 1):
        new_consent_version(w, team_wide, TEAM_WIDE)
    w.spec = replace(w.spec, consents=(*w.spec.consents, *([REFERRAL_CONSENT] * GROWTH)))
    for i in range(len(w.spec.consents) - GROWTH, len(w.spec.consents)):
        record_consent(w, i)
    for _ in range(GROWTH - 1):
        record_order(
            w,
            OrderSpec(
                recorder="cpo",
                categories=("contact", "legal"),
                window="current",
                findings=True,
                findings_later=False,
                named=False,
            ),
        )
        request_restriction(
            w,
            RestrictionSpec(
                requester="coord",
                disclosing="community",
                recipient_org="court",
                recipient_person=None,
                categories=("social_needs",),
                purposes=(),
                fate="requested",
            ),
        )
    for fate in ("accepted", "in_progress", "requested"):
        make_referral(w, ReferralSpec("coord", "otp", FamilyNeed.MOUD, 1, fate, "intake"))
    make_referral(w, ReferralSpec("coord", "pantry", FamilyNeed.FOOD, 1, "accepted", "intake"))
    for giver, instrument, critical in (("coord", "phq9", True), ("cps", "audit_c", False), ("coord", "phq9", True)):
        make_screening(w, giver, instrument, critical, None)
    grow_pathways(w, round)


def grow_pathways(w: World, round: int) -> None:
    family = w.family
    cps = w.viewer("cps")
    # Another enrolment (the perinatal year, her community organisation's), and more START steps done.
    if round:
        ongoing = PathwayEnrolment.objects.get(family=family, pathway_key="perinatal_year", status="active")
        pathway_services.end_enrolment(
            viewer=w.viewer("coord"), enrolment_id=ongoing.pk, reason="Moved to the clinic", expected_version=ongoing.version
        )
    pathway_services.enrol(viewer=w.viewer("coord" if not round else "ob"), family=family, pathway_key="perinatal_year")
    start = PathwayEnrolment.objects.get(family=family, pathway_key="start")
    open_steps = PathwayStep.objects.filter(enrolment=start, status=StepStatus.OPEN).order_by("position", "pk")
    for step_id in list(open_steps.values_list("pk", flat=True))[:GROWTH]:
        pathway_services.complete_step(
            viewer=cps,
            step_id=step_id,
            done_on=clock.today() - timedelta(days=2),
            note=f"Done {new_marker()}",
            expected_version=PathwayStep.objects.get(pk=step_id).version,
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
    ob = w.viewer("ob")
    for n in range(GROWTH):
        safecare.add_need(
            viewer=ob,
            plan_id=plan.pk,
            data=safecare.NeedInput("parenting", f"Parenting class {n} {new_marker()}", "Hospital social worker"),
        )


def counts(w: World) -> dict[str, int]:
    """How many of each kind of record the family has (to show that it grew)."""
    from kinfold.consent.models import ConsentDirective, ConsentVersion, CourtOrder, Restriction
    from kinfold.families.models import FamilyRelationship
    from kinfold.notes.models import Note
    from kinfold.pathways.models import ChildWelfareEvent, PlanNeed, SharedDecisionRecord
    from kinfold.referrals.models import Referral
    from kinfold.screening.models import SafetyAlert, ScreeningResponse

    models: list[Any] = [
        Note,
        CareTeamMember,
        FamilyRelationship,
        ConsentDirective,
        ConsentVersion,
        CourtOrder,
        Restriction,
        Referral,
        ScreeningResponse,
        SafetyAlert,
        PathwayEnrolment,
        ChildWelfareEvent,
        SharedDecisionRecord,
        PlanNeed,
    ]
    out = {}
    for model in models:
        field = {CareTeamMember: "care_team__family", ConsentVersion: "directive__family"}.get(model, "family")
        out[model.__name__] = model._default_manager.filter(**{field: w.family}).count()
    out["PathwayStep done"] = PathwayStep.objects.filter(family=w.family).exclude(status=StepStatus.OPEN).count()
    return out


def difference(before: Counter[str], after: Counter[str]) -> Counter[str]:
    """The statements added (positive) or gone (negative), besides the accounting of disclosures coming or going."""
    diff: Counter[str] = Counter()
    for key in before.keys() | after.keys():
        if after[key] != before[key]:
            diff[key] = after[key] - before[key]
    written = diff.pop(DISCLOSURE, 0)
    for wrapper in WRAPPERS:
        if written and diff[wrapper] == written:
            del diff[wrapper]
    return +diff + (-(-diff))  # type: ignore[operator]


def report(before: dict[Asked, Answer], after: dict[Asked, Answer]) -> None:
    print(len(before), len(after), len(before.keys() & after.keys()))
    for asked in sorted(before.keys() & after.keys(), key=lambda a: (a.route, a.viewer, a.url)):
        b, a = before[asked], after[asked]
        d = {k: a.shapes[k] - b.shapes[k] for k in a.shapes.keys() | b.shapes.keys() if a.shapes[k] != b.shapes[k]}
        if d or a.status != b.status:
            print(asked.viewer, asked.route, asked.url, b.status, a.status, d)
            if a.status == b.status:
                extra = Counter(a.statements) - Counter(b.statements)
                for st in extra:
                    if shape(st) in d:
                        print("     +", st[:400])


def test_prototype(db: Any) -> None:
    started = time.monotonic()
    routes = discover_routes()
    with rolled_back(), quiet_refusals():
        w = build(WORLD)
        built = time.monotonic()
        clients = {}
        for key in VIEWERS:
            client = Client()
            client.force_login(w.staff[key].user)
            clients[key] = client
        grow(w, 0)
        before = ask_all(w, routes, clients)
        asked1 = time.monotonic()
        small = counts(w)
        grow(w, 1)
        large = counts(w)
        grown = time.monotonic()
        after = ask_all(w, routes, clients)
        asked2 = time.monotonic()
    print(f"\nbuild {built - started:.1f}s ask {asked1 - built:.1f}s grow {grown - asked1:.1f}s ask {asked2 - grown:.1f}s")
    print(small)
    print(large)
    print("===== round 1 -> round 2")
    report(before, after)


def test_trace(db: Any) -> None:
    import sys
    import traceback

    def where() -> str:
        frame: Any = sys._getframe(2)
        template = ""
        while frame is not None:
            if frame.f_code.co_name == "render_annotated" and frame.f_code.co_filename.endswith("template/base.py"):
                node = frame.f_locals["self"]
                tok = getattr(node, "token", None)
                template = f"{getattr(node.origin, 'template_name', '?')}:{tok.lineno if tok else '?'} {{{tok.contents[:80] if tok else ''}}}"
                break
            frame = frame.f_back
        stack = [f for f in traceback.extract_stack() if "/src/kinfold/" in f.filename]
        return template + "\n" + "".join(f"      {f.filename.split('/src/')[-1]}:{f.lineno} {f.name}: {f.line}\n" for f in stack[-3:])

    with rolled_back(), quiet_refusals():
        w = build(WORLD)
        grow(w, 0)
        grow(w, 1)
        for key in ("coord", "cps"):
            client = Client()
            client.force_login(w.staff[key].user)
            for url in [f"/families/{w.family.pk}/consents/{w.directive_of[0].pk}/", f"/families/{w.family.pk}/", "/screening/alerts/"]:
                client.get(url)
                seen: list[str] = []

                def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                    seen.append(shape(sql) + " :: " + sql.split(" WHERE ")[-1][:150] + " " + where())
                    return execute(sql, params, many, context)

                with connection.execute_wrapper(wrapper):
                    client.get(url)
                with open(f"/tmp/rq/trace-{key}-{url.replace('/', '_')}.txt", "w") as f:
                    f.write("\n".join(seen))
