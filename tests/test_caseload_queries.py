"""The whole organisation's caseload stays fast as it grows: the same SQL statements for 5 families or 25,
every family decided from plain values (no consent, order or restriction rows built as model instances),
and the shown page's rows read as plain values too. ``bench/caseload.py`` measures it at 100,000 families."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kinfold import clock
from kinfold.access.facts import PolicyContext
from kinfold.consent.models import (
    ConsentDirective,
    ConsentVersion,
    CourtOrder,
    EmergencyAccess,
    Restriction,
    RestrictionStatus,
)
from kinfold.families import selectors, services
from kinfold.families.models import Family, Person, Sensitivity
from kinfold.organizations.models import Membership, Organization, OrganizationType
from tests.factories import OrganizationFactory, consent_team_wide, make_family, viewer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def court() -> Organization:
    return OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)


def add_families(coordinator: Membership, caseworker: Membership, court: Organization, start: int, n: int) -> None:
    """Families the caseworker's agency is on the team of. Every fifth has no consent, so its parent is hidden
    from the agency; each has a court order, an agreed restriction and the caseworker's expired emergency."""
    now = clock.now()
    for i in range(start, start + n):
        family = make_family(coordinator, given_name=f"Parent{i:02d}", family_name="Zed")
        services.care_team_member_add(
            viewer=viewer_of(coordinator), family=family, membership=caseworker, role="cps_caseworker"
        )
        if i % 5 != 4:
            consent_team_wide(family, by=coordinator)
        CourtOrder.objects.create(
            family=family,
            court=court,
            order_reference=f"FTC-2026-{i:04d}",
            issued_on=clock.today(),
            categories=["legal"],
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=90),
            created_by_org=court,
            sensitivity=Sensitivity.LEGAL,
        )
        Restriction.objects.create(
            family=family,
            disclosing_org=coordinator.organization,
            recipient_org=caseworker.organization,
            categories=["social_needs"],
            status=RestrictionStatus.AGREED,
            decided_at=now - timedelta(hours=1),
            created_by_org=coordinator.organization,
        )
        EmergencyAccess.objects.create(
            family=family,
            user=caseworker.user,
            membership=caseworker,
            reason="Unresponsive on arrival",
            declared_at=now - timedelta(days=2),
            expires_at=now - timedelta(days=2) + timedelta(hours=4),
        )


def steady(client: Client) -> None:
    """A request that writes her idle clock if it is due (at most every half-minute), so that the next request,
    the one counted, reads a page as every other request in the same half-minute does."""
    client.get(reverse("families:caseload"))


def test_the_organisation_caseload_makes_the_same_queries_for_5_or_25_families(coordinator, caseworker, court):
    client = Client()
    client.force_login(caseworker.user)

    def page() -> tuple[int, str]:
        steady(client)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("families:caseload"), {"scope": "organization"})
        assert response.status_code == 200
        return len(captured.captured_queries), response.content.decode()

    add_families(coordinator, caseworker, court, 0, 5)
    small, small_page = page()
    assert "Parent00 Zed" in small_page and "Parent04" not in small_page, "a family without consent is hidden"
    add_families(coordinator, caseworker, court, 5, 20)
    large, large_page = page()
    assert "Parent23 Zed" in large_page and "Parent24" not in large_page and "Parent19" not in large_page
    assert "20 families" in large_page, "hidden families are not counted"
    assert large == small


@contextmanager
def instances_built() -> Iterator[Counter[str]]:
    built: Counter[str] = Counter()

    def count(sender: type, **kwargs: object) -> None:
        built[sender.__name__] += 1

    post_init.connect(count)
    try:
        yield built
    finally:
        post_init.disconnect(count)


def test_the_organisation_caseload_decides_every_family_from_values_and_reads_only_the_page(
    coordinator, caseworker, court
):
    add_families(coordinator, caseworker, court, 0, 10)
    with instances_built() as built:
        caseload = selectors.caseload_for(viewer=viewer_of(caseworker), scope="organization")
    assert len(caseload) == 8
    policy_models = (ConsentDirective, ConsentVersion, CourtOrder, Restriction, EmergencyAccess, Family, Person)
    assert not {m.__name__ for m in policy_models} & set(built), built
    with instances_built() as built:
        page = caseload.families[2:5]
        rows = selectors.caseload_rows(viewer=viewer_of(caseworker), caseload=caseload, families=page)
    assert [f.parent_name for f in page] == ["Parent02 Zed", "Parent03 Zed", "Parent05 Zed"]
    assert [r.parent_name for r in rows] == ["Parent02 Zed", "Parent03 Zed", "Parent05 Zed"]
    assert all(r.coordinator is not None and r.coordinator.name for r in rows)
    # The rows are read as plain values: no family record, team place or person is built as a model instance.
    page_models = {"Family", "Person", "CareTeamMember", "PregnancyEpisode", "FamilyRelationship", "Membership"}
    assert not page_models & set(built), built


