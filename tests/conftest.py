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


def pytest_configure(config: pytest.Config) -> None:
    """Two things that make the suite faster and check nothing less.

    Passwords are hashed with Argon2 at its cheapest cost (``tests.support.QuickArgon2PasswordHasher``: some
    125 ms saved on every account the suite makes and every password it types); the deployment's hashers stay
    after it, so a hash they made still verifies.

    With ``-n`` (pytest-xdist's ``load`` scheduling), each worker is sent one item at a time (``--maxschedchunk
    1``, unless given) instead of a quarter of its share at once: with the longest items collected first (see
    ``pytest_collection_modifyitems``) the two workers share them from the start and the short ones fill in
    behind, instead of one worker being handed all the long ones (or finishing one alone at the end)."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = ["tests.support.QuickArgon2PasswordHasher", *settings.PASSWORD_HASHERS]
    get_hashers.cache_clear()  # type: ignore[attr-defined]
    get_hashers_by_algorithm.cache_clear()  # type: ignore[attr-defined]
    if getattr(config.option, "maxschedchunk", 0) is None:  # xdist is loaded, and no chunk was asked for
        config.option.maxschedchunk = 1


def _weight(item: pytest.Item) -> int:
    """How early an item runs: the canary's shards of generated worlds (20 to 60 seconds each), then its fixed
    worlds (20 to 40 seconds), then the other Hypothesis properties and the browser journeys (5 to 40 seconds),
    then the rest (mostly well under a second)."""
    hypothesis = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
    if item.path.name == "test_canary.py":
        return 0 if hypothesis else 1
    if hypothesis or item.get_closest_marker("browser") is not None:
        return 2
    return 3


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest items first: a stable sort, so each file keeps its order within a weight."""
    items.sort(key=_weight)


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
