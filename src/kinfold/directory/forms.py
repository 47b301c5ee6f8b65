"""forms.py — the directory's two forms: the search (words, a place and a distance, filters) and a listing's
edit by its own organisation. They check what was typed and explain in plain words; the rules themselves are
re-checked by ``services`` and ``search``."""

from __future__ import annotations

from typing import Any

from django import forms

from kinfold.directory import geo
from kinfold.directory.fit import LANGUAGE_NAMES
from kinfold.directory.models import Moud, Need, Service, ServiceStatus
from kinfold.directory.search import FLAG_FILTERS, MAX_RADIUS_MILES, SearchFilters
from kinfold.directory.services import EDITABLE_FIELDS, LONGEST_PREGNANCY_WEEKS, LONGEST_WAIT_DAYS, MAX_AGE
from kinfold.web.forms import UswdsFormMixin

RADIUS_CHOICES = (5, 10, 15, 25, 50)
NUMBER = {"invalid": "Type a whole number."}


class SearchForm(UswdsFormMixin, forms.Form):
    q = forms.CharField(
        label="What she needs",
        required=False,
        max_length=200,
        help_text="A few words, for example “buprenorphine”, “housing” or “home visiting”. Spelling mistakes are fine.",
    )
    near = forms.CharField(
        label="Near",
        required=False,
        max_length=200,
        help_text="A ZIP code, an address with its ZIP code, or a town and state (Lexington, KY).",
    )
    radius = forms.FloatField(
        label="Within (miles)",
        required=False,
        help_text="Leave empty for any distance.",
        error_messages={"invalid": "Type the distance as a number of miles, for example 15."},
    )
    need = forms.ChoiceField(label="Need", required=False, choices=[("", "Any need"), *Need.choices])
    moud = forms.MultipleChoiceField(
        label="Medication for opioid use disorder",
        required=False,
        choices=Moud.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Services that offer any of the medications ticked.",
    )
    language = forms.ChoiceField(
        label="Speaks", required=False, choices=[("", "Any language"), *LANGUAGE_NAMES.items()]
    )
    county = forms.CharField(label="Serves the county", required=False, max_length=120)
    max_wait_days = forms.IntegerField(
        label="Longest wait (days)",
        required=False,
        min_value=0,
        max_value=LONGEST_WAIT_DAYS,
        help_text="Services that have not said how long the wait is are left out.",
        error_messages=NUMBER,
    )
    include_closed = forms.BooleanField(label="Include services that are temporarily closed", required=False)
    fits_only = forms.BooleanField(label="Only services that fit her", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in FLAG_FILTERS.items():
            self.fields[name] = forms.BooleanField(label=label, required=False)
        # The flags join the other fields' styling (the mixin ran before they were added).
        for name in FLAG_FILTERS:
            self.fields[name].widget.attrs["class"] = "usa-checkbox__input"
        self.fields["moud"].widget.attrs["class"] = "usa-checkbox__input"

    @property
    def flag_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in FLAG_FILTERS]

    def clean_radius(self) -> float | None:
        radius = self.cleaned_data.get("radius")
        if radius is None:
            return None
        if radius != radius or radius <= 0:  # NaN, zero or negative
            raise forms.ValidationError("The distance must be more than 0 miles.")
        if radius > MAX_RADIUS_MILES:
            raise forms.ValidationError(f"The distance can be at most {MAX_RADIUS_MILES} miles.")
        return radius

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["point"] = None
        data["place_label"] = ""
        near = (data.get("near") or "").strip()
        if near:
            located = geo.locate(near)
            if located.point is None:
                self.add_error("near", located.reason)
            else:
                data["point"], data["place_label"] = located.point, located.label
        elif data.get("radius") is not None:
            self.add_error("near", "Type a ZIP code or an address to search within a distance of it.")
        return data

    def filters(self) -> SearchFilters:
        data = self.cleaned_data
        statuses: tuple[str, ...] = (ServiceStatus.ACTIVE,)
        if data.get("include_closed"):
            statuses = (ServiceStatus.ACTIVE, ServiceStatus.TEMPORARILY_CLOSED)
        return SearchFilters(
            need=data.get("need") or "",
            statuses=tuple(str(s) for s in statuses),
            moud=tuple(data.get("moud") or ()),
            language=data.get("language") or "",
            county=(data.get("county") or "").strip(),
            max_wait_days=data.get("max_wait_days"),
            **{name: bool(data.get(name)) for name in FLAG_FILTERS},
        )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


