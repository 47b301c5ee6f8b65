"""The older Open Referral tabular layout (HSDS 1.x and 2.0), turned into HSDS 3.0 tables.

Most 211 exports still publish the 1.x/2.0 CSV files: ``services_taxonomy.csv`` + ``taxonomy.csv``,
``physical_addresses.csv`` / ``postal_addresses.csv``, ``regular_schedules.csv`` / ``holiday_schedules.csv``,
``eligibility.csv``, ``service_areas.csv`` (with ``service_area``), ``payments_accepted.csv``,
``accessibility_for_disabilities.csv``, ``services_at_location.csv`` and the 2.0 ``service_attributes.csv``,
``other_attributes.csv`` and ``taxonomy_terms.csv`` (with ``term``). This module renames files and columns and
reshapes rows into the 3.0 tables (``addresses.csv``, ``schedules.csv``, ``attributes.csv``…), keeping where
each row came from (file, data row, the file's own column names) so a problem is reported against the file
the person sent. It only converts: it never reads or writes the database, and the 3.0 importer
(``directory/hsds.py``) validates and writes what it returns.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

# Generated rows (a phone's languages, a holiday as a schedule…) get ids from this namespace, so importing the
# same export twice gives the same ids and updates instead of adding.
LEGACY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://kinfold.org/hsds/legacy")

# Files only the 1.x/2.0 layout has: any of them means the package is the older layout.
LEGACY_MARKERS = frozenset(
    {
        "physical_addresses.csv",
        "postal_addresses.csv",
        "services_taxonomy.csv",
        "service_taxonomy.csv",
        "service_attributes.csv",
        "other_attributes.csv",
        "regular_schedules.csv",
        "holiday_schedules.csv",
        "eligibility.csv",
        "services_at_location.csv",
        "accessibility_for_disabilities.csv",
        "taxonomy.csv",
        "payments_accepted.csv",
        "payment_accepted.csv",
        "service_area.csv",
    }
)

# Files whose 1.x/2.0 form already matches 3.0 closely enough to pass through (columns renamed below).
_PASS_THROUGH = (
    "organizations.csv",
    "programs.csv",
    "services.csv",
    "locations.csv",
    "service_at_location.csv",
    "phones.csv",
    "contacts.csv",
    "schedules.csv",
    "funding.csv",
    "required_documents.csv",
    "languages.csv",
    "metadata.csv",
    "meta_table_descriptions.csv",
    "cost_options.csv",
    "service_areas.csv",
    "taxonomy_terms.csv",
    "attributes.csv",
    "addresses.csv",
    "accessibility.csv",
    "organization_identifiers.csv",
    "taxonomies.csv",
)

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "fr": "French",
    "ht": "Haitian Creole",
    "ko": "Korean",
    "ru": "Russian",
    "tl": "Tagalog",
    "pt": "Portuguese",
    "so": "Somali",
    "ur": "Urdu",
    "pl": "Polish",
    "sk": "Slovak",
    "de": "German",
    "it": "Italian",
    "ja": "Japanese",
    "hi": "Hindi",
    "bn": "Bengali",
    "pa": "Punjabi",
    "fa": "Persian",
    "sw": "Swahili",
    "am": "Amharic",
    "ne": "Nepali",
    "my": "Burmese",
    "uk": "Ukrainian",
    "hmn": "Hmong",
    "ase": "American Sign Language",
}
# ISO 639-2/3 codes of those languages, for the 639-1 code Kinfold filters on.
_THREE_LETTER = {
    "eng": "en",
    "spa": "es",
    "zho": "zh",
    "chi": "zh",
    "vie": "vi",
    "ara": "ar",
    "fra": "fr",
    "fre": "fr",
    "hat": "ht",
    "kor": "ko",
    "rus": "ru",
    "tgl": "tl",
    "fil": "tl",
    "por": "pt",
    "som": "so",
    "urd": "ur",
    "pol": "pl",
    "slk": "sk",
    "slo": "sk",
    "deu": "de",
    "ger": "de",
    "ita": "it",
    "jpn": "ja",
    "hin": "hi",
    "ben": "bn",
    "pan": "pa",
    "fas": "fa",
    "per": "fa",
    "swa": "sw",
    "amh": "am",
    "nep": "ne",
    "mya": "my",
    "bur": "my",
    "ukr": "uk",
}
_NAME_TO_CODE = {name.lower(): code for code, name in LANGUAGE_NAMES.items()} | {
    "mandarin": "zh",
    "cantonese": "zh",
    "farsi": "fa",
    "creole": "ht",
    "haitian": "ht",
    "sign language": "ase",
    "asl": "ase",
    "filipino": "tl",
}
_CODE_SHAPE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


def language_code(text: str) -> str:
    """The ISO 639-1 code for a language code or English name ("es", "spa", "es-MX", "Spanish"), or ""."""
    value = text.strip()
    if not value:
        return ""
    lowered = value.lower()
    if lowered in _NAME_TO_CODE:
        return _NAME_TO_CODE[lowered]
    if _CODE_SHAPE.match(value):
        primary = lowered.replace("_", "-").split("-")[0]
        return _THREE_LETTER.get(primary, primary)
    return ""


@dataclass
class SourceRow:
    """One data row of a CSV file: where it came from, its values, and the file's own name of each 3.0 field."""

    file: str
    row: int
    values: dict[str, str]
    renamed: dict[str, str] = field(default_factory=dict)  # 3.0 field name -> the column it came from

    def column(self, name: str) -> str:
        return self.renamed.get(name, name)


