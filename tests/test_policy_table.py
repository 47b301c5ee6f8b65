"""Every organisation type, every role and every sensitivity category, with no consent, order or emergency:
only the creating organisation's staff whose role the role table lets see the category see a record;
everyone from any other organisation is denied, for every purpose, even when they are on the care team.

The world is built once for the module inside a transaction that is rolled back before the tests run:
``decide`` answers in memory from each viewer's loaded ``PolicyContext``, so the 231 cases stay fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.db import transaction

from kinfold import clock
from kinfold.access.facts import PolicyContext
from kinfold.access.registry import RecordFacts
from kinfold.access.rules import decide
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import ROLE_TABLE_PATH, Purpose
from kinfold.families.models import CareTeam, CareTeamMember, Family, Person, Sensitivity
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role

# The module's world is built by a module-scoped fixture; the mark makes pytest-django set up the test
# database even when this file runs alone (it sets up only the databases that marked tests ask for).
pytestmark = pytest.mark.django_db

ORG_TYPES = list(OrganizationType.values)
ROLES = list(Role.values)
CATEGORIES = list(Sensitivity.values)
PURPOSES = list(Purpose.values)
# Read straight from the data file, not through the policy's own loader.
ROLE_CATEGORIES = {
    role: set(spec["categories"])
    for role, spec in yaml.safe_load(ROLE_TABLE_PATH.read_text(encoding="utf-8"))["roles"].items()
}


@dataclass
class Table:
    family_id: int
    # (organisation type, twin?) -> organisation id; the twin is a second organisation of the same type.
    orgs: dict[tuple[str, bool], int]
    viewers: dict[tuple[str, str], tuple[Viewer, PolicyContext]]


@pytest.fixture(scope="module")
def table(django_db_setup, django_db_blocker) -> Iterator[Table]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _build() -> Table:
    User = get_user_model()
    orgs: dict[tuple[str, bool], Organization] = {}
    for type_ in ORG_TYPES:
        for twin in (False, True):
            orgs[type_, twin] = Organization.objects.create(
                name=f"Table {type_} {'B' if twin else 'A'}",
                type=type_,
                is_part2_program=type_ in (OrganizationType.SUD_TREATMENT, OrganizationType.OPIOID_TREATMENT),
            )
    creator = orgs[OrganizationType.COMMUNITY, False]
    family = Family.objects.create(created_by_org=creator, sort_name="table maria")
    parent = Person.objects.create(family=family, given_name="Maria", family_name="Table", created_by_org=creator)
    Family.objects.filter(pk=family.pk).update(parent=parent)
    team = CareTeam.objects.create(family=family, created_by_org=creator)
    memberships: dict[tuple[str, str, bool], Membership] = {}
    for (type_, twin), organization in orgs.items():
        for role in ROLES:
            user = User.objects.create(username=f"table-{type_}-{int(twin)}-{role}", first_name=role, last_name=type_)
            memberships[type_, role, twin] = Membership.objects.create(user=user, organization=organization, role=role)
    joined = clock.now().replace(year=2020)
    CareTeamMember.objects.bulk_create(
        [
            CareTeamMember(
                care_team=team,
                membership=m,
                role=m.role,
                is_coordinator=i == 0,
                joined_at=joined,
                created_by_org=creator,
            )
            for i, m in enumerate(memberships.values())
        ]
    )
    viewers = {}
    for (type_, role, twin), m in memberships.items():
        if twin:
            continue
        user = User.objects.select_related("membership").get(pk=m.user_id)
        viewer = Viewer.of(user)
        viewers[type_, role] = (viewer, PolicyContext.load(viewer, [family.pk]))
    return Table(family_id=family.pk, orgs={k: o.pk for k, o in orgs.items()}, viewers=viewers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("org_type", ORG_TYPES)
def test_without_consent_only_the_creating_organisation_sees_a_record(table: Table, org_type: str, role: str):
    viewer, ctx = table.viewers[org_type, role]
    assert ctx.family(table.family_id).on_team(viewer.membership_id, clock.now()), "every viewer is on the team"
    own_org = table.orgs[org_type, False]
    at = clock.now()
    wrong = []
    for (creator_type, twin), creator_id in table.orgs.items():
        for category in CATEGORIES:
            facts = RecordFacts(family_id=table.family_id, created_by_org_id=creator_id, category=category)
            expected = creator_id == own_org and category in ROLE_CATEGORIES[role]
            for purpose in PURPOSES:
                d = decide(viewer, facts, purpose, at, ctx)
                if d.permitted != expected:
                    who = "own organisation" if creator_id == own_org else f"{creator_type}{' (twin)' if twin else ''}"
                    wrong.append(
                        f"{role} at a {org_type} organisation, {category} record by {who}, purpose {purpose}: "
                        f"expected {'permit' if expected else 'deny'}, got rule {d.rule} ({d.reason})"
                    )
                elif expected and (d.rule != "1" or d.shows_redisclosure_notice or d.is_disclosure):
                    wrong.append(f"{role}/{org_type}/{category}/{purpose}: own record should be rule 1, no notice")
    assert not wrong, f"{len(wrong)} wrong decisions, e.g.:\n" + "\n".join(wrong[:15])


def test_the_table_covers_every_type_role_and_category(table: Table):
    assert len(table.viewers) == len(ORG_TYPES) * len(ROLES)
    assert set(ROLE_CATEGORIES) == set(ROLES)
    assert len(ORG_TYPES) == 11 and len(CATEGORIES) == 7
