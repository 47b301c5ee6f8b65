"""The note form: it parses and explains (every text field has its limit from ``kinfold.text_limits``); the
rules live in ``notes.services``."""

from __future__ import annotations

from typing import Any

from django import forms

from kinfold import text_limits
from kinfold.text_limits import LimitedCharField
from kinfold.web.forms import DateInput, UswdsFormMixin


class NoteForm(UswdsFormMixin, forms.Form):
    kind = forms.ChoiceField(label="Kind of note", help_text="This decides who may see it: see the family's consents.")
    occurred_on = forms.DateField(label="Date", widget=DateInput())
    summary = LimitedCharField(
        label="Summary", limit=text_limits.NOTE_SUMMARY, help_text="One line, in person-first words."
    )
    body = LimitedCharField(
        label="Details",
        limit=text_limits.NOTE_BODY,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"Up to {text_limits.NOTE_BODY.chars:,} characters.",
    )

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "- Select -"), *kinds]  # type: ignore[attr-defined]