@dataclass(frozen=True)
class Problem:
    file: str
    row: int
    field: str
    reason: str
    is_error: bool = True


def is_legacy(names: Iterable[str]) -> bool:
    return any(name in LEGACY_MARKERS for name in names)


def _generated_id(*parts: str) -> str:
    return str(uuid.uuid5(LEGACY_NAMESPACE, "/".join(parts)))


def _derived(src: SourceRow, values: dict[str, str], renamed: dict[str, str] | None = None) -> SourceRow:
    carried = {k: v for k, v in src.renamed.items() if k in values}
    return SourceRow(file=src.file, row=src.row, values=values, renamed=carried | (renamed or {}))


def _rename(src: SourceRow, mapping: dict[str, str]) -> SourceRow:
    """Rename columns (old -> new) when the new name is not already there."""
    values = dict(src.values)
    renamed = dict(src.renamed)
    for old, new in mapping.items():
        if old in values and new not in values:
            values[new] = values.pop(old)
            renamed[new] = src.renamed.get(old, old)
    return SourceRow(file=src.file, row=src.row, values=values, renamed=renamed)


_WEEKDAYS = {
    "1": "MO",
    "2": "TU",
    "3": "WE",
    "4": "TH",
    "5": "FR",
    "6": "SA",
    "7": "SU",
    "0": "SU",
}
for _i, _day in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")):
    _code = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[_i]
    _WEEKDAYS[_day] = _code
    _WEEKDAYS[_day[:3]] = _code
    _WEEKDAYS[_code.lower()] = _code

_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.IGNORECASE)


def legacy_time(text: str) -> str | None:
    """A 1.x clock time ("9:00", "9:00 AM", "17:30:00", "5pm") as HH:MM (or HH:MM:SS); None when unreadable.
    A time already carrying a zone (``09:00Z``, ``09:00-05:00``) passes through."""
    value = text.strip()
    if re.match(r"^\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})$", value):
        return value
    m = _TIME.match(value)
    if not m:
        return None
    hour, minute, second, meridiem = int(m[1]), int(m[2] or 0), m[3], m[4]
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.lower().startswith("p") else 0)
    if hour > 23 or minute > 59 or (second is not None and int(second) > 59):
        return None
    return f"{hour:02d}:{minute:02d}" + (f":{second}" if second is not None else "")


def legacy_date(text: str) -> str | None:
    """A date as ISO 8601; 211 exports also write 1/15/2024 (US order). None when unreadable."""
    value = text.strip()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_COUNTRIES = {"usa": "US", "u.s.": "US", "u.s.a.": "US", "united states": "US", "united states of america": "US"}


