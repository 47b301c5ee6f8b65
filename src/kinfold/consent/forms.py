"""The consent pages' forms, in plain language (about grade 6), in English or Spanish.

The English is written here once and goes through Django's gettext; the Spanish lives in
``locale/es/LC_MESSAGES/django.po`` (``make messages`` compiles it). A capture form speaks the consent's
language whatever the request's: its labels, choices and messages are worded under ``translation.override``.

The capture form collects every element of 42 CFR 2.31 (see ``services.ConsentTerms``); the rules
themselves (a court consent stands alone and names the court, the end is in the future, a signature is
given) are checked by ``services.validate_terms``. Its messages stay English in the services (the API's
language) and are the msgids: ``add_service_errors`` translates them when it shows them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from kinfold.access.vocabulary import OrganizationClass, Purpose, kind_table, kinds_in, version_kinds
from kinfold.consent.models import ConsentDirective, SignatureMethod, SignerKind
from kinfold.consent.services.directives import LONG_EXPIRY_CODE, ConsentTerms
from kinfold.consent.summaries import class_words, language_code
from kinfold.families.models import Person, Sensitivity
from kinfold.organizations.models import Membership, Organization
from kinfold.web.forms import DateInput, UswdsFormMixin

LANGUAGES = ("en", "es")

# What each purpose is for, as she chooses it.
PURPOSE_LABELS: dict[str, Promise] = {
    Purpose.TREATMENT: _("Your treatment and care"),
    Purpose.PAYMENT: _("Paying for your care"),
    Purpose.OPERATIONS: _("Running their services (like checking quality)"),
    Purpose.CARE_COORDINATION: _("Working together on your care"),
    Purpose.CHILD_WELFARE_CASE: _("Your child welfare (CPS) case"),
    Purpose.COURT_PROCEEDING: _("Your court case"),
    Purpose.RESEARCH: _("Research"),
}

# Each kind of information (Sensitivity), named and explained in plain words.
CATEGORY_LABELS: dict[str, tuple[Promise, Promise]] = {
    Sensitivity.SUD_TREATMENT: (
        _("Substance use treatment"),
        _(
            "Like coming to treatment, medication and test results. A federal law (42 CFR Part 2) "
            "gives this extra protection."
        ),
    ),
    Sensitivity.MENTAL_HEALTH: (_("Mental health"), _("Like therapy notes.")),
    Sensitivity.GENERAL_HEALTH: (_("General health"), _("Like prenatal visits and check-ups.")),
    Sensitivity.CHILD_WELFARE: (_("Child welfare case"), _("Notes from the child welfare (CPS) case.")),
    Sensitivity.LEGAL: (_("Court and legal matters"), _("Like court dates.")),
    Sensitivity.SOCIAL_NEEDS: (_("Everyday needs"), _("Like housing, food, rides and child care.")),
    Sensitivity.CONTACT: (_("Name and contact details"), _("Your name, phone number and address.")),
}

# The "all of it" choice of each category (CONSENT-RULES: it lists every kind the category has at signing).
WHOLE_CATEGORY = (_("All of it"), _("Every kind below, as it is today (not counselling notes)."))
OWN_CONSENT = _("Only in a consent of its own.")

# The choices of the form's radio buttons.
ENDS_CHOICES: list[tuple[str, Promise]] = [("date", _("On a date")), ("event", _("When something happens"))]
SIGNER_KIND_CHOICES: list[tuple[str, Promise]] = [
    (SignerKind.PARENT, _("Me, the parent")),
    (SignerKind.LEGAL_REPRESENTATIVE, _("The parent's legal representative")),
]
SIGNATURE_METHOD_CHOICES: list[tuple[str, Promise]] = [
    (SignatureMethod.TYPED, _("Type my name")),
    (SignatureMethod.DRAWN, _("Draw my signature")),
]
RADIO_CHOICES = {
    "ends": ENDS_CHOICES,
    "signer_kind": SIGNER_KIND_CHOICES,
    "signature_method": SIGNATURE_METHOD_CHOICES,
}

# The form's own messages (the services' are theirs, translated in ``service_message``).
CHOOSE_FROM_LIST = _("Choose from the list.")
REAL_DATE = _("Enter a real date.")

# Which capture-form field shows each error key of services.validate_terms.
SERVICE_FIELD = {
    "discloser_orgs": "discloser_orgs",
    "recipient_orgs": "recipient_orgs",
    "recipient_classes": "recipient_classes",
    "purposes": "purposes",
    "categories": "categories",
    "expires_at": "expires_on",
    "signer_name": "signer_name",
    "signer_kind": "signer_kind",
    "signer_person": "signer_person",
    "signature_typed": "signature_typed",
    "signature_drawn": "signature_method",
    "guardian_signature_typed": "guardian_signature_typed",
}
TERM_FIELDS = (
    "kinds",
    "template_key",
    "title",
    "language",
    "discloser_orgs",
    "discloser_classes",
    "recipient_orgs",
    "recipient_people",
    "recipient_classes",
    "purposes",
    "purpose_description",
    "categories",
    "information_description",
    "ends",
    "expires_on",
    "expiry_event",
    "confirm_long_expiry",
)
OPTIONAL_FIELDS = ("purpose_description", "information_description", "guardian_name", "guardian_signature_typed")
SIGNATURE_FIELDS = (
    "signer_kind",
    "signer_name",
    "signer_person",
    "signature_method",
    "signature_typed",
    "signature_drawn",
    "guardian_name",
    "guardian_signature_typed",
)


def language_of(value: str | None) -> str:
    return language_code(value)


def service_message(message: str, language: str, params: Mapping[str, Any] | None = None) -> str:
    """A service's English message in the consent's language: the English is the msgid."""
    with translation.override(language_of(language)):
        text = gettext(message)
        return text % params if params else text


def errors_summary(count: int, language: str) -> str:
    """The line above a form with errors: "Please fix 2 things below."."""
    with translation.override(language_of(language)):
        return ngettext("Please fix %(n)s thing below.", "Please fix %(n)s things below.", count) % {"n": count}


def purpose_label(purpose: str, language: str) -> str:
    label = PURPOSE_LABELS.get(purpose)
    if label is None:
        return purpose
    with translation.override(language_of(language)):
        return str(label)


def end_of_day(day: date) -> datetime:
    """A consent that ends "on 1 June 2027" covers that whole local day."""
    return datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(str(settings.TIME_ZONE)))


def _capital(words: str) -> str:
    return words[:1].upper() + words[1:]


def _option(label: str, description: str) -> SafeString:
    return format_html('{}<span class="usa-checkbox__label-description">{}</span>', label, description)


def _class_label(value: str, language: str) -> str:
    return _capital(class_words(value, language))


def _org_label(o: Organization) -> str:
    return o.name


def _representative_label(p: Person) -> str:
    return p.display_name


def _person_label(m: Membership) -> str:
    return f"{m.display_name} — {m.get_role_display()}, {m.organization.name}"


class ConsentForm(UswdsFormMixin, forms.Form):
    """Every 2.31 element of one version. Rules live in ``services.validate_terms``; fields stay optional
    here so that one place explains, in plain words, what is missing."""

    template_key = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    title = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    language = forms.ChoiceField(choices=[("en", "English"), ("es", "Español")], widget=forms.HiddenInput)
    discloser_orgs = forms.ModelMultipleChoiceField(
        label=_("Places on your care team that may share"),
        help_text=_("Check each one that may share."),
        queryset=Organization.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    discloser_classes = forms.MultipleChoiceField(
        label=_("Or a group of places that may share"),
        help_text=_("A group includes places that join later."),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recipient_orgs = forms.ModelMultipleChoiceField(
        label=_("Places on your care team that may get it"),
        help_text=_("Check each one that may get it."),
        queryset=Organization.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recipient_people = forms.ModelMultipleChoiceField(
        label=_("Or only certain people on your team"),
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    recipient_classes = forms.MultipleChoiceField(
        label=_("Or a group of places that may get it"),
        help_text=_("A group includes places that join later."),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    purposes = forms.MultipleChoiceField(
        label=_("Uses"),
        help_text=_("A court case needs its own consent. Do not check it together with other uses."),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    purpose_description = forms.CharField(
        label=_("The use in your own words"),
        help_text=_("For example: reports to the court."),
        required=False,
        max_length=300,
    )
    categories = forms.MultipleChoiceField(
        label=_("Kinds of information"),
        help_text=_("Only the kinds you check may be shared. Check “All of it” to share every kind a group has today."),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    kinds = forms.MultipleChoiceField(
        label=_("Kinds of information"), required=False, widget=forms.CheckboxSelectMultiple
    )
    information_description = forms.CharField(label=_("More about what may be shared"), required=False, max_length=300)
    ends = forms.ChoiceField(
        label=_("It ends"),
        choices=ENDS_CHOICES,
        widget=forms.RadioSelect,
        initial="date",
    )
    expires_on = forms.DateField(
        label=_("End date"), help_text=_("It ends at the end of this day."), required=False, widget=DateInput()
    )
    # Shown beside the end date only when it lies beyond the horizon (services.LONG_EXPIRY).
    confirm_long_expiry = forms.BooleanField(label=_("Yes, the end date is right."), required=False)
    expiry_event = forms.CharField(
        label=_("What has to happen"),
        help_text=_("For example: your court case closes."),
        required=False,
        max_length=200,
    )
    signer_kind = forms.ChoiceField(
        label=_("Who is signing?"),
        choices=SIGNER_KIND_CHOICES,
        required=False,
        widget=forms.RadioSelect,
        initial=SignerKind.PARENT,
    )
    signer_name = forms.CharField(label=_("Full name of the person signing"), required=False, max_length=220)
    signer_person = forms.TypedChoiceField(
        label=_("Which legal representative is signing"),
        help_text=_(
            "Only if her legal representative signs for her. Only someone recorded on her family page as her "
            "legal representative can sign for her."
        ),
        coerce=int,
        required=False,
        empty_value=None,
    )
    signature_method = forms.ChoiceField(
        label=_("How do you want to sign?"),
        choices=SIGNATURE_METHOD_CHOICES,
        required=False,
        widget=forms.RadioSelect,
        initial=SignatureMethod.TYPED,
    )
    signature_typed = forms.CharField(
        label=_("Type your full name to sign"),
        help_text=_("Typing your name here counts as your signature."),
        required=False,
        max_length=220,
    )
    signature_drawn = forms.CharField(required=False, max_length=500_000, widget=forms.HiddenInput)
    guardian_name = forms.CharField(
        label=_("Guardian's name"),
        help_text=_("Only if the parent is under 18 and the law asks her guardian to sign too."),
        required=False,
        max_length=220,
    )
    guardian_signature_typed = forms.CharField(
        label=_("Guardian signs: type the guardian's name"), required=False, max_length=220
    )

    def __init__(
        self,
        *args: Any,
        language: str,
        organizations: Iterable[Organization],
        people: Iterable[Membership],
        legal_representatives: Iterable[Person] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound and not (self.data.get("signature_method") and self.data.get("signer_kind")):
            # Coming from the terms step: she has not chosen yet, so the signing step starts from a typed
            # signature by the parent herself (the usual case), as an unbound form would.
            data = self.data.copy()  # type: ignore[attr-defined]
            for key in ("signature_method", "signer_kind"):
                if not data.get(key):
                    data[key] = self.fields[key].initial
            self.data = data
        self.lang = lang = language_of(language)
        self.asks_long_expiry = False  # the service found the end date beyond the horizon, unconfirmed
        orgs = list(organizations)
        people = list(people)
        org_ids = [o.pk for o in orgs]
        for name in ("discloser_orgs", "recipient_orgs"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelMultipleChoiceField)
            field.queryset = Organization.objects.filter(pk__in=org_ids).order_by("name")
            field.label_from_instance = _org_label  # type: ignore[method-assign,assignment]
        people_field = self.fields["recipient_people"]
        assert isinstance(people_field, forms.ModelMultipleChoiceField)
        people_field.queryset = Membership.objects.filter(pk__in=[m.pk for m in people]).select_related(
            "user", "organization"
        )
        people_field.label_from_instance = _person_label  # type: ignore[method-assign,assignment]
        # Her recorded legal representatives whom the staff member may see (the door chose them).
        self.legal_representatives = {p.pk: p for p in legal_representatives}
        self._set_choices(
            "signer_person",
            [("", "-")] + [(str(p.pk), _representative_label(p)) for p in self.legal_representatives.values()],
        )
        with translation.override(lang):
            self._word_fields()

    def _word_fields(self) -> None:
        """Every label, hint, choice and message in the consent's language (call under its override), as
        plain text: the form reads the same wherever it is rendered."""
        lang = self.lang
        class_choices = [(c.value, _class_label(c.value, lang)) for c in OrganizationClass]
        self._set_choices("discloser_classes", class_choices)
        self._set_choices("recipient_classes", class_choices)
        self._set_choices("purposes", [(value, str(label)) for value, label in PURPOSE_LABELS.items()])
        all_of_it, every_kind = str(WHOLE_CATEGORY[0]), str(WHOLE_CATEGORY[1])
        self._set_choices("categories", [(value, _option(all_of_it, every_kind)) for value in CATEGORY_LABELS])
        own = f" {OWN_CONSENT}"
        self._set_choices(
            "kinds",
            [
                (k.key, _option(_capital(k.words.in_(lang)), f"{k.example.in_(lang)}{own if k.own_consent else ''}"))
                for k in kind_table().kinds
            ],
        )
        for name, choices in RADIO_CHOICES.items():
            self._set_choices(name, [(value, str(label)) for value, label in choices])
        invalid_choice = str(CHOOSE_FROM_LIST)
        for field in self.fields.values():
            field.label = str(field.label) if field.label else field.label
            field.help_text = str(field.help_text)
            field.error_messages.update(
                {
                    "invalid_choice": invalid_choice,
                    "invalid_pk_value": invalid_choice,
                    "invalid_list": invalid_choice,
                    "invalid": str(REAL_DATE),
                    "required": invalid_choice,
                }
            )
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple):
                widget.attrs["class"] = "usa-checkbox__input usa-checkbox__input--tile"
            elif isinstance(widget, forms.RadioSelect):
                widget.attrs["class"] = "usa-radio__input usa-radio__input--tile"
        self.fields["signature_typed"].widget.attrs["autocomplete"] = "off"
        self.fields["signer_name"].widget.attrs["autocomplete"] = "off"

    def kind_groups(self) -> list[dict[str, Any]]:
        """The kinds of information, one group per category: its name, the "all of it" choice, its kinds."""
        whole = {w.data["value"]: w for w in self["categories"]}
        kinds = {w.data["value"]: w for w in self["kinds"]}
        groups = []
        with translation.override(self.lang):
            for category, (label, _help) in CATEGORY_LABELS.items():
                members = [kinds[k.key] for k in kinds_in(category) if k.key in kinds]
                groups.append(
                    {"category": category, "label": str(label), "whole": whole.get(category), "kinds": members}
                )
        return groups

    def shows_long_expiry_confirmation(self) -> bool:
        """The confirmation box beside the end date: when the end is beyond the horizon, or once ticked."""
        return self.asks_long_expiry or bool(self["confirm_long_expiry"].value())

    def _set_choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def terms_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in TERM_FIELDS]

    def terms(self) -> ConsentTerms:
        """The cleaned form as the service's terms (call after ``is_valid``)."""
        d = self.cleaned_data
        signer = self.legal_representatives.get(d["signer_person"]) if d.get("signer_person") else None
        ends_by_date = d.get("ends") != "event"
        expires_on = d.get("expires_on")
        return ConsentTerms(
            discloser_orgs=list(d.get("discloser_orgs") or []),
            discloser_classes=list(d.get("discloser_classes") or []),
            recipient_orgs=list(d.get("recipient_orgs") or []),
            recipient_people=list(d.get("recipient_people") or []),
            recipient_classes=list(d.get("recipient_classes") or []),
            purposes=list(d.get("purposes") or []),
            purpose_description=d.get("purpose_description", ""),
            categories=list(d.get("categories") or []),
            kinds=list(d.get("kinds") or []),
            information_description=d.get("information_description", ""),
            expires_at=end_of_day(expires_on) if ends_by_date and expires_on else None,
            expiry_event="" if ends_by_date else d.get("expiry_event", ""),
            confirm_long_expiry=bool(d.get("confirm_long_expiry")),
            signer_kind=d.get("signer_kind") or SignerKind.PARENT,
            # Her legal representative's name is filled in from the family when it is left empty.
            signer_name=d.get("signer_name", "")
            or (signer.display_name if d.get("signer_kind") == SignerKind.LEGAL_REPRESENTATIVE and signer else ""),
            signer_person=signer,
            signature_method=d.get("signature_method") or SignatureMethod.TYPED,
            signature_typed=d.get("signature_typed", ""),
            signature_drawn=d.get("signature_drawn", ""),
            guardian_name=d.get("guardian_name", ""),
            guardian_signature_typed=d.get("guardian_signature_typed", ""),
            language=self.lang,
            template_key=d.get("template_key", ""),
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """Put each of the service's messages next to its field, in the form's language."""
        by_key = error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.error_list}
        for key, problems in by_key.items():
            target = SERVICE_FIELD.get(key)
            if key == "expires_at" and self.cleaned_data.get("ends") == "event":
                target = "expiry_event"
            for problem in problems:
                self.asks_long_expiry |= problem.code == LONG_EXPIRY_CODE
                text = service_message(str(problem.message), self.lang, problem.params)
                if target and target in self.fields and text not in self.errors.get(target, []):
                    self.add_error(target, text)
                elif not target:
                    self.add_error(None, text)

    def has_term_errors(self) -> bool:
        return any(name in self.errors for name in TERM_FIELDS) or bool(self.non_field_errors())


