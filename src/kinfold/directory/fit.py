"""fit.py — whether a listed service fits one family, and why, in words a coordinator can repeat to her.

``fits(service, fit)`` takes the family's facts as plain values (``FamilyFit``, filled elsewhere from her
records through the access door: this module reads no family record) and returns what speaks for the service,
what rules it out, and what is not known. A fact that is not known never rules a service out; it is said
("not known") so the coordinator can ask. ``search.fit_conditions`` is the same rules as SQL, for the
"only services that fit her" filter; a property test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kinfold.directory.models import Moud, Need, ServiceStatus

# ISO 639-1 codes listings use, with the words shown for them (the region's languages first).
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "ar": "Arabic",
    "fr": "French",
    "ht": "Haitian Creole",
    "ne": "Nepali",
    "pt": "Portuguese",
    "ru": "Russian",
    "so": "Somali",
    "sw": "Swahili",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
    "sgn": "American Sign Language",
}

# Services that bill health insurance: for these, whether Medicaid is taken decides whether she can go.
# (A food pantry or a housing programme does not "take Medicaid": it does not charge.)
BILLED_NEEDS = frozenset({Need.SUD_TREATMENT, Need.MOUD, Need.PRENATAL_CARE, Need.MENTAL_HEALTH})
# Treatment that must say it accepts pregnant people before a coordinator sends a pregnant woman there.
TREATMENT_NEEDS = frozenset({Need.SUD_TREATMENT, Need.MOUD})


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class FamilyFit:
    """The facts of one family that decide whether a service fits her. None (or "") is "not known"."""

    gestational_weeks: int | None = None  # completed weeks of the ongoing pregnancy; None: not pregnant/not known
    postpartum_days: int | None = None  # days since the birth, within the postpartum year
    first_pregnancy: bool | None = None
    county: str = ""
    language: str = ""  # ISO 639-1, "es"
    medicaid: bool | None = None
    moud: str = ""  # a ``Moud`` value: the medication she takes, "" if none or not known
    age: int | None = None
    postal_code: str = ""

    @property
    def is_pregnant(self) -> bool:
        return self.gestational_weeks is not None

    @property
    def has_delivered(self) -> bool:
        """Known not to be pregnant: her baby was born and no new pregnancy is recorded."""
        return self.gestational_weeks is None and self.postpartum_days is not None


@dataclass(frozen=True)
class FitResult:
    fits: bool
    reasons_for: list[str] = field(default_factory=list)
    ruled_out_by: list[str] = field(default_factory=list)
    not_known: list[str] = field(default_factory=list)  # what to ask: never rules out


def _weeks(n: int) -> str:
    return f"{n} week" if n == 1 else f"{n} weeks"


def _window_words(before: int | None, start: int | None) -> str:
    if before is not None and start is not None:
        return f"enrols from {start} to before {before} weeks of pregnancy"
    if before is not None:
        return f"enrols before {before} weeks"
    return f"enrols from {start} weeks of pregnancy"


def _list_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def fits(service: Any, fit: FamilyFit) -> FitResult:
    """Why ``service`` fits the family of ``fit``, and what rules it out (plain words, one line each)."""
    yes: list[str] = []
    no: list[str] = []
    unknown: list[str] = []
    needs = set(service.needs or [])

    # Open now and taking new people.
    if service.status != ServiceStatus.ACTIVE:
        no.append(f"{ServiceStatus(service.status).label.lower()} — not taking anyone now")
    elif not service.accepting_new:
        no.append("not taking new people now")

    # A gestational-age window (home visiting that enrols before 28 weeks).
    before, start = service.enrol_before_week, service.enrol_from_week
    if before is not None or start is not None:
        window = _window_words(before, start)
        weeks = fit.gestational_weeks
        if weeks is None:
            if fit.has_delivered:
                no.append(f"{window}; she is not pregnant now (her baby has been born)")
            else:
                unknown.append(f"{window}; how far along she is is not known")
        elif before is not None and weeks >= before:
            no.append(f"{window}; she is at {_weeks(weeks)}")
        elif start is not None and weeks < start:
            no.append(f"{window}; she is at {_weeks(weeks)} (not yet)")
        else:
            yes.append(f"{window}; she is at {_weeks(weeks)}")

    if service.first_pregnancy_only:
        if fit.first_pregnancy is True:
            yes.append("first pregnancy only; this is her first")
        elif fit.first_pregnancy is False:
            no.append("first pregnancy only; this is not her first")
        else:
            unknown.append("first pregnancy only; whether this is her first is not known")

    counties = [c.strip() for c in (service.counties or []) if c.strip()]
    if counties:
        served = _list_words(counties)
        if not fit.county:
            unknown.append(f"serves only {served}; her county is not known")
        elif fit.county.strip().lower() in {c.lower() for c in counties}:
            yes.append(f"serves {fit.county}")
        else:
            no.append(f"serves only {served}; she lives in {fit.county}")

    languages = [code for code in (service.languages or []) if code]
    if fit.language:
        her = language_name(fit.language)
        if not languages:
            unknown.append(f"the languages spoken are not listed (she speaks {her})")
        elif fit.language in languages:
            yes.append(f"speaks {her}")
        else:
            # Not a reason to rule it out: services paid for with federal money must offer an interpreter
            # (Title VI of the Civil Rights Act), and she may speak more than her preferred language.
            spoken = _list_words([language_name(code) for code in languages])
            unknown.append(f"lists {spoken} only; ask about an interpreter for {her}")

    if fit.medicaid is True:
        if service.accepts_medicaid:
            yes.append("takes Medicaid")
        elif needs & BILLED_NEEDS:
            no.append("does not take Medicaid")
    elif fit.medicaid is None and needs & BILLED_NEEDS:
        if service.accepts_medicaid:
            unknown.append("takes Medicaid; whether she has it is not known")
        else:
            unknown.append("does not take Medicaid; her insurance is not known")

    offered = list(service.moud_offered)
    if fit.moud:
        hers = Moud(fit.moud).label.lower() if fit.moud in Moud.values else fit.moud
        if fit.moud in offered:
            yes.append(f"offers {hers}")
        elif offered:
            given = _list_words([Moud(m).label.lower() for m in offered])
            no.append(f"offers {given}, not {hers}")
        elif Need.MOUD in needs:
            unknown.append(f"offers medication for opioid use disorder; whether it offers {hers} is not known")
        if fit.is_pregnant and service.moud_continued_in_hospital and (offered or Need.MOUD in needs):
            yes.append("keeps her medication going through the birth and any NICU stay")

    minimum, maximum = service.minimum_age, service.maximum_age
    if minimum is not None or maximum is not None:
        if minimum is not None and maximum is not None:
            ages = f"serves ages {minimum} to {maximum}"
        elif minimum is not None:
            ages = f"serves ages {minimum} and over"
        else:
            ages = f"serves ages up to {maximum}"
        if fit.age is None:
            unknown.append(f"{ages}; her age is not known")
        elif (minimum is not None and fit.age < minimum) or (maximum is not None and fit.age > maximum):
            no.append(f"{ages}; she is {fit.age}")
        else:
            yes.append(f"{ages}; she is {fit.age}")

    if fit.is_pregnant:
        if service.accepts_pregnant:
            yes.append("accepts pregnant people")
        elif needs & TREATMENT_NEEDS:
            unknown.append("does not say it accepts pregnant people")
    if fit.postpartum_days is not None and service.postpartum_programme:
        yes.append("has a programme for the year after birth")
    if service.residential_with_children and (fit.is_pregnant or fit.postpartum_days is not None):
        yes.append("her children can stay with her")

    return FitResult(fits=not no, reasons_for=yes, ruled_out_by=no, not_known=unknown)
