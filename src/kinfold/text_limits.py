"""The longest text each field of a family's record takes, and the plain sentence that refuses more.

Models (``max_length``, or a validator on a ``TextField``), forms, services and the API read the limits here,
so a limit changes in one place and every way in (a page, the API, a command) refuses alike, in the same
words: "Keep the note to 10,000 characters or fewer; it has 1,000,000." SQLite does not enforce a
``CharField``'s length, so the services check too. This module never touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.core import validators
from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class TextLimit:
    """At most ``chars`` characters of text, named ``what`` in the sentence that refuses more."""

    chars: int
    what: str

    def problem(self, value: str) -> str | None:
        """What is wrong with ``value`` in plain words, or ``None``."""
        if len(value) > self.chars:
            return f"Keep {self.what} to {self.chars:,} characters or fewer; it has {len(value):,}."
        # PostgreSQL cannot store U+0000 in text; it is never typed, only pasted or sent by a program.
        if "\x00" in value:
            return f"Remove the hidden null character from {self.what}; it cannot be saved."
        return None

    def validate(self, value: str) -> None:
        """A form or model validator (a form has stripped the value first, as the services do)."""
        if problem := self.problem(value):
            raise ValidationError(problem, code="max_length")


# People (families.Person, families.FamilyRelationship).
GIVEN_NAME = TextLimit(100, "the first name")
FAMILY_NAME = TextLimit(100, "the last name")
PREFERRED_NAME = TextLimit(100, "the name she likes to be called")
PRONOUNS = TextLimit(40, "the pronouns")
PHONE = TextLimit(40, "the phone number")
POSTAL_CODE = TextLimit(10, "the ZIP code")
COUNTY = TextLimit(120, "the county")
RELATIONSHIP_DESCRIPTION = TextLimit(200, "who this person is to her")
INFANT_NAME = TextLimit(100, "each baby's name")
INFANT_NAMES = TextLimit(4 * (INFANT_NAME.chars + 1), "the babies' names")

# Notes (notes.Note): a one-line summary and a body long enough for a full visit or progress note.
NOTE_SUMMARY = TextLimit(300, "the summary")
NOTE_BODY = TextLimit(10_000, "the note")

# Organisations (organizations.Partnership): what each party of a memorandum of understanding does.
PARTNERSHIP_RESPONSIBILITIES = TextLimit(10_000, "the responsibilities")

# Screening (screening.SafetyAlert): what was done about a critical answer.
ALERT_NOTE = TextLimit(2_000, "what was done")
# An organisation's safety protocol, shown with every safety alert.
SAFETY_PROTOCOL = TextLimit(4_000, "the safety protocol")

# Pathways: a note on a step (done, not applicable, reassigned), her goals, a Plan of Safe Care's closing note.
STEP_NOTE = TextLimit(2_000, "the note")
# Shared decision-making: her questions, preferences or decision on one topic, in her words.
DECISION_WORDS = TextLimit(2_000, "her words")

# A search box (the caseload, the staff picker, the organisations list).
SEARCH = TextLimit(100, "the search")


def refuse_long_text(**fields: tuple[str, TextLimit]) -> None:
    """Raise one ``ValidationError`` naming every field (``name=(value, limit)``) whose text is refused."""
    errors = {name: problem for name, (value, limit) in fields.items() if (problem := limit.problem(value or ""))}
    if errors:
        raise ValidationError(errors)


class LimitedCharField(forms.CharField):
    """A form's text field with its limit: the browser's ``maxlength`` and the plain sentence on the server."""

    def __init__(self, *, limit: TextLimit, **kwargs: Any) -> None:
        super().__init__(max_length=limit.chars, **kwargs)
        self.limit = limit
        # The limit's own sentence replaces Django's "Ensure this value has at most …" and null-character ones.
        self.validators = [
            v
            for v in self.validators
            if not isinstance(v, validators.MaxLengthValidator | validators.ProhibitNullCharactersValidator)
        ]
        self.validators.append(limit.validate)