def test_the_policy_reads_a_versions_completeness_as_the_model_does(coordinator, caseworker, court):
    """The policy reads long texts by their first characters; a blank head is read in full."""
    family = make_family(coordinator)
    services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role="cps_caseworker"
    )
    png = "data:image/png;base64," + "iVBORw0KGgo" * 20
    variants = {
        "complete": ({}, True),
        "right to revoke: spaces only, long": ({"right_to_revoke": " " * 100}, False),
        "right to revoke: text after many spaces": ({"right_to_revoke": " " * 100 + "You may revoke."}, True),
        "drawn signature after many spaces": ({"signature_typed": "", "signature_drawn": " " * 100 + png}, True),
        "drawn signature: whitespace only, long": ({"signature_typed": "", "signature_drawn": " \n" * 80}, False),
        "drawn signature, no typed one": ({"signature_typed": "", "signature_drawn": png}, True),
        "no signature": ({"signature_typed": "", "signature_drawn": ""}, False),
        "no recipient": ({"recipient_classes": []}, False),
    }
    expected = {}
    for label, (changes, complete) in variants.items():
        directive = consent_team_wide(family, by=coordinator)
        version = directive.versions.get()
        ConsentVersion.objects.filter(pk=version.pk).update(**changes)
        version.refresh_from_db()
        assert (not version.missing_elements()) is complete, label
        expected[version.pk] = (label, complete)
    windows = PolicyContext.load(viewer_of(caseworker), [family.pk]).family(family.pk).versions
    assert {w.version_id: (expected[w.version_id][0], w.is_complete) for w in windows} == expected


WHOLE_TABLE = re.compile(r'FROM "organizations_organization"\s*(ORDER BY [^;]*)?$', re.IGNORECASE)


def test_no_page_reads_the_whole_organisations_table_so_nothing_grows_with_the_region(coordinator, caseworker, court):
    """Issue 15: the policy reads only the organisations a page's decisions name, never every organisation of the
    region; a region with 200 more organisations makes the pages read no more rows and no more statements."""
    client = Client()
    client.force_login(caseworker.user)
    add_families(coordinator, caseworker, court, 0, 3)
    family = Family.objects.order_by("pk").first()
    assert family is not None
    pages = [
        (reverse("families:caseload"), {"scope": "organization"}),
        (reverse("families:caseload"), {}),
        (reverse("families:detail", args=[family.pk]), {}),
    ]

    def read() -> list[tuple[int, str]]:
        out = []
        for url, query in pages:
            steady(client)
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url, query).status_code == 200
            statements = [q["sql"] for q in captured.captured_queries]
            assert not [s for s in statements if WHOLE_TABLE.search(s.strip())], statements
            out.append((len(statements), url))
        return out

    before = read()
    for n in range(200):
        Organization.objects.create(name=f"Elsewhere Agency {n:03d}", type=OrganizationType.COMMUNITY)
    assert read() == before


# Her own caseload, whatever its size: the session, her account with her membership, her unread notices; the candidates
# with their parents in one query; the policy's facts of the page's families (a fixed set of queries, one per kind of
# fact); the page's team places, pregnancies and children, one query each; the newest timeline lines; the referral
# and pathway columns (on PostgreSQL the facts, the rows and the columns go in one round trip); the organisations
# they name; the listing's audit event and the accounting of disclosures (on PostgreSQL one statement, committed by
# itself). 30 before the rows were read as plain values (issue 15); 27 while the session was written on every request
# (now only when her idle clock is half a minute old); 24 while her own organisation's facts were read apart from her
# membership; 22 while the event and the accounting were two INSERTs between BEGIN and COMMIT; 19 while her
# membership was read apart from her account.
CASELOAD_STATEMENTS = 18


