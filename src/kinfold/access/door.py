"""door.py — every fetch of a family record by id, and every write, goes through here.

``access_record`` is the one way to get a record by id (in the spirit of Zulip's ``access_stream_by_id``):
it reads the row only within its family, asks the rules, and answers "not permitted" exactly as "does not
exist" — ``NotPermitted``, a 404 — with the attempt audited. Each app wraps it once per record type
(``families.selectors.access_pregnancy``, ``consent.selectors.access_directive``…), and every view, API
endpoint, service and form choice list uses those.

``require`` is the one write gate: services call it before they write; a refusal is raised as ``Refused``
(audited even though the write rolls back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404

from kinfold.access.gate import RecordGate
from kinfold.access.registry import RecordFacts, facts_of, new_facts, record_type
from kinfold.access.rules import Decision
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import Refused, record_event

M = TypeVar("M", bound=models.Model)

AUDIT_ACTION: dict[str, str] = {
    Interaction.READ: Action.VIEW,
    Interaction.CREATE: Action.CREATE,
    Interaction.CHANGE: Action.UPDATE,
    Interaction.RETIRE: Action.DELETE,
    Interaction.DISCLOSE_TO: Action.EXPORT,
    Interaction.HAND_OVER: Action.UPDATE,
}


class NotPermitted(Http404):
    """The record does not exist, or the viewer may not do this with it: the two are indistinguishable."""


@dataclass
class Access(Generic[M]):
    """A record fetched through the door, with the gate that decided (its page may ask more of it)."""

    record: M
    gate: RecordGate
    decision: Decision


def _denied(viewer: Viewer, name: str, record_id: object, family_id: int | None, interaction: str, why: str) -> None:
    record_event(
        actor=viewer.user,
        action=AUDIT_ACTION.get(interaction, Action.VIEW),
        record_type=name,
        record_id=record_id,
        family_id=family_id,
        purpose=viewer.default_purpose,
        outcome=Outcome.DENIED,
        detail={"interaction": str(interaction), "reason": why},
    )


def access_record(
    viewer: Viewer,
    queryset: models.QuerySet[M],
    record_id: int,
    *,
    family_id: int,
    interaction: str = Interaction.READ,
    purpose: str | None = None,
    gate: RecordGate | None = None,
) -> Access[M]:
    """The record ``record_id`` of family ``family_id``, if the viewer may open the family and do
    ``interaction`` with the record (and read it: nobody changes what she may not see); else
    ``NotPermitted``, audited."""
    rt = record_type(queryset.model)
    lookup = {rt.family_path.replace(".", "__"): family_id} if rt.family_path != "pk" else {}
    record = queryset.filter(pk=record_id, **lookup).first() if viewer.may_see_family_data else None
    if record is None:
        _denied(viewer, rt.name, record_id, family_id, interaction, "not found, or no role")
        raise NotPermitted(f"No {rt.label} found.")
    if gate is None:
        gate = RecordGate.open(viewer, [family_id], purpose)
    if not gate.shows_family(family_id):
        # Every page of a record is a page of its family, which shows her name: only for those who may open it.
        _denied(viewer, rt.name, record_id, family_id, interaction, "she may not open this family")
        raise NotPermitted(f"No {rt.label} found.")
    decision = gate.decision(record)
    if decision.permitted and interaction != Interaction.READ:
        decision = gate.decision(record, interaction=interaction)
    if not decision.permitted:
        _denied(viewer, rt.name, record_id, family_id, interaction, decision.reason)
        raise NotPermitted(f"No {rt.label} found.")
    # The record is read (its page or its form shows it): audited, and accounted when it is a disclosure.
    gate.show(record, label=rt.label)
    record_event(
        actor=viewer.user,
        action=Action.VIEW,
        record_type=rt.name,
        record_id=record_id,
        family_id=family_id,
        purpose=gate.purpose,
        detail={"interaction": str(interaction)},
    )
    gate.record_disclosures(channel="page")
    return Access(record, gate, decision)


def require(
    viewer: Viewer,
    interaction: str,
    record: Any,
    *,
    gate: RecordGate | None = None,
    message: str = "",
) -> Decision:
    """The write gate: permit, or raise ``Refused`` (audited after the write rolls back)."""
    facts: RecordFacts = facts_of(record)
    if gate is None:
        gate = RecordGate.open(viewer, [facts.family_id])
    decision = gate.decision(facts, interaction=interaction) if viewer.may_see_family_data else None
    if decision is not None and decision.permitted:
        return decision
    reason = decision.reason if decision is not None else "this account has no active role in an organisation"
    raise Refused(
        message or refusal_words(interaction, reason),
        {
            "actor": viewer.user,
            "action": AUDIT_ACTION.get(interaction, Action.UPDATE),
            "record_type": facts.record_type,
            "record_id": facts.record_id if facts.record_id is not None else "",
            "family_id": facts.family_id,
            "purpose": viewer.default_purpose,
            "outcome": Outcome.DENIED,
            "detail": {"interaction": str(interaction), "reason": reason},
        },
    )


def require_create(
    viewer: Viewer,
    model: Any,
    *,
    family_id: int,
    category: str,
    gate: RecordGate | None = None,
    message: str = "",
    **facts: Any,
) -> Decision:
    """The write gate for a new record of ``model``, made in her organisation's name."""
    return require(
        viewer,
        Interaction.CREATE,
        new_facts(
            model,
            family_id=family_id,
            organization_id=viewer.organization_id or 0,  # no organisation: refused by rule 0 all the same
            category=category,
            created_by_id=viewer.user_id,
            **facts,
        ),
        gate=gate,
        message=message,
    )


def require_page(create: Any = None, /, *args: Any, **kwargs: Any) -> Decision:
    """A page that offers a write asks the write gate's own question before showing its form: refused (403)
    and audited at once, as the POST would be. ``require_page(require_create, viewer, Model, ...)``."""
    try:
        return create(*args, **kwargs)
    except Refused as refused:
        record_event(**refused.audit)
        raise PermissionDenied(str(refused)) from None


def refusal_words(interaction: str, reason: str) -> str:
    """A refusal in plain words: what she tried, and why not."""
    verbs: dict[str, str] = {
        Interaction.CREATE: "add this",
        Interaction.CHANGE: "change this",
        Interaction.RETIRE: "remove this",
        Interaction.DISCLOSE_TO: "send this",
    }
    return f"You cannot {verbs.get(interaction, 'do this')}: {reason}."
