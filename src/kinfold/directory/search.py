"""search.py — finding services in the directory: free text that forgives typing mistakes, distance from a place,
the filters coordinators use, and whether each result fits one family. It only reads listings (never family
records: the family's facts arrive as a ``FamilyFit``) and never writes.

Free text (the indexes are made by migration ``0002_search``): every word must match, as the start of a word
("pregnan" finds "pregnancy"). A word that starts no word of any listing is corrected against the listings' own
words and searched as itself or its closest words ("bupernorphine" → "buprenorphine"), and the page says so:

- PostgreSQL: the English full-text index; the closest words come from the vocabulary table by ``pg_trgm``
  trigram distance (a typo anywhere in the word), then ``difflib`` keeps the close ones.
- SQLite: FTS5 prefix terms; the closest words are those of the FTS5 vocabulary that start with the same letter
  and are about as long, kept by ``difflib``.

Distance is the great-circle (haversine) distance to a service's nearest location. With a radius: first the
services with a location in the latitude/longitude box and within the radius (indexes alone), then those of them
that match the words and filters. Results are nearest first, then by name. Without a place: named for the first
word first (PostgreSQL) or by FTS5's bm25 (SQLite), then by name. Counts stop at ``COUNT_CAP``: past it the page
says "more than 1,000" and asks to narrow the search, so no search counts or sorts 100,000 rows.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Prefetch

from kinfold.directory import geo
from kinfold.directory.fit import BILLED_NEEDS, FamilyFit, FitResult, fits, language_name
from kinfold.directory.models import Moud, Need, Service, ServiceAtLocation, ServiceStatus

COUNT_CAP = 1000
MAX_PER_PAGE = 100
MAX_RADIUS_MILES = 500
MAX_WORDS = 8
MAX_QUERY_LENGTH = 200
FUZZY_CUTOFF = 0.75  # difflib ratio a correction must reach ("bupernorphine" → "buprenorphine" is 0.92)
FTS_TABLE = "directory_service_fts"  # SQLite
FTS_VOCAB = "directory_service_fts_vocab"  # SQLite
PG_WORDS = "directory_search_word"  # PostgreSQL: every word of every search_text, with a trigram index

# Words too common to search for: PostgreSQL's English stop words (``english.stop``), so both databases skip
# the same ones.
_STOPWORD_TEXT = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is are
    was were be been being have has had having do does did doing a an the and but if or because as until while
    of at by for with about against between into through during before after above below to from up down in out
    on off over under again further then once here there when where why how all any both each few more most
    other some such no nor not only own same so than too very s t can will just don should now
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

# The perinatal yes/no attributes people filter on, with the words the search page shows for each.
FLAG_FILTERS: dict[str, str] = {
    "accepts_pregnant": "Accepts pregnant people",
    "postpartum_programme": "Programme for the year after birth",
    "parenting_programme": "Parenting programme",
    "moud_continued_in_hospital": "Keeps MOUD going through delivery and NICU stays",
    "residential_with_children": "Residential, children stay with the parent",
    "childcare_on_site": "Childcare on site",
    "transport_help": "Help with transport",
    "walk_in": "Walk-in (no appointment)",
    "accepting_new": "Taking new people now",
    "accepts_medicaid": "Takes Medicaid",
}
MOUD_COLUMNS = {Moud.METHADONE: "moud_methadone", Moud.BUPRENORPHINE: "moud_buprenorphine",
                Moud.NALTREXONE: "moud_naltrexone"}  # fmt: skip
# Words a listing is also found by: brand names people say for the medications.
MOUD_WORDS = {
    Moud.METHADONE: "methadone opioid treatment program",
    Moud.BUPRENORPHINE: "buprenorphine suboxone subutex sublocade",
    Moud.NALTREXONE: "naltrexone vivitrol",
}


@dataclass(frozen=True)
class SearchFilters:
    """What a search is narrowed to. A flag left False means "either"; ``moud`` is any of the medications."""

    need: str = ""
    statuses: tuple[str, ...] = (ServiceStatus.ACTIVE,)
    accepts_pregnant: bool = False
    postpartum_programme: bool = False
    parenting_programme: bool = False
    moud_continued_in_hospital: bool = False
    residential_with_children: bool = False
    childcare_on_site: bool = False
    transport_help: bool = False
    walk_in: bool = False
    accepting_new: bool = False
    accepts_medicaid: bool = False
    moud: tuple[str, ...] = ()
    language: str = ""
    county: str = ""
    max_wait_days: int | None = None


@dataclass(frozen=True)
class LocationAt:
    location: Any  # a Location
    distance_miles: float | None


@dataclass
class SearchResult:
    service: Service
    locations: list[LocationAt]
    distance_miles: float | None  # to the nearest location, when the search was near a place
    fit: FitResult | None


@dataclass
class SearchPage:
    """One page of results; it answers what ``web/_pagination.html`` asks of a Django ``Page``."""

    results: list[SearchResult]
    total: int  # capped at COUNT_CAP + 1
    number: int
    per_page: int
    corrections: dict[str, list[str]] = field(default_factory=dict)  # a typed word → the words searched instead

    @property
    def object_list(self) -> list[SearchResult]:
        return self.results

    @property
    def total_is_capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def paginator(self) -> SearchPage:
        return self

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(min(self.total, COUNT_CAP) / self.per_page))

    @property
    def page_range(self) -> range:
        return range(1, self.num_pages + 1)

    def has_next(self) -> bool:
        return self.number < self.num_pages

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.num_pages > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return 0 if not self.results else (self.number - 1) * self.per_page + 1

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.results)


# --- what free text searches -------------------------------------------------------------------


def compose_search_text(
    service: Any, *, organization_name: str = "", term_names: Sequence[str] = (), cities: Sequence[str] = ()
) -> str:
    """The words a service is found by: its names and descriptions, its organisation, taxonomy terms, needs,
    medications (with their brand names), languages and towns."""
    needs = [Need(n).label for n in (service.needs or []) if n in Need.values]
    medications = [MOUD_WORDS[Moud(m)] for m in service.moud_offered]
    flags = [label for name, label in FLAG_FILTERS.items() if name != "accepting_new" and getattr(service, name)]
    parts = [
        service.name,
        service.alternate_name,
        organization_name,
        service.description,
        service.eligibility_description,
        *term_names,
        *needs,
        *medications,
        *flags,
        *(language_name(code) for code in service.languages or []),
        *cities,
    ]
    text = " ".join(p.strip() for p in parts if p and p.strip())
    return re.sub(r"\s+", " ", text)


def search_text_for(service: Service) -> str:
    """``compose_search_text`` for a saved service, reading its organisation, terms and locations."""
    cities = sorted({c for c in service.at_locations.values_list("location__city", flat=True) if c})
    return compose_search_text(
        service,
        organization_name=service.organization.name,
        term_names=list(service.taxonomy_terms.values_list("name", flat=True)),
        cities=cities,
    )


# --- the SQL of each database ------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case without accents (as SQLite's unicode61 tokenizer with ``remove_diacritics 2`` folds)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def query_words(query: str) -> list[str]:
    """The words of a free-text query that are searched for (no stop words, at most ``MAX_WORDS``)."""
    words = re.findall(r"[^\W_]+", query[:MAX_QUERY_LENGTH].lower())
    kept = [w for w in words if w not in STOPWORDS]
    seen: list[str] = []
    for w in kept:
        if w not in seen:
            seen.append(w)
    return seen[:MAX_WORDS]


class _Dialect:
    """SQL that differs between databases (this base: any database Kinfold does not index for)."""

    def json_any(self, column: str, condition: str) -> str:
        """SQL true when some element ``{v}`` of the JSON list ``column`` meets ``condition``."""
        raise NotImplementedError

    def least(self) -> str:
        return "LEAST"


class _Postgres(_Dialect):
    def json_any(self, column: str, condition: str) -> str:
        array = f"CASE WHEN jsonb_typeof({column}) = 'array' THEN {column} ELSE '[]'::jsonb END"
        condition = condition.replace("{v}", "e.v")
        return f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({array}) AS e(v) WHERE {condition})"


class _Sqlite(_Dialect):
    def json_any(self, column: str, condition: str) -> str:
        return f"EXISTS (SELECT 1 FROM json_each({column}) AS e WHERE {condition.replace('{v}', 'e.value')})"

    def least(self) -> str:
        return "MIN"


def _dialect() -> _Dialect:
    if connection.vendor == "postgresql":
        return _Postgres()
    if connection.vendor == "sqlite":
        return _Sqlite()
    return _Dialect()


@dataclass
class _Where:
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self) -> str:
        return " AND ".join(f"({c})" for c in self.clauses) or "1 = 1"


def _contains(d: _Dialect, where: _Where, column: str, value: str, *, fold_case: bool = False) -> None:
    """Rows whose JSON list ``column`` holds ``value``."""
    if isinstance(d, _Postgres) and not fold_case:
        where.add(f"{column} @> %s::jsonb", json.dumps([value]))
    elif isinstance(d, _Sqlite) and not fold_case and value.isascii() and '"' not in value and "\\" not in value:
        # The JSON text holds each code quoted ("housing"): finding that is ten times quicker than json_each.
        where.add(f"instr({column}, %s) > 0", json.dumps(value))
    elif isinstance(d, _Postgres | _Sqlite):
        condition = "lower(trim({v})) = %s" if fold_case else "{v} = %s"
        where.add(d.json_any(column, condition), value.strip().lower() if fold_case else value)
    else:  # another database: the JSON text holds the quoted value
        where.add(f"{column} LIKE %s", f'%"{value}"%')


def _filter_conditions(d: _Dialect, filters: SearchFilters, where: _Where) -> None:
    others = [str(v) for v in ServiceStatus.values if v not in filters.statuses]
    if filters.statuses and others:
        # As the statuses left out: nine services in ten are active, and "status IN ('active')" had PostgreSQL read
        # the index on status to AND it with the others, which only costs time ("<>" is never read from an index,
        # and its estimate stays true).
        where.add(f"s.status NOT IN ({', '.join(['%s'] * len(others))})", *others)
    if filters.need:
        _contains(d, where, "s.needs", filters.need)
    for name in FLAG_FILTERS:
        if getattr(filters, name):
            where.add(f"s.{name}")
    columns = [MOUD_COLUMNS[Moud(m)] for m in filters.moud if m in Moud.values]
    if columns:
        where.add(" OR ".join(f"s.{c}" for c in columns))
    if filters.language:
        _contains(d, where, "s.languages", filters.language)
    if filters.county:
        # Serves the county: names it among its counties, or names none and has a location there.
        county = filters.county.strip().lower()
        if isinstance(d, _Postgres | _Sqlite):
            listed = d.json_any("s.counties", "lower(trim({v})) = %s")
            any_listed = d.json_any("s.counties", "trim({v}) <> ''")
        else:
            listed, any_listed = "LOWER(s.counties) LIKE %s", "s.counties <> '[]'"
            county = f'%"{county}"%'
        where.add(
            f"{listed} OR (NOT {any_listed} AND EXISTS (SELECT 1 FROM directory_serviceatlocation sl "
            "JOIN directory_location lc ON lc.id = sl.location_id WHERE sl.service_id = s.id "
            "AND lower(trim(lc.county)) = %s))",
            county,
            filters.county.strip().lower(),
        )
    if filters.max_wait_days is not None:
        where.add("s.wait_days IS NOT NULL AND s.wait_days <= %s", filters.max_wait_days)


def fit_conditions(fit: FamilyFit, where: _Where, d: _Dialect | None = None) -> None:
    """``fit.fits`` as SQL: the services nothing rules out for this family (the same rules, kept in step by a
    property test)."""
    d = d or _dialect()
    where.add("s.status = %s AND s.accepting_new", ServiceStatus.ACTIVE.value)
    if fit.gestational_weeks is not None:
        weeks = fit.gestational_weeks
        where.add(
            "(s.enrol_before_week IS NULL OR s.enrol_before_week > %s) "
            "AND (s.enrol_from_week IS NULL OR s.enrol_from_week <= %s)",
            weeks,
            weeks,
        )
    elif fit.has_delivered:
        where.add("s.enrol_before_week IS NULL AND s.enrol_from_week IS NULL")
    if fit.first_pregnancy is False:
        where.add("NOT s.first_pregnancy_only")
    json_ok = isinstance(d, _Postgres | _Sqlite)
    if fit.county.strip() and json_ok:
        where.add(
            f"NOT {d.json_any('s.counties', 'trim({v}) <> %s')} OR {d.json_any('s.counties', 'lower(trim({v})) = %s')}",
            "",
            fit.county.strip().lower(),
        )
    if fit.medicaid is True and json_ok:
        billed = sorted(n.value for n in BILLED_NEEDS)
        placeholders = ", ".join(["%s"] * len(billed))
        where.add(f"s.accepts_medicaid OR NOT {d.json_any('s.needs', '{v} IN (' + placeholders + ')')}", *billed)
    if fit.moud:
        offered = " OR ".join(f"s.{c}" for c in MOUD_COLUMNS.values())
        hers = MOUD_COLUMNS.get(Moud(fit.moud)) if fit.moud in Moud.values else None
        where.add(f"s.{hers} OR NOT ({offered})" if hers else f"NOT ({offered})")
    if fit.age is not None:
        where.add(
            "(s.minimum_age IS NULL OR s.minimum_age <= %s) AND (s.maximum_age IS NULL OR s.maximum_age >= %s)",
            fit.age,
            fit.age,
        )


def _next_prefix(word: str) -> str:
    return word[:-1] + chr(ord(word[-1]) + 1)


def _vocabulary_has_prefix(cursor: Any, d: _Dialect, word: str) -> bool:
    table, column = (FTS_VOCAB, "term") if isinstance(d, _Sqlite) else (PG_WORDS, "word")
    cursor.execute(f"SELECT 1 FROM {table} WHERE {column} >= %s AND {column} < %s LIMIT 1", [word, _next_prefix(word)])
    return cursor.fetchone() is not None


def _closest(cursor: Any, d: _Dialect, word: str) -> list[str]:
    """The indexed words ``word`` was most likely meant to be (at most three, by ``difflib``)."""
    if isinstance(d, _Postgres):  # pg_trgm: the nearest words by trigrams, wherever the typo is (GiST index)
        cursor.execute(f"SELECT word FROM {PG_WORDS} ORDER BY word <-> %s LIMIT 10", [word])
        return difflib.get_close_matches(word, [row[0] for row in cursor.fetchall()], n=3, cutoff=FUZZY_CUTOFF)
    # FTS5's vocabulary counts each word's rows as it reads it, so read few: the words that start with the same
    # two letters, then (if none is close) the same first letter; of a similar length either way.
    for start in (word[:2], word[:1]):
        cursor.execute(
            f"SELECT term FROM {FTS_VOCAB} WHERE term >= %s AND term < %s AND length(term) BETWEEN %s AND %s",
            [start, _next_prefix(start), len(word) - 2, len(word) + 3],
        )
        close = difflib.get_close_matches(word, [row[0] for row in cursor.fetchall()], n=3, cutoff=FUZZY_CUTOFF)
        if close:
            return close
    return []


def corrections_for(words: list[str]) -> dict[str, list[str]]:
    """For each word that no indexed word starts with, the closest indexed words (at most three)."""
    d = _dialect()
    if not isinstance(d, _Postgres | _Sqlite):
        return {}
    corrections: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for word in words:
            key = _fold(word) if isinstance(d, _Sqlite) else word
            if len(key) < 4 or key.isdigit() or _vocabulary_has_prefix(cursor, d, key):
                continue
            close = _closest(cursor, d, key)
            if close:
                corrections[word] = close
    return corrections


def _text_terms(d: _Dialect, words: list[str], corrections: dict[str, list[str]]) -> str:
    """Every query word (as the start of a word, or one of its corrections), as a PostgreSQL ``tsquery`` or an
    FTS5 query. The words hold letters and digits only, so nothing in them is query syntax."""
    if isinstance(d, _Postgres):
        return " & ".join("(" + " | ".join([f"{w}:*", *corrections.get(w, [])]) + ")" for w in words)
    alternatives = ([f'"{_fold(w)}"*', *(f'"{t}"' for t in corrections.get(w, []))] for w in words)
    return " AND ".join("(" + " OR ".join(a) + ")" for a in alternatives)


@dataclass
class _Query:
    """The FROM extras, WHERE clauses and ORDER BY prefix of a search, with their parameters in order."""

    joins: list[str] = field(default_factory=list)
    join_params: list[Any] = field(default_factory=list)
    where: _Where = field(default_factory=_Where)
    relevance: str = ""
    order_params: list[Any] = field(default_factory=list)


def _query(
    d: _Dialect,
    *,
    words: list[str],
    corrections: dict[str, list[str]],
    filters: SearchFilters,
    fit: FamilyFit | None,
    fits_only: bool,
    ranked: bool,
) -> _Query:
    q = _Query()
    if words:
        terms = _text_terms(d, words, corrections)
        if isinstance(d, _Postgres):
            # On the row itself, so PostgreSQL can combine the full-text index with others (a bitmap AND).
            q.where.add("directory_service_vector(s.search_text) @@ to_tsquery('english', %s)", terms)
            if ranked:  # services named for the (first) word first: cheap, unlike ranking every match
                q.relevance = "lower(s.name) LIKE %s DESC, "
                q.order_params.append(f"%{corrections.get(words[0], [words[0]])[0]}%")
        elif isinstance(d, _Sqlite):
            if ranked:  # by FTS5's bm25
                q.joins.append(f"JOIN {FTS_TABLE} ON {FTS_TABLE}.rowid = s.id AND {FTS_TABLE} MATCH %s")
                q.join_params.append(terms)
                q.relevance = f"{FTS_TABLE}.rank, "
            else:
                q.where.add(f"s.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)", terms)
        else:
            for w in words:
                q.where.add("LOWER(s.search_text) LIKE %s", f"%{w}%")
    _filter_conditions(d, filters, q.where)
    if fits_only and fit is not None:
        fit_conditions(fit, q.where, d)
    return q


def _distance_sql(d: _Dialect, near: geo.Point) -> tuple[str, list[Any]]:
    """Miles from ``near`` to location ``l`` (haversine), and its parameters."""
    lat0, lon0 = math.radians(near[0]), math.radians(near[1])
    sql = (
        # (PostgreSQL's LEAST ignores a NULL: a location without coordinates must stay without a distance.)
        "CASE WHEN l.latitude IS NULL OR l.longitude IS NULL THEN NULL ELSE "
        f"2 * {geo.EARTH_RADIUS_MILES} * ASIN({d.least()}(1.0, SQRT("
        "POWER(SIN((RADIANS(l.latitude) - %s) / 2), 2) "
        "+ %s * COS(RADIANS(l.latitude)) * POWER(SIN((RADIANS(l.longitude) - %s) / 2), 2)))) END"
    )
    return sql, [lat0, math.cos(lat0), lon0]


def _within(d: _Dialect, near: geo.Point, radius_miles: float) -> dict[int, float]:
    """Every service with a location within ``radius_miles`` of ``near``: id → miles to its nearest one. The
    box first (the index on latitude and longitude), then the exact distance."""
    distance, params = _distance_sql(d, near)
    lat_min, lat_max, lon_min, lon_max = geo.bounding_box(near, radius_miles)
    if isinstance(d, _Postgres):
        # Each location's services from the (location, service) index, one location at a time ("OFFSET 0" keeps
        # the planner from turning it into a hash join that reads every row of the table: its guess of how many
        # locations a box holds is often a third of the truth in a city).
        services = (
            "CROSS JOIN LATERAL (SELECT x.service_id FROM directory_serviceatlocation x "
            "WHERE x.location_id = l.id OFFSET 0) AS sal"
        )
    else:
        services = "JOIN directory_serviceatlocation sal ON sal.location_id = l.id"
    sql = (
        f"SELECT sal.service_id, MIN({distance}) FROM directory_location l {services} "
        "WHERE l.latitude BETWEEN %s AND %s AND l.longitude BETWEEN %s AND %s "
        f"GROUP BY sal.service_id HAVING MIN({distance}) <= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, lat_min, lat_max, lon_min, lon_max, *params, radius_miles])
        return {int(sid): float(miles) for sid, miles in cursor.fetchall()}


def _ids_in(d: _Dialect, ids: Sequence[int]) -> tuple[str, list[Any]]:
    if isinstance(d, _Postgres):  # one array literal: quicker to send than thousands of adapted integers
        return "s.id = ANY(%s::bigint[])", ["{" + ",".join(str(int(i)) for i in ids) + "}"]
    return "s.id IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]


def _matches(
    *,
    words: list[str],
    corrections: dict[str, list[str]],
    near: geo.Point | None,
    radius_miles: float | None,
    filters: SearchFilters,
    fit: FamilyFit | None,
    fits_only: bool,
) -> list[tuple[int, float | None]]:
    """The ids (and distances) of the first ``COUNT_CAP + 1`` matches, in order: the page is a slice of them and
    their number is the count, so nothing is searched twice."""
    d = _dialect()

    def query(*, ranked: bool) -> _Query:
        return _query(
            d, words=words, corrections=corrections, filters=filters, fit=fit, fits_only=fits_only, ranked=ranked
        )

    if near is not None and radius_miles is not None:
        # Two steps: the services near enough (with their distance), then those of them that match. Each step
        # uses its own index (and, on PostgreSQL, the second ANDs the id list with the full-text index), where
        # one joined statement would test the words row by row for every service in a crowded city's box.
        nearby = _within(d, near, radius_miles)
        if not nearby:
            return []
        q = query(ranked=False)
        ids_sql, ids_params = _ids_in(d, list(nearby))
        q.where.add(ids_sql, *ids_params)
        sql = f"SELECT s.id, s.name FROM directory_service s {' '.join(q.joins)} WHERE {q.where.sql()}"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*q.join_params, *q.where.params])
            found = [(int(sid), str(name)) for sid, name in cursor.fetchall()]
        found.sort(key=lambda row: (nearby[row[0]], row[1], row[0]))
        return [(sid, nearby[sid]) for sid, _name in found[: COUNT_CAP + 1]]

    q = query(ranked=near is None)
    base_from = "directory_service s " + " ".join(q.joins)
    if near is None:
        sql = (
            f"SELECT s.id, NULL FROM {base_from} WHERE {q.where.sql()} "
            f"ORDER BY {q.relevance}s.name, s.id LIMIT {COUNT_CAP + 1}"
        )
        params = [*q.join_params, *q.where.params, *q.order_params]
    else:  # nearest first, at any distance (services without an address last)
        distance, distance_params = _distance_sql(d, near)
        sql = (
            f"SELECT t.id, t.distance FROM (SELECT s.id AS id, s.name AS name, MIN({distance}) AS distance "
            f"FROM {base_from} LEFT JOIN directory_serviceatlocation sal ON sal.service_id = s.id "
            f"LEFT JOIN directory_location l ON l.id = sal.location_id WHERE {q.where.sql()} GROUP BY s.id, s.name) "
            f"AS t ORDER BY t.distance IS NULL, t.distance, t.name, t.id LIMIT {COUNT_CAP + 1}"
        )
        params = [*distance_params, *q.join_params, *q.where.params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(r[0]), None if r[1] is None else float(r[1])) for r in cursor.fetchall()]


def _validate(*, near: geo.Point | None, radius_miles: float | None, page: int, per_page: int) -> None:
    if radius_miles is not None:
        if math.isnan(radius_miles) or radius_miles <= 0:
            raise ValidationError({"radius": "The distance must be more than 0 miles."})
        if radius_miles > MAX_RADIUS_MILES:
            raise ValidationError({"radius": f"The distance can be at most {MAX_RADIUS_MILES} miles."})
        if near is None:
            raise ValidationError({"near": "Type a ZIP code or an address to search within a distance of it."})
    if near is not None and not (-90 <= near[0] <= 90 and -180 <= near[1] <= 180):
        raise ValidationError({"near": "That place is not on the map."})
    if page < 1:
        raise ValidationError({"page": "Pages start at 1."})
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError({"per_page": f"Show between 1 and {MAX_PER_PAGE} services a page."})


def search_services(
    query: str = "",
    near: geo.Point | None = None,
    radius_miles: float | None = None,
    filters: SearchFilters | None = None,
    fit: FamilyFit | None = None,
    fits_only: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> SearchPage:
    """One page of services matching the words, within ``radius_miles`` of ``near`` (nearest first), and the
    filters; with ``fit``, each result says why it fits her or what rules it out (``fits_only``: only those that
    fit). A page past the last shows the last."""
    _validate(near=near, radius_miles=radius_miles, page=page, per_page=per_page)
    filters = filters or SearchFilters()
    words = query_words(query)
    corrections = corrections_for(words)

    matches = _matches(
        words=words,
        corrections=corrections,
        near=near,
        radius_miles=radius_miles,
        filters=filters,
        fit=fit,
        fits_only=fits_only,
    )
    total = len(matches)
    number = min(page, max(1, math.ceil(min(total, COUNT_CAP) / per_page)))  # past the last page: the last
    rows = matches[(number - 1) * per_page : number * per_page]

    services = (
        Service.objects.filter(pk__in=[r[0] for r in rows])
        .select_related("organization")
        .prefetch_related(
            Prefetch("at_locations", queryset=ServiceAtLocation.objects.select_related("location").order_by("pk"))
        )
    )
    by_id = {s.pk: s for s in services}
    results = []
    for service_id, distance in rows:
        service = by_id.get(service_id)
        if service is None:  # removed since the search
            continue
        places = [LocationAt(sal.location, _distance_to(near, sal.location)) for sal in service.at_locations.all()]
        places.sort(key=lambda p: (p.distance_miles is None, p.distance_miles or 0.0))
        results.append(
            SearchResult(
                service=service,
                locations=places,
                distance_miles=distance,
                fit=fits(service, fit) if fit is not None else None,
            )
        )
    return SearchPage(results=results, total=total, number=number, per_page=per_page, corrections=corrections)


def _distance_to(near: geo.Point | None, location: Any) -> float | None:
    if near is None or location.latitude is None or location.longitude is None:
        return None
    return geo.haversine_miles(near, (location.latitude, location.longitude))
