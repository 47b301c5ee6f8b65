"""library.py — the consent template library (``data/consent_templates.yaml``): the common grants
(team-wide coordination, CPS status updates, court compliance reports, OB / birthing hospital plan of
care), validated once at load with errors that name the file, the line and the field.

A template only prefills the capture form, which stays editable before she signs. This module never
records a consent and never decides access: ``services.consent_record`` and ``access.rules.decide`` do.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kinfold.access.vocabulary import OrganizationClass, Purpose, kind_of, own_consent_kinds
from kinfold.consent.summaries import kinds_words
from kinfold.datafiles import load_data_file
from kinfold.organizations.models import Organization, OrganizationType

LIBRARY_PATH = Path(__file__).parent / "data" / "consent_templates.yaml"
LANGUAGES = ("en", "es")


class Text(BaseModel):
    """The same words in English and Spanish; both are required."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    en: str = Field(min_length=1)
    es: str = Field(min_length=1)

    def in_(self, language: str) -> str:
        return self.es if language == "es" else self.en


class Parties(BaseModel):
    """Who may share, or who may receive: general designations and/or organisations named from her team."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: list[str] = Field(default_factory=list)
    team_org_types: list[str] = Field(default_factory=list)
    team_part2_programs: bool = False

    @field_validator("classes")
    @classmethod
    def known_classes(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(OrganizationClass.values)
        if unknown:
            raise ValueError(f"unknown groups of organisations: {sorted(unknown)}")
        return value

    @field_validator("team_org_types")
    @classmethod
    def known_types(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(OrganizationType.values)
        if unknown:
            raise ValueError(f"unknown organisation types: {sorted(unknown)}")
        return value

    @model_validator(mode="after")
    def names_someone(self) -> Parties:
        if not (self.classes or self.team_org_types or self.team_part2_programs):
            raise ValueError("name a group, organisation types or the Part 2 programmes on her team")
        return self

    def named_from(self, team_orgs: list[Organization]) -> list[Organization]:
        return [
            o for o in team_orgs if o.type in self.team_org_types or (self.team_part2_programs and o.is_part2_program)
        ]


class ConsentTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    title: Text
    description: Text
    disclosers: Parties
    recipients: Parties
    purposes: list[str] = Field(min_length=1)
    purpose_description: Text | None = None
    # The kinds it shares, one by one (CONSENT-RULES: a template's promise must be what its kinds say).
    kinds: list[str] = Field(min_length=1)
    expires_after_days: int | None = Field(default=None, ge=1, le=3660)
    expiry_event: Text | None = None

    @field_validator("purposes")
    @classmethod
    def known_purposes(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(Purpose.values)
        if unknown:
            raise ValueError(f"unknown purposes: {sorted(unknown)}")
        if Purpose.EMERGENCY in value:
            raise ValueError("emergencies need no consent")
        # 42 CFR 2.31(d): a consent for use in a proceeding stands alone.
        if Purpose.COURT_PROCEEDING in value and len(value) > 1:
            raise ValueError("court_proceeding must be the only purpose")
        return value

    @field_validator("kinds")
    @classmethod
    def known_kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(k for k in value if kind_of(k) is None)
        if unknown:
            raise ValueError(f"unknown kinds of information: {unknown}")
        if own_consent_kinds() & set(value) and len(value) > 1:
            raise ValueError("SUD counselling notes are shared only by a template that lists nothing else")
        return value

    @field_validator("description")
    @classmethod
    def names_its_kinds(cls, value: Text) -> Text:
        # The words she reads name its kinds from the same data the policy reads: "{kinds}" is replaced by them.
        if "{kinds}" not in value.en or "{kinds}" not in value.es:
            raise ValueError("the description must say {kinds} where the kinds of information it shares go")
        return value

    def promise(self, language: str) -> str:
        """The description she reads, naming exactly the kinds the consent will list."""
        return self.description.in_(language).replace("{kinds}", kinds_words(self.kinds, language))

    @model_validator(mode="after")
    def one_end_and_a_named_court(self) -> ConsentTemplate:
        if (self.expires_after_days is None) == (self.expiry_event is None):
            raise ValueError("give exactly one of expires_after_days or expiry_event")
        # CONSENT-RULES 3(b): a court consent names the court itself, never a class of courts.
        if Purpose.COURT_PROCEEDING in self.purposes and (
            self.recipients.classes or not self.recipients.team_org_types
        ):
            raise ValueError("a court consent must name the court (recipients.team_org_types), not a group")
        return self

    def initial(self, *, team_orgs: list[Organization], language: str, today: date) -> dict[str, Any]:
        """The capture form's starting values for this family's team."""
        return {
            "template_key": self.key,
            "title": self.title.en,
            "language": language,
            "discloser_orgs": [o.pk for o in self.disclosers.named_from(team_orgs)],
            "discloser_classes": list(self.disclosers.classes),
            "recipient_orgs": [o.pk for o in self.recipients.named_from(team_orgs)],
            "recipient_classes": list(self.recipients.classes),
            "purposes": list(self.purposes),
            "purpose_description": self.purpose_description.in_(language) if self.purpose_description else "",
            "kinds": list(self.kinds),
            "ends": "event" if self.expiry_event else "date",
            "expires_on": today + timedelta(days=self.expires_after_days) if self.expires_after_days else None,
            "expiry_event": self.expiry_event.in_(language) if self.expiry_event else "",
        }

    def missing_on_team(self, team_orgs: list[Organization]) -> bool:
        """True when the template names organisations from her team and none of them is on it yet."""
        for parties in (self.disclosers, self.recipients):
            wants_named = parties.team_org_types or parties.team_part2_programs
            if wants_named and not parties.classes and not parties.named_from(team_orgs):
                return True
        return False


class ConsentLibrary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    templates: list[ConsentTemplate] = Field(min_length=1)

    @field_validator("templates")
    @classmethod
    def keys_once(cls, value: list[ConsentTemplate]) -> list[ConsentTemplate]:
        keys = [t.key for t in value]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"template keys used more than once: {twice}")
        return value

    def get(self, key: str) -> ConsentTemplate | None:
        return next((t for t in self.templates if t.key == key), None)


class ConsentLibraryError(Exception):
    pass


def load_library(path: Path = LIBRARY_PATH) -> ConsentLibrary:
    return load_data_file(path, ConsentLibrary, what="the consent template library", error=ConsentLibraryError)


@cache
def library() -> ConsentLibrary:
    return load_library()
