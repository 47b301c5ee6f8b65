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
from django.db import transaction
from django.utils import timezone

from kinfold.audit.models import Action, AuditChainHead, AuditEvent, Outcome

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
    """Append one event to the chain. ``actor`` is a user (or None for the system)."""
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
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1, defaults={"last_hash": GENESIS_HASH})
        event.prev_hash = head.last_hash
        event.hash = compute_hash(event, head.last_hash)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(id=1).update(last_hash=event.hash, last_event_id=event.pk)
    return event


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    first_broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


def verify_chain(*, batch_size: int = 5000) -> VerifyResult:
    """Walk the chain from the first event; name the first event whose link or content does not match."""
    prev = GENESIS_HASH
    checked = 0
    last_pk = 0
    while True:
        batch = list(AuditEvent.objects.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.prev_hash != prev:
                return VerifyResult(checked, event.pk, "its link to the previous event does not match")
            if compute_hash(event, prev) != event.hash:
                return VerifyResult(checked, event.pk, "its content no longer matches its hash")
            prev = event.hash
            checked += 1
            last_pk = event.pk
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and head.last_hash != prev:
        return VerifyResult(checked, head.last_event_id, "the newest event is missing from the chain")
    return VerifyResult(checked)


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
