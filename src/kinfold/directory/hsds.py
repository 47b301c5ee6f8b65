"""Open Referral HSDS import and export for the service directory.

Reads the three forms a directory arrives in (HSDS 3.0 JSON; the 3.0 tabular data package of CSV files with
``datapackage.json``; the older 1.x/2.0 CSV layout most 211 exports still publish, converted by
``hsds_legacy``), turns each into the same set of 3.0 objects, validates every row, and only when nothing
is wrong writes them in one transaction, updating rows by their HSDS id (re-importing an export never adds
duplicates). Kinfold keeps as columns what it searches and edits and the rest of each object in ``extra``;
export starts from ``extra`` and lets the columns win for what they model (a Medicaid cost option appears or
goes when ``accepts_medicaid`` changed; Kinfold's perinatal attributes are written from the columns), so an
unchanged import exports back equal. This module never decides who may see a listing: listings name no
parent, and the pages that call it check their own permissions.

Kinfold's perinatal attributes and needs travel as HSDS ``attributes`` whose taxonomy term belongs to the
taxonomy named "Kinfold perinatal": the term ``code`` is the Service column (``accepts_pregnant``,
``moud_buprenorphine``, ``walk_in``…), ``need:<code>`` for each need it answers, and the number for
``enrol_before_week``, ``enrol_from_week`` and ``wait_days`` in the attribute ``value``.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import models, transaction

from kinfold import clock
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.directory.hsds_legacy import LANGUAGE_NAMES, SourceRow, is_legacy, language_code, to_hsds3
from kinfold.directory.models import (
    DirectoryOrganization,
    Location,
    Need,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    TaxonomyTerm,
)
from kinfold.directory.search import compose_search_text

JsonObj = dict[str, Any]

# Ids Kinfold makes up (a Medicaid cost option added after an edit, its own attributes…) are UUIDs from this
# namespace and the listing's id, so exporting twice gives the same ids.
KINFOLD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://kinfold.org/hsds")
KINFOLD_TAXONOMY = "Kinfold perinatal"

MAX_UNZIPPED_BYTES = 256 * 1024 * 1024  # an upload larger than this once unzipped is refused
MAX_ZIP_MEMBERS = 200


def _kinfold_id(*parts: object) -> str:
    return str(uuid.uuid5(KINFOLD_NAMESPACE, "/".join(str(p) for p in parts)))


# ---------------------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class RowError:
    """One problem: the file, the row (1-based data row of a CSV file; a JSON pointer in a JSON file), the
    field (as the file names it) and why, in plain words."""

    file: str
    row: int | str
    field: str
    reason: str

    def __str__(self) -> str:
        place = f" at {self.row or '/'}"
        if isinstance(self.row, int):
            place = f" row {self.row}" if self.row else ""  # row 0: the file as a whole
        where = f"{self.file}{place}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did, or why it did nothing. With any error nothing was written."""

    source: str = ""
    form: str = ""  # "json", "tabular" (HSDS 3.0 data package) or "legacy" (HSDS 1.x/2.0 CSV files)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    created_by_kind: dict[str, int] = field(default_factory=dict)
    updated_by_kind: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if not self.ok:
            return f"Nothing was imported: {len(self.errors)} problem(s) to fix."
        kinds = sorted(set(self.created_by_kind) | set(self.updated_by_kind))
        parts = [
            f"{kind.replace('_', ' ')}: {self.created_by_kind.get(kind, 0)} new, "
            f"{self.updated_by_kind.get(kind, 0)} updated"
            for kind in kinds
        ]
        return f"Imported {self.created} new and updated {self.updated} listing rows ({'; '.join(parts)})."

    def _count(self, kind: str, *, created: bool) -> None:
        target = self.created_by_kind if created else self.updated_by_kind
        target[kind] = target.get(kind, 0) + 1
        if created:
            self.created += 1
        else:
            self.updated += 1


@dataclass(frozen=True)
class _Where:
    """Where an object came from: a CSV row (with the file's own column names) or a JSON pointer."""

    file: str
    row: int | str
    renamed: Mapping[str, str] = field(default_factory=dict)

    def at(self, key: str, index: int | None = None) -> _Where:
        if not isinstance(self.row, str):
            return self
        pointer = f"{self.row}/{key}" + (f"/{index}" if index is not None else "")
        return _Where(self.file, pointer)

    def problem(self, field_name: str, reason: str) -> RowError:
        row: int | str = self.row if isinstance(self.row, int) else (self.row or "/")
        return RowError(self.file, row, self.renamed.get(field_name, field_name), reason)


class _Problems:
    def __init__(self, report: ImportReport) -> None:
        self.report = report

    def error(self, where: _Where, field_name: str, reason: str) -> None:
        self.report.errors.append(where.problem(field_name, reason))

    def warn(self, where: _Where, field_name: str, reason: str) -> None:
        self.report.warnings.append(where.problem(field_name, reason))


# ---------------------------------------------------------------------------------------------------------
# HSDS 3.0: tables, nesting and field rules (from the 3.0 JSON schemas)

# fmt: off
TABLE_COLUMNS: dict[str, tuple[str, list[str]]] = {
    "organization": ("organizations.csv", [
        "id", "name", "alternate_name", "description", "email", "website", "tax_status", "tax_id", "year_incorporated",
        "legal_status", "logo", "uri", "parent_organization_id"]),
    "program": ("programs.csv", ["id", "organization_id", "name", "alternate_name", "description"]),
    "service": ("services.csv", [
        "id", "organization_id", "program_id", "name", "alternate_name", "description", "url", "email", "status",
        "interpretation_services", "application_process", "fees_description", "wait_time", "fees", "accreditations",
        "eligibility_description", "minimum_age", "maximum_age", "assured_date", "assurer_email", "licenses", "alert",
        "last_modified"]),
    "attribute": ("attributes.csv", ["id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value"]),
    "service_at_location": ("service_at_location.csv", ["id", "service_id", "location_id", "description"]),
    "location": ("locations.csv", [
        "id", "location_type", "url", "organization_id", "name", "alternate_name", "description", "transportation",
        "latitude", "longitude", "external_identifier", "external_identifier_type"]),
    "phone": ("phones.csv", [
        "id", "location_id", "service_id", "organization_id", "contact_id", "service_at_location_id", "number",
        "extension", "type", "description"]),
    "contact": ("contacts.csv", [
        "id", "organization_id", "service_id", "service_at_location_id", "location_id", "name", "title", "department",
        "email"]),
    "address": ("addresses.csv", [
        "id", "location_id", "attention", "address_1", "address_2", "city", "region", "state_province", "postal_code",
        "country", "address_type"]),
    "schedule": ("schedules.csv", [
        "id", "service_id", "location_id", "service_at_location_id", "valid_from", "valid_to", "dtstart", "timezone",
        "until", "count", "wkst", "freq", "interval", "byday", "byweekno", "bymonthday", "byyearday", "description",
        "opens_at", "closes_at", "schedule_link", "attending_type", "notes"]),
    "funding": ("funding.csv", ["id", "organization_id", "service_id", "source"]),
    "service_area": ("service_areas.csv", ["id", "service_id", "name", "description", "extent", "extent_type", "uri"]),
    "required_document": ("required_documents.csv", ["id", "service_id", "document", "uri"]),
    "language": ("languages.csv", ["id", "service_id", "location_id", "phone_id", "name", "code", "note"]),
    "accessibility": ("accessibility.csv", ["id", "location_id", "description", "details", "url"]),
    "taxonomy_term": ("taxonomy_terms.csv", [
        "id", "code", "name", "description", "parent_id", "taxonomy", "language", "taxonomy_id", "term_uri"]),
    "metadata": ("metadata.csv", [
        "id", "resource_id", "resource_type", "last_action_date", "last_action_type", "field_name", "previous_value",
        "replacement_value", "updated_by"]),
    "meta_table_description": ("meta_table_descriptions.csv", ["id", "name", "language", "character_set"]),
    "cost_option": ("cost_options.csv", [
        "id", "service_id", "valid_from", "valid_to", "option", "currency", "amount", "amount_description"]),
    "organization_identifier": ("organization_identifiers.csv", [
        "id", "organization_id", "identifier_scheme", "identifier_type", "identifier"]),
    "taxonomy": ("taxonomies.csv", ["id", "name", "description", "uri", "version"]),
}
# fmt: on

KIND_BY_PATH = {path: kind for kind, (path, _cols) in TABLE_COLUMNS.items()}
TOP_LEVEL = ("organization", "service", "location", "service_at_location")

# Lists nested in each object (key -> kind of its items); every object may carry attributes and metadata.
_LISTS: dict[str, dict[str, str]] = {
    "organization": {
        "funding": "funding",
        "contacts": "contact",
        "phones": "phone",
        "programs": "program",
        "organization_identifiers": "organization_identifier",
    },
    "service": {
        "phones": "phone",
        "schedules": "schedule",
        "service_areas": "service_area",
        "languages": "language",
        "funding": "funding",
        "cost_options": "cost_option",
        "required_documents": "required_document",
        "contacts": "contact",
    },
    "location": {
        "languages": "language",
        "addresses": "address",
        "contacts": "contact",
        "accessibility": "accessibility",
        "phones": "phone",
        "schedules": "schedule",
    },
    "service_at_location": {"contacts": "contact", "phones": "phone", "schedules": "schedule"},
    "contact": {"phones": "phone"},
    "phone": {"languages": "language"},
}
# Single objects nested in an object (key -> kind), and in the tabular form the column that points at them.
_OBJECTS: dict[str, dict[str, tuple[str, str]]] = {
    "service": {"program": ("program", "program_id")},
    "attribute": {"taxonomy_term": ("taxonomy_term", "taxonomy_term_id")},
    "taxonomy_term": {"taxonomy_detail": ("taxonomy", "taxonomy_id")},
}
# How the JSON form nests the four row-backed objects in each other.
_JSON_LINKS: dict[str, dict[str, tuple[str, bool]]] = {
    "service": {"organization": ("organization", False), "service_at_locations": ("service_at_location", True)},
    "organization": {"services": ("service", True), "locations": ("location", True)},
    "service_at_location": {"location": ("location", False)},
}