def test_her_caseload_makes_the_same_few_statements_for_3_or_15_families(coordinator, caseworker, court):
    """Issue 15: the caseload reads each kind of thing its rows show in one flat query, whatever the number of
    families, and no more statements than ``CASELOAD_STATEMENTS`` (a new per-row read fails here)."""
    client = Client()
    client.force_login(coordinator.user)

    def page() -> tuple[list[str], str]:
        steady(client)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("families:caseload"))
        assert response.status_code == 200
        return [q["sql"] for q in captured.captured_queries], response.content.decode()

    add_families(coordinator, caseworker, court, 0, 3)
    small, small_page = page()
    assert "Parent00 Zed" in small_page and "Parent02 Zed" in small_page
    add_families(coordinator, caseworker, court, 3, 12)
    large, large_page = page()
    assert "Parent14 Zed" in large_page and "15 families" in large_page
    assert len(large) == len(small) <= CASELOAD_STATEMENTS, "\n".join(large)


def test_the_organisation_caseload_decides_only_as_far_as_the_page_shown(
    coordinator, caseworker, court, settings, monkeypatch
):
    """Issue 15, page first, then decide: her organisation's caseload decides candidates in growing batches only
    until the page asked for (and one family more) is filled; pages say "and more" until the end is reached, and
    then count exactly. Every page together lists exactly the families the whole decision lists, in order."""
    settings.KINFOLD_CASELOAD_PAGE_SIZE = 3
    monkeypatch.setattr(selectors.CaseloadFamilies, "FIRST_BATCH", 2)
    add_families(coordinator, caseworker, court, 0, 15)  # every fifth hidden: 12 she may see
    viewer = viewer_of(caseworker)
    everything = [f.pk for f in selectors.caseload_for(viewer=viewer, scope="organization").families]
    assert len(everything) == 12

    lazy = selectors.caseload_for(viewer=viewer, scope="organization").families
    assert lazy[:4] == [lazy[i] for i in range(4)]
    assert not lazy.complete, "the first page and one more did not need every candidate decided"

    client = Client()
    client.force_login(caseworker.user)
    seen: list[str] = []
    texts = []
    for number in range(1, 6):
        response = client.get(reverse("families:caseload"), {"scope": "organization", "page": number})
        assert response.status_code == 200
        html = response.content.decode()
        texts.append(html)
        seen += re.findall(r"(Parent\d\d Zed)", html)
    assert "Families 1 to 3, and more on the next pages." in texts[0]
    assert 'aria-label="Next page"' in texts[0] and "Last page" not in texts[0]
    assert "12 families." in texts[3], "the last page, once everything is decided, counts exactly"
    assert texts[4].count("Parent") == texts[3].count("Parent"), "a page past the end shows the last page"
    names = {f.pk: f.parent_name for f in selectors.caseload_for(viewer=viewer, scope="organization").families[:]}
    assert seen[:12] == [names[pk] for pk in everything]
    assert not {"Parent04 Zed", "Parent09 Zed", "Parent14 Zed"} & set(seen), "a hidden family is listed"


def test_a_compiled_query_reads_what_the_orm_reads_for_any_ids(coordinator, caseworker, court):
    """The policy's loaders run their SQL compiled once (PostgreSQL): each call with other ids reads exactly what
    Django's own query for those ids reads, values converted alike (timestamps, booleans, JSON read as text)."""
    from kinfold.access import facts

    add_families(coordinator, caseworker, court, 0, 4)
    ids = sorted(Family.objects.values_list("pk", flat=True))
    # One order names records of two kinds (its JSON list of objects is read as text too).
    CourtOrder.objects.filter(family_id=ids[0]).update(
        records=[{"type": "Note", "id": 7}, {"type": "ScreeningResult", "id": 12}], kinds=["notes"]
    )
    facts._COMPILED.clear()
    for chosen in (ids[:1], ids[1:], ids, [], [ids[0], 10**9]):
        by_orm = list(facts._team_places_query(facts.one_of(chosen)))
        assert facts.compiled_rows("team places", facts._team_places_query, chosen) == by_orm
        windows = facts._version_windows(chosen)
        assert sorted(w.version_id for _, w in windows) == sorted(
            ConsentVersion.objects.filter(directive__family_id__in=chosen).values_list("pk", flat=True)
        )
        assert all(w.purposes and w.categories for _, w in windows), "the JSON columns decoded"
        orders = {w.order_id: w for _, w in facts._order_windows(chosen)}
        assert [o.pk for o in CourtOrder.objects.filter(family_id__in=chosen)] == list(orders)
        for order in CourtOrder.objects.filter(family_id__in=chosen):
            window = orders[order.pk]
            assert window.categories == frozenset(order.categories) and window.kinds == frozenset(order.kinds)
            assert window.records == frozenset((str(r["type"]), r["id"]) for r in order.records)
            assert (window.valid_from, window.valid_until) == (order.valid_from, order.valid_until)
        restrictions = [r for _, r in facts._agreed_restrictions(chosen)]
        expected = Restriction.objects.filter(family_id__in=chosen, status=RestrictionStatus.AGREED)
        assert sorted((r.decided_at, tuple(sorted(r.categories))) for r in restrictions) == sorted(
            (r.decided_at, tuple(sorted(r.categories))) for r in expected
        )


