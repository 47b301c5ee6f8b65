"""vocabulary.py — the words the door decides with: purposes of use, interactions, classes of organisations,
and the role table. It decides nothing itself and never writes.

The role table is data (``access/data/role_access.yaml``), validated once at load (``kinfold.datafiles``), so
a state can adapt which roles see which categories of their own organisation's records without code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.db import models
from pydantic import BaseModel, ConfigDict, field_validator

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
    payment: bool = False
    operations: bool = False
    clinician: bool = False

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