def list_children(kind: str) -> dict[str, str]:
    if kind == "metadata":
        return {}
    common = {"metadata": "metadata"} if kind in ("attribute", "taxonomy_term", "taxonomy") else {}
    if not common:
        common = {"attributes": "attribute", "metadata": "metadata"}
    return _LISTS.get(kind, {}) | common


def _link_column(parent_kind: str, child_kind: str) -> str | None:
    if child_kind == "attribute":
        return "link_id"
    if child_kind == "metadata":
        return "resource_id"
    column = f"{parent_kind}_id"
    return column if column in TABLE_COLUMNS[child_kind][1] else None


_REQUIRED: dict[str, tuple[str, ...]] = {
    "organization": ("id", "name"),
    "service": ("id", "name", "status"),
    "location": ("id", "location_type"),
    "address": ("id", "address_1", "city"),
    "phone": ("id", "number"),
    "program": ("id", "name"),
    "taxonomy_term": ("id", "name"),
    "taxonomy": ("id", "name"),
    "organization_identifier": ("id", "identifier"),
}
_NUMBERS = {
    ("organization", "year_incorporated"),
    ("service", "minimum_age"),
    ("service", "maximum_age"),
    ("location", "latitude"),
    ("location", "longitude"),
    ("phone", "extension"),
    ("schedule", "timezone"),
    ("schedule", "count"),
    ("schedule", "interval"),
    ("cost_option", "amount"),
}
# Whole numbers, and the range a sane value falls in.
_WHOLE = {
    ("organization", "year_incorporated"): (1500, 2100),
    ("service", "minimum_age"): (0, 130),
    ("service", "maximum_age"): (0, 130),
    ("phone", "extension"): (0, 10**9),
    ("schedule", "count"): (0, 10**6),
    ("schedule", "interval"): (0, 10**6),
}
_EMAILS = {("organization", "email"), ("service", "email"), ("service", "assurer_email"), ("contact", "email")}
_URIS = {
    ("organization", "website"),
    ("organization", "uri"),
    ("service", "url"),
    ("location", "url"),
    ("schedule", "schedule_link"),
    ("accessibility", "url"),
    ("required_document", "uri"),
    ("taxonomy", "uri"),
    ("taxonomy_term", "term_uri"),
}
_DATES = {
    ("service", "assured_date"),
    ("cost_option", "valid_from"),
    ("cost_option", "valid_to"),
    ("schedule", "valid_from"),
    ("schedule", "valid_to"),
    ("schedule", "dtstart"),
    ("schedule", "until"),
    ("metadata", "last_action_date"),
}
_DATETIMES = {("service", "last_modified")}
_TIMES = {("schedule", "opens_at"), ("schedule", "closes_at")}
_ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("service", "status"): tuple(s.value for s in ServiceStatus),
    ("location", "location_type"): ("physical", "postal", "virtual"),
    ("address", "address_type"): ("physical", "postal", "virtual"),
    ("schedule", "wkst"): ("MO", "TU", "WE", "TH", "FR", "SA", "SU"),
    ("schedule", "freq"): ("WEEKLY", "MONTHLY"),
}
# Limits of the columns the values land in.
_MAX_LENGTHS: dict[tuple[str, str], int] = {
    ("organization", "name"): 300,
    ("organization", "alternate_name"): 300,
    ("organization", "email"): 254,
    ("organization", "website"): 500,
    ("service", "name"): 300,
    ("service", "alternate_name"): 300,
    ("service", "url"): 500,
    ("service", "email"): 254,
    ("service", "assurer_email"): 254,
    ("location", "name"): 300,
    ("address", "address_1"): 300,
    ("address", "city"): 120,
    ("address", "region"): 120,
    ("address", "state_province"): 60,
    ("address", "postal_code"): 20,
    ("taxonomy_term", "code"): 100,
    ("taxonomy_term", "name"): 300,
    ("taxonomy_term", "taxonomy"): 200,
    ("taxonomy_term", "parent_id"): 100,
    ("contact", "name"): 200,
    ("contact", "email"): 254,
}
_ID_MAX = 100
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_URL = re.compile(r"^(https?://)?[^\s/$.?#<>\"][^\s<>\"]*\.[^\s<>\"]+$", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)?$")
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _number(value: object) -> float | int | None:
    """A number from JSON or a CSV cell; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        try:
            found = float(text)
        except ValueError:
            return None
        return found if math.isfinite(found) else None
    return None


def _is_url(text: str) -> bool:
    value = text.strip()
    if _SCHEME.match(value) and not value.lower().startswith(("http://", "https://")):
        return False  # javascript:, data:, mailto: … are never a listing's website
    return bool(_URL.match(value))


def _is_date(text: object) -> bool:
    try:
        date.fromisoformat(str(text))
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(text)))


def _is_datetime(text: object) -> bool:
    try:
        datetime.fromisoformat(str(text))
    except ValueError:
        return False
    return True


class _Validator:
    """Checks each object against the 3.0 rules Kinfold relies on, turning numbers written as text into
    numbers; reports every problem it finds, not only the first."""

    def __init__(self, problems: _Problems) -> None:
        self.problems = problems
        self.seen: set[int] = set()

    def check(self, kind: str, obj: object, where: _Where, *, recurse: bool, json_links: bool = False) -> None:
        if not isinstance(obj, dict):
            self.problems.error(where, "", f"Each {kind.replace('_', ' ')} should be an object with named fields.")
            return
        if id(obj) in self.seen and not isinstance(where.row, str):
            return
        self.seen.add(id(obj))
        label = kind.replace("_", " ")
        for key, value in obj.items():
            nested = key in list_children(kind) or key in _OBJECTS.get(kind, {}) or key in _JSON_LINKS.get(kind, {})
            if not nested and _has_nul(value):
                # PostgreSQL keeps no NUL character in text or JSON.
                self.problems.error(where, key, "contains a NUL character (\\0); remove it.")
        for name in _REQUIRED.get(kind, ("id",)):
            if _blank(obj.get(name)):
                what = "an id" if name == "id" else f"its {name.replace('_', ' ')}"
                self.problems.error(where, name, f"Each {label} needs {what}.")
        for key in list(obj):
            self._field(kind, obj, key, where)
        if kind == "service":
            low, high = _number(obj.get("minimum_age")), _number(obj.get("maximum_age"))
            if low is not None and high is not None and low > high:
                self.problems.error(where, "minimum_age", "The minimum age is above the maximum age.")
        if not recurse:
            return
        for key, child_kind in list_children(kind).items():
            items = obj.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                self.problems.error(where, key, f"{key} should be a list.")
                continue
            for i, item in enumerate(items):
                self.check(child_kind, item, where.at(key, i), recurse=True)
        for key, (child_kind, _column) in _OBJECTS.get(kind, {}).items():
            if obj.get(key) is not None:
                self.check(child_kind, obj[key], where.at(key), recurse=True)
        if json_links:
            for key, (child_kind, many) in _JSON_LINKS.get(kind, {}).items():
                value = obj.get(key)
                if value is None:
                    continue
                if many and not isinstance(value, list):
                    self.problems.error(where, key, f"{key} should be a list.")
                    continue
                pairs: list[tuple[int | None, object]] = list(enumerate(value)) if many else [(None, value)]
                for index, item in pairs:
                    self.check(child_kind, item, where.at(key, index), recurse=True, json_links=True)

    def _field(self, kind: str, obj: JsonObj, key: str, where: _Where) -> None:
        value = obj[key]
        rule = (kind, key)
        if value is None or isinstance(value, dict | list) or key not in TABLE_COLUMNS[kind][1]:
            return  # a field HSDS 3.0 does not define is kept as it came
        if isinstance(value, bool) and rule not in _NUMBERS:
            self.problems.error(where, key, "should be text, not true or false.")
            return
        if key == "id" or key.endswith("_id"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                obj[key] = value = str(value)
            if isinstance(value, str):
                obj[key] = value = value.strip()
                if len(value) > _ID_MAX:
                    self.problems.error(where, key, f"An id is at most {_ID_MAX} characters.")
            return
        if rule in _NUMBERS:
            found = _number(value)
            if found is None:
                self.problems.error(where, key, f"“{value}” is not a number.")
                return
            obj[key] = found
            if rule in _WHOLE:
                low, high = _WHOLE[rule]
                if not float(found).is_integer():
                    self.problems.error(where, key, f"{found} is not a whole number.")
                elif not low <= found <= high:
                    self.problems.error(where, key, f"{found:g} is outside {low} to {high}.")
                else:
                    obj[key] = int(found)
            elif key == "latitude" and not -90 <= found <= 90:
                self.problems.warn(
                    where, key, f"Latitude {found:g} is outside -90 to 90: kept, but not used for distance."
                )
            elif key == "longitude" and not -180 <= found <= 180:
                self.problems.warn(
                    where, key, f"Longitude {found:g} is outside -180 to 180: kept, but not used for distance."
                )
            return
        if isinstance(value, int | float):
            obj[key] = value = str(value) if not float(value).is_integer() else str(int(value))
        text = str(value)
        if rule in _MAX_LENGTHS and len(text) > _MAX_LENGTHS[rule]:
            self.problems.error(where, key, f"is {len(text)} characters long; at most {_MAX_LENGTHS[rule]}.")
        if _blank(text):
            return
        if rule in _ENUMS and text not in _ENUMS[rule]:
            allowed = ", ".join(_ENUMS[rule])
            self.problems.error(where, key, f"“{text}” is not one of: {allowed}.")
        elif rule in _EMAILS and not _EMAIL.match(text.strip()):
            self.problems.error(where, key, f"“{text}” is not an email address.")
        elif rule in _URIS and not _is_url(text):
            self.problems.error(where, key, f"“{text}” is not a web address (http:// or https://).")
        elif rule in _DATES and not _is_date(text):
            self.problems.error(where, key, f"“{text}” is not a date (write it as 2024-01-31).")
        elif rule in _DATETIMES and not _is_datetime(text):
            self.problems.error(where, key, f"“{text}” is not a date and time (2024-01-31T09:30:00Z).")
        elif rule in _TIMES and not _TIME.match(text):
            self.problems.error(where, key, f"“{text}” is not a time of day (write it as 09:00 or 09:00-05:00).")
        elif rule == ("schedule", "byday") and not all(_BYDAY.match(p.strip()) for p in text.split(",")):
            self.problems.error(where, key, f"“{text}” is not a list of days (MO,TU,WE,TH,FR,SA,SU).")
        elif rule in (("language", "code"),) and not _LANGUAGE.match(text.strip()):
            self.problems.error(where, key, f"“{text}” is not a language code (ISO 639: en, es, hmn).")
        elif rule == ("address", "country") and not re.fullmatch(r"[A-Z]{2}", text):
            self.problems.error(where, key, f"“{text}” is not a two-letter country code (US).")


# ---------------------------------------------------------------------------------------------------------
# Kinfold's perinatal attributes


@dataclass(frozen=True)
class _Perinatal:
    code: str  # the Service column, or need:<code>
    name: str
    kind: str  # "flag", "week", "days", "text", "accepting", "need"


_PERINATAL = [
    _Perinatal("accepts_pregnant", "Accepts pregnant people", "flag"),
    _Perinatal("postpartum_programme", "Postpartum programme", "flag"),
    _Perinatal("parenting_programme", "Parenting programme", "flag"),
    _Perinatal("moud_methadone", "Offers methadone", "flag"),
    _Perinatal("moud_buprenorphine", "Offers buprenorphine", "flag"),
    _Perinatal("moud_naltrexone", "Offers naltrexone", "flag"),
    _Perinatal("moud_continued_in_hospital", "MOUD continued through delivery and NICU stays", "flag"),
    _Perinatal("residential_with_children", "Residential treatment where children stay with the parent", "flag"),
    _Perinatal("childcare_on_site", "Childcare on site", "flag"),
    _Perinatal("transport_help", "Help with transport", "flag"),
    _Perinatal("walk_in", "Walk-in, no appointment needed", "flag"),
    _Perinatal("first_pregnancy_only", "First pregnancy only", "flag"),
    _Perinatal("accepting_new", "Accepting new people", "accepting"),
    _Perinatal("enrol_from_week", "Enrols from this week of pregnancy", "week"),
    _Perinatal("enrol_before_week", "Enrols before this week of pregnancy", "week"),
    _Perinatal("wait_days", "Days of waiting before a first appointment", "days"),
    _Perinatal("capacity_note", "Capacity", "text"),
    *[_Perinatal(f"need:{need.value}", f"Helps with: {need.label}", "need") for need in Need],
]
PERINATAL_CODES = {p.code: p for p in _PERINATAL}
_KINFOLD_TAXONOMY_DETAIL: JsonObj = {
    "id": _kinfold_id("taxonomy", KINFOLD_TAXONOMY),
    "name": KINFOLD_TAXONOMY,
    "description": "What Kinfold's coordinators filter services on: perinatal attributes, eligibility and needs.",
    "version": "1",
}
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


def _is_kinfold_term(term: object) -> bool:
    if not isinstance(term, dict):
        return False
    detail = term.get("taxonomy_detail")
    names = [term.get("taxonomy"), detail.get("name") if isinstance(detail, dict) else None]
    return any(isinstance(n, str) and n.strip().lower() == KINFOLD_TAXONOMY.lower() for n in names)


def _perinatal_defaults() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for p in _PERINATAL:
        if p.kind == "flag":
            values[p.code] = False
        elif p.kind in ("week", "days"):
            values[p.code] = None
    values.update(accepting_new=True, capacity_note="", needs=[])
    return values


def _parse_perinatal(attr: JsonObj) -> tuple[str, Any] | str:
    """(column, value) for one Kinfold attribute, or why it cannot be read."""
    term = attr.get("taxonomy_term") or {}
    code = str(term.get("code") or "").strip()
    spec = PERINATAL_CODES.get(code)
    if spec is None:
        return f"“{code}” is not one of Kinfold's perinatal attribute codes."
    raw = attr.get("value")
    text = "" if raw is None else str(raw).strip()
    if spec.kind in ("flag", "need", "accepting"):
        if text.lower() in _TRUE or (not text and spec.kind != "accepting"):
            return (code, True)
        if text.lower() in _FALSE:
            return (code, False)
        return f"“{text}” should be true or false."
    if spec.kind == "text":
        if len(text) > 300:
            return "A capacity note is at most 300 characters."
        return (code, text)
    found = _number(text)
    high = 45 if spec.kind == "week" else 3650
    if found is None or not float(found).is_integer() or not 0 <= found <= high:
        unit = "a week of pregnancy (0 to 45)" if spec.kind == "week" else "a number of days (0 to 3650)"
        return f"“{text}” should be {unit}."
    return (code, int(found))


def _perinatal_values(attributes: object) -> tuple[dict[str, Any] | None, list[tuple[int, str]]]:
    """The Service columns Kinfold's attributes set (None when there are none), and problems by index."""
    if not isinstance(attributes, list):
        return None, []
    values: dict[str, Any] | None = None
    problems: list[tuple[int, str]] = []
    for i, attr in enumerate(attributes):
        if not isinstance(attr, dict) or not _is_kinfold_term(attr.get("taxonomy_term")):
            continue
        if values is None:
            values = _perinatal_defaults()
        parsed = _parse_perinatal(attr)
        if isinstance(parsed, str):
            problems.append((i, parsed))
            continue
        code, value = parsed
        if code.startswith("need:"):
            need = code.removeprefix("need:")
            if value and need not in values["needs"]:
                values["needs"].append(need)
        else:
            values[code] = value
    return values, problems


