"""records.py — notes declare themselves to the door: a note is its author's organisation's record, in the
category its kind gives it; only that organisation's staff whose role may see the category change it."""

from __future__ import annotations

from kinfold.access.registry import ChangeRule, CreateRule, register
from kinfold.notes.models import Note


def declare() -> None:
    register(
        Note,
        family_path="family_id",
        label="note",
        create_rule=CreateRule.MEMBER,
        change_rule=ChangeRule.CREATOR,
        kind_path="kind",  # a note's kind is its kind of information
        named_by_orders=True,  # a court order may name a note itself
        describe=_describe,
    )


def _describe(note: Note) -> str:
    return f"{note.get_kind_display()}: {note.summary} ({note.occurred_on:%-d %b %Y})"
