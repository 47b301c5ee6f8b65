from __future__ import annotations

from typing import Any

from django import forms

from kinfold.web.forms import DateInput, UswdsFormMixin


class NoteForm(UswdsFormMixin, forms.Form):
    kind = forms.ChoiceField(label="Kind of note", help_text="This decides who may see it: see the family's consents.")
    occurred_on = forms.DateField(label="Date", widget=DateInput())
    summary = forms.CharField(label="Summary", max_length=300, help_text="One line, in person-first words.")
    body = forms.CharField(label="Details", required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "- Select -"), *kinds]  # type: ignore[attr-defined]