class ListingForm(UswdsFormMixin, forms.Form):
    """What a listing's own organisation keeps current. ``version`` is what she read (optimistic concurrency)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(label="Status", choices=ServiceStatus.choices)
    accepting_new = forms.BooleanField(label="Taking new people now", required=False)
    wait_days = forms.IntegerField(
        label="Usual wait before a first appointment (days)",
        required=False,
        min_value=0,
        max_value=LONGEST_WAIT_DAYS,
        help_text="Leave empty if you cannot say.",
        error_messages=NUMBER,
    )
    capacity_note = forms.CharField(label="A note on capacity", required=False, max_length=300)
    needs = forms.MultipleChoiceField(
        label="What it helps with", required=False, choices=Need.choices, widget=forms.CheckboxSelectMultiple
    )
    accepts_pregnant = forms.BooleanField(label="Accepts pregnant people", required=False)
    postpartum_programme = forms.BooleanField(label="Programme for the year after birth", required=False)
    parenting_programme = forms.BooleanField(label="Parenting programme", required=False)
    moud_methadone = forms.BooleanField(label="Offers methadone", required=False)
    moud_buprenorphine = forms.BooleanField(label="Offers buprenorphine", required=False)
    moud_naltrexone = forms.BooleanField(label="Offers naltrexone", required=False)
    moud_continued_in_hospital = forms.BooleanField(
        label="Keeps the medication going through delivery and NICU stays", required=False
    )
    residential_with_children = forms.BooleanField(label="Residential, children stay with the parent", required=False)
    childcare_on_site = forms.BooleanField(label="Childcare on site", required=False)
    transport_help = forms.BooleanField(label="Help with transport", required=False)
    walk_in = forms.BooleanField(label="Walk-in (no appointment)", required=False)
    accepts_medicaid = forms.BooleanField(label="Takes Medicaid", required=False)
    languages = forms.MultipleChoiceField(
        label="Languages spoken", required=False, choices=list(LANGUAGE_NAMES.items()),
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    minimum_age = forms.IntegerField(
        label="Youngest age served", required=False, min_value=0, max_value=MAX_AGE, error_messages=NUMBER
    )
    maximum_age = forms.IntegerField(
        label="Oldest age served", required=False, min_value=0, max_value=MAX_AGE, error_messages=NUMBER
    )
    counties = forms.CharField(
        label="Counties served",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line. Leave empty if it serves people from any county.",
    )
    first_pregnancy_only = forms.BooleanField(label="First pregnancy only", required=False)
    enrol_from_week = forms.IntegerField(
        label="Enrols from week of pregnancy",
        required=False,
        min_value=1,
        max_value=LONGEST_PREGNANCY_WEEKS,
        error_messages=NUMBER,
    )
    enrol_before_week = forms.IntegerField(
        label="Enrols before week of pregnancy",
        required=False,
        min_value=1,
        max_value=LONGEST_PREGNANCY_WEEKS,
        help_text="For example 28 if a pregnant person must enrol before 28 weeks.",
        error_messages=NUMBER,
    )
    eligibility_description = forms.CharField(
        label="Who it is for, in your words", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        if not args or args[0] is None:
            kwargs.setdefault("initial", {})
            kwargs["initial"] = {
                **{name: getattr(service, name) for name in EDITABLE_FIELDS},
                "counties": "\n".join(service.counties or []),
                "version": service.version,
                **kwargs["initial"],
            }
        super().__init__(*args, **kwargs)
        # Keep codes the listing already has, even when Kinfold has no name for them.
        extra = [(c, c) for c in service.languages or [] if c not in LANGUAGE_NAMES]
        field = self.fields["languages"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [*LANGUAGE_NAMES.items(), *extra]
        for name in ("needs", "languages"):
            self.fields[name].widget.attrs["class"] = "usa-checkbox__input"

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        data["counties"] = _lines(data.get("counties") or "")
        return {name: data[name] for name in EDITABLE_FIELDS if name in data}
