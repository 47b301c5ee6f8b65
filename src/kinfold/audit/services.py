"""Writing and checking the audit trail. Callers pass who and what; the request context adds where from."""

from __future__ import annotations

import contextvars
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from kinfold.audit.models import Action, AuditChainHead, AuditEvent, Outcome
from kinfold.prepared import insert_rows

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class RequestContext:
    client_address: str | None = None


_request_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "kinfold_audit_request", default=None
)


def set_request_context(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _request_context.set(ctx)


def reset_request_context(token: contextvars.Token[RequestContext | None]) -> None:
    _request_context.reset(token)


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "actor_org_id": event.actor_org_id,
        "actor_org_name": event.actor_org_name,
        "action": event.action,
        "record_type": event.record_type,
        "record_id": event.record_id,
        "family_id": event.family_id,
        "purpose": event.purpose,
        "outcome": event.outcome,
        "client_address": event.client_address,
        "detail": event.detail,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent, prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + _canonical(event)).hexdigest()


def new_event(
    *,
    actor: Any,
    action: Action | str,
    record_type: str = "",
    record_id: object = "",
    family_id: int | None = None,
    purpose: str = "",
    outcome: Outcome | str = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """One event, not yet written: ``record_event`` appends it, or ``RecordGate.record_disclosures(events=…)`` with
    the accounting of what the page disclosed, in one statement."""
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    username = actor.get_username() if actor is not None and actor_id is not None else ""
    membership = getattr(actor, "membership", None) if actor_id is not None else None
    org = getattr(membership, "organization", None)
    event = AuditEvent(
        occurred_at=at or timezone.now(),
        actor_id=actor_id,
        actor_username=username,
        actor_org_id=getattr(org, "pk", None),
        actor_org_name=getattr(org, "name", ""),
        action=str(action),
        record_type=record_type,
        record_id=str(record_id) if record_id not in (None, "") else "",
        family_id=family_id,
        purpose=purpose,
        outcome=str(outcome),
        client_address=client_address or getattr(_request_context.get(), "client_address", None),
        detail=json.loads(json.dumps(detail or {}, default=str)),
    )
    return event


def record_event(
    *,
    actor: Any,
    action: Action | str,
    record_type: str = "",
    record_id: object = "",
    family_id: int | None = None,
    purpose: str = "",
    outcome: Outcome | str = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    client_address: str | None = None,
) -> AuditEvent:
    """Append one event (the sealer chains it, ``seal_pending``). ``actor`` is a user (or None for the system)."""
    event = new_event(
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=record_id,
        family_id=family_id,
        purpose=purpose,
        outcome=outcome,
        detail=detail,
        at=at,
        client_address=client_address,
    )
    # Appended freely: no lock, so requests never wait on one another here. The sealer chains it moments later.
    # One prepared statement on PostgreSQL (an ORM save compiled the INSERT again on every request).
    insert_rows([event], set_ids=True)
    return event


def record_events(*, actor: Any, action: Action | str, events: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several events by one actor in one statement (a page that reads records of several families
    writes an event per record, each with its family): each of ``events`` gives ``record_event``'s other
    arguments."""
    built = [new_event(actor=actor, action=action, **fields) for fields in events]
    return AuditEvent.objects.bulk_create(built) if built else []


def seal_pending(*, batch_size: int = 2000) -> int:
    """Seal the unsealed events, oldest first, into the hash chain: each gets the next place (``seal_seq``), a
    link to the one before and its hash. One sealer at a time (it alone locks the chain head); a batch is one
    transaction, so a sealer killed mid-batch leaves that batch unsealed for the next run, never half-sealed,
    and an event is sealed once only (the database refuses a second seal). Returns how many it sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(
                id=1, defaults={"last_hash": GENESIS_HASH}
            )
            batch = list(AuditEvent.objects.filter(seal_seq__isnull=True).order_by("pk")[:batch_size])
            if not batch:
                return sealed
            prev, seq, rows = head.last_hash, head.last_seq, []
            for event in batch:
                seq += 1
                digest = compute_hash(event, prev)
                rows.append((prev, digest, seq, event.pk))
                prev = digest
            with connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE audit_auditevent SET prev_hash = %s, hash = %s, seal_seq = %s "
                    "WHERE id = %s AND seal_seq IS NULL",
                    rows,
                )
            AuditChainHead.objects.filter(id=1).update(last_hash=prev, last_event_id=batch[-1].pk, last_seq=seq)
            sealed += len(batch)
        if len(batch) < batch_size:
            return sealed


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    # The unsealed tail: events appended and not yet chained (the sealer runs every few seconds).
    unsealed: int = 0
    oldest_unsealed_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain(*, batch_size: int = 5000) -> VerifyResult:
    """Walk the chain in the order it was sealed; name the first event whose place, link or content does not
    match, and say how long the unsealed tail is."""
    head = AuditChainHead.objects.filter(id=1).first()
    tail = AuditEvent.objects.filter(seal_seq__isnull=True)
    unsealed = tail.count()
    oldest = tail.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    prev = GENESIS_HASH
    checked = 0
    while True:
        batch = list(AuditEvent.objects.filter(seal_seq__gt=checked).order_by("seal_seq")[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.seal_seq != checked + 1:
                return VerifyResult(
                    checked, event.pk, "the event before it is missing from the chain", unsealed, oldest
                )
            if event.prev_hash != prev:
                return VerifyResult(
                    checked, event.pk, "its link to the previous event does not match", unsealed, oldest
                )
            if compute_hash(event, prev) != event.hash:
                return VerifyResult(checked, event.pk, "its content no longer matches its hash", unsealed, oldest)
            prev = event.hash
            checked += 1
    if head is not None and (head.last_hash != prev or head.last_seq != checked):
        return VerifyResult(checked, head.last_event_id, "the newest event is missing from the chain", unsealed, oldest)
    return VerifyResult(checked, unsealed=unsealed, oldest_unsealed_at=oldest)


F = TypeVar("F", bound=Callable[..., Any])


class Refused(PermissionDenied):
    """A refusal whose audit event must outlive the rolled-back transaction of the write it refused."""

    def __init__(self, message: str, audit: dict[str, Any]) -> None:
        super().__init__(message)
        self.audit = audit


def atomic_write(func: F) -> F:
    """``transaction.atomic`` for a service that writes, except that a ``Refused`` is audited after the
    rollback, so every refusal stays recorded while the refused write leaves nothing behind."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except Refused as refused:
            record_event(**refused.audit)
            raise

    return cast(F, wrapper)
