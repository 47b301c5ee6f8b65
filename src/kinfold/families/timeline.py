"""timeline.py — the one writer every app uses after a write to a family's record: a line on the family's
timeline and an event in the audit trail, in the caller's transaction. With the door's write gate
(``access.door.require``) and the data-file loader (``kinfold.datafiles``) it is the family-record kit.

"Last activity" is not stored: each viewer's is the newest line she may read (``families.selectors``), so a
hidden record moves nothing she sees. A line carries the category of the most sensitive thing it tells; a
line that names a Part 2 programme is a Part 2 record (``category_naming``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kinfold import clock
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import category_of_kind, default_kind
from kinfold.audit.services import record_event
from kinfold.families.models import FamilyActivity, Sensitivity
from kinfold.organizations.models import Organization


def category_naming(organizations: Iterable[Organization | None], category: str = Sensitivity.CONTACT) -> str:
    """``category``, or SUD treatment when the words name a Part 2 programme: naming it tells her reader
    that she is in treatment there (CONSENT-RULES: a line that names a Part 2 programme is a Part 2 record)."""
    if any(org is not None and org.is_part2_program for org in organizations):
        return Sensitivity.SUD_TREATMENT
    return category


def record_written(
    *,
    viewer: Viewer,
    family_id: int,
    record: Any,
    action: str,
    verb: str,
    summary: str,
    category: str,
    detail: dict[str, Any] | None = None,
    record_type: str | None = None,
    at: datetime | None = None,
    consent_directive_id: int | None = None,
    kind: str = "",
) -> FamilyActivity:
    """A timeline line (``category``: what the line reveals; ``kind``: the kind of information it tells) and
    the audit event of one write. A line about a consent names it (``consent_directive_id``), so that it is
    seen by whoever may see the consent.

    A kind always belongs to the line's category: a line filed more strictly than its kind (it names a Part 2
    programme) is that category's default kind ("that you are in a treatment programme")."""
    assert viewer.membership is not None
    return _write(
        actor=viewer.user,
        organization_id=viewer.membership.organization_id,
        purpose=viewer.default_purpose,
        family_id=family_id,
        record=record,
        action=action,
        verb=verb,
        summary=summary,
        category=category,
        detail=detail,
        record_type=record_type,
        at=at,
        consent_directive_id=consent_directive_id,
        kind=kind,
    )


def record_written_from_link(
    *,
    organization_id: int,
    purpose: str,
    family_id: int,
    record: Any,
    action: str,
    verb: str,
    summary: str,
    category: str,
    kind: str = "",
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
    sent_by: Any = None,
) -> FamilyActivity:
    """The line and audit event of a write made from a one-time link, by someone without an account (the parent
    answering a screening on her phone): the line is the organisation's that sent the link, shown under the name
    of the person who sent it (``sent_by``); the audit event has no actor and says so (``via_link``)."""
    return _write(
        actor=None,
        line_author=sent_by,
        organization_id=organization_id,
        purpose=purpose,
        family_id=family_id,
        record=record,
        action=action,
        verb=verb,
        summary=summary,
        category=category,
        detail={"via_link": True, **(detail or {})},
        at=at,
        kind=kind,
    )


def _write(
    *,
    actor: Any,
    line_author: Any = None,
    organization_id: int,
    purpose: str,
    family_id: int,
    record: Any,
    action: str,
    verb: str,
    summary: str,
    category: str,
    detail: dict[str, Any] | None,
    at: datetime | None,
    record_type: str | None = None,
    consent_directive_id: int | None = None,
    kind: str = "",
) -> FamilyActivity:
    at = at or clock.now()
    if not kind or category_of_kind(kind) != category:
        kind = default_kind(category)
    line = FamilyActivity.objects.create(
        family_id=family_id,
        occurred_at=at,
        created_at=at,
        verb=verb,
        summary=summary,
        sensitivity=category,
        kind=kind,
        consent_directive_id=consent_directive_id,
        created_by=line_author if line_author is not None else actor,
        created_by_org_id=organization_id,
    )
    record_event(
        actor=actor,
        action=action,
        record_type=record_type or type(record).__name__,
        record_id=getattr(record, "pk", ""),
        family_id=family_id,
        purpose=purpose,
        detail={"verb": verb, **(detail or {})},
        at=at,
    )
    return line
