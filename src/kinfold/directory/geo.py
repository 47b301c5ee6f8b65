"""geo.py — where a place is, offline: ZIP code centroids from the ``zipcodes`` package (which ships its data),
and distances in miles along the earth's surface (haversine). It never calls a geocoding service: a family's
address must not leave Kinfold to find a clinic near her, so an address is placed by its ZIP code (or, failing
that, by its town and state), and the words of a failure say what to type instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

EARTH_RADIUS_MILES = 3958.8
MILES_PER_DEGREE_LATITUDE = 69.05  # the shortest (at the equator) is 68.7; the bounding box errs wide

ZIP = re.compile(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)")
CITY_STATE = re.compile(r"^\s*(?P<city>[A-Za-z][A-Za-z .'\-]*?)\s*,\s*(?P<state>[A-Za-z]{2})\s*$")

Point = tuple[float, float]


@dataclass(frozen=True)
class Located:
    """Where a typed place is (``point``, with the words to show for it), or why it could not be placed."""

    point: Point | None
    label: str = ""
    reason: str = ""


@lru_cache(maxsize=1)
def _zip_index() -> dict[str, tuple[Point, str, str, str]]:
    """ZIP code → (centroid, town, state, county). Loaded once per process (about half a second)."""
    import zipcodes

    index: dict[str, tuple[Point, str, str, str]] = {}
    for row in zipcodes.list_all():
        try:
            point = (float(row["lat"]), float(row["long"]))
        except (TypeError, ValueError):
            continue
        index[row["zip_code"]] = (point, row["city"], row["state"], row.get("county") or "")
    return index


@lru_cache(maxsize=1)
def _town_index() -> dict[tuple[str, str], list[Point]]:
    """(town, state), lower case → the centroids of its ZIP codes."""
    towns: dict[tuple[str, str], list[Point]] = {}
    for point, city, state, _county in _zip_index().values():
        towns.setdefault((city.lower(), state.lower()), []).append(point)
    return towns


def zip_centroid(zip_code: str) -> Point | None:
    found = _zip_index().get(zip_code.strip()[:5])
    return found[0] if found else None


def zip_county(zip_code: str) -> str:
    """The county a ZIP code lies in ("Fayette County"), or "" when unknown."""
    found = _zip_index().get(zip_code.strip()[:5])
    return found[3] if found else ""


def locate(address_or_zip: str) -> Located:
    """Place a ZIP code, an address that contains one, or "Town, ST"; else say why not, in plain words."""
    text = (address_or_zip or "").strip()
    if not text:
        return Located(None, reason="Type a ZIP code or an address to search near it.")
    zips = ZIP.findall(text)
    if zips:
        code = zips[-1]  # in an address the ZIP code comes last (a street number can have five digits too)
        found = _zip_index().get(code)
        if found is None:
            return Located(None, reason=f"We could not find the ZIP code {code}. Check the five digits.")
        point, city, state, _county = found
        return Located(point, label=f"{code} ({city.title()}, {state})")
    if re.fullmatch(r"\d{1,4}|\d{6,}", text.replace(" ", "")):
        return Located(None, reason="A ZIP code has five digits, for example 40502.")
    match = CITY_STATE.match(text)
    if match:
        points = _town_index().get((match["city"].strip().lower(), match["state"].lower()))
        if points:
            lat = sum(p[0] for p in points) / len(points)
            lon = sum(p[1] for p in points) / len(points)
            return Located((lat, lon), label=f"{match['city'].strip().title()}, {match['state'].upper()}")
        return Located(
            None, reason=f"We could not find {match['city'].strip()}, {match['state'].upper()}. Try its ZIP code."
        )
    return Located(
        None,
        reason=(
            "We place addresses by their ZIP code, without sending them anywhere. Add the five-digit ZIP code "
            "(for example 40502), or type the town and state (for example Lexington, KY)."
        ),
    )


def point_for(address_or_zip: str) -> Point | None:
    """(latitude, longitude) of a ZIP code, an address ending with one, or "Town, ST"; None when it cannot be
    placed (``locate`` says why)."""
    return locate(address_or_zip).point


def haversine_miles(a: Point, b: Point) -> float:
    """Great-circle distance in miles between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(center: Point, radius_miles: float) -> tuple[float, float, float, float]:
    """(min latitude, max latitude, min longitude, max longitude) of a box holding every point within
    ``radius_miles`` of ``center``: cheap to test in SQL (an index on latitude and longitude) before the
    exact distance."""
    lat, lon = center
    dlat = radius_miles / MILES_PER_DEGREE_LATITUDE
    # Longitude degrees shrink towards the poles; use the box's edge nearest the pole, where they are shortest.
    edge = min(89.9, abs(lat) + dlat)
    dlon = min(180.0, radius_miles / (MILES_PER_DEGREE_LATITUDE * math.cos(math.radians(edge))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon
