"""Forms of the pathway pages: enrolling a family, doing a step (done, not applicable, reassigned), a child-welfare
date, ending an enrolment and a shared decision-making record."""

from __future__ import annotations

from typing import Any

from django import forms

from kinfold import clock, text_limits
from kinfold.consent.access_forms import RadioGroup
from kinfold.organizations.models import Membership, role_words
from kinfold.pathways.definitions import Pathway
from kinfold.pathways.models import ChildWelfareEventType, DecisionTopic
from kinfold.web.forms import UswdsFormMixin


class DateInput(forms.DateInput):
    input_type = "date"


def _person(m: Membership) -> str:
    return f"{m.user.get_full_name() or m.user.get_username()} ({role_words(m.role)})"


class EnrolForm(UswdsFormMixin, forms.Form):
    pathway = forms.ChoiceField(label="Pathway", widget=RadioGroup)
    enrolled_on = forms.DateField(
        label="Enrolled on",
        widget=DateInput,
        help_text="Due dates that count from enrolment count from this day. Usually today.",
    )
    caseworker = forms.TypedChoiceField(label="CPS caseworker", required=False, coerce=int, empty_value=None)
    mentor = forms.TypedChoiceField(label="Family mentor", required=False, coerce=int, empty_value=None)

    def __init__(
        self,
        *args: Any,
        pathways: list[Pathway],
        caseworkers: list[Membership],
        mentors: list[Membership],
        pair_counts: dict[tuple[int, int], int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.people = {m.pk: m for m in [*caseworkers, *mentors]}
        field = self.fields["pathway"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(p.key, f"{p.title.en} (version {p.version}) — {p.summary.en}") for p in pathways]
        if len(pathways) == 1:
            field.initial = pathways[0].key
        pairs = pair_counts or {}
        for name, people, words in (
            ("caseworker", caseworkers, "No caseworker yet"),
            ("mentor", mentors, "No mentor yet"),
        ):
            choice = self.fields[name]
            assert isinstance(choice, forms.ChoiceField)
            choice.choices = [("", words), *[(m.pk, _person(m)) for m in people]]
        if any(p.pair_cap for p in pathways):
            held = ", ".join(
                f"{_person(self.people[c]).split(' (')[0]} and {_person(self.people[m]).split(' (')[0]}: {n}"
                for (c, m), n in sorted(pairs.items())
                if c in self.people and m in self.people
            )
            self.fields["mentor"].help_text = (
                "START pairs a caseworker with a family mentor on each family; a pair works with at most "
                f"{max(p.pair_cap or 0 for p in pathways)} families. "
                + (f"Families each pair has now: {held}." if held else "No pair has families yet.")
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("caseworker", "mentor"):
            if data.get(name) is not None:
                data[name] = self.people.get(data[name])
        return data


class DoneForm(UswdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    done_on = forms.DateField(label="Done on", widget=DateInput)
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=text_limits.STEP_NOTE.chars,
        help_text="What happened, in a few words. The family's other staff may read it as her consent allows.",
    )


class NotApplicableForm(UswdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label="Why it does not apply",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=text_limits.STEP_NOTE.chars,
        help_text="For example: the child is too young for this screen; she already has a home visitor.",
    )


class ReassignForm(UswdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    assignee = forms.TypedChoiceField(label="Responsible person", coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, people: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.people = {m.pk: m for m in people}
        field = self.fields["assignee"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "No one yet"), *[(m.pk, f"{_person(m)}, {m.organization.name}") for m in people]]

    def clean_assignee(self) -> Membership | None:
        value = self.cleaned_data.get("assignee")
        return self.people.get(value) if value is not None else None


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class EndForm(UswdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label="Why the family is leaving this pathway",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=text_limits.STEP_NOTE.chars,
    )


class ChildWelfareEventForm(UswdsFormMixin, forms.Form):
    event = forms.ChoiceField(label="What happened", choices=ChildWelfareEventType.choices)
    occurred_on = forms.DateField(label="On", widget=DateInput)
    note = forms.CharField(label="Note", required=False, max_length=300)

    def clean_occurred_on(self) -> Any:
        day = self.cleaned_data["occurred_on"]
        if day > clock.today():
            raise forms.ValidationError("The day cannot be in the future.")
        return day


class CorrectDateForm(UswdsFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    occurred_on = forms.DateField(label="Correct day", widget=DateInput)


class SharedDecisionForm(UswdsFormMixin, forms.Form):
    """Per topic: discussed (yes/no), her questions, her preferences, her decision in her words; her goals."""

    met_on = forms.DateField(label="Day of the conversation", widget=DateInput)
    who_took_part = forms.CharField(
        label="Who took part",
        required=False,
        max_length=300,
        help_text="For example: she and her partner, her mentor, her MOUD prescriber.",
    )
    goals = forms.CharField(
        label="Her own goals, in her words",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=text_limits.STEP_NOTE.chars,
    )

    PARTS = (
        ("questions", "Her questions"),
        ("preferences", "Her preferences"),
        ("decision", "Her decision, in her words"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topic_fields: list[tuple[str, str, list[str]]] = []
        for topic in DecisionTopic:
            names = [f"{topic.value}__discussed"]
            self.fields[names[0]] = forms.BooleanField(
                label="We talked about this",
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "usa-checkbox__input"}),
            )
            for part, label in self.PARTS:
                name = f"{topic.value}__{part}"
                self.fields[name] = forms.CharField(
                    label=label,
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2, "class": "usa-textarea"}),
                    max_length=text_limits.DECISION_WORDS.chars,
                )
                names.append(name)
            self.topic_fields.append((topic.value, str(topic.label), names))

    def clean_met_on(self) -> Any:
        day = self.cleaned_data["met_on"]
        if day > clock.today():
            raise forms.ValidationError("The day cannot be in the future.")
        return day

    def topics(self) -> dict[str, dict[str, Any]]:
        data = self.cleaned_data
        out: dict[str, dict[str, Any]] = {}
        for topic in DecisionTopic:
            entry: dict[str, Any] = {"discussed": bool(data.get(f"{topic.value}__discussed"))}
            for part, _label in self.PARTS:
                entry[part] = (data.get(f"{topic.value}__{part}") or "").strip()
            out[topic.value] = entry
        return out

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.is_bound and not self.errors:
            topics = self.topics()
            if not any(t["discussed"] for t in topics.values()):
                raise forms.ValidationError("Tick at least one topic you talked about.")
            for topic, entry in topics.items():
                if not entry["discussed"] and (entry["questions"] or entry["preferences"] or entry["decision"]):
                    self.add_error(f"{topic}__discussed", "You wrote about this topic: tick that you talked about it.")
        return data
