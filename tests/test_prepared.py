"""Issue 15: the family page's queries compiled once per process (``kinfold.prepared``) read exactly what Django's
own queries read: the same rows in the same order, every field converted alike, the same related rows joined
(``select_related``) and prefetched.

The world of the query-count test (``tests/test_route_queries.py``: every kind of record, two rounds of them) is
built once; the family's page is asked by her coordinator and by the CPS caseworker on her team, which runs every
prepared query of the page. Then each query is run again through ``prepared_list`` and through the ORM, for the
world's family, the decoy family and a family that does not exist. On SQLite ``prepared_list`` is the ORM itself,
so the comparison is trivial there; on PostgreSQL it is the point.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model
from django.test import Client

from kinfold import prepared
from tests.test_canary import quiet_refusals, rolled_back
from tests.test_route_queries import WORLD, build, grow


def _values(obj: Model, depth: int = 0) -> dict[str, Any]:
    """Every concrete field's value, and (two levels deep) the related rows joined or prefetched with it."""
    out: dict[str, Any] = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    if depth < 2:
        for name, related in sorted(obj._state.fields_cache.items()):
            out[f"joined:{name}"] = None if related is None else _values(related, depth + 1)
        for name, rows in sorted(getattr(obj, "_prefetched_objects_cache", {}).items()):
            out[f"prefetched:{name}"] = [_values(r, depth + 1) for r in rows]
    return out


def test_a_prepared_query_reads_what_the_orm_reads(db: Any) -> None:
    with rolled_back(), quiet_refusals():
        w = build(WORLD)
        grow(w, 0)
        grow(w, 1)
        prepared.BUILDERS.clear()
        connections[DEFAULT_DB_ALIAS].__dict__.pop("_kinfold_prepared", None)
        for key in ("coord", "cps"):
            client = Client()
            client.force_login(w.staff[key].user)
            page = client.get(f"/families/{w.family.pk}/")
            assert page.status_code == 200, key
        page_keys = {"families.open", "families.members", "families.timeline", "notes.family", "consent.family"}
        assert page_keys <= set(prepared.BUILDERS), sorted(prepared.BUILDERS)
        compared = 0
        for key, make in sorted(prepared.BUILDERS.items()):
            for family_id in (w.family.pk, w.decoy.pk, 10**9):
                by_orm = [_values(o) for o in make(family_id)]
                by_prepared = [_values(o) for o in prepared.prepared_list(key, make, family_id)]
                assert by_prepared == by_orm, f"{key} for family {family_id}"
                compared += len(by_orm)
        assert compared > 100, "the world's family has records of every kind"
        if connection.vendor == "postgresql":
            compiled = connections[DEFAULT_DB_ALIAS].__dict__["_kinfold_prepared"]
            assert page_keys <= {k for k, entry in compiled.items() if entry is not None}, "compiled, not the ORM"


def test_one_key_names_one_query(db: Any) -> None:
    from kinfold.notes.models import Note

    def first(family_id: Any) -> Any:
        return Note.objects.filter(family_id=family_id)

    def second(family_id: Any) -> Any:
        return Note.objects.filter(family_id=family_id).order_by("pk")

    prepared.prepared_list("test.one key", first, 1)
    try:
        prepared.prepared_list("test.one key", second, 1)
    except ValueError as error:
        assert "one key" in str(error)
    else:
        raise AssertionError("a second query under the same key was run")
    finally:
        prepared.BUILDERS.pop("test.one key", None)


def test_on_postgresql_the_page_statements_are_planned_once_per_connection(db: Any) -> None:
    """Each prepared query is a server-side prepared statement on PostgreSQL (planned once per connection), unless
    prepared statements are turned off (``KINFOLD_DB_PREPARED_STATEMENTS=0``, for a pooler in transaction mode); its
    statements stay visible to Django's query log either way, with their values."""
    import pytest
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    from kinfold.notes.models import Note

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")

    def notes(family_id: Any) -> Any:
        return Note.objects.filter(family_id=family_id).order_by("-pk")[:3]

    def server_statements() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0] for row in cursor.fetchall()}

    try:
        with override_settings(DB_PREPARED_STATEMENTS=False):
            prepared.prepared_list("test.notes off", notes, 4242)
        assert not any('"notes_note"' in s for s in server_statements())
        with CaptureQueriesContext(connection) as captured:
            prepared.prepared_list("test.notes", notes, 4242)
            prepared.prepared_list("test.notes", notes, 4343)
        assert [q["sql"].count("4242") + 2 * q["sql"].count("4343") for q in captured.captured_queries] == [1, 2]
        assert any('"notes_note"' in s for s in server_statements())
    finally:
        prepared.BUILDERS.pop("test.notes", None)
        prepared.BUILDERS.pop("test.notes off", None)


