"""Forms for families, pregnancies and care teams. They parse and explain; the rules live in services.

Every text field has its limit from ``kinfold.text_limits`` (the browser's ``maxlength``, and the same plain
sentence the services and the API use)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from kinfold import text_limits
from kinfold.families.models import Insurance, Language, PregnancyOutcome, RelationshipCategory
from kinfold.organizations.models import Membership, Role
from kinfold.text_limits import LimitedCharField
from kinfold.web.forms import DateInput, UswdsFormMixin

DATE_HELP = "Year, month and day (YYYY-MM-DD). Your browser may show a calendar."


class FamilyCreateForm(UswdsFormMixin, forms.Form):
    given_name = LimitedCharField(label="Parent's first name", limit=text_limits.GIVEN_NAME)
    family_name = LimitedCharField(label="Parent's last name", limit=text_limits.FAMILY_NAME)
    preferred_name = LimitedCharField(
        label="Name she likes to be called",
        limit=text_limits.PREFERRED_NAME,
        required=False,
        help_text="Shown instead of her first name wherever her name appears.",
    )
    pronouns = LimitedCharField(limit=text_limits.PRONOUNS, required=False)
    born_on = forms.DateField(label="Date of birth", required=False, widget=DateInput(), help_text=DATE_HELP)
    preferred_language = forms.ChoiceField(
        label="Preferred language", choices=Language.choices, initial=Language.ENGLISH
    )
    phone = LimitedCharField(label="Phone", limit=text_limits.PHONE, required=False)
    estimated_due_on = forms.DateField(
        label="Estimated due date, if pregnant",
        required=False,
        widget=DateInput(),
        help_text="Leave empty if she is not pregnant now. You can add a pregnancy later.",
    )
    first_pregnancy = forms.TypedChoiceField(
        label="Is this her first pregnancy?",
        required=False,
        choices=[("", "Not known"), ("yes", "Yes"), ("no", "No")],
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        empty_value=None,
        help_text="Some home-visiting programmes take only first pregnancies.",
    )
    postal_code = LimitedCharField(
        label="Home ZIP code",
        limit=text_limits.POSTAL_CODE,
        required=False,
        help_text="Used to find services near her home.",
    )
    county = LimitedCharField(label="County", limit=text_limits.COUNTY, required=False)
    insurance = forms.ChoiceField(
        label="How her care is paid for", required=False, choices=[("", "Not known"), *Insurance.choices]
    )


class FamilyMemberForm(UswdsFormMixin, forms.Form):
    given_name = LimitedCharField(label="First name", limit=text_limits.GIVEN_NAME)
    family_name = LimitedCharField(label="Last name", limit=text_limits.FAMILY_NAME, required=False)
    category = forms.ChoiceField(
        label="Kind of relationship",
        choices=[("", "- Select -"), *RelationshipCategory.choices],
        help_text="Used for reports. Her own words go in the next box.",
    )
    description = LimitedCharField(
        label="Who this person is to her, in her words",
        limit=text_limits.RELATIONSHIP_DESCRIPTION,
        required=False,
        help_text="For example: “my mom”, “my sponsor”, “the lady who drives me”.",
    )
    born_on = forms.DateField(label="Date of birth", required=False, widget=DateInput(), help_text=DATE_HELP)
    lives_with_parent = forms.BooleanField(label="Lives with her", required=False)
    is_legal_representative = forms.BooleanField(
        label="Her legal representative",
        required=False,
        help_text=(
            "Tick only if this person has legal authority to act for her, such as the guardian of a parent under "
            "18 or a guardian a court appointed. A legal representative can sign consents for her."
        ),
    )


class PregnancyForm(UswdsFormMixin, forms.Form):
    estimated_due_on = forms.DateField(label="Estimated due date", widget=DateInput(), help_text=DATE_HELP)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class DeliveryForm(UswdsFormMixin, forms.Form):
    delivered_on = forms.DateField(label="Date of delivery", widget=DateInput(), help_text=DATE_HELP)
    outcome = forms.ChoiceField(label="Outcome", choices=[("", "- Select -"), *PregnancyOutcome.choices])
    infant_names = LimitedCharField(
        label="Baby's first name (one per line for twins)",
        limit=text_limits.INFANT_NAMES,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a live birth. Write “Baby” if no name is chosen yet.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        names = [n.strip() for n in (data.get("infant_names") or "").splitlines() if n.strip()]
        if len(names) > 4:
            self.add_error("infant_names", "Enter at most four babies.")
        for name in names:
            if problem := text_limits.INFANT_NAME.problem(name):
                self.add_error("infant_names", problem)
                break
        data["infants"] = [{"given_name": n} for n in names]
        return data


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} — {obj.get_role_display()}, {obj.organization.name}"


class TeamMemberAddForm(UswdsFormMixin, forms.Form):
    membership = StaffChoiceField(
        label="Person",
        queryset=Membership.objects.none(),
        empty_label="- Select a person -",
        error_messages={"invalid_choice": "Choose a person from the list."},
    )
    role = forms.ChoiceField(
        label="Role on this family's team",
        choices=[("", "- Select -"), *Role.choices],
        help_text="For example CPS caseworker, MOUD prescriber, OB clinician or peer recovery coach.",
    )

    def __init__(self, *args: Any, candidates: QuerySet[Membership] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["membership"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = candidates if candidates is not None else Membership.objects.none()
