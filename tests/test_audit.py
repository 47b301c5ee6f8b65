"""The audit trail: every read and write recorded, chained, append-only, and verifiable."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from kinfold.audit.models import AppendOnlyError, AuditEvent
from kinfold.audit.services import GENESIS_HASH, compute_hash, record_event, verify_chain
from kinfold.families import selectors
from tests.factories import make_family, viewer_of

pytestmark = pytest.mark.django_db


def test_events_are_chained_by_sha256_over_the_previous_event(coordinator):
    first = record_event(actor=coordinator.user, action="view", record_type="Family", record_id=1)
    second = record_event(actor=coordinator.user, action="view", record_type="Family", record_id=2)
    assert first.prev_hash == GENESIS_HASH or AuditEvent.objects.filter(hash=first.prev_hash).exists()
    assert second.prev_hash == first.hash
    assert second.hash == compute_hash(second, first.hash)
    assert len(second.hash) == 64


def test_event_records_who_from_which_organisation_what_and_purpose(coordinator):
    event = record_event(
        actor=coordinator.user,
        action="view",
        record_type="Family",
        record_id=7,
        family_id=7,
        purpose="care_coordination",
        client_address="10.1.2.3",
    )
    event.refresh_from_db()
    assert event.actor_username == coordinator.user.username
    assert event.actor_org_name == coordinator.organization.name
    assert (event.action, event.record_type, event.record_id, event.purpose) == (
        "view",
        "Family",
        "7",
        "care_coordination",
    )
    assert event.client_address == "10.1.2.3"
    assert event.outcome == "success"


def test_orm_refuses_to_update_or_delete_an_event(coordinator):
    event = record_event(actor=coordinator.user, action="view")
    event.action = "delete"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="delete")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_database_trigger_refuses_raw_sql_update_and_delete(coordinator):
    event = record_event(actor=coordinator.user, action="view")
    for statement in (
        "UPDATE audit_auditevent SET action = 'export' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "view"


def _tamper(sql: str, params: list[object]) -> None:
    """Change a row directly in SQL, as an attacker with database access would, bypassing the trigger."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
            cur.execute(sql, params)
            cur.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only")
        else:
            cur.execute("DROP TRIGGER audit_auditevent_no_update")
            cur.execute(sql, params)
            cur.execute(
                "CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END;"
            )


def test_verify_passes_on_an_intact_chain_and_names_the_first_tampered_row(coordinator, capsys):
    events = [record_event(actor=coordinator.user, action="view", record_id=i) for i in range(5)]
    assert verify_chain().ok
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out

    _tamper("UPDATE audit_auditevent SET actor_username = 'someone-else' WHERE id = %s", [events[2].pk])
    result = verify_chain()
    assert not result.ok
    assert result.first_broken_id == events[2].pk
    with pytest.raises(CommandError, match=f"broken at event {events[2].pk}"):
        call_command("audit", "verify")


def test_verify_catches_a_rewritten_hash_by_the_broken_link_that_follows(coordinator):
    events = [record_event(actor=coordinator.user, action="view", record_id=i) for i in range(4)]
    forged = events[1]
    forged.actor_username = "forger"
    new_hash = compute_hash(forged, forged.prev_hash)
    _tamper("UPDATE audit_auditevent SET actor_username = 'forger', hash = %s WHERE id = %s", [new_hash, forged.pk])
    result = verify_chain()
    assert result.first_broken_id == events[2].pk
    assert "link" in result.reason


def test_viewing_a_family_page_and_every_write_are_audited(coordinator, caseworker):
    family = make_family(coordinator)
    assert AuditEvent.objects.filter(action="create", record_type="Family", record_id=str(family.pk)).exists()
    before = AuditEvent.objects.count()
    selectors.family_detail(viewer=viewer_of(coordinator), family_id=family.pk)
    viewed = AuditEvent.objects.order_by("-pk").first()
    assert AuditEvent.objects.count() == before + 1
    assert viewed is not None
    assert (viewed.action, viewed.record_type, viewed.family_id, viewed.outcome) == (
        "view",
        "Family",
        family.pk,
        "success",
    )
    assert viewed.actor_org_id == coordinator.organization_id
