"""The access policy at scale (issue 3): decisions per second, the family page, and the caseload.

(a) A family with 500 records (notes from 8 organisations, two of them Part 2 programmes) and 20 consent
    versions (7 directives, several with new versions, one revoked, one expired, and an agreed
    restriction): time ``PolicyContext.load`` and ``decide`` over all 500 records for viewers in four
    roles, and the whole family page request; count the family page's SQL queries with 50 and with 500
    records (they must not grow with records).
(b) The caseload page of the coordinator with 60 families in the 100,000-family region (the same seeded
    database as ``caseload.py``).

The two families are created once in the benchmark database (by ``bench.policy``) and reused.

    uv run --frozen python bench/access_policy.py [--families 100000] [--reseed] [--repeat 200]
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import timedelta
from typing import Any

import _common as c
from caseload import caseload_floor, family_floor

# The people on the benchmark family's team: (username or None, organisation name or type, role).
NAMED_TEAM = ("carl.jensen", "maya.chen", "rosa.delgado", "grace.okafor", "dev.patel", "jo.martin")
VIEWERS = (c.POLICY_COORDINATOR, "carl.jensen", "maya.chen", "dev.patel")
FAMILIES = {500: ("Lucía", "Marchetti"), 50: ("Elena", "Marchetti")}


def _membership(username: str) -> Any:
    return c.user(username).membership


def _synthetic(org_filter: dict[str, Any], role: str) -> Any:
    from kinfold.organizations.models import Membership

    return (
        Membership.objects.filter(role=role, is_active=True, placed_at__isnull=True, **org_filter)
        .select_related("user", "organization")
        .order_by("pk")
        .first()
    )


def policy_family(records: int) -> Any:
    """The benchmark family with ``records`` notes (made once, in one transaction, through the services)."""
    from kinfold.families.models import Family

    given, surname = FAMILIES[records]
    family = Family.objects.filter(
        created_by__username=c.POLICY_COORDINATOR, parent__given_name=given, parent__family_name=surname
    ).first()
    if family is None:
        print(f"Creating the benchmark family with {records} records …", flush=True)
        family = _make_policy_family(given, surname, records)
    return family


def _make_policy_family(given: str, surname: str, records: int) -> Any:
    from django.db import transaction

    from kinfold import clock
    from kinfold.access.viewer import Viewer
    from kinfold.consent import services as consent
    from kinfold.consent.models import ConsentVersion
    from kinfold.demo.synthetic import NOTE_KINDS_BY_ROLE, NOTE_SUMMARIES
    from kinfold.families import services
    from kinfold.notes.models import NOTE_CATEGORY, Note, NoteKind
    from kinfold.organizations.models import OrganizationType, Role

    rng = random.Random(records)
    coordinator = _membership(c.POLICY_COORDINATOR)
    me = Viewer.of(coordinator.user)
    team = [_membership(u) for u in NAMED_TEAM]
    hospital = _synthetic({"organization__name": "St. Brigid Birthing Hospital"}, Role.SOCIAL_WORKER)
    sud_program = _synthetic({"organization__type": OrganizationType.SUD_TREATMENT}, Role.THERAPIST)
    team += [hospital, sud_program]
    by_user = {m.user.username: m for m in team}
    hope, cps = by_user["maya.chen"].organization, by_user["carl.jensen"].organization
    court, ob = by_user["dev.patel"].organization, by_user["grace.okafor"].organization
    today = clock.today()
    with transaction.atomic():
        family = services.family_create(
            viewer=me, given_name=given, family_name=surname, estimated_due_on=today + timedelta(days=60)
        )
        for member in team:
            services.care_team_member_add(viewer=me, family=family, membership=member, role=member.role)

        # Notes: each writer's usual kinds (a hospital social worker writes social-needs and contact notes).
        kinds = {**NOTE_KINDS_BY_ROLE, Role.SOCIAL_WORKER: (NoteKind.SOCIAL_NEEDS, NoteKind.CONTACT_LOG)}
        writers = [coordinator, *team]
        notes = []
        for i in range(records):
            writer = writers[i % len(writers)]
            kind = rng.choice(kinds[writer.role])
            day = today - timedelta(days=rng.randint(1, 365))
            notes.append(
                Note(
                    family=family,
                    kind=kind,
                    occurred_on=day,
                    summary=rng.choice(NOTE_SUMMARIES[kind]),
                    created_by=writer.user,
                    created_by_org=writer.organization,
                    sensitivity=NOTE_CATEGORY[NoteKind(kind)],
                )
            )
        Note.objects.bulk_create(notes)

        # Consents: 7 directives, 20 versions.
        name = f"{given} {surname}"

        def terms(**kw: Any) -> consent.ConsentTerms:
            return consent.ConsentTerms(
                expires_at=clock.now() + timedelta(days=365), signer_name=name, signature_typed=name, **kw
            )

        tpo = ["operations", "payment", "treatment"]
        chains: list[tuple[str, list[dict[str, Any]]]] = [
            (
                "Team-wide coordination",
                [
                    dict(
                        discloser_classes=["care_team"],
                        recipient_classes=["care_team"],
                        purposes=["care_coordination", "child_welfare_case", "treatment"],
                        categories=cats,
                    )
                    for cats in (
                        ["contact", "social_needs"],
                        ["contact", "general_health", "social_needs"],
                        ["child_welfare", "contact", "general_health", "social_needs"],
                        ["child_welfare", "contact", "general_health", "legal", "social_needs"],
                    )
                ],
            ),
            (
                "Treatment information for my treating providers",
                [
                    dict(
                        discloser_classes=["part2_programs"],
                        recipient_classes=["treating_providers"],
                        purposes=tpo,
                        categories=cats,
                    )
                    for cats in (
                        ["sud_treatment"],
                        ["mental_health", "sud_treatment"],
                        ["mental_health", "sud_treatment"],
                    )
                ],
            ),
            (
                "Treatment progress updates for child protective services",
                [
                    dict(
                        discloser_classes=["part2_programs"],
                        recipient_classes=["child_welfare"],
                        purposes=["child_welfare_case"],
                        categories=cats,
                    )
                    for cats in (["sud_treatment"], ["mental_health", "sud_treatment"], ["sud_treatment"])
                ],
            ),
            (
                "Compliance reports to the family treatment court",
                [
                    dict(
                        discloser_classes=["care_team"],
                        recipient_orgs=[court],
                        purposes=["court_proceeding"],
                        categories=cats,
                    )
                    for cats in (["contact", "legal"], ["contact", "legal", "sud_treatment"])
                ],
            ),
            (
                "Community supports",
                [
                    dict(
                        discloser_classes=["care_team"],
                        recipient_classes=["community_supports"],
                        purposes=["care_coordination"],
                        categories=cats,
                    )
                    for cats in (["contact", "social_needs"], ["contact", "general_health", "social_needs"])
                ],
            ),
            (
                "Recovery updates for my peer recovery coach",
                [
                    dict(
                        discloser_orgs=[hope],
                        recipient_people=[by_user["jo.martin"]],
                        purposes=["care_coordination"],
                        categories=cats,
                    )
                    for cats in (["sud_treatment"], ["mental_health", "sud_treatment"], ["sud_treatment"])
                ],
            ),
            (
                "Treatment information for my prenatal clinic",
                [
                    dict(
                        discloser_classes=["part2_programs"],
                        recipient_orgs=[ob],
                        purposes=["treatment"],
                        categories=cats,
                    )
                    for cats in (
                        ["sud_treatment"],
                        ["mental_health", "sud_treatment"],
                        ["general_health", "sud_treatment"],
                    )
                ],
            ),
        ]
        directives = []
        for title, versions in chains:
            directive = consent.consent_record(viewer=me, family=family, title=title, terms=terms(**versions[0]))
            for later in versions[1:]:
                consent.consent_new_version(viewer=me, directive=directive, terms=terms(**later))
            directives.append(directive)
        consent.consent_revoke(viewer=me, directive=directives[4], method="spoken")
        # The prenatal clinic's consent was signed over a year ago and ended a month ago.
        now = clock.now()
        for i, version in enumerate(ConsentVersion.objects.filter(directive=directives[6]).order_by("number")):
            signed = now - timedelta(days=400 - 30 * i)
            ConsentVersion.objects.filter(pk=version.pk).update(
                signed_at=signed, effective_at=signed, expires_at=now - timedelta(days=30)
            )
        restriction = consent.restriction_request(
            viewer=me,
            family=family,
            disclosing_org=hope,
            recipient_org=cps,
            categories=["sud_treatment"],
            purposes=["child_welfare_case"],
            description="No toxicology results to child protective services",
        )
        consent.restriction_decide(viewer=Viewer.of(by_user["maya.chen"].user), restriction=restriction, agree=True)
    return family


def decisions(username: str, family: Any, repeat: int) -> dict[str, Any]:
    from kinfold import clock
    from kinfold.access.facts import PolicyContext
    from kinfold.access.rules import decide
    from kinfold.access.viewer import Viewer
    from kinfold.access.vocabulary import default_purpose
    from kinfold.notes.models import Note

    viewer = Viewer.of(c.user(username))
    purpose = default_purpose(viewer.role)
    notes = list(Note.objects.filter(family=family))
    at = clock.now()
    ctx = PolicyContext.load(viewer, [family.pk])
    outcome = [decide(viewer, n, purpose, at, ctx) for n in notes]
    load_ms = c.time_call(lambda: PolicyContext.load(viewer, [family.pk]), repeat=repeat)
    decide_ms = c.time_call(lambda: [decide(viewer, n, purpose, at, ctx) for n in notes], repeat=repeat)

    def both() -> None:
        context = PolicyContext.load(viewer, [family.pk])
        for n in notes:
            decide(viewer, n, purpose, at, context)

    both_ms = c.time_call(both, repeat=repeat)
    rules = Counter(d.rule if d.permitted else "denied" for d in outcome)
    return {
        "viewer": f"{username} ({viewer.role})",
        "purpose": purpose,
        "records": len(notes),
        "load": statistics.median(load_ms),
        "decide": statistics.median(decide_ms),
        "both": statistics.median(both_ms),
        "per_second": len(notes) / (statistics.median(decide_ms) / 1000),
        "permitted": sum(1 for d in outcome if d.permitted),
        "rules": ", ".join(f"{k}: {v}" for k, v in sorted(rules.items())),
    }


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=200, help="timed repetitions of load/decide (200)")
    args = p.parse_args()
    c.prepare_database(c.database_url(args), reseed=args.reseed)
    c.ensure_region(args.families)

    from django.db.models import Count
    from django.utils.html import escape

    from kinfold.consent.models import ConsentVersion
    from kinfold.notes.models import Note

    large, small = policy_family(500), policy_family(50)
    n, w = args.requests, args.warmup
    c.header("Access policy (issue 3)", args.families, n, w)
    orgs = Note.objects.filter(family=large).values("created_by_org").distinct().count()
    part2 = Note.objects.filter(family=large, created_by_org__is_part2_program=True).values("created_by_org")
    versions = ConsentVersion.objects.filter(directive__family=large)
    directives = versions.values("directive").annotate(n=Count("pk")).count()
    print(
        f"\n(a) Family {large.pk}: {Note.objects.filter(family=large).count()} records (notes) from {orgs} "
        f"organisations ({part2.distinct().count()} Part 2 programmes);\n    {versions.count()} consent versions "
        f"in {directives} directives (one revoked, one expired), one agreed restriction."
    )
    print(
        f"    decide: {args.repeat} repetitions after 3 warm-up, median; 'load' = PolicyContext.load for the family;\n"
        "    'decide' = decide() for each of the 500 records with that context; decisions/s = 500 / decide.\n"
    )
    rows = [decisions(u, large, args.repeat) for u in VIEWERS]
    print(
        c.table(
            ("viewer", "purpose", "load ms", "decide ms", "load+decide ms", "decisions/s", "permitted", "by rule"),
            [
                [
                    r["viewer"],
                    r["purpose"],
                    f"{r['load']:.2f}",
                    f"{r['decide']:.2f}",
                    f"{r['both']:.2f}",
                    f"{r['per_second']:,.0f}",
                    f"{r['permitted']}/{r['records']}",
                    r["rules"],
                ]
                for r in rows
            ],
            left=2,
        )
    )

    print("\n    The whole family page (GET /families/<id>/), and its queries with 50 and with 500 records:\n")
    page_rows = []
    for username in VIEWERS:
        client = c.client_for(username)
        parent = escape(large.parent.display_name)
        big = c.measure_page(
            client,
            username,
            f"/families/{large.pk}/",
            "500",
            requests=n,
            warmup=w,
            expect=parent,
            floor=family_floor(large.pk),
        )
        few = c.count_queries(client, f"/families/{small.pk}/", escape(small.parent.display_name))
        page_rows.append(
            [
                username,
                big.median,
                big.p95,
                big.floor_median,
                f"{big.ratio:.1f}x",
                few.total,
                big.queries.total,
                c.query_difference(few, big.queries),
            ]
        )
    print(
        c.table(
            (
                "viewer",
                "median ms",
                "p95 ms",
                "floor median",
                "page/floor",
                "queries, 50 records",
                "queries, 500 records",
                "difference",
            ),
            page_rows,
        )
    )
    print("    (the family page shows the newest 100 notes and 50 timeline lines: families/selectors.py)")

    print(f"\n(b) The caseload of {c.BIG_COORDINATOR} in the {args.families:,}-family region:\n")
    client = c.client_for(c.BIG_COORDINATOR)
    results = [
        c.measure_page(
            client,
            "caseload, first page",
            "/families/",
            "60 families",
            requests=n,
            warmup=w,
            floor=caseload_floor(c.BIG_COORDINATOR),
        ),
        c.measure_page(
            client,
            "caseload, page 3",
            "/families/?page=3",
            "60 families",
            requests=n,
            warmup=w,
            floor=caseload_floor(c.BIG_COORDINATOR, page=3),
        ),
    ]
    print(c.table(c.PAGE_HEADERS, c.page_rows(results)))
    c.print_sql(results, show_all=args.show_sql)


if __name__ == "__main__":
    main()
