"""Shared fixtures. The database is whichever KINFOLD_DATABASE_URL names (SQLite by default);
`make test` runs the whole suite once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection

from kinfold.organizations.models import Membership, OrganizationType, Role
from tests.factories import OrganizationFactory, staff


@pytest.fixture
def community_org():
    return OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)


@pytest.fixture
def cps_org():
    return OrganizationFactory(name="Lakeview County Child Protective Services", type=OrganizationType.CHILD_WELFARE)


@pytest.fixture
def treatment_org():
    return OrganizationFactory(name="Hope Recovery Center", type=OrganizationType.OPIOID_TREATMENT)


@pytest.fixture
def coordinator(community_org) -> Membership:
    return staff(community_org, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")


@pytest.fixture
def caseworker(cps_org) -> Membership:
    return staff(cps_org, Role.CPS_CASEWORKER, user__first_name="Carl", user__last_name="Jensen")


@pytest.fixture
def outsider() -> Membership:
    org = OrganizationFactory(name="Unrelated Food Pantry", type=OrganizationType.COMMUNITY)
    return staff(org, Role.CARE_COORDINATOR, user__first_name="Olive", user__last_name="Stranger")


@pytest.fixture
def db_vendor() -> str:
    return connection.vendor
