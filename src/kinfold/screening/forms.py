"""Forms of the screening pages: starting a screening, closing a safety alert, and reading a questionnaire's
answers from a posted page (``posted_answers``; the instrument validates each answer)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from kinfold import text_limits
from kinfold.consent.access_forms import RadioGroup
from kinfold.screening.instruments import Instrument, Item
from kinfold.screening.models import AlertAction, HowGiven
from kinfold.web.forms import UswdsFormMixin

LANGUAGE_CHOICES = [("en", "English"), ("es", "Spanish (español)")]


class StartForm(UswdsFormMixin, forms.Form):
    instrument = forms.ChoiceField(label="Questionnaire", widget=RadioGroup)
    language = forms.ChoiceField(
        label="Her language",
        choices=LANGUAGE_CHOICES,
        widget=RadioGroup,
        help_text="Questionnaires without an official Spanish version are shown in English.",
    )
    how_given = forms.ChoiceField(
        label="How she will answer",
        choices=HowGiven.choices,
        widget=RadioGroup,
        initial=HowGiven.WITH_STAFF,
        help_text=(
            "With her now: you read the questions together. On the tablet: she answers alone in parent mode and "
            "gives the tablet back. On her phone: you get a one-time link to give her; it works for a few days and "
            "once."
        ),
    )

    def __init__(self, *args: Any, instruments: list[Instrument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["instrument"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (
                i.key,
                f"{i.short_title} — {i.measures.en}; {len(i.items)} questions"
                f"{'' if 'es' in i.languages else ' (English only)'}",
            )
            for i in instruments
        ]


class CloseAlertForm(UswdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    action = forms.ChoiceField(label="What was done", choices=AlertAction.choices, widget=RadioGroup)
    note = forms.CharField(
        label="In a few words: what happened, and what happens next",
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[text_limits.ALERT_NOTE.validate],
        help_text="Required. Written to her record; the alert closes only with it.",
    )


def posted_answers(instrument: Instrument, items: list[Item], data: QueryDict) -> dict[str, Any]:
    """The raw answers a page posted for ``items`` (``answer-<key>``); an item left blank is not in the result."""
    raw: dict[str, Any] = {}
    for item in items:
        name = f"answer-{item.key}"
        if item.type == "multiple":
            values = data.getlist(name)
            if values:
                raw[item.key] = values
        else:
            value = (data.get(name) or "").strip()
            if value != "":
                raw[item.key] = value
    return raw


class ProtocolForm(UswdsFormMixin, forms.Form):
    protocol = forms.CharField(
        label="What your staff do when a screening answer is critical",
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        validators=[text_limits.SAFETY_PROTOCOL.validate],
        help_text=(
            "Shown with every safety alert from your organisation's screenings, beside the crisis lines. Number "
            "the steps; name who to call. Leave it empty to show Kinfold's general protocol."
        ),
    )
