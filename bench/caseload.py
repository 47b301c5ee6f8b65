"""Caseload and family pages at scale (issue 2): server time and SQL queries, on PostgreSQL.

Seeds a region of 100,000 families once (``--families``, ``--reseed``) and measures, signed in as the
coordinator with 60 families (``ana.rivera``): the caseload page (first page, last page, a search, the
organisation's caseload) and the family page; then shows that the number of queries does not grow with
caseload size (10 vs 60 families) or with the size of a family's record (smallest vs largest of her 60).
Last, the whole-organisation caseload of the organisation with the most families in the region, signed in
as its member on the most teams (``--organization-only`` measures just that).

    uv run --frozen python bench/caseload.py [--families 100000] [--reseed] [--requests 50] [--organization-only]
"""

from __future__ import annotations

from typing import Any

import _common as c


def caseload_size(username: str, scope: str = "mine") -> int:
    from kinfold.access.viewer import Viewer
    from kinfold.families.selectors import caseload_for

    return caseload_for(viewer=Viewer.of(c.user(username)), scope=scope).count()  # type: ignore[arg-type]


def families_by_record_size(username: str) -> list[tuple[Any, int, int]]:
    """The coordinator's families as (family, notes, timeline lines), smallest record first."""
    from django.db.models import Count

    from kinfold.access.viewer import Viewer
    from kinfold.families.models import Family
    from kinfold.families.selectors import caseload_for

    ids = [f.pk for f in caseload_for(viewer=Viewer.of(c.user(username))).families]
    families = (
        Family.objects.filter(pk__in=ids)
        .select_related("parent")
        .annotate(n_notes=Count("notes", distinct=True), n_lines=Count("activities", distinct=True))
    )
    rows = [(f, f.n_notes, f.n_lines) for f in families]
    rows.sort(key=lambda r: (r[1] + r[2], r[0].pk))
    return rows


def largest_organization_member() -> tuple[str, str, int]:
    """(username, organisation name, families) for the organisation on the most families' teams: its
    active member with a role who is on the most teams herself (the first by id on a tie)."""
    from django.db.models import Count, Q

    from kinfold.access.vocabulary import role_access
    from kinfold.families.models import Family
    from kinfold.organizations.models import Membership, Organization

    org = (
        Organization.objects.annotate(
            n_families=Count(
                "memberships__team_places__care_team__family",
                filter=Q(memberships__team_places__left_at__isnull=True),
                distinct=True,
            )
        )
        .order_by("-n_families", "pk")
        .first()
    )
    assert org is not None
    members = (
        Membership.objects.filter(organization=org, is_active=True, user__is_active=True, user__is_superuser=False)
        .annotate(n_places=Count("team_places", filter=Q(team_places__left_at__isnull=True)))
        .select_related("user")
        .order_by("-n_places", "pk")
    )
    member = next(m for m in members if role_access(m.role) is not None)
    in_scope = Family.objects.filter(
        care_team__members__left_at__isnull=True, care_team__members__membership__organization=org
    )
    return member.user.username, org.name, in_scope.distinct().count()


# Whose families a caseload's floor lists (``floor/caseload.sql``): an active care-team place ``m`` held by her,
# or by any of her organisation's staff.
WHOSE = {
    "mine": "m.membership_id = %(membership)s",
    "organization": "m.membership_id IN (SELECT s.id FROM organizations_membership s "
    "WHERE s.organization_id = %(organization)s)",
}


def caseload_floor(username: str, scope: str = "mine", page: int = 1) -> c.Floor:
    """The page's rows as one raw statement (``floor/caseload.sql``, for her families or her organisation's) and
    the policy's facts of every candidate family (``floor/consent_facts.sql``)."""
    from datetime import timedelta

    from kinfold import clock
    from kinfold.access.facts import candidate_families_filter
    from kinfold.access.viewer import Viewer
    from kinfold.families.models import Family

    viewer = Viewer.of(c.user(username))
    assert viewer.membership is not None
    candidates = list(
        Family.objects.filter(candidate_families_filter(viewer, scope=scope)).values_list("pk", flat=True)
    )
    rows = {
        "membership": viewer.membership.pk,
        "organization": viewer.membership.organization_id,
        "limit": 25,
        "offset": 25 * (page - 1),
        "now": clock.now(),
        "week_end": clock.today() + timedelta(days=7),
    }
    page = c.floor_sql("caseload").replace("/* whose */", WHOSE[scope])
    return c.Floor([(page, rows), (c.floor_sql("consent_facts"), {"families": candidates})])


def family_floor(family_id: int) -> c.Floor:
    """The family page's content as one raw statement (``floor/family_page.sql``) and the family's policy facts."""
    return c.Floor.of(("family_page", {"family": family_id}), ("consent_facts", {"families": [family_id]}))


