"""Forms of the Plan of Safe Care pages: starting a plan (and correcting its details), a need, the notification to
child welfare, agreeing the plan with her, the discharge, closing the plan, and confirming a removal. Each field
says what is wrong in plain words; the services check everything again (the API and commands use them too)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from kinfold import clock, text_limits
from kinfold.consent.access_forms import CheckboxGroup, RadioGroup
from kinfold.families.models import Person
from kinfold.pathways.models import IdentificationReason, NeedStatus, PlanDomain
from kinfold.pathways.safecare.services import CLOSING_NOTE, NEED_TEXT, RESPONSIBLE, SERVICE, domain_title, group_of
from kinfold.web.forms import DateInput, UswdsFormMixin

NO_INFANT = ""
KEEP = "keep"
INVALID_DATE = "Enter a real date, like 14 March 2026."


def _date_field(label: str, *, required: bool = True, help_text: str = "", missing: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=DateInput,
        help_text=help_text,
        error_messages={"required": missing or f"Enter the day: {label.lower()}.", "invalid": INVALID_DATE},
    )


def _not_future(form: forms.Form, name: str, words: str) -> None:
    day = form.cleaned_data.get(name)
    if isinstance(day, date) and day > clock.today():
        form.add_error(name, f"{words} cannot be in the future.")


class VersionedForm(UswdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# --- starting a plan, and its details ----------------------------------------------------------------------------


class PlanDetailsForm(UswdsFormMixin, forms.Form):
    infant = forms.ChoiceField(
        label="The baby",
        widget=RadioGroup,
        required=False,
        help_text="One of her children on her family's record. If the birth is not recorded yet, choose the baby "
        "later.",
        error_messages={"invalid_choice": "Choose one of her children listed, or “Not on her family's record yet”."},
    )
    identified_on = _date_field(
        "Day the baby was identified",
        missing="Enter the day the baby was identified.",
        help_text="The day the care team learned of the prenatal substance exposure (often the day of birth).",
    )
    reasons = forms.MultipleChoiceField(
        label="Why the baby was identified",
        choices=IdentificationReason.choices,
        widget=CheckboxGroup,
        error_messages={
            "required": "Choose at least one reason the baby was identified.",
            "invalid_choice": "Choose the reasons from the list.",
        },
        help_text="Choose every one that applies. Medication for opioid use disorder taken as prescribed is care, "
        "not misuse: say so when it is the reason.",
    )
    expected_discharge_on = _date_field(
        "Expected discharge day",
        required=False,
        help_text="The pathway's due dates (the plan the day before, the paediatric visit after) count from it.",
    )

    def __init__(self, *args: Any, infants: list[Person], current_infant_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[str, str]] = [
            (str(p.pk), f"{p.display_name}{f', born {p.born_on:%-d %B %Y}' if p.born_on else ''}") for p in infants
        ]
        if current_infant_id is not None and all(p.pk != current_infant_id for p in infants):
            choices.insert(0, (KEEP, "Keep the baby already chosen in the plan"))
        choices.append((NO_INFANT, "Not on her family's record yet"))
        field = self.fields["infant"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        self.current_infant_id = current_infant_id

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _not_future(self, "identified_on", "The day the baby was identified")
        identified = data.get("identified_on")
        discharge = data.get("expected_discharge_on")
        if isinstance(identified, date) and isinstance(discharge, date) and discharge < identified:
            self.add_error(
                "expected_discharge_on", "The expected discharge day cannot be before the day the baby was identified."
            )
        return data

    @property
    def infant_id(self) -> int | None:
        value = self.cleaned_data.get("infant") or NO_INFANT
        if value == KEEP:
            return self.current_infant_id
        return int(value) if value.isdigit() else None


class PlanEditForm(PlanDetailsForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# --- a need ---------------------------------------------------------------------------------------------------------


def _domain_choices() -> list[tuple[str, Any]]:
    baby = [(d.value, domain_title(d.value)) for d in PlanDomain if group_of(d.value) == "baby"]
    family = [(d.value, str(d.label)) for d in PlanDomain if group_of(d.value) != "baby"]
    return [("", "Choose what it is about"), ("Baby", baby), ("Parent and family", family)]


class NeedForm(UswdsFormMixin, forms.Form):
    domain = forms.ChoiceField(
        label="What it is about",
        choices=_domain_choices,
        error_messages={"required": "Choose what the need is about.", "invalid_choice": "Choose from the list."},
    )
    need = text_limits.LimitedCharField(
        limit=NEED_TEXT,
        label="The need, in plain words",
        help_text="As you would say it to her, e.g. “A safe place for the baby to sleep”.",
        error_messages={"required": "Say what is needed, in plain words."},
    )
    responsible = text_limits.LimitedCharField(
        limit=RESPONSIBLE,
        label="Who is responsible",
        help_text="A person, a role or an organisation, e.g. “Hospital social worker” or “Her MOUD clinic”.",
        error_messages={"required": "Say who is responsible: a person, a role or an organisation."},
    )
    service = text_limits.LimitedCharField(
        limit=SERVICE,
        label="The service",
        required=False,
        help_text="What will meet the need, e.g. “Pack 'n Play from the family resource centre”.",
    )
    referral = forms.ChoiceField(
        label="A referral that carries it",
        required=False,
        help_text="One of this family's referrals; the plan shows its status as it changes.",
    )
    status = forms.ChoiceField(
        label="Where it stands",
        choices=NeedStatus.choices,
        widget=RadioGroup,
        initial=NeedStatus.PLANNED,
        error_messages={"required": "Choose where this need stands.", "invalid_choice": "Choose from the list."},
    )

    def __init__(
        self, *args: Any, referrals: list[tuple[int, str]], keep_referral: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.keep_referral = keep_referral
        if keep_referral:
            # The referral already linked is not one she may read: it stays linked, unseen.
            del self.fields["referral"]
            return
        field = self.fields["referral"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "No referral"), *[(str(pk), words) for pk, words in referrals]]
        if not referrals:
            field.help_text = "This family has no referral you may see yet; refer her from her family's page."

    @property
    def referral_id(self) -> int | None:
        value = self.cleaned_data.get("referral") or ""
        return int(value) if str(value).isdigit() else None


class NeedEditForm(NeedForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# --- the rest of the plan's life ------------------------------------------------------------------------------------


class NotificationForm(VersionedForm):
    notified_on = _date_field("Day it was made", missing="Enter the day it was made.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _not_future(self, "notified_on", "The day it was made")
        return data


class AgreeForm(VersionedForm):
    agreed_on = _date_field("Day she agreed", missing="Enter the day she agreed to the plan.")
    she_agrees = forms.BooleanField(
        label="She has gone through the plan with me and agrees to it",
        error_messages={"required": "Tick the box once she has gone through the plan with you and agrees to it."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _not_future(self, "agreed_on", "The day she agreed")
        return data


class DischargeForm(VersionedForm):
    discharged_on = _date_field("Day of discharge", missing="Enter the day the baby went home.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _not_future(self, "discharged_on", "The day of discharge")
        return data


class CloseForm(VersionedForm):
    note = text_limits.LimitedCharField(
        limit=CLOSING_NOTE,
        label="Why the plan closes, and what goes on",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required. E.g. “Six months after discharge; the baby's visits and her treatment go on.”",
        error_messages={"required": "Say in a few words why the plan closes, and what goes on for the family."},
    )


class RemoveForm(VersionedForm):
    pass
