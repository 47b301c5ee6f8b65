"""Forms for making and answering referrals; the rules are the services'."""

from __future__ import annotations

from django import forms

from kinfold import text_limits
from kinfold.directory.models import Need
from kinfold.referrals.models import Priority
from kinfold.web.forms import UswdsFormMixin


class ReferralForm(UswdsFormMixin, forms.Form):
    need = forms.ChoiceField(label="What she needs", choices=[("", "Choose one")] + [(n.value, n.label) for n in Need])
    priority = forms.ChoiceField(label="How soon", choices=Priority.choices, initial=Priority.ROUTINE)
    reason = forms.CharField(
        label="What she is hoping for",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=text_limits.NOTE_BODY.chars,
        help_text="In her words where you can. This goes with the referral.",
    )
    handoff_note = forms.CharField(
        label="Warm hand-off note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=text_limits.NOTE_BODY.chars,
        help_text="How best to reach her, and anything that helps the first contact go well.",
    )
    notes = forms.MultipleChoiceField(
        label="Also send these notes (your organisation's)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each is sent only if her consent covers it.",
    )
    request_key = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: object, note_choices: list[tuple[str, str]] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        notes = self.fields["notes"]
        assert isinstance(notes, forms.MultipleChoiceField)
        notes.choices = note_choices or []
        if not note_choices:
            del self.fields["notes"]


class ChangeForm(forms.Form):
    status = forms.CharField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason_code = forms.CharField(required=False)
    words = forms.CharField(required=False, max_length=text_limits.NOTE_BODY.chars)


class LinkAnswerForm(forms.Form):
    action = forms.CharField()
    reason_code = forms.CharField(required=False)
    words = forms.CharField(required=False, max_length=text_limits.NOTE_BODY.chars)