def test_on_postgresql_timestamps_are_read_in_c_as_the_same_utc_datetimes(db: Any) -> None:
    """``prepared.utc_timestamps_in_c``: a new PostgreSQL connection reads ``timestamptz`` with psycopg's loader (C
    where psycopg has it), and every value is the aware ``datetime`` in ``datetime.UTC`` that Django's own loader
    gives: the instant written, to the microsecond, also for a value stored from another zone; NULL stays None."""
    import datetime
    import zoneinfo

    import psycopg
    import pytest

    from kinfold.audit.models import AuditEvent
    from kinfold.audit.services import record_event

    if connection.vendor != "postgresql":
        pytest.skip("the loader is PostgreSQL's")
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, psycopg.pq.Format.TEXT)  # timestamptz
    assert loader is prepared._UtcTimestamptzLoader and loader.timezone is datetime.UTC
    if psycopg.pq.__impl__ in ("c", "binary"):
        assert type(loader(1184, connection.connection)).__module__.startswith("psycopg_binary")
    chicago = datetime.datetime(2026, 3, 8, 1, 59, 59, 999999, tzinfo=zoneinfo.ZoneInfo("America/Chicago"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::timestamptz, NULL::timestamptz, '1900-01-01 00:00:00.000001+05:30'::timestamptz", [chicago]
        )
        at, nothing, old = cursor.fetchone()
    assert at == chicago and at.tzinfo is datetime.UTC and at.utcoffset() == datetime.timedelta(0)
    assert nothing is None
    assert old == datetime.datetime(1899, 12, 31, 18, 30, 0, 1, tzinfo=datetime.UTC)
    record_event(actor=None, action="view", record_type="Test")
    event = AuditEvent.objects.order_by("-pk").first()
    assert event is not None and event.occurred_at.tzinfo is datetime.UTC


def test_rows_written_as_one_json_document_read_back_as_bulk_create_writes_them(db: Any) -> None:
    """``insert_rows`` (the accounting of disclosures' writer) stores what ``bulk_create`` stores: every column, the
    microseconds of a timestamp, a name in another script, an empty and a NULL value, nested JSON; one row or many.
    On SQLite it is ``bulk_create``; on PostgreSQL one statement, whatever the number of rows."""
    from datetime import UTC, datetime, timedelta

    from django.test.utils import CaptureQueriesContext

    from kinfold.consent.models import Disclosure
    from tests.factories import OrganizationFactory, UserFactory, make_family, staff

    org, other = OrganizationFactory(), OrganizationFactory()
    coordinator = staff(org, "care_coordinator")
    family = make_family(coordinator)
    user = UserFactory()
    at = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)

    def rows(n: int, channel: str) -> list[Disclosure]:
        return [
            Disclosure(
                occurred_at=at + timedelta(microseconds=i),
                family_id=family.pk,
                recipient_user=user if i % 2 else None,
                recipient_name="Ñandú Ğülşen 李" if i % 2 else "",
                recipient_org=org,
                disclosing_org=other,
                purpose="care_coordination",
                rule="2",
                channel=channel,
                categories=["contact", "general_health"][: i % 3],
                records=[{"type": "Note", "id": i, "label": 'note "quoted" \\ and \' apostrophe', "kind": None}],
            )
            for i in range(n)
        ]

    def read(channel: str) -> list[dict[str, Any]]:
        fields = [f.attname for f in Disclosure._meta.concrete_fields if f.attname != "id"]
        return list(Disclosure.objects.filter(channel=channel).order_by("occurred_at").values(*fields))

    for n in (1, 5):
        Disclosure.objects.bulk_create(rows(n, f"orm{n}"))
        with CaptureQueriesContext(connection) as captured:
            prepared.insert_rows(rows(n, f"json{n}"))
        by_orm, by_json = read(f"orm{n}"), read(f"json{n}")
        assert [{**r, "channel": ""} for r in by_json] == [{**r, "channel": ""} for r in by_orm]
        assert len(by_json) == n and by_json[-1]["occurred_at"] == at + timedelta(microseconds=n - 1)
        if connection.vendor == "postgresql":
            assert len(captured.captured_queries) == 1 and "jsonb_to_recordset" in captured.captured_queries[0]["sql"]
    prepared.insert_rows([])
    # With set_ids each row gets its own id, in order (the audit trail's events are written so).
    numbered = rows(3, "ids")
    prepared.insert_rows(numbered, set_ids=True)
    stored = dict(Disclosure.objects.filter(channel="ids").values_list("pk", "occurred_at"))
    assert [stored[row.pk] for row in numbered] == [row.occurred_at for row in numbered]


