"""instruments.py — screening instruments as data: the schema of an instrument file, the loader (the project's
one loader, ``kinfold.datafiles``), which questions are asked given the answers so far (skip logic), and exact
scoring by each instrument's published rules.

An instrument file (``screening/data/instruments/<key>.yaml``, or a directory named by
``KINFOLD_SCREENING_INSTRUMENT_DIRS`` for an organisation's licensed instruments) says everything: the items,
their answer options and values, which items are asked when, the scales and how each is scored (sum, count or
highest answer), what a missing answer does, the bands and cut-offs, which answers are critical, the languages,
LOINC codes, the citation and licence, and the kind of information its responses are filed as for each type of
organisation that gives it. ``docs/screening.md`` walks through one file line by line.

Scoring never guesses: a question not asked (skipped by the instrument's own logic) counts as 0; a question
asked and not answered is *missing*, and each scale says how many it tolerates and whether the score is then
prorated (the mean of the answered items times the number of items, rounded half up, as the PHQ and GAD
manuals do). Beyond that the scale cannot be scored, and ``ScaleResult.unscored`` says why in plain words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.utils.translation import gettext
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kinfold.datafiles import DataFileError, load_data_file

BUILT_IN_DIR = Path(__file__).parent / "data" / "instruments"
LANGUAGES = ("en", "es")

Answer = int | list[int]  # one option's value, a number typed in, or the values of the options ticked


class InstrumentFileError(DataFileError):
    """An instrument file that cannot be read or does not follow the schema (file, line and field named)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """Words in each language the instrument ships in. English is always there."""

    en: str = Field(min_length=1)
    es: str | None = None

    def get(self, language: str) -> str:
        return getattr(self, language, None) or self.en


class Option(_Strict):
    value: int
    label: Text
    loinc: str | None = None  # the LOINC answer code (LA…), where one exists
    exclusive: bool = False  # for "choose all that apply": ticking it clears the others ("None of the above")