def initial_from_version(version: Any, language: str) -> dict[str, Any]:
    """A new version starts from the latest one's terms; she signs again."""
    expires_on = version.expires_at.astimezone(ZoneInfo(str(settings.TIME_ZONE))).date() if version.expires_at else None
    return {
        "template_key": version.template_key,
        "title": version.directive.title,
        "language": language,
        "discloser_orgs": [o.pk for o in version.discloser_orgs.all()],
        "discloser_classes": list(version.discloser_classes),
        "recipient_orgs": [o.pk for o in version.recipient_orgs.all()],
        "recipient_people": [m.pk for m in version.recipient_people.all()],
        "recipient_classes": list(version.recipient_classes),
        "purposes": list(version.purposes),
        "purpose_description": version.purpose_description,
        "kinds": version_kinds(version.kinds, version.categories),
        "information_description": version.information_description,
        "ends": "event" if version.expiry_event else "date",
        "expires_on": expires_on,
        "expiry_event": version.expiry_event,
        "signer_kind": version.signer_kind,
        "signer_name": version.signer_name,
        "signer_person": version.signer_person_id,
    }


class RevokeForm(UswdsFormMixin, forms.Form):
    """How she took her consent back (42 CFR 2.31(a)(6)): in writing, or spoken to a named staff member."""

    method = forms.ChoiceField(
        label="How did she take it back?",
        choices=ConsentDirective._meta.get_field("revocation_method").choices,  # type: ignore[arg-type]
        widget=forms.RadioSelect,
        error_messages={"required": "Say how she took it back: in writing, or by telling a staff member."},
    )
    received_by = forms.ModelChoiceField(
        label="Who received it",
        queryset=Membership.objects.none(),
        help_text="The staff member she told, or who received her signed letter.",
        error_messages={
            "required": "Choose the staff member who received it.",
            "invalid_choice": "Choose a staff member from the list.",
        },
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: she called on Monday and asked to stop the updates to CPS.",
    )

    def __init__(self, *args: Any, staff: Iterable[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        received_by = self.fields["received_by"]
        assert isinstance(received_by, forms.ModelChoiceField)
        received_by.queryset = Membership.objects.filter(pk__in=[m.pk for m in staff]).select_related(
            "user", "organization"
        )
        received_by.label_from_instance = _person_label  # type: ignore[method-assign,assignment]
        received_by.empty_label = "- Select -"
        self.fields["method"].widget.attrs["class"] = "usa-radio__input"