def _perinatal_wanted(service: Service) -> dict[str, str]:
    """The Kinfold attributes a service's columns call for: code -> value."""
    wanted: dict[str, str] = {}
    for p in _PERINATAL:
        if p.kind == "flag" and getattr(service, p.code):
            wanted[p.code] = "true"
        elif p.kind == "accepting" and not service.accepting_new:
            wanted[p.code] = "false"
        elif p.kind in ("week", "days") and getattr(service, p.code) is not None:
            wanted[p.code] = str(getattr(service, p.code))
        elif p.kind == "text" and service.capacity_note:
            wanted[p.code] = service.capacity_note
        elif p.kind == "need" and p.code.removeprefix("need:") in (service.needs or []):
            wanted[p.code] = "true"
    return wanted


def _perinatal_attribute(service_id: str, code: str, value: str, reuse: JsonObj | None = None) -> JsonObj:
    """Kinfold's attribute for one column: the one it came as (its id and term kept) with the new value, or a
    new one with ids made from the service and the code."""
    if reuse is not None:
        return {**reuse, "value": value}
    spec = PERINATAL_CODES[code]
    term = {
        "id": _kinfold_id("term", KINFOLD_TAXONOMY, code),
        "code": code,
        "name": spec.name,
        "description": spec.name,
        "taxonomy": KINFOLD_TAXONOMY,
        "taxonomy_detail": dict(_KINFOLD_TAXONOMY_DETAIL),
    }
    return {
        "id": _kinfold_id(service_id, "attribute", code),
        "link_entity": "service",
        "value": value,
        "taxonomy_term": term,
    }


# ---------------------------------------------------------------------------------------------------------
# Values Kinfold derives from HSDS lists (and puts back when a column was edited)

_MEDICAID = re.compile(r"medicaid|medi-cal", re.IGNORECASE)


def _dicts(items: object) -> list[JsonObj]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _language_of(lang: JsonObj) -> str:
    return language_code(str(lang.get("code") or "")) or language_code(str(lang.get("name") or ""))


def language_codes(languages: object) -> list[str]:
    """ISO 639-1 codes of an HSDS ``languages`` list, in order, once each."""
    codes: list[str] = []
    for lang in _dicts(languages):
        code = _language_of(lang)
        if code and code not in codes:
            codes.append(code)
    return codes


def mentions_medicaid(cost_options: object) -> bool:
    return any(
        _MEDICAID.search(f"{o.get('option') or ''} {o.get('amount_description') or ''}") for o in _dicts(cost_options)
    )


def _place(name: object) -> str:
    """A service area's name when it names a place (a county, a city), not a sentence about the area."""
    text = str(name or "").strip()
    if not text or len(text) > 80 or len(text.split()) > 6:
        return ""
    return text


def counties_of(service_areas: object) -> list[str]:
    found: list[str] = []
    for area in _dicts(service_areas):
        place = _place(area.get("name"))
        if place and place not in found:
            found.append(place)
    return found


def _intake(org_contacts: object, service_contacts: Iterable[object], org_email: str) -> tuple[str, str]:
    """The intake contact: the first whose title mentions intake (the organisation's before its services'),
    else the first contact. Its email, else the organisation's."""
    contacts = _dicts(org_contacts) + [c for items in service_contacts for c in _dicts(items)]
    chosen = next((c for c in contacts if "intake" in str(c.get("title") or "").lower()), None)
    if chosen is None and contacts:
        chosen = contacts[0]
    if chosen is None:
        return "", org_email
    return str(chosen.get("name") or "")[:200], str(chosen.get("email") or "") or org_email


# ---------------------------------------------------------------------------------------------------------
# Columns <-> HSDS fields


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _as_date(value: object) -> date | None:
    return date.fromisoformat(str(value)) if _is_date(value) else None


def _as_age(value: object) -> int | None:
    found = _number(value)
    return int(found) if found is not None and float(found).is_integer() and 0 <= found <= 130 else None


def _as_latitude(value: object) -> float | None:
    found = _number(value)
    return float(found) if found is not None and -90 <= found <= 90 else None


def _as_longitude(value: object) -> float | None:
    found = _number(value)
    return float(found) if found is not None and -180 <= found <= 180 else None


