"""Reads of notes, through the door: the family page's records section and every fetch of a note by id."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from kinfold.access.door import Access, access_record
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction
from kinfold.families.sections import Notice, SectionContext
from kinfold.notes.models import Note
from kinfold.prepared import prepared_list

NOTES_LENGTH = 100


def family_notes(context: SectionContext) -> dict[str, Any]:
    """The family's newest notes the viewer may see, and which of them carry the 42 CFR 2.32 notice."""
    gate = context.gate
    rows = prepared_list("notes.family", _notes_query, context.family.pk)
    notes = gate.visible(rows, family_id=context.family.pk)
    return {
        "notes": notes,
        "notice_ids": {n.pk for n in notes if gate.needs_notice(n)},
        "may_add": gate.opens_family(context.family.pk),
    }


def _notes_query(family_id: Any) -> QuerySet[Note]:
    # Who wrote a note is not shown (its organisation is): no user row is read for it.
    return Note.objects.filter(family_id=family_id).select_related("created_by_org")[:NOTES_LENGTH]


def export_notes(data: dict[str, Any], notice: Notice) -> dict[str, Any]:
    return {
        "records": [
            {
                "id": n.pk,
                "kind": n.kind,
                "category": n.sensitivity,
                "occurred_on": n.occurred_on,
                "summary": n.summary,
                "body": n.body,
                "from": n.created_by_org.name,
                **notice(n),
            }
            for n in data["notes"]
        ]
    }


def access_note(*, viewer: Viewer, family_id: int, note_id: int, interaction: str = Interaction.READ) -> Access[Note]:
    return access_record(
        viewer,
        Note.objects.select_related("created_by", "created_by_org"),
        note_id,
        family_id=family_id,
        interaction=interaction,
    )
