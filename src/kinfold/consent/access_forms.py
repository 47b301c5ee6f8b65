"""Forms for the court-order, emergency-access and restriction pages. They parse and explain; the rules
themselves (who may record, what an order needs, what must be agreed) are checked by ``services.py``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db.models import QuerySet

from kinfold import clock
from kinfold.access.vocabulary import Purpose, own_consent_kind_list
from kinfold.consent.models import Restriction
from kinfold.consent.services.restrictions import END_REASON_REQUIRED, END_WHO_ASKED
from kinfold.families.models import Sensitivity
from kinfold.organizations.models import Membership, Organization, OrganizationType
from kinfold.web.forms import DateInput, UswdsFormMixin

PART2_FINDINGS_EXPLAINED = (
    "Records made by a substance use treatment programme, and every SUD-treatment record, are protected by "
    "42 CFR Part 2. A court may open them only if its order records both findings below (42 CFR 2.64(d)). "
    "Without them, the order still opens the other records it names, but never a Part 2 record."
)


CHOICE_GROUP_TEMPLATE = "consent/court_order_choice_group.html"


class CheckboxGroup(forms.CheckboxSelectMultiple):
    """A group of USWDS checkboxes (each input before its label, as USWDS styles them)."""

    template_name = CHOICE_GROUP_TEMPLATE


class RadioGroup(forms.RadioSelect):
    """A group of USWDS radio buttons."""

    template_name = CHOICE_GROUP_TEMPLATE


class MembershipChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} — {obj.get_role_display()}, {obj.organization.name}"


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` where Kinfold runs (settings.TIME_ZONE)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _set_queryset(form: forms.Form, name: str, queryset: QuerySet[Any]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ModelChoiceField)
    field.queryset = queryset


def _active_staff() -> QuerySet[Membership]:
    return Membership.objects.filter(is_active=True, user__is_active=True).select_related("user", "organization")


class CourtOrderForm(UswdsFormMixin, forms.Form):
    court = forms.ModelChoiceField(
        label="Court",
        queryset=Organization.objects.none(),
        empty_label="- Select -",
        error_messages={"required": "Choose the court that issued the order."},
    )
    named_person = MembershipChoiceField(
        label="Person at the court named in the order",
        queryset=Membership.objects.none(),
        required=False,
        empty_label="- Nobody in particular -",
        help_text="If the order names one person (for example the court coordinator), choose them. Staff of the "
        "court who are on her care team may use the order either way.",
    )
    order_reference = forms.CharField(
        label="Order reference number",
        max_length=100,
        error_messages={"required": "Enter the order's reference number, as printed on the order."},
    )
    issued_on = forms.DateField(
        label="Date the order was issued",
        widget=DateInput(),
        error_messages={"required": "Enter the date the order was issued.", "invalid": "Enter a real date."},
    )
    judge_name = forms.CharField(label="Judge", max_length=200, required=False)
    categories = forms.MultipleChoiceField(
        label="Which kinds of records the order covers",
        choices=Sensitivity.choices,
        widget=CheckboxGroup,
        required=False,
        help_text="Tick only what the order names. The court needs “Contact and identity” to open her record at all.",
    )
    records = forms.MultipleChoiceField(
        label="Particular records the order names",
        widget=CheckboxGroup,
        required=False,
        help_text="If the order names particular records, tick each one. Only your organisation's records are listed.",
    )
    kinds = forms.MultipleChoiceField(
        label="Kinds the order must name by name",
        widget=CheckboxGroup,
        required=False,
        help_text="SUD counselling notes are covered only when the order names them.",
    )
    valid_from = forms.DateField(
        label="The order applies from",
        widget=DateInput(),
        error_messages={"required": "Enter the first day the order applies.", "invalid": "Enter a real date."},
    )
    valid_until = forms.DateField(
        label="The order applies until (last day)",
        widget=DateInput(),
        error_messages={"required": "Enter the last day the order applies.", "invalid": "Enter a real date."},
    )
    finding_other_means_unavailable = forms.BooleanField(
        label="The court found that other ways of getting this information are not available or would not work.",
        required=False,
        help_text="42 CFR 2.64(d)(1).",
    )
    finding_public_interest_outweighs_harm = forms.BooleanField(
        label="The court found that the public interest and the need for disclosure outweigh the possible harm to "
        "her, to her relationship with her treatment programme, and to the programme's services.",
        required=False,
        help_text="42 CFR 2.64(d)(2).",
    )

    def __init__(
        self,
        *args: Any,
        excluded_court_id: int | None = None,
        nameable_records: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        records_field = self.fields["records"]
        assert isinstance(records_field, forms.MultipleChoiceField)
        records_field.choices = nameable_records or []
        records_field.widget.attrs["class"] = "usa-checkbox__input"
        kinds_field = self.fields["kinds"]
        assert isinstance(kinds_field, forms.MultipleChoiceField)
        kinds_field.choices = [(k.key, k.words.en[:1].upper() + k.words.en[1:]) for k in own_consent_kind_list()]
        kinds_field.widget.attrs["class"] = "usa-checkbox__input"
        # Nobody records her own organisation's grant: a court's staff never record its orders.
        courts = Organization.objects.filter(type=OrganizationType.COURT)
        if excluded_court_id is not None:
            courts = courts.exclude(pk=excluded_court_id)
        _set_queryset(self, "court", courts.order_by("name"))
        _set_queryset(
            self,
            "named_person",
            _active_staff()
            .filter(organization__type=OrganizationType.COURT)
            .order_by("organization__name", "user__last_name", "user__first_name"),
        )
        self.fields["categories"].widget.attrs["class"] = "usa-checkbox__input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        court, person = data.get("court"), data.get("named_person")
        if court is not None and person is not None and person.organization_id != court.pk:
            self.add_error(
                "named_person", f"{person.display_name} does not work at {court.name}: choose the court's staff."
            )
        start, end = data.get("valid_from"), data.get("valid_until")
        if start is not None and end is not None and end < start:
            self.add_error("valid_until", "The last day cannot be before the first day.")
        if not data.get("categories") and not data.get("records") and not data.get("kinds"):
            self.add_error("categories", "Choose what the order covers: kinds of records, particular records, or both.")
        issued = data.get("issued_on")
        if issued is not None and issued > clock.today():
            self.add_error("issued_on", "The order cannot be issued in the future: check the date.")
        return data

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "court": data["court"],
            "named_person": data.get("named_person"),
            "order_reference": data["order_reference"],
            "issued_on": data["issued_on"],
            "judge_name": data.get("judge_name") or "",
            "categories": list(data.get("categories") or []),
            "records": list(data.get("records") or []),
            "kinds": list(data.get("kinds") or []),
            # Half-open [from, until): the last day named on the order is included.
            "valid_from": start_of_day(data["valid_from"]),
            "valid_until": start_of_day(data["valid_until"] + timedelta(days=1)),
            "finding_other_means_unavailable": bool(data.get("finding_other_means_unavailable")),
            "finding_public_interest_outweighs_harm": bool(data.get("finding_public_interest_outweighs_harm")),
        }


class EmergencyForm(UswdsFormMixin, forms.Form):
    reason = forms.CharField(
        label="What is the medical emergency?",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
        help_text="Say what is happening and why you need her records now. Privacy officers read this.",
        error_messages={"required": "Describe the medical emergency: a reason is required."},
    )
    confirm = forms.BooleanField(
        label="I confirm this is a medical emergency and I need her records to treat her now.",
        error_messages={"required": "Tick the box to confirm this is a medical emergency."},
    )


RESTRICTABLE_PURPOSES = [(value, label) for value, label in Purpose.choices if value != Purpose.EMERGENCY]


class RestrictionRequestForm(UswdsFormMixin, forms.Form):
    disclosing_org = forms.ModelChoiceField(
        label="Which organisation should share less",
        queryset=Organization.objects.none(),
        empty_label="- Select -",
        help_text="The organisation that holds the records. It will be asked to agree or refuse.",
        error_messages={"required": "Choose the organisation she asks to share less."},
    )
    recipient_org = forms.ModelChoiceField(
        label="Not with this organisation",
        queryset=Organization.objects.none(),
        required=False,
        empty_label="- Select -",
    )
    recipient_person = MembershipChoiceField(
        label="Or not with this person",
        queryset=Membership.objects.none(),
        required=False,
        empty_label="- Select -",
        help_text="Choose an organisation, a person, or both.",
    )
    categories = forms.MultipleChoiceField(
        label="Which kinds of information",
        choices=Sensitivity.choices,
        widget=CheckboxGroup,
        required=False,
        help_text="Leave every box empty to cover every kind.",
    )
    purposes = forms.MultipleChoiceField(
        label="For which uses",
        choices=RESTRICTABLE_PURPOSES,
        widget=CheckboxGroup,
        required=False,
        help_text="Leave every box empty to cover every use. A restriction never stops care in a medical emergency.",
    )
    description = forms.CharField(
        label="Her request, in her words",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    is_self_pay_to_health_plan = forms.BooleanField(
        label="She paid for this care herself and asks that her health plan not be told about it.",
        required=False,
        help_text="The organisation must agree to this kind of request (45 CFR 164.522(a)(1)(vi)).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organizations = Organization.objects.order_by("name")
        _set_queryset(self, "disclosing_org", organizations)
        _set_queryset(self, "recipient_org", organizations)
        _set_queryset(
            self,
            "recipient_person",
            _active_staff().order_by("organization__name", "user__last_name", "user__first_name"),
        )
        for name in ("categories", "purposes"):
            self.fields[name].widget.attrs["class"] = "usa-checkbox__input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("recipient_org") and not data.get("recipient_person"):
            self.add_error(
                "recipient_org", "Choose whom she does not want it shared with: an organisation or a person."
            )
        discloser, recipient = data.get("disclosing_org"), data.get("recipient_org")
        if discloser is not None and recipient is not None and discloser == recipient:
            self.add_error("recipient_org", "An organisation always sees its own records; choose another recipient.")
        return data


class RestrictionDecisionForm(UswdsFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label="Your organisation's decision",
        choices=[("agree", "We agree to restrict sharing as she asks"), ("refuse", "We refuse")],
        widget=RadioGroup,
        error_messages={"required": "Choose whether you agree or refuse."},
    )
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="If you refuse, say why: she will be told.",
    )

    @property
    def agrees(self) -> bool:
        return self.cleaned_data.get("decision") == "agree"


class RestrictionEndForm(UswdsFormMixin, forms.Form):
    """Who asks to end an agreed restriction (45 CFR 164.522(a)(2)), and why. The organisation's side is
    offered only to its own staff, and never for a self-pay restriction toward a health plan."""

    on_request_of = forms.ChoiceField(
        label="Who is ending it?",
        choices=[],
        widget=forms.RadioSelect,
        error_messages={
            "required": END_WHO_ASKED,
            "invalid_choice": END_WHO_ASKED,
        },
    )
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, organization_name: str, may_end_for_organization: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ends = Restriction.EndRequestedBy
        choices = [(ends.PARENT.value, "She asked to end it (in writing, or she told me and I am recording it now)")]
        if may_end_for_organization:
            choices.append((ends.ORGANIZATION.value, f"{organization_name} is ending it, and has told her"))
        field = self.fields["on_request_of"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        self.fields["reason"].help_text = (
            f"Required if {organization_name} ends it: she will be told. If she asked, you can note how "
            "(for example: she called on Monday and said she no longer needs it)."
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("on_request_of") == Restriction.EndRequestedBy.ORGANIZATION
            and not (data.get("reason") or "").strip()
        ):
            self.add_error("reason", END_REASON_REQUIRED)
        return data