def _json_value(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# HSDS field -> (model field, conversion to the column)
_Spec = dict[str, tuple[str, Callable[[object], Any]]]
ORG_SPEC: _Spec = {k: (k, _text) for k in ("name", "alternate_name", "description", "email", "website")}
SERVICE_SPEC: _Spec = {
    k: (k, _text)
    for k in (
        "name",
        "alternate_name",
        "description",
        "url",
        "email",
        "status",
        "assurer_email",
        "application_process",
        "fees_description",
        "eligibility_description",
    )
} | {
    "assured_date": ("assured_date", _as_date),
    "minimum_age": ("minimum_age", _as_age),
    "maximum_age": ("maximum_age", _as_age),
}
LOCATION_SPEC: _Spec = {
    "name": ("name", _text),
    "latitude": ("latitude", _as_latitude),
    "longitude": ("longitude", _as_longitude),
}
ADDRESS_SPEC: _Spec = {
    "address_1": ("address_1", _text),
    "city": ("city", _text),
    "region": ("county", _text),
    "state_province": ("state_province", _text),
    "postal_code": ("postal_code", _text),
    "country": ("country", _text),
}
TERM_SPEC: _Spec = {k: (k, _text) for k in ("code", "name", "description", "taxonomy")}
TERM_SPEC |= {"parent_id": ("parent_hsds_id", _text)}
SAL_SPEC: _Spec = {"description": ("description", _text)}


def _split(obj: JsonObj, spec: _Spec) -> tuple[dict[str, Any], JsonObj]:
    """Columns for the fields a spec models, and the rest. A field stays in the rest only when its column
    cannot hold it (empty, or a value the column refuses), so export gives back exactly what came."""
    columns: dict[str, Any] = {}
    rest = dict(obj)
    for key, (name, convert) in spec.items():
        value = convert(obj[key]) if key in obj and obj[key] is not None else None
        if value is None or value == "":
            columns[name] = "" if convert is _text else None
        else:
            columns[name] = value
            del rest[key]
    return columns, rest


def _render(spec: _Spec, row: models.Model, rest: JsonObj) -> JsonObj:
    out = dict(rest)
    for key, (name, _convert) in spec.items():
        value = getattr(row, name)
        if value is not None and value != "":
            out[key] = _json_value(value)
    return out


def _chosen_address(addresses: list[Any]) -> int | None:
    """Kinfold flattens the first physical address (else the first) into the location's columns."""
    indexes = [i for i, a in enumerate(addresses) if isinstance(a, dict)]
    physical = [i for i in indexes if addresses[i].get("address_type") == "physical"]
    chosen = physical or indexes
    return chosen[0] if chosen else None


# ---------------------------------------------------------------------------------------------------------
# Reading files


def import_path(path: Path, *, source: str = "", by: Any = None) -> ImportReport:
    """Import a directory listing from a ``.json`` file (HSDS 3.0), a ``.zip`` or a directory of CSV files (a
    3.0 data package with ``datapackage.json``, or the 1.x/2.0 layout). Nothing is written if any row is wrong."""
    path = Path(path)
    files: dict[str, bytes] = {}
    if path.is_dir():
        entries = [child for child in path.iterdir() if not child.name.startswith(".")]
        if len(entries) == 1 and entries[0].is_dir():
            path = entries[0]  # an unzipped export often keeps its files in one folder
        for child in sorted(path.iterdir()):
            if child.is_file() and child.suffix.lower() in (".csv", ".json", ".zip"):
                files[child.name] = child.read_bytes()
    elif path.is_file():
        files[path.name] = path.read_bytes()
    else:
        report = ImportReport(source=source or path.name)
        report.errors.append(RowError(str(path), 0, "", "There is no file or directory here."))
        return report
    return import_files(files, source=source or path.name, by=by)


def import_files(files: Mapping[str, bytes], *, source: str = "", by: Any = None) -> ImportReport:
    """Import uploaded files (name -> bytes): one ``.json`` file, one ``.zip``, or the CSV files of a package."""
    report = ImportReport(source=source)
    problems = _Problems(report)
    named = _unpack(files, report)
    if report.errors:
        return report
    csv_names = [n for n in named if n.endswith(".csv")]
    json_names = [n for n in named if n.endswith(".json") and n != "datapackage.json"]
    dataset: _Dataset | None = None
    if csv_names:
        for name in json_names:
            report.warnings.append(RowError(name, 0, "", "Not read: the CSV files beside it were imported."))
        dataset = _read_tabular(named, report, problems)
    elif len(json_names) == 1:
        report.form = "json"
        dataset = _read_json(json_names[0], named[json_names[0]], report, problems)
    elif json_names:
        report.errors.append(RowError(", ".join(json_names), 0, "", "Send one JSON file at a time."))
    else:
        what = "datapackage.json names no CSV file that is here." if named else "There is nothing to import."
        report.errors.append(RowError(next(iter(named), ""), 0, "", what))
    if dataset is None:
        return report
    _resolve(dataset, problems)  # even after a bad row: every problem is reported, not only the first ones
    if report.errors:
        return report
    _write(dataset, report, by=by)
    return report


def _unpack(files: Mapping[str, bytes], report: ImportReport) -> dict[str, bytes]:
    named: dict[str, bytes] = {}
    for raw_name, content in files.items():
        name = Path(raw_name.replace("\\", "/")).name
        if name.lower().endswith(".zip"):
            for member, data in _unzip(name, content, report).items():
                _add_file(named, member, data, report)
        elif not name.startswith("."):
            _add_file(named, name, content, report)
    return named


def _add_file(named: dict[str, bytes], name: str, content: bytes, report: ImportReport) -> None:
    key = name.lower()
    if key in named:
        report.errors.append(RowError(name, 0, "", "Two files have this name; send one."))
    named[key] = content


def _unzip(name: str, content: bytes, report: ImportReport) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        report.errors.append(RowError(name, 0, "", "This is not a zip file that can be opened."))
        return {}
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir() and "__MACOSX" not in info.filename and not Path(info.filename).name.startswith(".")
    ]
    if len(members) > MAX_ZIP_MEMBERS or sum(i.file_size for i in members) > MAX_UNZIPPED_BYTES:
        report.errors.append(RowError(name, 0, "", "This zip file is too large to import at once."))
        return {}
    out: dict[str, bytes] = {}
    for info in members:
        member = Path(info.filename).name
        if member.lower().endswith((".csv", ".json")):
            with archive.open(info) as handle:
                data = handle.read(MAX_UNZIPPED_BYTES + 1)
            if member.lower() in out:
                report.errors.append(RowError(name, 0, "", f"Two files in the zip are named {member}."))
            out[member.lower()] = data
    return out


def _decode(name: str, content: bytes, report: ImportReport) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.warnings.append(
            RowError(name, 0, "", "Not UTF-8 text: read as Windows-1252. Save it as UTF-8 if letters look wrong.")
        )
        return content.decode("cp1252", errors="replace")


# ---------------------------------------------------------------------------------------------------------
# The objects an import carries, whatever form it came in


@dataclass
class _Entity:
    kind: str
    obj: JsonObj
    where: _Where
    links: dict[str, str] = field(default_factory=dict)  # organization / service / location -> its id


@dataclass
class _Dataset:
    entities: dict[str, dict[str, _Entity]] = field(
        default_factory=lambda: {k: {} for k in (*TOP_LEVEL, "taxonomy_term")}
    )
    sal_complete: set[str] = field(default_factory=set)  # services whose service_at_locations are all here
    attributes_complete: set[str] = field(default_factory=set)  # services whose attributes are all here
    where_of: dict[int, _Where] = field(default_factory=dict)  # tabular rows, by id() of their object

    def add(self, kind: str, obj: JsonObj, where: _Where, links: dict[str, str] | None = None) -> _Entity | None:
        key = obj.get("id")
        if not isinstance(key, str) or not key:
            return None
        table = self.entities[kind]
        if key in table:
            entity = table[key]
            _merge(entity.obj, obj)
            for name, value in (links or {}).items():
                entity.links.setdefault(name, value)
            return entity
        entity = table[key] = _Entity(kind, obj, where, dict(links or {}))
        return entity


def _merge(into: JsonObj, other: JsonObj) -> None:
    """A second copy of the same object (an organisation inside each of its services): fill what is missing."""
    for key, value in other.items():
        if _blank(into.get(key)) or into.get(key) == []:
            into[key] = value


