"""Shared fixtures. The database is whichever KINFOLD_DATABASE_URL names (SQLite by default);
`make test` runs the whole suite once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from kinfold.organizations.models import Membership, OrganizationType, Role
from tests.factories import OrganizationFactory, staff
from tests.support import SmtpServer, free_port, set_audit_triggers, use_smtp


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


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on a free local port, with Django's SMTP backend pointed at it."""
    from aiosmtpd.controller import Controller

    server = SmtpServer(host="127.0.0.1", port=free_port())
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    use_smtp(settings, server.port)
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def _triggers_back_after_flush(django_db_blocker: Any) -> Iterator[None]:
    # Set up before transactional_db, so torn down after its flush.
    yield
    with django_db_blocker.unblock():
        set_audit_triggers(enabled=True)


@pytest.fixture
def committing_db(_triggers_back_after_flush: None, transactional_db: None, django_db_blocker: Any) -> Iterator[None]:
    """A database whose transactions commit (on_commit callbacks run), emptied by a flush afterwards."""
    yield
    with django_db_blocker.unblock():
        set_audit_triggers(enabled=False)