def measure_largest_organization(args: Any) -> c.PageResult:
    """The whole-organisation caseload of the organisation with the most families (issue 3 follow-up)."""
    username, org_name, in_scope = largest_organization_member()
    visible = caseload_size(username, "organization")
    n, w = max(5, args.requests // 5), min(args.warmup, 2)
    result = c.measure_page(
        c.client_for(username),
        "caseload, largest organisation",
        "/families/?scope=organization",
        f"{visible:,} families",
        requests=n,
        warmup=w,
        floor=caseload_floor(username, "organization"),
    )
    print(
        f"\nThe organisation with the most families: {org_name}, on the teams of {in_scope:,} families;\n"
        f"signed in as {username} (its member on the most teams), who may see {visible:,} of them "
        f"({n} requests after {w} warm-up):\n"
    )
    print(c.table(c.PAGE_HEADERS, c.page_rows([result])))
    return result


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument(
        "--organization-only",
        action="store_true",
        help="measure only the whole-organisation caseload of the organisation with the most families",
    )
    args = p.parse_args()
    c.prepare_database(c.database_url(args), reseed=args.reseed)
    c.ensure_region(args.families)
    if args.organization_only:
        c.header("Whole-organisation caseload", args.families, max(5, args.requests // 5), min(args.warmup, 2))
        c.print_sql([measure_largest_organization(args)], show_all=args.show_sql)
        return

    from django.utils.html import escape

    from kinfold.access.viewer import Viewer
    from kinfold.families.selectors import caseload_for

    n, w = args.requests, args.warmup
    big, small = c.BIG_COORDINATOR, c.SMALL_COORDINATOR
    big_size, small_size = caseload_size(big), caseload_size(small)
    org_size = caseload_size(big, "organization")
    first = caseload_for(viewer=Viewer.of(c.user(big))).families[0]
    first_name = escape(first.parent_name)
    term = first.parent_name.split()[-1]
    by_size = families_by_record_size(big)
    (little, little_notes, little_lines), (large, large_notes, large_lines) = by_size[0], by_size[-1]
    assert little.parent is not None and large.parent is not None
    last_page = -(-big_size // 25)

    c.header("Caseload and family pages (issue 2)", args.families, n, w)
    big_client, small_client = c.client_for(big), c.client_for(small)
    results = [
        c.measure_page(
            big_client,
            "caseload, first page",
            "/families/",
            f"{big_size} families",
            requests=n,
            warmup=w,
            expect=first_name,
            floor=caseload_floor(big),
        ),
        c.measure_page(
            big_client,
            f"caseload, page {last_page}",
            f"/families/?page={last_page}",
            f"{big_size} families",
            requests=n,
            warmup=w,
            floor=caseload_floor(big, page=last_page),
        ),
        c.measure_page(
            big_client,
            f"caseload, search {term!r}",
            f"/families/?q={term}",
            f"{big_size} families",
            requests=n,
            warmup=w,
            expect=first_name,
        ),
        c.measure_page(
            big_client,
            "family page, smallest record",
            f"/families/{little.pk}/",
            f"{little_notes} notes, {little_lines} lines",
            requests=n,
            warmup=w,
            expect=escape(little.parent.display_name),
            floor=family_floor(little.pk),
        ),
        c.measure_page(
            big_client,
            "family page, largest record",
            f"/families/{large.pk}/",
            f"{large_notes} notes, {large_lines} lines",
            requests=n,
            warmup=w,
            expect=escape(large.parent.display_name),
            floor=family_floor(large.pk),
        ),
        c.measure_page(
            big_client,
            "caseload, whole organisation",
            "/families/?scope=organization",
            f"{org_size:,} families",
            requests=max(5, n // 5),
            warmup=min(w, 2),
            floor=caseload_floor(big, "organization"),
        ),
    ]
    print(f"\nSigned in as {big} (care coordinator, {big_size} families; 25 rows a page):\n")
    print(c.table(c.PAGE_HEADERS, c.page_rows(results)))
    print(f"(the whole-organisation caseload: {max(5, n // 5)} requests)")

    small_first_family = caseload_for(viewer=Viewer.of(c.user(small))).families[0]
    small_term = small_first_family.parent_name.split()[-1]
    small_first = c.measure_page(
        small_client, "caseload, first page", "/families/", f"{small_size}", requests=n, warmup=w
    )
    small_search = c.count_queries(small_client, f"/families/?q={small_term}", escape(small_first_family.parent_name))
    print("\nQueries do not grow with caseload size (same pages, two coordinators):\n")
    print(
        c.table(
            ("page", f"{small} ({small_size} families)", f"{big} ({big_size} families)"),
            [
                ["caseload, first page: queries", small_first.queries.total, results[0].queries.total],
                ["caseload, first page: median ms", small_first.median, results[0].median],
                ["caseload, search a surname: queries", small_search.total, results[2].queries.total],
            ],
        )
    )
    print(f"  first page, {small} → {big}: {c.query_difference(small_first.queries, results[0].queries)}")
    print(f"  search, {small} → {big}: {c.query_difference(small_search, results[2].queries)}")
    print("\nQueries do not grow with the size of a family's record (two of her families):\n")
    print(
        c.table(
            (
                "page",
                f"smallest ({little_notes} notes, {little_lines} lines)",
                f"largest ({large_notes} notes, {large_lines} lines)",
            ),
            [
                ["family page: queries", results[3].queries.total, results[4].queries.total],
                ["family page: median ms", results[3].median, results[4].median],
            ],
        )
    )
    print(f"  smallest → largest: {c.query_difference(results[3].queries, results[4].queries)}")
    largest = measure_largest_organization(args)
    c.print_sql([*results, largest], show_all=args.show_sql)


if __name__ == "__main__":
    main()