class _Converter:
    def __init__(self, tables: dict[str, list[SourceRow]]) -> None:
        self.tables = tables
        self.out: dict[str, list[SourceRow]] = {}
        self.problems: list[Problem] = []

    def error(self, src: SourceRow, field_name: str, reason: str) -> None:
        self.problems.append(Problem(src.file, src.row, src.column(field_name), reason))

    def warn(self, src: SourceRow, field_name: str, reason: str) -> None:
        self.problems.append(Problem(src.file, src.row, src.column(field_name), reason, is_error=False))

    def add(self, table: str, row: SourceRow) -> None:
        self.out.setdefault(table, []).append(row)

    def rows(self, *names: str) -> list[SourceRow]:
        return [row for name in names for row in self.tables.get(name, [])]

    def run(self) -> None:
        for name in _PASS_THROUGH:
            for src in self.tables.get(name, []):
                self.pass_through(name, src)
        for src in self.rows("services_at_location.csv"):
            self.add("service_at_location.csv", src)
        for name, kind in (("physical_addresses.csv", "physical"), ("postal_addresses.csv", "postal")):
            for src in self.rows(name):
                self.address(src, kind)
        for src in self.rows("regular_schedules.csv"):
            self.regular_schedule(src)
        for src in self.rows("holiday_schedules.csv"):
            self.holiday_schedule(src)
        for src in self.rows("service_area.csv"):
            self.add("service_areas.csv", _rename(src, {"service_area": "name"}))
        for src in self.rows("payments_accepted.csv", "payment_accepted.csv"):
            self.add("cost_options.csv", _rename(src, {"payment": "option"}))
        for src in self.rows("accessibility_for_disabilities.csv"):
            self.add("accessibility.csv", _rename(src, {"accessibility": "description"}))
        for src in self.rows("services_taxonomy.csv", "service_taxonomy.csv", "service_attributes.csv"):
            row = _rename(src, {"service_id": "link_id", "taxonomy_id": "taxonomy_term_id", "taxonomy_detail": "value"})
            row.values.setdefault("link_entity", "service")
            self.add("attributes.csv", row)
        for src in self.rows("other_attributes.csv"):
            row = _rename(src, {"link_type": "link_entity"})
            self.add("attributes.csv", row)
        for src in self.rows("taxonomy.csv"):
            self.add("taxonomy_terms.csv", _rename(src, {"vocabulary": "taxonomy"}))
        self.eligibility()

    def pass_through(self, name: str, src: SourceRow) -> None:
        if name == "organizations.csv":
            src = _rename(src, {"url": "website"})
            year = src.values.get("year_incorporated", "").strip()
            if year and not year.isdigit():
                # 1.x declared it a date with format %Y; some exports write a whole date.
                found = legacy_date(year)
                if found:
                    src.values["year_incorporated"] = found[:4]
        elif name == "services.csv":
            status = src.values.get("status", "")
            if status:
                src.values["status"] = status.strip().lower().replace("_", " ")
            for key in ("assured_date",):
                if src.values.get(key, "").strip():
                    self._date(src, key)
            for taxonomy_id in (t.strip() for t in src.values.pop("taxonomy_ids", "").split(",")):
                if taxonomy_id and src.values.get("id"):
                    values = {
                        "id": _generated_id("taxonomy_ids", src.values["id"], taxonomy_id),
                        "link_id": src.values["id"],
                        "link_entity": "service",
                        "taxonomy_term_id": taxonomy_id,
                    }
                    self.add("attributes.csv", _derived(src, values, {"taxonomy_term_id": "taxonomy_ids"}))
        elif name == "locations.csv":
            if not src.values.get("location_type", "").strip():
                src.values["location_type"] = "physical"
        elif name == "phones.csv":
            self.phone_languages(src)
        elif name == "languages.csv":
            self.language(src)
        elif name == "service_areas.csv":
            src = _rename(src, {"service_area": "name"})
        elif name == "taxonomy_terms.csv":
            src = _rename(src, {"term": "name"})
        elif name == "schedules.csv":
            for key in ("opens_at", "closes_at"):
                if src.values.get(key, "").strip():
                    self._time(src, key)
        self.add(name, src)

    def _time(self, src: SourceRow, key: str) -> None:
        found = legacy_time(src.values[key])
        if found is None:
            self.error(src, key, f"“{src.values[key]}” is not a time of day (write 09:00 or 9:00 AM).")
        else:
            src.values[key] = found

    def _date(self, src: SourceRow, key: str) -> str | None:
        found = legacy_date(src.values[key])
        if found is None:
            self.error(src, key, f"“{src.values[key]}” is not a date (write 2024-01-15).")
        else:
            src.values[key] = found
        return found

    def language(self, src: SourceRow) -> None:
        given = src.values.pop("language", "").strip()
        if not given:
            return
        src.renamed["code"] = src.renamed["name"] = "language"
        code = language_code(given)
        if _CODE_SHAPE.match(given) and given.lower() not in _NAME_TO_CODE:
            src.values.setdefault("code", given)
            if code in LANGUAGE_NAMES:
                src.values.setdefault("name", LANGUAGE_NAMES[code])
        else:
            src.values.setdefault("name", given)
            if code:
                src.values.setdefault("code", code)

    def phone_languages(self, src: SourceRow) -> None:
        given = src.values.pop("language", "")
        phone_id = src.values.get("id", "").strip()
        for part in (p.strip() for p in given.split(",")):
            if not part or not phone_id:
                continue
            values = {"id": _generated_id("phone-language", phone_id, part), "phone_id": phone_id, "language": part}
            row = _derived(src, values, {"phone_id": "id"})
            self.language(row)
            self.add("languages.csv", row)

    def address(self, src: SourceRow, kind: str) -> None:
        values = dict(src.values)
        extra_lines = [values.pop(key, "").strip() for key in ("address_3", "address_4")]
        extra_lines = [line for line in extra_lines if line]
        if extra_lines:
            values["address_2"] = ", ".join([values.get("address_2", "").strip(), *extra_lines]).strip(", ")
        country = values.get("country", "").strip()
        if country:
            values["country"] = _COUNTRIES.get(country.lower(), country.upper() if len(country) == 2 else country)
        values["address_type"] = kind
        self.add("addresses.csv", _derived(src, values, dict(src.renamed)))

    def regular_schedule(self, src: SourceRow) -> None:
        values = {k: v for k, v in src.values.items() if k not in ("weekday",)}
        day = src.values.get("weekday", "").strip()
        code = _WEEKDAYS.get(day.lower())
        if not day:
            self.error(src, "weekday", "The day of the week is required (1 = Monday … 7 = Sunday, or its name).")
        elif code is None:
            self.error(src, "weekday", f"“{day}” is not a day of the week (1 = Monday … 7 = Sunday, or its name).")
        else:
            values["byday"] = code
        values["freq"] = "WEEKLY"
        row = _derived(src, values, {"byday": "weekday"})
        for key in ("opens_at", "closes_at"):
            if row.values.get(key, "").strip():
                self._time(row, key)
        self.add("schedules.csv", row)

    def holiday_schedule(self, src: SourceRow) -> None:
        values = {
            k: v for k, v in src.values.items() if k in ("id", "service_id", "location_id", "service_at_location_id")
        }
        row = _derived(src, values, {"valid_from": "start_date", "valid_to": "end_date"})
        for old, new in (("start_date", "valid_from"), ("end_date", "valid_to")):
            given = src.values.get(old, "").strip()
            if not given:
                self.error(src, old, "A holiday needs its first and last day.")
                continue
            found = legacy_date(given)
            if found is None:
                self.error(src, old, f"“{given}” is not a date (write 2024-12-25).")
            else:
                row.values[new] = found
        closed = src.values.get("closed", "").strip().lower()
        if closed not in _TRUE | _FALSE:
            self.error(src, "closed", "Say whether it is closed on those days (true or false).")
        elif closed in _TRUE:
            row.values["description"] = "Closed"
        else:
            row.values["description"] = "Holiday hours"
            for key in ("opens_at", "closes_at"):
                given = src.values.get(key, "").strip()
                if given:
                    found = legacy_time(given)
                    if found is None:
                        self.error(src, key, f"“{given}” is not a time of day (write 09:00 or 9:00 AM).")
                    else:
                        row.values[key] = found
        self.add("schedules.csv", row)

    def eligibility(self) -> None:
        """1.x keeps eligibility as keyword rows (adult, teen, female…); 2.0 adds ages. 3.0 keeps them on the
        service: the keywords become its eligibility description, the ages its minimum and maximum age."""
        services = {row.values.get("id", "").strip(): row for row in self.out.get("services.csv", [])}
        for src in self.rows("eligibility.csv"):
            service_id = src.values.get("service_id", "").strip()
            service = services.get(service_id)
            if service is None:
                if service_id:
                    self.error(src, "service_id", f"No service with id “{service_id}” in services.csv.")
                else:
                    self.error(src, "service_id", "Each eligibility row needs the service it is about.")
                continue
            words = src.values.get("eligibility", "").strip()
            if words:
                before = service.values.get("eligibility_description", "").strip()
                service.values["eligibility_description"] = f"{before}; {words}" if before else words
            for key in ("minimum_age", "maximum_age"):
                given = src.values.get(key, "").strip()
                if not given:
                    continue
                if not re.fullmatch(r"\d{1,3}", given):
                    self.error(src, key, f"“{given}” is not an age in whole years.")
                elif not service.values.get(key, "").strip():
                    service.values[key] = given


def to_hsds3(tables: dict[str, list[SourceRow]]) -> tuple[dict[str, list[SourceRow]], list[Problem]]:
    """The 1.x/2.0 tables (by file name) as 3.0 tables (by 3.0 file name), and the problems met on the way."""
    converter = _Converter(tables)
    converter.run()
    return converter.out, converter.problems
