"""vocabulary.py — the words the door decides with: purposes of use, interactions, classes of organisations,
and the role table. It decides nothing itself and never writes.

The role table is data (``access/data/role_access.yaml``), validated once at load (``kinfold.datafiles``), so
a state can adapt which roles see which categories of their own organisation's records without code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.db import models
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from kinfold.datafiles import load_data_file
from kinfold.families.models import Sensitivity
from kinfold.organizations.models import (
    HEALTH_CARE_PROVIDER_TYPES,
    OrganizationType,
    Role,
)


class Purpose(models.TextChoices):
    TREATMENT = "treatment", "Treatment"
    PAYMENT = "payment", "Payment"
    OPERATIONS = "operations", "Health-care operations"
    CARE_COORDINATION = "care_coordination", "Care coordination"
    CHILD_WELFARE_CASE = "child_welfare_case", "Child welfare case"
    COURT_PROCEEDING = "court_proceeding", "Use in a court or other proceeding"
    EMERGENCY = "emergency", "Medical emergency"
    RESEARCH = "research", "Research"


class Interaction(models.TextChoices):
    """What a viewer wants to do with a record; the door answers each (CONSENT-RULES, "Who may change what")."""

    READ = "read", "Read"
    CREATE = "create", "Create"
    CHANGE = "change", "Change"
    RETIRE = "retire", "Retire or remove"  # a change that ends a record (a team place, a restriction)
    DISCLOSE_TO = "disclose_to", "Send to another organisation"
    # An organisation's lead hands a leaving (or changing) colleague's team place to another colleague: a
    # staffing decision about her own organisation's people, taken without reading the family's records.
    HAND_OVER = "hand_over", "Hand over to a colleague"


TPO = frozenset({Purpose.TREATMENT, Purpose.PAYMENT, Purpose.OPERATIONS})


class OrganizationClass(models.TextChoices):
    """General designations a consent may use instead of naming organisations (42 CFR 2.31(a)(4))."""

    MY_CARE_TEAM = "care_team", "the organisations on my care team"
    TREATING_PROVIDERS = "treating_providers", "my treating health-care providers"
    PART2_PROGRAMS = "part2_programs", "my substance use treatment programmes"
    CHILD_WELFARE = "child_welfare", "child welfare agencies on my case"
    COURTS = "courts", "courts on my case"
    COMMUNITY_SUPPORTS = "community_supports", "community, peer recovery and home visiting programmes"


COMMUNITY_SUPPORT_TYPES = frozenset(
    {OrganizationType.COMMUNITY, OrganizationType.PEER_RECOVERY, OrganizationType.HOME_VISITING}
)


def organization_classes(org_type: str, is_part2: bool, *, on_care_team: bool) -> frozenset[str]:
    """The general designations an organisation belongs to, for one family."""
    classes = set()
    if on_care_team:
        classes.add(OrganizationClass.MY_CARE_TEAM)
    if org_type in HEALTH_CARE_PROVIDER_TYPES:
        classes.add(OrganizationClass.TREATING_PROVIDERS)
    if is_part2:
        classes.add(OrganizationClass.PART2_PROGRAMS)
    if org_type == OrganizationType.CHILD_WELFARE:
        classes.add(OrganizationClass.CHILD_WELFARE)
    if org_type == OrganizationType.COURT:
        classes.add(OrganizationClass.COURTS)
    if org_type in COMMUNITY_SUPPORT_TYPES:
        classes.add(OrganizationClass.COMMUNITY_SUPPORTS)
    return frozenset(str(c) for c in classes)


def is_part2_record(*, made_by_part2_program: bool, category: str) -> bool:
    """CONSENT-RULES: every record made by a Part 2 programme, and every SUD-treatment record anywhere."""
    return made_by_part2_program or category == Sensitivity.SUD_TREATMENT


class RoleAccess(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: frozenset[str]
    default_purpose: str
    purposes: frozenset[str]  # the purposes the role may state (its default among them)
    payment: bool = False
    operations: bool = False
    # Staff who take in referrals before one is assigned (CONSENT-RULES, "Referrals").
    intake: bool = False
    clinician: bool = False
    # Leads who manage their organisation's staff: invite, change roles, hand over and close accounts.
    staff_lead: bool = False

    @field_validator("categories")
    @classmethod
    def known_categories(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = value - set(Sensitivity.values)
        if unknown:
            raise ValueError(f"unknown sensitivity categories: {sorted(unknown)}")
        return value

    @field_validator("default_purpose")
    @classmethod
    def known_purpose(cls, value: str) -> str:
        if value not in Purpose.values:
            raise ValueError(f"unknown purpose {value!r}")
        return value

    @field_validator("purposes")
    @classmethod
    def known_purposes(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = value - set(Purpose.values)
        if unknown:
            raise ValueError(f"unknown purposes: {sorted(unknown)}")
        return value

    @model_validator(mode="after")
    def states_its_default(self) -> RoleAccess:
        if self.default_purpose not in self.purposes:
            raise ValueError(f"the default purpose {self.default_purpose!r} must be one of its purposes")
        if Purpose.EMERGENCY in self.purposes and not self.clinician:
            raise ValueError("only a clinician states a medical emergency")
        return self


class RoleTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    roles: dict[str, RoleAccess]

    @field_validator("roles")
    @classmethod
    def every_role_once(cls, value: dict[str, RoleAccess]) -> dict[str, RoleAccess]:
        unknown = set(value) - set(Role.values)
        missing = set(Role.values) - set(value)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        if missing:
            raise ValueError(f"roles missing from the table: {sorted(missing)}")
        # Child-welfare and court roles never see SUD-treatment records by role alone.
        for role in ("cps_caseworker", "cps_supervisor", "court_coordinator", "judge"):
            if Sensitivity.SUD_TREATMENT in value[role].categories:
                raise ValueError(f"{role} may not be granted sud_treatment by role")
        return value


class RoleTableError(Exception):
    pass


ROLE_TABLE_PATH = Path(__file__).parent / "data" / "role_access.yaml"


def load_role_table(path: Path = ROLE_TABLE_PATH) -> RoleTable:
    return load_data_file(path, RoleTable, what="the role table", error=RoleTableError)


@cache
def role_table() -> RoleTable:
    return load_role_table()


def role_access(role: str | None) -> RoleAccess | None:
    if role is None:
        return None
    return role_table().roles.get(role)


def default_purpose(role: str | None) -> str:
    access = role_access(role)
    return access.default_purpose if access else Purpose.CARE_COORDINATION


def stated_purposes(role: str | None) -> frozenset[str]:
    """The purposes a person in ``role`` may state on a page or an export; none without a role."""
    access = role_access(role)
    return access.purposes if access else frozenset()


# --- kinds of information (CONSENT-RULES, "Kinds of information") -------------------------------------------

KINDS_PATH = Path(__file__).parent / "data" / "kinds.yaml"


class Words(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    en: str
    es: str

    def in_(self, language: str) -> str:
        return self.es if language == "es" else self.en


class Kind(BaseModel):
    """One kind of information; its category follows from it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    category: str
    words: Words
    example: Words
    own_consent: bool = False  # shared only under a consent that lists nothing else (42 CFR 2.31(b))

    @field_validator("category")
    @classmethod
    def known_category(cls, value: str) -> str:
        if value not in Sensitivity.values:
            raise ValueError(f"unknown category {value!r}")
        return value