def test_on_postgresql_the_caseloads_facts_and_rows_go_to_the_database_in_one_round_trip(
    coordinator, caseworker, court, monkeypatch
):
    """Issue 15: the policy's facts of the page and the rows it shows are sent together, in one psycopg pipeline
    (``compiled_batch``); each statement is still counted and logged. Elsewhere they run one by one."""
    from kinfold.access import facts

    add_families(coordinator, caseworker, court, 0, 3)
    client = Client()
    client.force_login(coordinator.user)
    steady(client)
    batches: list[int] = []
    pipelines: list[int] = []
    run_together = facts._run_together

    def spy(statements: list[tuple[str, list[object]]]) -> list[list[tuple[object, ...]]]:
        batches.append(len(statements))
        return run_together(statements)

    monkeypatch.setattr(facts, "_run_together", spy)
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = type(connection.connection)
        pipeline = raw.pipeline

        def counted(self: object, *args: object, **kwargs: object) -> object:
            pipelines.append(1)
            return pipeline(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(raw, "pipeline", counted)
    response = client.get(reverse("families:caseload"))
    assert response.status_code == 200 and "Parent02 Zed" in response.content.decode()
    if connection.vendor == "postgresql":
        # team places, versions, links, orders, restrictions, referrals handled; 4 row queries; 2 columns of apps above
        assert max(batches) >= 12, batches
        assert pipelines, "sent in a pipeline"
    else:
        assert not batches, "SQLite runs each query through the ORM"


def test_a_revoked_consent_hides_the_name_at_once_though_its_window_was_kept(coordinator, caseworker):
    """A version's window is kept between requests (``facts._version_window``) only for the same values: once the
    parent revokes her consent, the next page of the caseworker's caseload no longer shows her name."""
    from kinfold.consent import services as consent_services

    family = make_family(coordinator, given_name="Wilhelmina", family_name="Quist")
    services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role="cps_caseworker"
    )
    directive = consent_team_wide(family, by=coordinator)
    client = Client()
    client.force_login(caseworker.user)
    assert "Wilhelmina Quist" in client.get(reverse("families:caseload")).content.decode()
    assert "Wilhelmina Quist" in client.get(reverse("families:caseload")).content.decode()  # the kept window

    consent_services.consent_revoke(viewer=viewer_of(coordinator), directive=directive, method="written")
    assert "Wilhelmina Quist" not in client.get(reverse("families:caseload")).content.decode()


def test_her_candidates_compiled_by_her_membership_read_what_the_orm_reads(coordinator, caseworker, court):
    """Her own caseload's candidates are compiled with her membership as one value, not as ids (PostgreSQL plans
    such a statement once): for each person and either order they read what Django's query reads; on PostgreSQL,
    given ids, a query that takes none refuses them rather than ignore them."""
    from kinfold.access import facts

    add_families(coordinator, caseworker, court, 0, 3)
    facts._COMPILED.clear()
    for membership_id in (coordinator.pk, caseworker.pk, 10**9):
        for order, build in selectors._MY_CANDIDATES.items():
            by_orm = list(build(facts.one_of([]), membership_id))
            assert facts.compiled_rows(f"hers {order}", build, [], membership_id) == by_orm
            assert len(by_orm) == (3 if membership_id in (coordinator.pk, caseworker.pk) else 0)
    if connection.vendor == "postgresql":
        with pytest.raises(ValueError, match="takes no ids"):
            facts.compiled_rows("hers ('sort_name', 'pk')", selectors._MY_CANDIDATES[("sort_name", "pk")], [1], 1)