def _read_json(name: str, content: bytes, report: ImportReport, problems: _Problems) -> _Dataset | None:
    text = _decode(name, content, report)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        report.errors.append(
            RowError(name, "/", "", f"This is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
        )
        return None
    items: list[tuple[object, _Where]] = []
    root = _Where(name, "")
    if isinstance(doc, dict) and isinstance(doc.get("contents"), list):
        items = [(item, root.at("contents", i)) for i, item in enumerate(doc["contents"])]
    elif (
        isinstance(doc, dict)
        and "id" not in doc
        and any(isinstance(doc.get(k), list) for k in ("services", "organizations"))
    ):
        for key in ("organizations", "services"):
            items += [(item, root.at(key, i)) for i, item in enumerate(doc.get(key) or [])]
    elif isinstance(doc, dict):
        items = [(doc, root)]
    elif isinstance(doc, list):
        items = [(item, _Where(name, f"/{i}")) for i, item in enumerate(doc)]
    else:
        report.errors.append(RowError(name, "/", "", "Expected a service or organization object, or a list of them."))
        return None
    validator = _Validator(problems)
    dataset = _Dataset()
    for item, where in items:
        kind = _json_kind(item)
        if kind is None:
            problems.error(where, "", "This is neither a service nor an organization object (HSDS 3.0).")
            continue
        validator.check(kind, item, where, recurse=True, json_links=True)
        assert isinstance(item, dict)
        if kind == "service":
            _take_service(dataset, item, where, None)
        else:
            _take_organization(dataset, item, where)
    return dataset


_SERVICE_MARKS = {
    "status",
    "organization",
    "organization_id",
    "service_at_locations",
    "service_areas",
    "cost_options",
    "eligibility_description",
    "application_process",
    "program",
    "fees_description",
    "minimum_age",
    "maximum_age",
    "required_documents",
    "assured_date",
    "interpretation_services",
}


def _json_kind(item: object) -> str | None:
    if not isinstance(item, dict):
        return None
    if "service" in item and "location" in item:
        return None  # a service_at_location object: import the service or organization instead
    return "service" if _SERVICE_MARKS & set(item) else "organization"


def _take_organization(dataset: _Dataset, obj: JsonObj, where: _Where) -> str | None:
    org = {k: v for k, v in obj.items() if k not in ("services", "locations")}
    entity = dataset.add("organization", org, where)
    org_id = entity.obj["id"] if entity else None
    for i, loc in enumerate(obj.get("locations") or []):
        if isinstance(loc, dict):
            links = {"organization": org_id} if org_id else {}
            dataset.add("location", dict(loc), where.at("locations", i), links)
    for i, svc in enumerate(obj.get("services") or []):
        if isinstance(svc, dict):
            _take_service(dataset, svc, where.at("services", i), org_id)
    return org_id


def _take_service(dataset: _Dataset, obj: JsonObj, where: _Where, org_id: str | None) -> None:
    service = {k: v for k, v in obj.items() if k not in ("organization", "service_at_locations")}
    nested = obj.get("organization")
    if isinstance(nested, dict):
        org_id = _take_organization(dataset, nested, where.at("organization")) or org_id
    given = service.pop("organization_id", None)
    if org_id is None and isinstance(given, str) and given:
        org_id = given
    entity = dataset.add("service", service, where, {"organization": org_id} if org_id else {})
    if entity is None:
        return
    service_id = entity.obj["id"]
    if "attributes" in obj:
        dataset.attributes_complete.add(service_id)
    if "service_at_locations" in obj:
        dataset.sal_complete.add(service_id)
    for i, sal in enumerate(obj.get("service_at_locations") or []):
        if not isinstance(sal, dict):
            continue
        sal_where = where.at("service_at_locations", i)
        location = sal.get("location")
        location_id = sal.get("location_id")
        if isinstance(location, dict):
            loc_entity = dataset.add("location", dict(location), sal_where.at("location"))
            location_id = loc_entity.obj["id"] if loc_entity else None
        links = {"service": service_id} | ({"location": location_id} if isinstance(location_id, str) else {})
        body = {k: v for k, v in sal.items() if k not in ("location", "location_id", "service_id", "service")}
        dataset.add("service_at_location", body, sal_where, links)


def _read_tabular(named: dict[str, bytes], report: ImportReport, problems: _Problems) -> _Dataset | None:
    paths = _package_paths(named, report)
    tables: dict[str, list[SourceRow]] = {}
    for name, content in named.items():
        if not name.endswith(".csv"):
            continue
        rows = _read_csv(name, content, report)
        if rows is not None:
            tables[paths.get(name, name)] = rows
    if report.errors:
        return None
    if is_legacy(tables):
        report.form = "legacy"
        tables, legacy_problems = to_hsds3(tables)
        for p in legacy_problems:
            target = report.errors if p.is_error else report.warnings
            target.append(RowError(p.file, p.row, p.field, p.reason))
    else:
        report.form = "tabular"
    for name in list(tables):
        if name not in KIND_BY_PATH:
            report.warnings.append(RowError(name, 0, "", "Not an HSDS table Kinfold reads; not imported."))
            del tables[name]
    return _assemble(tables, problems)


def _package_paths(named: dict[str, bytes], report: ImportReport) -> dict[str, str]:
    """File name -> the 3.0 file name, from ``datapackage.json`` when a resource is stored under another name."""
    if "datapackage.json" not in named:
        return {}
    try:
        package = json.loads(named["datapackage.json"].decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        report.warnings.append(
            RowError("datapackage.json", 0, "", "Not readable as JSON: the CSV files were read by their HSDS names.")
        )
        return {}
    paths: dict[str, str] = {}
    resources = package.get("resources") if isinstance(package, dict) else None
    for resource in resources if isinstance(resources, list) else []:
        if (
            isinstance(resource, dict)
            and resource.get("name") in TABLE_COLUMNS
            and isinstance(resource.get("path"), str)
        ):
            paths[Path(resource["path"]).name.lower()] = TABLE_COLUMNS[resource["name"]][0]
    return paths


def _read_csv(name: str, content: bytes, report: ImportReport) -> list[SourceRow] | None:
    text = _decode(name, content, report)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return []
        columns = [h.strip().lower() for h in header]
        if any(not c for c in columns) or len(set(columns)) != len(columns):
            report.errors.append(RowError(name, 0, "", "The first line must name each column once."))
            return None
        rows: list[SourceRow] = []
        for number, cells in enumerate(reader, start=1):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                report.errors.append(
                    RowError(name, number, "", f"has {len(cells)} cells but the first line names {len(columns)}.")
                )
                continue
            values = {c: v for c, v in zip(columns, cells, strict=False) if v.strip()}
            rows.append(SourceRow(file=name, row=number, values=values))
        return rows
    except csv.Error as exc:
        report.errors.append(RowError(name, reader.line_num, "", f"This CSV file cannot be read: {exc}."))
        return None


_LINK_COLUMNS = {
    "organization_id",
    "service_id",
    "location_id",
    "contact_id",
    "service_at_location_id",
    "phone_id",
    "program_id",
    "link_id",
    "resource_id",
    "taxonomy_term_id",
    "taxonomy_id",
}


def _assemble(tables: dict[str, list[SourceRow]], problems: _Problems) -> _Dataset:
    """Rows of the 3.0 tables -> the 3.0 objects: each child row nested in every object it links to."""
    dataset = _Dataset()
    validator = _Validator(problems)
    rows: dict[str, dict[str, tuple[JsonObj, dict[str, str], _Where]]] = {}
    for path, source_rows in tables.items():
        kind = KIND_BY_PATH[path]
        table = rows.setdefault(kind, {})
        for src in source_rows:
            where = _Where(src.file, src.row, src.renamed)
            links = {k: v.strip() for k, v in src.values.items() if k in _LINK_COLUMNS and k != "id"}
            obj: JsonObj = {k: v for k, v in src.values.items() if k not in links}
            validator.check(kind, obj, where, recurse=False)
            key = obj.get("id")
            if not isinstance(key, str) or not key:
                continue
            if key in table:
                other = table[key][2]
                problems.error(where, "id", f"The id “{key}” is used twice in this table (also row {other.row}).")
                continue
            table[key] = (obj, links, where)
            dataset.where_of[id(obj)] = where

    def find(kind: str, key: str) -> JsonObj | None:
        found = rows.get(kind, {}).get(key)
        return found[0] if found else None

    taxonomies_used: set[str] = set()
    for term, links, where in rows.get("taxonomy_term", {}).values():
        taxonomy_id = links.get("taxonomy_id")
        if taxonomy_id:
            detail = find("taxonomy", taxonomy_id)
            if detail is not None:
                term["taxonomy_detail"] = detail
                taxonomies_used.add(taxonomy_id)
            else:
                term["taxonomy_id"] = taxonomy_id
                problems.warn(where, "taxonomy_id", f"No taxonomy “{taxonomy_id}” in taxonomies.csv; the id is kept.")
        if not _is_kinfold_term(term):
            dataset.add("taxonomy_term", term, where)
    for key, (_obj, _links, where) in rows.get("taxonomy", {}).items():
        if key not in taxonomies_used:
            problems.warn(where, "id", "No taxonomy term in this export uses this taxonomy; it is not kept.")
    for _key, (_obj, _links, where) in rows.get("meta_table_description", {}).items():
        problems.warn(where, "", "Kinfold does not keep descriptions of tables; not imported.")

    for kind in TOP_LEVEL:
        for _key, (obj, links, where) in rows.get(kind, {}).items():
            entity_links: dict[str, str] = {}
            for column in ("organization_id", "service_id", "location_id"):
                if links.get(column):
                    entity_links[column.removesuffix("_id")] = links[column]
            if kind == "service" and links.get("program_id"):
                program = find("program", links["program_id"])
                if program is not None:
                    obj["program"] = program
                else:
                    obj["program_id"] = links["program_id"]
                    problems.warn(
                        where, "program_id", f"No program “{links['program_id']}” in programs.csv; the id is kept."
                    )
            dataset.add(kind, obj, where, entity_links)
    if "service_at_location" in rows:
        dataset.sal_complete.update(dataset.entities["service"])
    if "attribute" in rows:
        dataset.attributes_complete.update(dataset.entities["service"])

    # Child rows, nested in each object they link to (a phone may belong to a service, its location and a contact).
    for kind, table in rows.items():
        if kind in (*TOP_LEVEL, "taxonomy_term", "taxonomy", "meta_table_description", "attribute", "metadata"):
            continue
        for _key, (obj, links, where) in table.items():
            placed = False
            missing: list[str] = []
            for column, value in links.items():
                parent_kind = column.removesuffix("_id")
                parent = find(parent_kind, value)
                list_key = next((k for k, c in list_children(parent_kind).items() if c == kind), None)
                if parent is not None and list_key is not None:
                    parent.setdefault(list_key, []).append(obj)
                    placed = True
                else:
                    obj[column] = value
                    missing.append(column)
            if not placed:
                named = ", ".join(f"{c} “{links[c]}”" for c in missing) or "none"
                problems.error(where, missing[0] if missing else "", f"Links to nothing in this export ({named}).")
                continue
            for column in missing:
                problems.warn(where, column, f"“{links[column]}” is not in this export; the id is kept.")

    by_id: dict[str, list[tuple[str, JsonObj]]] = {}
    for kind, table in rows.items():
        for key, (obj, _links, _where) in table.items():
            by_id.setdefault(key, []).append((kind, obj))

    def subject(entity_kind: object, key: str) -> JsonObj | None:
        candidates = by_id.get(key, [])
        for kind, obj in candidates:
            if kind == entity_kind:
                return obj
        return candidates[0][1] if candidates else None

    for kind, link_column, kind_column in (
        ("attribute", "link_id", "link_entity"),
        ("metadata", "resource_id", "resource_type"),
    ):
        for _key, (obj, links, where) in rows.get(kind, {}).items():
            target = subject(obj.get(kind_column), links.get(link_column, ""))
            if target is None:
                given = links.get(link_column, "")
                problems.warn(where, link_column, f"Nothing in this export has the id “{given}”; this row is not kept.")
                continue
            if kind == "attribute":
                term_id = links.get("taxonomy_term_id", "")
                found_term = find("taxonomy_term", term_id)
                if found_term is not None:
                    obj["taxonomy_term"] = found_term
                elif term_id:
                    obj["taxonomy_term_id"] = term_id
            target.setdefault("attributes" if kind == "attribute" else "metadata", []).append(obj)
    return dataset


# ---------------------------------------------------------------------------------------------------------
# References between objects, and Kinfold's own attributes


def _existing(model: type[models.Model], keys: Iterable[str]) -> set[str]:
    wanted = list(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(model._default_manager.filter(hsds_id__in=chunk).values_list("hsds_id", flat=True))
    return found


def _resolve(dataset: _Dataset, problems: _Problems) -> None:
    """Every reference must lead somewhere: a service to its organisation, a service at a location to both."""
    ents = dataset.entities
    wanted_orgs = {
        e.links["organization"] for k in ("service", "location") for e in ents[k].values() if "organization" in e.links
    }
    wanted_orgs |= {
        e.obj["organization_id"] for e in ents["location"].values() if isinstance(e.obj.get("organization_id"), str)
    }
    known_orgs = set(ents["organization"]) | _existing(DirectoryOrganization, wanted_orgs - set(ents["organization"]))
    sal_services = {e.links["service"] for e in ents["service_at_location"].values() if "service" in e.links}
    known_services = set(ents["service"]) | _existing(Service, sal_services - set(ents["service"]))
    sal_locations = {e.links["location"] for e in ents["service_at_location"].values() if "location" in e.links}
    known_locations = set(ents["location"]) | _existing(Location, sal_locations - set(ents["location"]))
    for entity in ents["service"].values():
        org_id = entity.links.get("organization")
        column = "organization_id" if isinstance(entity.where.row, int) else "organization"
        if not org_id:
            problems.error(entity.where, column, "Each service needs the organization that offers it.")
        elif org_id not in known_orgs:
            problems.error(entity.where, column, f"No organization “{org_id}” in this export or in Kinfold.")
    for entity in ents["location"].values():
        given = entity.obj.get("organization_id")
        if "organization" not in entity.links and isinstance(given, str) and given:
            if given in known_orgs:
                entity.links["organization"] = entity.obj.pop("organization_id")
            else:
                problems.warn(
                    entity.where, "organization_id", f"No organization “{given}” in this export; the id is kept."
                )
        elif "organization" in entity.links and entity.links["organization"] not in known_orgs:
            org_id = entity.links.pop("organization")
            entity.obj["organization_id"] = org_id
            problems.warn(
                entity.where, "organization_id", f"No organization “{org_id}” in this export; the id is kept."
            )
    for entity in ents["service_at_location"].values():
        for link, known in (("service", known_services), ("location", known_locations)):
            column = f"{link}_id" if isinstance(entity.where.row, int) else link
            key = entity.links.get(link)
            if not key:
                problems.error(entity.where, column, f"Each service at a location needs its {link}.")
            elif key not in known:
                problems.error(entity.where, column, f"No {link} “{key}” in this export or in Kinfold.")

    term_ids_needed = {
        a["taxonomy_term_id"]
        for e in ents["service"].values()
        for a in _dicts(e.obj.get("attributes"))
        if "taxonomy_term" not in a and isinstance(a.get("taxonomy_term_id"), str)
    }
    known_terms = set(ents["taxonomy_term"]) | _existing(TaxonomyTerm, term_ids_needed - set(ents["taxonomy_term"]))
    for entity in ents["service"].values():
        for i, attr in enumerate(_dicts(entity.obj.get("attributes"))):
            where = dataset.where_of.get(id(attr), entity.where.at("attributes", i))
            term = attr.get("taxonomy_term")
            if isinstance(term, dict):
                if _is_kinfold_term(term):
                    continue
                dataset.add("taxonomy_term", term, where.at("taxonomy_term"))
            elif isinstance(attr.get("taxonomy_term_id"), str) and attr["taxonomy_term_id"] not in known_terms:
                term_id = attr["taxonomy_term_id"]
                problems.error(where, "taxonomy_term_id", f"No taxonomy term “{term_id}” in this export or in Kinfold.")
            elif not isinstance(attr.get("taxonomy_term_id"), str):
                problems.error(where, "taxonomy_term", "Each attribute needs its taxonomy term.")
        _values, perinatal = _perinatal_values(entity.obj.get("attributes"))
        attributes = entity.obj.get("attributes") or []
        for index, reason in perinatal:
            where = dataset.where_of.get(id(attributes[index]), entity.where.at("attributes", index))
            problems.error(where, "value" if "should" in reason else "taxonomy_term", reason)


# ---------------------------------------------------------------------------------------------------------
# Writing


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load(model: type[Any], keys: Iterable[str], *, lock: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(set(keys))):
        query = model._default_manager.filter(hsds_id__in=chunk)
        if lock:
            query = query.select_for_update()
        found.update({row.hsds_id: row for row in query})
    return found


def _save_rows(
    model: type[Any],
    kind: str,
    values: dict[str, dict[str, Any]],
    report: ImportReport,
    *,
    lock: bool = False,
    on_update: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Create or update rows by HSDS id; the rows, by id."""
    existing = _load(model, values, lock=lock)
    created, changed = [], []
    fields: set[str] = set()
    for key, row_values in values.items():
        fields.update(row_values)
        row = existing.get(key)
        if row is None:
            row = model(hsds_id=key, **row_values)
            created.append(row)
            existing[key] = row
        else:
            for name, value in row_values.items():
                setattr(row, name, value)
            if on_update is not None:
                on_update(row)
            changed.append(row)
        report._count(kind, created=row.pk is None)
    model._default_manager.bulk_create(created, batch_size=500)
    if any(row.pk is None for row in created):  # a database that does not return ids from a bulk insert
        existing.update(_load(model, [row.hsds_id for row in created]))
    if changed:
        update_fields = sorted(fields | ({"version"} if on_update is not None else set()))
        model._default_manager.bulk_update(changed, update_fields, batch_size=500)
    return existing


def _write(dataset: _Dataset, report: ImportReport, *, by: Any) -> None:
    now = clock.now()
    ents = dataset.entities
    with transaction.atomic():
        terms = _save_rows(
            TaxonomyTerm, "taxonomy_term", {k: _term_values(e.obj) for k, e in ents["taxonomy_term"].items()}, report
        )
        services_by_org: dict[str, list[JsonObj]] = {}
        for entity in ents["service"].values():
            services_by_org.setdefault(entity.links.get("organization", ""), []).append(entity.obj)
        org_values = {
            key: _organization_values(e.obj, services_by_org.get(key, []), report.source, now)
            for key, e in ents["organization"].items()
        }
        old_org_names = dict(
            DirectoryOrganization.objects.filter(hsds_id__in=list(org_values)).values_list("hsds_id", "name")
        )
        old_term_names = dict(TaxonomyTerm.objects.filter(hsds_id__in=list(terms)).values_list("hsds_id", "name"))
        orgs = _save_rows(DirectoryOrganization, "organization", org_values, report)
        referenced = {
            e.links["organization"]
            for k in ("service", "location")
            for e in ents[k].values()
            if "organization" in e.links
        }
        orgs.update(_load(DirectoryOrganization, referenced - set(orgs)))

        location_values = {}
        for key, entity in ents["location"].items():
            values = _location_values(entity.obj)
            if "organization" in entity.links:
                values["organization"] = orgs[entity.links["organization"]]
            location_values[key] = values
        locations = _save_rows(Location, "location", location_values, report)

        needed = {
            a["taxonomy_term_id"]
            for e in ents["service"].values()
            for a in _dicts(e.obj.get("attributes"))
            if "taxonomy_term" not in a and isinstance(a.get("taxonomy_term_id"), str)
        }
        terms.update(_load(TaxonomyTerm, needed - set(terms)))
        _resolve_term_ids(ents["service"].values(), terms)
        service_values: dict[str, dict[str, Any]] = {}
        service_terms: dict[str, list[str]] = {}
        for key, entity in ents["service"].items():
            org = orgs[entity.links["organization"]]
            values, term_ids = _service_values(entity.obj, org, terms, by, now)
            service_values[key] = values
            service_terms[key] = term_ids

        def bump(row: Service) -> None:
            row.version += 1

        services = _save_rows(Service, "service", service_values, report, lock=True, on_update=bump)
        through = Service.taxonomy_terms.through
        complete = [services[k].pk for k in service_terms if k in dataset.attributes_complete]
        for chunk in _chunks(complete):
            through._default_manager.filter(service_id__in=chunk).delete()
        links = [
            through(service_id=services[k].pk, taxonomyterm_id=terms[t].pk)
            for k, term_ids in service_terms.items()
            if k in dataset.attributes_complete
            for t in dict.fromkeys(term_ids)
        ]
        through._default_manager.bulk_create(links, batch_size=1000, ignore_conflicts=True)

        sal_values: dict[str, dict[str, Any]] = {}
        for key, entity in ents["service_at_location"].items():
            columns, rest = _split(entity.obj, SAL_SPEC)
            service = (
                services.get(entity.links["service"])
                or _load(Service, [entity.links["service"]])[entity.links["service"]]
            )
            location = (
                locations.get(entity.links["location"])
                or _load(Location, [entity.links["location"]])[entity.links["location"]]
            )
            sal_values[key] = columns | {"service": service, "location": location, "extra": rest}
        _save_rows(ServiceAtLocation, "service_at_location", sal_values, report)
        stale = ServiceAtLocation.objects.filter(
            service__hsds_id__in=[k for k in dataset.sal_complete if k in services]
        )
        stale.exclude(hsds_id__in=list(sal_values)).delete()

        renamed_orgs = [k for k, v in org_values.items() if k in old_org_names and old_org_names[k] != v["name"]]
        renamed_terms = [k for k in old_term_names if terms[k].name != old_term_names[k]]
        _refresh_search_text(service_ids=set(services), org_ids=renamed_orgs, term_ids=renamed_terms)
        record_event(
            actor=by,
            action=Action.UPDATE,
            record_type="directory_import",
            record_id=report.source[:64],
            detail={
                "form": report.form,
                "source": report.source[:500],
                "created": report.created_by_kind,
                "updated": report.updated_by_kind,
            },
        )


def _term_values(obj: JsonObj) -> dict[str, Any]:
    columns, rest = _split(obj, TERM_SPEC)
    return columns | {"extra": rest}


def _organization_values(obj: JsonObj, services: list[JsonObj], source: str, now: datetime) -> dict[str, Any]:
    columns, rest = _split(obj, ORG_SPEC)
    name, email = _intake(rest.get("contacts"), (s.get("contacts") for s in services), columns["email"])
    return columns | {
        "intake_contact_name": name,
        "intake_email": email,
        "extra": rest,
        "source": source[:200],
        "updated_at": now,
    }


def _location_values(obj: JsonObj) -> dict[str, Any]:
    columns, rest = _split(obj, LOCATION_SPEC)
    address_columns: dict[str, Any] = {name: "" for name, _c in ADDRESS_SPEC.values()}
    addresses = rest.get("addresses")
    if isinstance(addresses, list):
        addresses = list(addresses)
        index = _chosen_address(addresses)
        if index is not None:
            address_columns, addresses[index] = _split(addresses[index], ADDRESS_SPEC)
        rest["addresses"] = addresses
    return columns | address_columns | {"extra": rest}


def _resolve_term_ids(services: Iterable[_Entity], terms: dict[str, TaxonomyTerm]) -> None:
    """An attribute that names its term only by id (a term already in Kinfold) gets the whole term nested."""
    for entity in services:
        attributes = entity.obj.get("attributes")
        if not isinstance(attributes, list):
            continue
        for i, attr in enumerate(attributes):
            if isinstance(attr, dict) and "taxonomy_term" not in attr and attr.get("taxonomy_term_id") in terms:
                nested = {k: v for k, v in attr.items() if k != "taxonomy_term_id"}
                nested["taxonomy_term"] = _term_object(terms[attr["taxonomy_term_id"]])
                attributes[i] = nested


def _service_values(
    obj: JsonObj, org: DirectoryOrganization, terms: dict[str, TaxonomyTerm], by: Any, now: datetime
) -> tuple[dict[str, Any], list[str]]:
    columns, rest = _split(obj, SERVICE_SPEC)
    term_ids = [
        a["taxonomy_term"]["id"]
        for a in _dicts(rest.get("attributes"))
        if isinstance(a.get("taxonomy_term"), dict)
        and not _is_kinfold_term(a["taxonomy_term"])
        and a["taxonomy_term"].get("id") in terms
    ]
    values = columns | {
        "organization": org,
        "languages": language_codes(rest.get("languages")),
        "accepts_medicaid": mentions_medicaid(rest.get("cost_options")),
        "counties": counties_of(rest.get("service_areas")),
        "extra": rest,
        "updated_at": now,
        "updated_by": by if getattr(by, "pk", None) else None,
    }
    perinatal, _problems = _perinatal_values(rest.get("attributes"))
    if perinatal is not None:
        values.update(perinatal)
    return values, term_ids


def _refresh_search_text(*, service_ids: set[str], org_ids: list[str], term_ids: list[str]) -> None:
    """What free-text search reads (``search.compose_search_text``), for the services this import wrote and
    for those it did not carry whose organisation or taxonomy terms it renamed."""
    query = Service.objects.filter(hsds_id__in=list(service_ids)) if service_ids else Service.objects.none()
    if org_ids:
        query = query | Service.objects.filter(organization__hsds_id__in=org_ids)
    if term_ids:
        query = query | Service.objects.filter(taxonomy_terms__hsds_id__in=term_ids)
    rows = list(query.distinct().select_related("organization").prefetch_related("taxonomy_terms"))
    cities: dict[int, set[str]] = {}
    for chunk in _chunks([row.pk for row in rows], 900):
        pairs = ServiceAtLocation.objects.filter(service_id__in=chunk).values_list("service_id", "location__city")
        for service_pk, city in pairs:
            if city:
                cities.setdefault(service_pk, set()).add(city)
    for row in rows:
        row.search_text = compose_search_text(
            row,
            organization_name=row.organization.name,
            term_names=[t.name for t in row.taxonomy_terms.all()],
            cities=sorted(cities.get(row.pk, ())),
        )
    Service.objects.bulk_update(rows, ["search_text"], batch_size=500)


# ---------------------------------------------------------------------------------------------------------
# Export: HSDS 3.0 objects from the rows

_ORDER = {
    "service": "id name alternate_name description url email status interpretation_services application_process "
    "fees_description wait_time fees accreditations eligibility_description minimum_age maximum_age assured_date "
    "assurer_email licenses alert last_modified phones schedules service_areas service_at_locations languages "
    "organization funding cost_options program required_documents contacts attributes metadata",
    "organization": "id name alternate_name description email website tax_status tax_id year_incorporated "
    "legal_status logo uri parent_organization_id funding contacts phones locations programs "
    "organization_identifiers services attributes metadata",
    "location": "id location_type url organization_id name alternate_name description transportation latitude "
    "longitude external_identifier external_identifier_type languages addresses contacts accessibility phones "
    "schedules attributes metadata",
    "service_at_location": "id description contacts phones schedules location attributes metadata",
    "taxonomy_term": "id code name description parent_id taxonomy taxonomy_detail language term_uri",
}


def _ordered(kind: str, obj: JsonObj) -> JsonObj:
    keys = _ORDER[kind].split() if kind in _ORDER else TABLE_COLUMNS[kind][1]
    order = {key: i for i, key in enumerate(keys)}
    return dict(sorted(obj.items(), key=lambda item: order.get(item[0], len(order))))


def _term_object(term: TaxonomyTerm) -> JsonObj:
    return _ordered("taxonomy_term", {"id": term.hsds_id} | _render(TERM_SPEC, term, term.extra or {}))


def _set_list(out: JsonObj, key: str, items: list[Any], extra: JsonObj) -> None:
    if items or key in extra:
        out[key] = items
    else:
        out.pop(key, None)


class _Snapshot:
    """The whole directory read once (a handful of queries), so an export makes no query per row."""

    def __init__(self) -> None:
        self.organizations = list(DirectoryOrganization.objects.order_by("pk"))
        self.locations = list(Location.objects.select_related("organization").order_by("pk"))
        self.services = list(
            Service.objects.select_related("organization").prefetch_related("taxonomy_terms").order_by("pk")
        )
        self.sals = list(ServiceAtLocation.objects.select_related("service", "location").order_by("pk"))
        self.terms = list(TaxonomyTerm.objects.order_by("pk"))
        self.locations_of: dict[int, list[Location]] = {}
        for loc in self.locations:
            if loc.organization_id is not None:
                self.locations_of.setdefault(loc.organization_id, []).append(loc)
        self.services_of: dict[int, list[Service]] = {}
        for service in self.services:
            self.services_of.setdefault(service.organization_id, []).append(service)
        self.sals_of: dict[int, list[ServiceAtLocation]] = {}
        for sal in self.sals:
            self.sals_of.setdefault(sal.service_id, []).append(sal)
        self._location_objects: dict[int, JsonObj] = {}
        self._organization_objects: dict[int, JsonObj] = {}

    def location(self, loc: Location) -> JsonObj:
        if loc.pk not in self._location_objects:
            self._location_objects[loc.pk] = location_object(loc)
        return copy.deepcopy(self._location_objects[loc.pk])

    def organization(self, org: DirectoryOrganization, *, with_services: bool, with_locations: bool = True) -> JsonObj:
        services = self.services_of.get(org.pk, [])
        if org.pk not in self._organization_objects:
            self._organization_objects[org.pk] = organization_object(org, services)
        out = copy.deepcopy(self._organization_objects[org.pk])
        if with_locations:
            _set_list(out, "locations", [self.location(loc) for loc in self.locations_of.get(org.pk, [])], {})
        if with_services:
            _set_list(out, "services", [self.service(s, with_organization=False) for s in services], {})
        return _ordered("organization", out)

    def service(self, service: Service, *, with_organization: bool, with_locations: bool = True) -> JsonObj:
        out = service_object(service)
        if with_organization:
            out["organization"] = self.organization(service.organization, with_services=False)
        if with_locations:
            sals = [
                sal_object(sal) | {"location": self.location(sal.location)} for sal in self.sals_of.get(service.pk, [])
            ]
            _set_list(out, "service_at_locations", [_ordered("service_at_location", s) for s in sals], {})
        return _ordered("service", out)


def organization_object(org: DirectoryOrganization, services: Iterable[Service] = ()) -> JsonObj:
    """An organization as HSDS 3.0 (without its services and locations); an edited intake contact is put back."""
    extra = copy.deepcopy(org.extra or {})
    out: JsonObj = {"id": org.hsds_id} | _render(ORG_SPEC, org, extra)
    derived = _intake(extra.get("contacts"), (s.extra.get("contacts") for s in services), org.email)
    wanted = (org.intake_contact_name, org.intake_email)
    if wanted != derived and any(wanted):
        contacts = _dicts(extra.get("contacts"))
        chosen = next((c for c in contacts if "intake" in str(c.get("title") or "").lower()), None)
        if chosen is None:
            chosen = {"id": _kinfold_id(org.hsds_id, "intake-contact"), "title": "Intake"}
            contacts.append(chosen)
        chosen["name"], chosen["email"] = wanted
        out["contacts"] = contacts
    return out


def location_object(loc: Location) -> JsonObj:
    """A location as HSDS 3.0, its address lines and coordinates from the columns."""
    extra = copy.deepcopy(loc.extra or {})
    out = {"id": loc.hsds_id} | _render(LOCATION_SPEC, loc, extra)
    addresses = extra.get("addresses")
    addresses = list(addresses) if isinstance(addresses, list) else []
    index = _chosen_address(addresses)
    if index is not None:
        addresses[index] = _ordered("address", _render(ADDRESS_SPEC, loc, addresses[index]))
    elif loc.address_1 or loc.city:
        addresses.append(
            _render(ADDRESS_SPEC, loc, {"id": _kinfold_id(loc.hsds_id, "address"), "address_type": "physical"})
        )
    _set_list(out, "addresses", addresses, extra)
    return _ordered("location", out)


def sal_object(sal: ServiceAtLocation) -> JsonObj:
    return {"id": sal.hsds_id} | _render(SAL_SPEC, sal, copy.deepcopy(sal.extra or {}))


def service_object(service: Service) -> JsonObj:
    """A service as HSDS 3.0 (without its organization and locations). Lists Kinfold derives a column from
    are put back in step with the column when staff changed it."""
    extra = copy.deepcopy(service.extra or {})
    out = {"id": service.hsds_id} | _render(SERVICE_SPEC, service, extra)
    key = service.hsds_id

    languages = _dicts(extra.get("languages"))
    if set(language_codes(languages)) != set(service.languages or []):
        wanted = list(service.languages or [])
        languages = [lang for lang in languages if not _language_of(lang) or _language_of(lang) in wanted]
        have = language_codes(languages)
        languages += [
            {"id": _kinfold_id(key, "language", c), "name": LANGUAGE_NAMES.get(c, c), "code": c}
            for c in wanted
            if c not in have
        ]
        _set_list(out, "languages", languages, extra)

    options = _dicts(extra.get("cost_options"))
    if mentions_medicaid(options) != service.accepts_medicaid:
        if service.accepts_medicaid:
            options.append({"id": _kinfold_id(key, "cost-option", "medicaid"), "option": "Medicaid accepted"})
        else:
            options = [o for o in options if not mentions_medicaid([o])]
        _set_list(out, "cost_options", options, extra)

    areas = _dicts(extra.get("service_areas"))
    if set(counties_of(areas)) != set(service.counties or []):
        wanted = list(service.counties or [])
        areas = [a for a in areas if not _place(a.get("name")) or _place(a.get("name")) in wanted]
        have = counties_of(areas)
        areas += [{"id": _kinfold_id(key, "service-area", c), "name": c} for c in wanted if c not in have]
        _set_list(out, "service_areas", areas, extra)

    _set_list(out, "attributes", _service_attributes(service, _dicts(extra.get("attributes"))), extra)
    return out


def _service_attributes(service: Service, stored: list[JsonObj]) -> list[JsonObj]:
    """Attributes from the taxonomy terms linked to the service (an unlinked term's attribute goes, a newly
    linked one gets one) and Kinfold's own from its columns; any other attribute is kept as it came."""
    linked = {t.hsds_id: t for t in service.taxonomy_terms.all()}
    wanted = _perinatal_wanted(service)
    out: list[JsonObj] = []
    seen_terms: set[str] = set()
    seen_codes: set[str] = set()
    for attr in stored:
        term = attr.get("taxonomy_term")
        if _is_kinfold_term(term):
            assert isinstance(term, dict)
            code = str(term.get("code") or "")
            if code not in wanted or code in seen_codes:
                continue
            seen_codes.add(code)
            parsed = _parse_perinatal(attr)
            same = not isinstance(parsed, str) and _perinatal_text(parsed[1]) == wanted[code]
            out.append(attr if same else _perinatal_attribute(service.hsds_id, code, wanted[code], reuse=attr))
            continue
        term_id = term.get("id") if isinstance(term, dict) else attr.get("taxonomy_term_id")
        if not isinstance(term_id, str):
            out.append(attr)
        elif term_id in linked:
            seen_terms.add(term_id)
            out.append(
                {k: v for k, v in attr.items() if k != "taxonomy_term_id"}
                | {"taxonomy_term": _term_object(linked[term_id])}
            )
    for term_id, term_row in linked.items():
        if term_id not in seen_terms:
            out.append(
                {
                    "id": _kinfold_id(service.hsds_id, "attribute", term_id),
                    "link_entity": "service",
                    "taxonomy_term": _term_object(term_row),
                }
            )
    for code, value in wanted.items():
        if code not in seen_codes:
            out.append(_perinatal_attribute(service.hsds_id, code, value))
    return out


def _perinatal_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_json() -> list[JsonObj]:
    """Every service as an HSDS 3.0 service object, shaped like the specification's ``service_full.json``."""
    snapshot = _Snapshot()
    return [snapshot.service(s, with_organization=True) for s in snapshot.services]


def export_organizations_json() -> list[JsonObj]:
    """Every organization as an HSDS 3.0 organization object with its locations and services."""
    snapshot = _Snapshot()
    return [snapshot.organization(org, with_services=True) for org in snapshot.organizations]


# ---------------------------------------------------------------------------------------------------------
# Export: the HSDS 3.0 tabular data package


class _Tables:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in TABLE_COLUMNS}

    def emit(self, kind: str, obj: JsonObj, links: dict[str, Any]) -> None:
        key = obj.get("id")
        if not isinstance(key, str) or not key:
            return
        row = self.rows[kind].setdefault(key, {})
        for column, value in links.items():
            if not _blank(value) and _blank(row.get(column)):
                row[column] = value
        children = list_children(kind)
        singles = _OBJECTS.get(kind, {})
        for name, value in obj.items():
            if name in children and isinstance(value, list):
                child_kind = children[name]
                link = _link_column(kind, child_kind)
                for child in _dicts(value):
                    child_links: dict[str, Any] = {link: key} if link else {}
                    if child_kind == "attribute" and "link_entity" not in child:
                        child_links["link_entity"] = kind
                    if child_kind == "metadata" and "resource_type" not in child:
                        child_links["resource_type"] = kind
                    self.emit(child_kind, child, child_links)
            elif name in singles and isinstance(value, dict):
                child_kind, column = singles[name]
                extra_links = {"organization_id": row.get("organization_id")} if child_kind == "program" else {}
                self.emit(child_kind, value, extra_links)
                if _blank(row.get(column)) and isinstance(value.get("id"), str):
                    row[column] = value["id"]
            elif not isinstance(value, dict | list) and _blank(row.get(name)):
                row[name] = value

    def write(self, directory: Path) -> list[str]:
        directory.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        resources = []
        for kind, (path, standard) in TABLE_COLUMNS.items():
            rows = self.rows[kind]
            if not rows:
                continue
            columns = list(standard) + [
                c for c in dict.fromkeys(k for r in rows.values() for k in r) if c not in standard
            ]
            with (directory / path).open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(columns)
                for row in rows.values():
                    writer.writerow([_cell(row.get(c)) for c in columns])
            written.append(path)
            resources.append(_resource(kind, path, columns, standard))
        package = {
            "name": "kinfold-directory",
            "title": "Kinfold service directory (Open Referral HSDS 3.0)",
            "profile": "tabular-data-package",
            "resources": resources,
        }
        (directory / "datapackage.json").write_text(
            json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return ["datapackage.json", *written]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _resource(kind: str, path: str, columns: list[str], standard: list[str]) -> JsonObj:
    fields = []
    for column in columns:
        spec: JsonObj = {"name": column, "type": "number" if (kind, column) in _NUMBERS else "string"}
        if (kind, column) in _EMAILS:
            spec["format"] = "email"
        elif (kind, column) in _URIS:
            spec["format"] = "uri"
        if (kind, column) in _ENUMS:
            spec["constraints"] = {"enum": list(_ENUMS[kind, column])}
        if column not in standard:
            spec["description"] = "Not an HSDS 3.0 field: kept as the source published it."
        fields.append(spec)
    foreign = [
        {"fields": c, "reference": {"resource": c.removesuffix("_id"), "fields": "id"}}
        for c in columns
        if c.endswith("_id") and c.removesuffix("_id") in TOP_LEVEL and c in standard
    ]
    schema: JsonObj = {"fields": fields, "primaryKey": "id"} | ({"foreignKeys": foreign} if foreign else {})
    return {
        "name": kind,
        "path": path,
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": schema,
    }


def _tables() -> _Tables:
    snapshot = _Snapshot()
    tables = _Tables()
    for org in snapshot.organizations:
        tables.emit("organization", snapshot.organization(org, with_services=False, with_locations=False), {})
    for service in snapshot.services:
        obj = snapshot.service(service, with_organization=False, with_locations=False)
        tables.emit("service", obj, {"organization_id": service.organization.hsds_id})
    for loc in snapshot.locations:
        org_id = loc.organization.hsds_id if loc.organization is not None else None
        tables.emit("location", snapshot.location(loc), {"organization_id": org_id})
    for sal in snapshot.sals:
        links = {"service_id": sal.service.hsds_id, "location_id": sal.location.hsds_id}
        tables.emit("service_at_location", sal_object(sal), links)
    for term in snapshot.terms:
        tables.emit("taxonomy_term", _term_object(term), {})
    return tables


def export_tabular(directory: Path) -> list[str]:
    """Write the directory as an HSDS 3.0 tabular data package (CSV files and ``datapackage.json``) into
    ``directory``; the names of the files written."""
    return _tables().write(Path(directory))


def export_zip() -> bytes:
    """The HSDS 3.0 tabular data package as a zip file."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        names = export_tabular(Path(tmp))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                archive.write(Path(tmp) / name, arcname=name)
    return buffer.getvalue()