class ShowIf(_Strict):
    """Ask this item only when ``item``'s answer is one of ``in_`` (for a number: at least ``at_least``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    item: str
    in_: tuple[int, ...] | None = Field(default=None, alias="in")
    at_least: int | None = None

    @model_validator(mode="after")
    def _one_test(self) -> ShowIf:
        if (self.in_ is None) == (self.at_least is None):
            raise ValueError("say either `in` (a list of answer values) or `at_least` (a number), not both")
        return self


class Item(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text: Text
    type: Literal["choice", "multiple", "number"] = "choice"
    options: str | tuple[Option, ...] | None = None  # the name of an option set, or the options themselves
    minimum: int | None = None  # for a number
    maximum: int | None = None
    unit: Text | None = None
    loinc: str | None = None
    section: Text | None = None  # a heading shown above the first item of a part ("Part B")
    help: Text | None = None
    show_if: tuple[ShowIf, ...] = ()  # asked only when every condition holds
    show_if_any: tuple[ShowIf, ...] = ()  # asked only when at least one condition holds
    critical: tuple[int, ...] = ()  # answer values that raise a safety alert at once
    scored: bool = True  # False: asked and kept, but in no scale (PHQ-9's "how difficult")

    @model_validator(mode="after")
    def _shape(self) -> Item:
        if self.type == "number":
            if self.options is not None:
                raise ValueError("a number item has no options")
            if self.minimum is None or self.maximum is None or self.minimum > self.maximum:
                raise ValueError("a number item needs `minimum` and `maximum` (minimum ≤ maximum)")
        elif self.options is None:
            raise ValueError(f"a {self.type} item needs `options` (an option set's name or a list)")
        return self


class Band(_Strict):
    min: float
    max: float
    label: Text
    positive: bool = False  # a positive screen: propose next steps
    critical: bool = False  # a score in this band raises a safety alert at once
    needs: tuple[str, ...] = ()  # referral needs to propose (directory.models.Need values)
    advice: Text | None = None  # what the band usually means for next steps, for staff


class Missing(_Strict):
    """How many asked-but-unanswered items a scale tolerates, and whether it then prorates."""

    allowed: int = Field(default=0, ge=0)
    prorate: bool = False


class Scale(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: Text
    items: tuple[str, ...]
    method: Literal["sum", "count", "max"] = "sum"
    count_values: tuple[int, ...] = ()  # for `count`: answers with these values count one each
    missing: Missing = Missing()
    bands: tuple[Band, ...]
    loinc: str | None = None  # the LOINC code of the score, where one exists
    chart: bool = True  # drawn in the family page's chart of scores over time

    @model_validator(mode="after")
    def _shape(self) -> Scale:
        if self.method == "count" and not self.count_values:
            raise ValueError("a `count` scale needs `count_values`")
        ordered = sorted(self.bands, key=lambda b: b.min)
        for band in ordered:
            if band.min > band.max:
                raise ValueError(f"band {band.label.en!r}: min is above max")
        for before, after in pairwise(ordered):
            if after.min <= before.max:
                raise ValueError(f"bands {before.label.en!r} and {after.label.en!r} overlap")
        return self


class Filing(_Strict):
    """The kind of information a response is filed as (``access/data/kinds.yaml``), by the type of organisation
    giving it (``organizations.models.OrganizationType``); ``default`` for every other type."""

    default: str
    by_organization_type: dict[str, str] = {}


class Instrument(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str = Field(min_length=1)
    title: Text
    short_title: str
    measures: Text  # what it screens for, in a few words ("depression")
    languages: tuple[Literal["en", "es"], ...] = ("en",)
    citation: str
    licence: str
    loinc: str | None = None  # the LOINC panel code of the whole instrument, where one exists
    preamble: Text | None = None  # the instruction read before the items ("Over the last 2 weeks…")
    one_per_screen: bool = False  # one question per screen on a phone (long instruments)
    ages: tuple[int, int] | None = None  # given only to parents whose age is within (inclusive)
    licensed_to: tuple[str, ...] = ()  # organisation names that may give it (empty: everyone)
    option_sets: dict[str, tuple[Option, ...]] = {}
    items: tuple[Item, ...]
    scales: tuple[Scale, ...]
    filing: Filing
    critical_message: Text | None = None  # shown to staff with the safety protocol when an answer is critical

    @field_validator("languages")
    @classmethod
    def _english_first(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "en" not in value:
            raise ValueError("every instrument ships in English (`en`)")
        return value

    @model_validator(mode="after")
    def _references(self) -> Instrument:
        keys = [i.key for i in self.items]
        if len(set(keys)) != len(keys):
            raise ValueError("two items share a key")
        scale_keys = [s.key for s in self.scales]
        if len(set(scale_keys)) != len(scale_keys):
            raise ValueError("two scales share a key")
        seen: set[str] = set()
        for item in self.items:
            if isinstance(item.options, str) and item.options not in self.option_sets:
                raise ValueError(f"item {item.key}: no option set named {item.options!r}")
            for cond in (*item.show_if, *item.show_if_any):
                if cond.item not in seen:
                    raise ValueError(f"item {item.key}: `show_if` names {cond.item!r}, which is not an earlier item")
            values = {o.value for o in self.options_of(item)}
            for value in item.critical:
                if item.type != "number" and value not in values:
                    raise ValueError(f"item {item.key}: critical value {value} is not one of its options")
            for language in self.languages:
                if language != "en" and getattr(item.text, language, None) is None:
                    raise ValueError(f"item {item.key}: no {language} text, but the instrument lists {language}")
            seen.add(item.key)
        for scale in self.scales:
            for key in scale.items:
                if key not in keys:
                    raise ValueError(f"scale {scale.key}: no item {key!r}")
        return self

    # --- reading the file ---------------------------------------------------------------------------------
    def options_of(self, item: Item) -> tuple[Option, ...]:
        if item.options is None:
            return ()
        if isinstance(item.options, str):
            return self.option_sets[item.options]
        return item.options

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    def scale(self, key: str) -> Scale:
        for scale in self.scales:
            if scale.key == key:
                return scale
        raise KeyError(key)

    def kind_for(self, organization_type: str) -> str:
        return self.filing.by_organization_type.get(organization_type, self.filing.default)

    def speaks(self, language: str) -> str:
        """The language to show it in: ``language`` if the instrument ships in it, else English."""
        return language if language in self.languages else "en"

    # --- asking ---------------------------------------------------------------------------------------------
    def is_asked(self, item: Item, answers: Mapping[str, Answer]) -> bool:
        """Whether ``item`` is asked, given the answers so far (its conditions name earlier items only)."""

        def holds(cond: ShowIf) -> bool:
            given = answers.get(cond.item)
            if given is None or not self.is_asked(self.item(cond.item), answers):
                return False
            chosen = given if isinstance(given, list) else [given]
            if cond.at_least is not None:
                return any(v >= cond.at_least for v in chosen)
            return any(v in (cond.in_ or ()) for v in chosen)

        if item.show_if and not all(holds(c) for c in item.show_if):
            return False
        return not (item.show_if_any and not any(holds(c) for c in item.show_if_any))

    def asked(self, answers: Mapping[str, Answer]) -> list[Item]:
        return [item for item in self.items if self.is_asked(item, answers)]

    def clean_answer(self, item: Item, raw: Any) -> Answer:
        """``raw`` as a valid answer to ``item``, or ValueError in plain words."""
        if item.type == "number":
            try:
                number = int(raw)
            except (TypeError, ValueError):
                raise ValueError(gettext("Enter a whole number.")) from None
            assert item.minimum is not None and item.maximum is not None
            if not item.minimum <= number <= item.maximum:
                raise ValueError(
                    gettext("Enter a number from %(low)s to %(high)s.") % {"low": item.minimum, "high": item.maximum}
                )
            return number
        values = {o.value for o in self.options_of(item)}
        if item.type == "multiple":
            chosen = sorted({int(v) for v in (raw if isinstance(raw, list | tuple) else [raw])})
            if not chosen or any(v not in values for v in chosen):
                raise ValueError(gettext("Choose one or more of the answers shown."))
            exclusive = {o.value for o in self.options_of(item) if o.exclusive}
            if len(chosen) > 1 and exclusive & set(chosen):
                raise ValueError(gettext("“None of these” cannot be chosen with another answer."))
            return chosen
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValueError(gettext("Choose one of the answers shown.")) from None
        if value not in values:
            raise ValueError(gettext("Choose one of the answers shown."))
        return value

    def critical_items(self, answers: Mapping[str, Answer]) -> list[Item]:
        """The asked items whose answer is critical."""
        found = []
        for item in self.asked(answers):
            given = answers.get(item.key)
            if given is None or not item.critical:
                continue
            chosen = given if isinstance(given, list) else [given]
            if any(v in item.critical for v in chosen):
                found.append(item)
        return found

    # --- scoring --------------------------------------------------------------------------------------------
    def score(self, answers: Mapping[str, Answer]) -> Result:
        """Every scale's score and band, by the instrument's published rules (see the module's docstring)."""
        clean: dict[str, Answer] = {}
        for key, value in answers.items():
            try:
                clean[key] = self.clean_answer(self.item(key), value)
            except (KeyError, ValueError):
                continue  # an answer to no item, or not a valid one, is not an answer
        asked = {item.key for item in self.asked(clean)}
        scales = [self._score_scale(scale, clean, asked) for scale in self.scales]
        critical = [i.key for i in self.critical_items(clean)]
        critical_scales = [s.key for s in scales if s.band is not None and s.band.critical]
        missing = [k for k in (i.key for i in self.items) if k in asked and k not in clean]
        return Result(
            scales=scales,
            critical_items=critical,
            critical_scales=critical_scales,
            missing=missing,
            critical_unanswered=[k for k in missing if self.item(k).critical],
        )

    def _score_scale(self, scale: Scale, answers: Mapping[str, Answer], asked: set[str]) -> ScaleResult:
        values: list[float] = []
        missing = 0
        for key in scale.items:
            if key not in asked:
                if self._waits_on_missing(self.item(key), answers, asked):
                    missing += 1  # not asked only because the question that opens it was left blank
                else:
                    values.append(0)  # not asked: the instrument's own logic makes it 0
                continue
            given = answers.get(key)
            if given is None:
                missing += 1
                continue
            chosen = given if isinstance(given, list) else [given]
            if scale.method == "count":
                values.append(sum(1 for v in chosen if v in scale.count_values))
            else:
                values.append(sum(chosen) if scale.method == "sum" else max(chosen))
        if missing > scale.missing.allowed:
            allowed = scale.missing.allowed
            why = (
                "every question must be answered"
                if allowed == 0
                else f"no more than {allowed} question{'s' if allowed != 1 else ''} may be left unanswered"
            )
            return ScaleResult(
                key=scale.key,
                score=None,
                band=None,
                prorated=False,
                unscored=f"{missing} question{'s' if missing != 1 else ''} not answered; for this scale {why}.",
            )
        prorated = False
        if scale.method == "max":
            score: float = max(values, default=0)
        elif missing and scale.missing.prorate and values:
            mean = Decimal(str(sum(values))) / Decimal(len(values))
            score = float((mean * len(scale.items)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
            prorated = True
        else:
            score = sum(values)
        band = next((b for b in scale.bands if b.min <= score <= b.max), None)
        if band is None:
            return ScaleResult(
                key=scale.key,
                score=score,
                band=None,
                prorated=prorated,
                unscored=f"A score of {_num(score)} falls in none of the instrument's bands.",
            )
        return ScaleResult(key=scale.key, score=score, band=band, prorated=prorated, unscored="")

    def _waits_on_missing(self, item: Item, answers: Mapping[str, Answer], asked: set[str]) -> bool:
        """Whether ``item`` is unasked only because a question its conditions name was asked and left blank."""
        for cond in (*item.show_if, *item.show_if_any):
            if cond.item in asked and cond.item not in answers:
                return True
            if cond.item not in asked and self._waits_on_missing(self.item(cond.item), answers, asked):
                return True
        return False

    def score_range(self, scale: Scale) -> tuple[float, float]:
        """The lowest and highest score ``scale`` can take with every item answered."""
        low = high = 0.0
        parts = []
        for key in scale.items:
            item = self.item(key)
            if item.type == "number":
                assert item.minimum is not None and item.maximum is not None
                parts.append((float(min(0, item.minimum)), float(item.maximum)))
                continue
            opts = [o.value for o in self.options_of(item)]
            if scale.method == "count":
                top = (
                    sum(1 for v in opts if v in scale.count_values)
                    if item.type == "multiple"
                    else int(any(v in scale.count_values for v in opts))
                )
                parts.append((0.0, float(top)))
            elif item.type == "multiple":
                parts.append((0.0, float(sum(v for v in opts if v > 0))))
            else:
                lowest = min(opts) if not (item.show_if or item.show_if_any) else min(0, *opts)
                parts.append((float(lowest), float(max(opts))))
        if scale.method == "max":
            return (min((p[0] for p in parts), default=0.0), max((p[1] for p in parts), default=0.0))
        for lo, hi in parts:
            low += lo
            high += hi
        return (low, high)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class ScaleResult:
    key: str
    score: float | None
    band: Band | None
    prorated: bool
    unscored: str  # why it could not be scored ("" when it was)

    @property
    def positive(self) -> bool:
        return self.band is not None and self.band.positive

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "score": self.score,
            "band": self.band.label.en if self.band else None,
            "band_min": self.band.min if self.band else None,
            "positive": self.positive,
            "critical": bool(self.band and self.band.critical),
            "needs": list(self.band.needs) if self.band else [],
            "prorated": self.prorated,
            "unscored": self.unscored,
        }


@dataclass(frozen=True)
class Result:
    scales: list[ScaleResult]
    critical_items: list[str] = field(default_factory=list)
    critical_scales: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # Questions that raise an alert when answered so, left blank: staff ask her directly (no alert is raised).
    critical_unanswered: list[str] = field(default_factory=list)

    @property
    def positive(self) -> bool:
        return any(s.positive for s in self.scales)

    @property
    def critical(self) -> bool:
        return bool(self.critical_items or self.critical_scales)

    @property
    def needs(self) -> list[str]:
        out: list[str] = []
        for s in self.scales:
            for need in s.band.needs if s.band and s.band.positive else ():
                if need not in out:
                    out.append(need)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "scales": [s.as_json() for s in self.scales],
            "critical_items": self.critical_items,
            "critical_scales": self.critical_scales,
            "missing": self.missing,
            "critical_unanswered": self.critical_unanswered,
            "positive": self.positive,
            "needs": self.needs,
        }


# --- the catalogue -----------------------------------------------------------------------------------------
def load_instrument(path: Path) -> Instrument:
    """One instrument file, validated; errors name the file, line and field."""
    instrument = load_data_file(path, Instrument, what="an instrument file", error=InstrumentFileError)
    _check_references(path, instrument)
    return instrument


def _check_references(path: Path, instrument: Instrument) -> None:
    """What the schema alone cannot know: the kinds and organisation types and needs it names exist."""
    from kinfold.access.vocabulary import kind_of
    from kinfold.directory.models import Need
    from kinfold.organizations.models import OrganizationType

    problems = []
    for kind in (instrument.filing.default, *instrument.filing.by_organization_type.values()):
        if kind_of(kind) is None:
            problems.append(f"filing: no kind of information {kind!r} (access/data/kinds.yaml)")
    for org_type in instrument.filing.by_organization_type:
        if org_type not in OrganizationType.values:
            problems.append(f"filing.by_organization_type: no organisation type {org_type!r}")
    needs = set(Need.values)
    for scale in instrument.scales:
        for band in scale.bands:
            for need in band.needs:
                if need not in needs:
                    problems.append(f"scale {scale.key}: band {band.label.en!r} names no need {need!r}")
    if problems:
        raise InstrumentFileError(f"{path}: " + "; ".join(problems))


def instrument_dirs() -> list[Path]:
    extra = getattr(settings, "KINFOLD_SCREENING_INSTRUMENT_DIRS", ())
    return [BUILT_IN_DIR, *(Path(p) for p in extra)]


@cache
def catalogue() -> dict[str, Instrument]:
    """Every instrument, by key (an organisation's own file may not reuse a shipped key)."""
    found: dict[str, Instrument] = {}
    for directory in instrument_dirs():
        for path in sorted(directory.glob("*.yaml")):
            instrument = load_instrument(path)
            if instrument.key in found:
                raise InstrumentFileError(f"{path}: key {instrument.key!r} is already used by another instrument file")
            found[instrument.key] = instrument
    return found


def get_instrument(key: str) -> Instrument:
    try:
        return catalogue()[key]
    except KeyError:
        raise KeyError(f"No screening instrument {key!r}.") from None


def offered_to(organization_name: str, *, age: int | None) -> list[Instrument]:
    """The instruments an organisation may give a parent of ``age`` (None: not known, so every age)."""
    out = []
    for instrument in catalogue().values():
        if instrument.licensed_to and organization_name not in instrument.licensed_to:
            continue
        if instrument.ages is not None and age is not None and not instrument.ages[0] <= age <= instrument.ages[1]:
            continue
        out.append(instrument)
    return sorted(out, key=lambda i: i.short_title.lower())