class CategoryKinds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str


class KindTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    categories: dict[str, CategoryKinds]
    kinds: list[Kind]

    @model_validator(mode="after")
    def consistent(self) -> KindTable:
        keys = [k.key for k in self.kinds]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"kinds listed more than once: {twice}")
        missing = set(Sensitivity.values) - set(self.categories)
        if missing:
            raise ValueError(f"categories without kinds: {sorted(missing)}")
        by_key = {k.key: k for k in self.kinds}
        for category, spec in self.categories.items():
            if by_key.get(spec.default) is None or by_key[spec.default].category != category:
                raise ValueError(f"{category}: its default kind {spec.default!r} is not one of its kinds")
        return self

    def get(self, key: str) -> Kind | None:
        return next((k for k in self.kinds if k.key == key), None)


class KindTableError(Exception):
    pass


def load_kind_table(path: Path = KINDS_PATH) -> KindTable:
    return load_data_file(path, KindTable, what="the kinds of information", error=KindTableError)


@cache
def kind_table() -> KindTable:
    return load_kind_table()


@cache
def _kinds_by_key() -> dict[str, Kind]:
    return {k.key: k for k in kind_table().kinds}


def kind_of(key: str) -> Kind | None:
    return _kinds_by_key().get(key)


def category_of_kind(key: str) -> str:
    """The category a kind belongs to (its category follows from it)."""
    found = _kinds_by_key().get(key)
    if found is None:
        raise KeyError(f"unknown kind of information {key!r}")
    return found.category


def default_kind(category: str) -> str:
    """The kind a record filed in ``category`` is when nothing more precise is known."""
    return kind_table().categories[category].default


def kinds_in(category: str) -> list[Kind]:
    return [k for k in kind_table().kinds if k.category == category]


def whole_category(category: str) -> list[str]:
    """What choosing a whole category at signing lists: every kind it has now, except those that need a
    consent of their own (SUD counselling notes)."""
    return [k.key for k in kinds_in(category) if not k.own_consent]


def own_consent_kind_list() -> list[Kind]:
    """The kinds shared only under a consent of their own, and reached by a court order only where it names
    them (SUD counselling notes)."""
    return [k for k in kind_table().kinds if k.own_consent]


def own_consent_kinds() -> frozenset[str]:
    return frozenset(k.key for k in kind_table().kinds if k.own_consent)


def version_kinds(kinds: Any, categories: Any) -> list[str]:
    """What a consent version covers: the kinds it lists. One that lists none (signed before kinds existed)
    covers every kind of its categories except SUD counselling notes (CONSENT-RULES, "Kinds of information")."""
    if kinds:
        return list(kinds)
    return [kind for category in categories if category in Sensitivity.values for kind in whole_category(category)]
