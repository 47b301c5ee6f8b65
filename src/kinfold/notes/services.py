"""Writing a note to a family's record. The note's category follows its kind; the door decides which kinds
she may write (only health-care providers write SUD-treatment records, and nobody writes what her role
could not read: CONSENT-RULES, "Who may change what")."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError

from kinfold import clock, text_limits
from kinfold.access.door import require_create
from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.audit.models import Action
from kinfold.audit.services import atomic_write
from kinfold.families.models import Family
from kinfold.families.timeline import record_written
from kinfold.notes.models import NOTE_CATEGORY, Note, NoteKind


def kinds_for(*, gate: RecordGate, family_id: int) -> list[tuple[str, str]]:
    """The kinds of note the door lets the viewer write for this family."""
    return [
        (k.value, k.label) for k in NoteKind if gate.may_create(Note, family_id=family_id, category=NOTE_CATEGORY[k])
    ]


@atomic_write
def note_add(
    *, viewer: Viewer, family: Family, kind: str, summary: str, body: str = "", occurred_on: date | None = None
) -> Note:
    if kind not in NoteKind.values:
        raise ValidationError({"kind": "Choose the kind of note."})
    category = NOTE_CATEGORY[NoteKind(kind)]
    require_create(
        viewer,
        Note,
        family_id=family.pk,
        category=category,
        message="You cannot write this kind of note to this family's record.",
    )
    assert viewer.membership is not None
    summary, body = summary.strip(), body.strip()
    if not summary:
        raise ValidationError({"summary": "Write a one-line summary."})
    text_limits.refuse_long_text(
        summary=(summary, text_limits.NOTE_SUMMARY),
        body=(body, text_limits.NOTE_BODY),
    )
    today = clock.today()
    occurred_on = occurred_on or today
    if occurred_on > today:
        raise ValidationError({"occurred_on": "The date cannot be in the future."})
    if occurred_on < today - timedelta(days=3 * 366):
        raise ValidationError({"occurred_on": "That date is more than three years ago. Please check it."})
    note = Note.objects.create(
        family=family,
        kind=kind,
        summary=summary,
        body=body,
        occurred_on=occurred_on,
        sensitivity=category,
        created_by=viewer.user,
        created_by_org_id=viewer.membership.organization_id,
    )
    # The timeline line carries the note's own category, so it is shown only where the note is.
    record_written(
        viewer=viewer,
        family_id=family.pk,
        record=note,
        action=Action.CREATE,
        verb="note_added",
        summary=f"Added a note: {NoteKind(kind).label.lower()}",
        category=category,
        kind=kind,
        detail={"category": category},
    )
    return note