def test_an_audit_event_is_written_as_an_orm_save_writes_it(db: Any) -> None:
    """``record_event`` writes through ``insert_rows``: a blank client address (gunicorn on a unix socket gives "")
    is stored as NULL, an address as itself, the detail as JSON, the time to the microsecond, and the event has its
    id."""
    from datetime import UTC, datetime

    from kinfold.audit.models import AuditEvent
    from kinfold.audit.services import record_event
    from tests.factories import UserFactory

    user = UserFactory()
    at = datetime(2026, 12, 6, 9, 30, 15, 654321, tzinfo=UTC)
    blank = record_event(actor=user, action="view", record_id=7, detail={"ids": [1, 2]}, at=at, client_address="")
    v6 = record_event(actor=user, action="view", client_address="2001:db8::1")
    v4 = record_event(actor=None, action="view", client_address="203.0.113.9")
    unix_socket = AuditEvent(occurred_at=at, action="view", client_address="")  # as the request context gives it
    prepared.insert_rows([unix_socket], set_ids=True)
    assert AuditEvent.objects.get(pk=unix_socket.pk).client_address is None
    stored = {e.pk: e for e in AuditEvent.objects.filter(pk__in=[blank.pk, v6.pk, v4.pk])}
    assert stored[blank.pk].client_address is None and stored[blank.pk].detail == {"ids": [1, 2]}
    assert stored[blank.pk].occurred_at == at and stored[blank.pk].record_id == "7"
    assert stored[v6.pk].client_address == "2001:db8::1" and stored[v4.pk].client_address == "203.0.113.9"
    assert stored[v4.pk].actor_id is None and stored[v6.pk].actor_username == user.username


def test_an_event_and_its_accounting_are_written_together_or_not_at_all(db: Any) -> None:
    """``insert_together`` (a page's audit event with the accounting of what it disclosed): on PostgreSQL one
    statement, so outside a transaction it commits by itself in one round trip; every row as ``insert_rows`` writes
    it; and when one row is refused, nothing of either group is kept."""
    from datetime import UTC, datetime

    from django.db import IntegrityError, transaction
    from django.test.utils import CaptureQueriesContext

    from kinfold.audit.models import AuditEvent
    from kinfold.audit.services import new_event
    from kinfold.consent.models import Disclosure
    from tests.factories import OrganizationFactory, UserFactory, make_family, staff

    org = OrganizationFactory()
    family = make_family(staff(org, "care_coordinator"))
    user = UserFactory()
    at = datetime(2026, 12, 6, 21, 5, 7, 123456, tzinfo=UTC)

    def disclosure(channel: str | None) -> Disclosure:
        return Disclosure(
            occurred_at=at,
            family_id=family.pk,
            recipient_user=user,
            recipient_name="Ana Rivera",
            recipient_org=org,
            disclosing_org=org,
            purpose="care_coordination",
            rule="2",
            channel=channel,
            categories=["contact"],
            records=[{"type": "Person", "id": 1, "category": "contact", "kind": None, "label": "parent's name"}],
        )

    event = new_event(actor=user, action="list", record_type="Family", detail={"family_ids": [family.pk]}, at=at)
    with CaptureQueriesContext(connection) as captured:
        prepared.insert_together([event], [disclosure("together"), disclosure("together")])
    if connection.vendor == "postgresql":
        assert len(captured.captured_queries) == 1 and captured.captured_queries[0]["sql"].startswith("WITH w0 AS")
    stored = AuditEvent.objects.get(record_type="Family", detail__family_ids=[family.pk])
    assert stored.occurred_at == at and stored.actor_id == user.pk and stored.client_address is None
    assert Disclosure.objects.filter(channel="together", occurred_at=at, recipient_user=user).count() == 2

    # A row the database refuses (a disclosure without its channel): neither the event nor the other row is kept.
    refused = new_event(actor=user, action="list", record_type="Refused", at=at)
    with pytest.raises(IntegrityError), transaction.atomic():
        prepared.insert_together([refused], [disclosure("kept?"), disclosure(None)])
    assert not AuditEvent.objects.filter(record_type="Refused").exists()
    assert not Disclosure.objects.filter(channel="kept?").exists()
    prepared.insert_together([], [])  # nothing to write: nothing written, no error
