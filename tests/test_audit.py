"""The audit trail: every read and write recorded, chained, append-only, and verifiable."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from kinfold.audit.models import AppendOnlyError, AuditChainHead, AuditEvent
from kinfold.audit.services import GENESIS_HASH, compute_hash, record_event, seal_pending, verify_chain
from kinfold.families import selectors
from tests.factories import make_family, viewer_of
from tests.support import set_audit_triggers

pytestmark = pytest.mark.django_db


def test_events_are_chained_by_sha256_over_the_previous_event(coordinator):
    first = record_event(actor=coordinator.user, action="view", record_type="Family", record_id=1)
    second = record_event(actor=coordinator.user, action="view", record_type="Family", record_id=2)
    seal_pending()
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.seal_seq == first.seal_seq + 1
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
    """Change a row directly in SQL, as an attacker with database access would, bypassing the triggers."""
    set_audit_triggers(enabled=False)
    with connection.cursor() as cur:
        cur.execute(sql, params)
    set_audit_triggers(enabled=True)


def test_verify_passes_on_an_intact_chain_and_names_the_first_tampered_row(coordinator, capsys):
    events = [record_event(actor=coordinator.user, action="view", record_id=i) for i in range(5)]
    seal_pending()
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
    seal_pending()
    for event in events:
        event.refresh_from_db()
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


# --- The chain off the request path: appended freely, sealed in order by one sealer ---------------------------


def test_appending_an_event_takes_no_lock_and_the_sealer_chains_it(coordinator, capsys):
    head_before = AuditChainHead.objects.filter(id=1).values_list("last_seq", "last_hash").first()
    event = record_event(actor=coordinator.user, action="view", record_id=1)
    assert (event.seal_seq, event.hash, event.prev_hash) == (None, None, None)
    # The head is untouched by a request: only the sealer moves it.
    assert AuditChainHead.objects.filter(id=1).values_list("last_seq", "last_hash").first() == head_before
    result = verify_chain()
    assert result.ok and result.unsealed >= 1 and result.oldest_unsealed_at is not None
    call_command("audit", "verify")
    assert "not sealed yet" in capsys.readouterr().out
    assert seal_pending() >= 1
    event.refresh_from_db()
    head = AuditChainHead.objects.get(id=1)
    assert (head.last_seq, head.last_hash, head.last_event_id) == (event.seal_seq, event.hash, event.pk)
    assert verify_chain().unsealed == 0
    call_command("audit", "seal")
    assert "Sealed 0 audit events" in capsys.readouterr().out


def test_the_database_seals_an_event_once_and_changes_nothing_else(coordinator):
    event = record_event(actor=coordinator.user, action="view")
    forged = ("f" * 64, "e" * 64)
    # Sealing while changing what it says is refused.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s, seal_seq = 999999, action = 'export' WHERE id = %s",
            [*forged, event.pk],
        )
    seal_pending()
    event.refresh_from_db()
    # A sealed event is never sealed again, nor "unsealed".
    for statement, params in (
        ("UPDATE audit_auditevent SET prev_hash = %s, hash = %s, seal_seq = 999999 WHERE id = %s", [*forged, event.pk]),
        ("UPDATE audit_auditevent SET prev_hash = NULL, hash = NULL, seal_seq = NULL WHERE id = %s", [event.pk]),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement, params)
    assert AuditEvent.objects.get(pk=event.pk).hash == event.hash


def test_a_sealer_that_dies_mid_batch_leaves_the_batch_unsealed_and_the_next_seals_each_event_once(
    coordinator, monkeypatch
):
    events = [record_event(actor=coordinator.user, action="view", record_id=i) for i in range(7)]
    from kinfold.audit import services as audit_services

    real = audit_services.compute_hash
    calls = {"n": 0}

    def dies_on_the_fourth(event, prev):
        calls["n"] += 1
        if calls["n"] == 4:
            raise SystemExit("the sealer is killed")
        return real(event, prev)

    monkeypatch.setattr(audit_services, "compute_hash", dies_on_the_fourth)
    with pytest.raises(SystemExit):
        seal_pending(batch_size=5)
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in events], seal_seq__isnull=True).count() == 7
    monkeypatch.setattr(audit_services, "compute_hash", real)
    assert seal_pending(batch_size=3) >= 7
    seqs = sorted(AuditEvent.objects.filter(pk__in=[e.pk for e in events]).values_list("seal_seq", flat=True))
    assert len(set(seqs)) == 7 and seqs == list(range(seqs[0], seqs[0] + 7))
    assert verify_chain().ok and verify_chain().unsealed == 0


def test_verify_names_a_sealed_event_removed_from_the_chain(coordinator):
    events = [record_event(actor=coordinator.user, action="view", record_id=i) for i in range(4)]
    seal_pending()
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    result = verify_chain()
    assert result.first_broken_id == events[2].pk and "missing" in result.reason
