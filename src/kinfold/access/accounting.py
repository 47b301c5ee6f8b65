"""accounting.py — the writer of the accounting of disclosures (42 CFR 2.24; 45 CFR 164.528): one
``Disclosure`` row per family, disclosing organisation and basis, for what a gate showed to someone outside
the creating organisation. The only family data the door writes.

Break-the-glass has a duty of its own (42 CFR 2.51(c): each disclosing organisation's privacy officers are
told when its records are first opened); the consent feature subscribes to it with
``on_emergency_records_opened``, so the door imports no feature app.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from kinfold.access.registry import RecordFacts
from kinfold.access.rules import Decision
from kinfold.access.viewer import Viewer
from kinfold.audit.models import Action, AuditEvent
from kinfold.audit.services import record_event
from kinfold.consent.models import Disclosure
from kinfold.prepared import insert_together


@dataclass
class Shown:
    """A record whose content a gate showed under a disclosure rule (2 to 4)."""

    facts: RecordFacts
    decision: Decision
    label: str


# (emergency id, disclosing organisation id) -> the (type, id) of the records first opened on this page
EmergencyOpened = dict[tuple[int, int], set[tuple[str, int]]]
_emergency_listeners: list[Callable[..., None]] = []


def on_emergency_records_opened(listener: Callable[..., None]) -> None:
    """``listener(opened=..., at=...)`` runs inside the accounting's transaction when an emergency opened
    records of some organisations."""
    if listener not in _emergency_listeners:
        _emergency_listeners.append(listener)


def disclosures_record(
    *,
    viewer: Viewer,
    purpose: str,
    shown: Sequence[Shown],
    at: datetime,
    channel: str,
    events: Sequence[AuditEvent] = (),
) -> int:
    """One Disclosure row per family, disclosing organisation and basis: who received what, when, and why. ``events``
    (``new_event``: the page's own audit event) are written with them, all or none: on PostgreSQL in one statement
    (``insert_together``), unless the page opened records in an emergency (its events and listeners write more)."""
    if not shown:
        insert_together(events)
        return 0
    assert viewer.membership is not None
    groups: dict[tuple[int, int, str, int | None, int | None, int | None], list[Shown]] = defaultdict(list)
    for item in shown:
        d = item.decision
        key = (
            item.facts.family_id,
            item.facts.created_by_org_id,
            d.rule,
            d.consent_version_id,
            d.court_order_id,
            d.emergency_id,
        )
        groups[key].append(item)
    rows = []
    name = viewer.membership.display_name
    for (family_id, org_id, rule, version_id, order_id, emergency_id), items in groups.items():
        rows.append(
            Disclosure(
                occurred_at=at,
                family_id=family_id,
                recipient_user=viewer.user,
                recipient_name=name,
                recipient_org_id=viewer.membership.organization_id,
                disclosing_org_id=org_id,
                purpose=purpose,
                rule=rule,
                consent_version_id=version_id,
                court_order_id=order_id,
                emergency_id=emergency_id,
                channel=channel,
                categories=sorted({i.facts.category for i in items}),
                records=[
                    {
                        "type": i.facts.record_type,
                        "id": i.facts.record_id,
                        "category": i.facts.category,
                        "kind": i.facts.kind,
                        "label": i.label[:120],
                    }
                    for i in items
                ],
            )
        )
    if not any(row.rule == "4" for row in rows):
        insert_together(events, rows)  # one JSON document each (Django would bind an array per column, in Python)
        return len(rows)
    with transaction.atomic(savepoint=False):  # inside a page's transaction, no savepoint: nothing catches its failure
        _record_with_emergencies(viewer=viewer, purpose=purpose, at=at, rows=rows, events=events)
    return len(rows)


def _record_with_emergencies(
    *, viewer: Viewer, purpose: str, at: datetime, rows: list[Disclosure], events: Sequence[AuditEvent]
) -> None:
    """The accounting of a page that opened records in an emergency: each such row has its own break-the-glass
    event, and the listeners (the organisations' notices) run in the same transaction."""
    insert_together(events, rows)
    opened: EmergencyOpened = defaultdict(set)
    for row in rows:
        if row.rule == "4":
            assert row.emergency_id is not None
            opened[(row.emergency_id, row.disclosing_org_id)] |= {(r["type"], r["id"]) for r in row.records}
            record_event(
                actor=viewer.user,
                action=Action.EMERGENCY,
                record_type="Disclosure",
                family_id=row.family_id,
                purpose=purpose,
                detail={
                    "flag": "break_the_glass",
                    "records": len(row.records),
                    "emergency_id": row.emergency_id,
                },
                at=at,
            )
    if opened:
        for listener in _emergency_listeners:
            listener(opened=dict(opened), at=at)
