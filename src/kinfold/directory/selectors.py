"""selectors.py — reading the service directory for its pages: a search (``search.search_services``), one listing
with everything shown about it, an organisation's own listings, and whether a person may keep a listing. The
directory is not family data: anyone signed in may read it. This module never writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from kinfold.directory import geo
from kinfold.directory.fit import language_name
from kinfold.directory.models import DirectoryOrganization, Moud, Need, Service, ServiceAtLocation
from kinfold.directory.search import FLAG_FILTERS, LocationAt, SearchFilters, SearchPage, search_services

__all__ = [
    "SearchFilters",
    "SearchPage",
    "listing_details",
    "listing_organizations_of",
    "may_edit_listing",
    "our_listings",
    "search_services",
    "service_detail",
]


def _membership(user: Any) -> Any:
    membership = getattr(user, "membership", None) if getattr(user, "is_authenticated", False) else None
    return membership if membership is not None and membership.is_active else None


def may_edit_listing(*, user: Any, service: Service) -> bool:
    """Whether ``user`` keeps this listing: an active member of the Kinfold organisation the listing's
    organisation is linked to."""
    membership = _membership(user)
    if membership is None or not getattr(user, "is_active", False):
        return False
    linked = service.organization.organization_id
    return linked is not None and linked == membership.organization_id


def service_detail(*, service_id: int) -> Service:
    """One listing with its organisation, locations and taxonomy terms (a 404 if there is none)."""
    found = (
        Service.objects.select_related("organization", "organization__organization", "updated_by")
        .prefetch_related(
            Prefetch("at_locations", queryset=ServiceAtLocation.objects.select_related("location").order_by("pk")),
            "taxonomy_terms",
        )
        .filter(pk=service_id)
        .first()
    )
    if found is None:
        raise Http404("No service found.")
    return found


def listing_organizations_of(*, user: Any) -> QuerySet[DirectoryOrganization]:
    """The directory organisations linked to her organisation (usually one)."""
    membership = _membership(user)
    if membership is None:
        return DirectoryOrganization.objects.none()
    return DirectoryOrganization.objects.filter(organization_id=membership.organization_id).order_by("name")


def our_listings(*, user: Any) -> list[Service]:
    """Her organisation's services, every status, the ones most in need of a look (never assured, then the
    longest since) first."""
    services = list(
        Service.objects.filter(organization__in=listing_organizations_of(user=user))
        .select_related("organization")
        .order_by("assured_date", "name", "pk")
    )
    services.sort(key=lambda s: (not s.is_stale(), s.assured_date is not None, s.assured_date, s.name))
    return services


# --- one listing, in words ----------------------------------------------------------------------------------

DAYS = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday", "SA": "Saturday",
        "SU": "Sunday"}  # fmt: skip


@dataclass
class ListingDetails:
    """What the listing page shows, read from the columns and from the HSDS objects kept in ``extra``."""

    locations: list[LocationAt]
    phones: list[str] = field(default_factory=list)
    schedules: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    medications: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    eligibility: list[str] = field(default_factory=list)
    costs: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)


def _objects(extra: Any, key: str) -> list[dict[str, Any]]:
    value = extra.get(key) if isinstance(extra, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _phone_words(phone: dict[str, Any], where: str = "") -> str:
    number = str(phone.get("number") or "").strip()
    if not number:
        return ""
    words = number + (f" ext. {phone['extension']}" if phone.get("extension") else "")
    about = str(phone.get("description") or phone.get("type") or "").strip()
    if about:
        words += f" ({about})"
    return f"{where}: {words}" if where else words


def _time(value: Any) -> str:
    text = str(value or "").strip()
    parts = text.split(":")
    if len(parts) >= 2 and parts[0].isdigit():
        return f"{int(parts[0])}:{parts[1]}"
    return text


def _days_words(byday: Any) -> str:
    """ "MO,TU,WE,TH,FR" → "Monday to Friday"; every day → "Every day"; otherwise the days listed."""
    codes = [d.strip().upper()[-2:] for d in str(byday or "").split(",") if d.strip()]
    week = list(DAYS)
    if sorted(set(codes)) == sorted(week):
        return "Every day"
    known = [c for c in codes if c in DAYS]
    if len(known) == len(codes) >= 3:
        positions = sorted(week.index(c) for c in set(known))
        if positions == list(range(positions[0], positions[-1] + 1)):
            return f"{DAYS[week[positions[0]]]} to {DAYS[week[positions[-1]]]}"
    return ", ".join(DAYS.get(c, c) for c in codes)


def _schedule_words(schedule: dict[str, Any], where: str = "") -> str:
    opens, closes = _time(schedule.get("opens_at")), _time(schedule.get("closes_at"))
    words = _days_words(schedule.get("byday"))
    if opens in ("0:00", "00:00") and closes in ("23:59", "24:00", "0:00"):
        words = f"{words}, open 24 hours".strip(", ")
    elif opens and closes:
        words = f"{words} {opens}\u2013{closes}".strip()  # an en dash between the hours
    description = str(schedule.get("description") or schedule.get("notes") or "").strip()
    words = "; ".join(w for w in (words, description) if w)
    return f"{where}: {words}" if where and words else words


def listing_details(*, service: Service, near: geo.Point | None = None) -> ListingDetails:
    """The listing's facts as lines of words (``service`` read by ``service_detail``), its locations nearest
    ``near`` first."""
    places = []
    for sal in service.at_locations.all():
        loc = sal.location
        distance = None
        if near is not None and loc.latitude is not None and loc.longitude is not None:
            distance = geo.haversine_miles(near, (loc.latitude, loc.longitude))
        places.append(LocationAt(loc, distance))
    places.sort(key=lambda p: (p.distance_miles is None, p.distance_miles or 0.0))
    details = ListingDetails(locations=places)

    organization = service.organization
    for phone in _objects(service.extra, "phones"):
        details.phones.append(_phone_words(phone))
    for place in places:
        for phone in _objects(place.location.extra, "phones"):
            details.phones.append(_phone_words(phone, place.location.name))
    for phone in _objects(organization.extra, "phones"):
        details.phones.append(_phone_words(phone, organization.name))
    details.phones = [p for p in dict.fromkeys(details.phones) if p]

    for schedule in _objects(service.extra, "schedules"):
        details.schedules.append(_schedule_words(schedule))
    for place in places:
        for schedule in _objects(place.location.extra, "schedules"):
            details.schedules.append(_schedule_words(schedule, place.location.name))
    details.schedules = [s for s in dict.fromkeys(details.schedules) if s]

    details.languages = [language_name(c) for c in service.languages or []]
    details.needs = [Need(n).label for n in service.needs or [] if n in Need.values]
    details.medications = [Moud(m).label for m in service.moud_offered]
    details.attributes = [label for name, label in FLAG_FILTERS.items() if getattr(service, name)]
    for attribute in _objects(service.extra, "attributes"):
        term = attribute.get("taxonomy_term") if isinstance(attribute.get("taxonomy_term"), dict) else {}
        words = str(attribute.get("label") or (term or {}).get("name") or "").strip()
        value = str(attribute.get("value") or "").strip()
        if words:
            details.attributes.append(f"{words}: {value}" if value and value.lower() != "true" else words)

    if service.minimum_age is not None and service.maximum_age is not None:
        details.eligibility.append(f"Ages {service.minimum_age} to {service.maximum_age}")
    elif service.minimum_age is not None:
        details.eligibility.append(f"Ages {service.minimum_age} and over")
    elif service.maximum_age is not None:
        details.eligibility.append(f"Ages up to {service.maximum_age}")
    if service.counties:
        details.eligibility.append("Lives in " + ", ".join(service.counties))
    if service.first_pregnancy_only:
        details.eligibility.append("First pregnancy only")
    if service.enrol_before_week is not None and service.enrol_from_week is not None:
        details.eligibility.append(
            f"Enrols from {service.enrol_from_week} to before {service.enrol_before_week} weeks of pregnancy"
        )
    elif service.enrol_before_week is not None:
        details.eligibility.append(f"Enrols before {service.enrol_before_week} weeks of pregnancy")
    elif service.enrol_from_week is not None:
        details.eligibility.append(f"Enrols from {service.enrol_from_week} weeks of pregnancy")
    if service.eligibility_description:
        details.eligibility.append(service.eligibility_description)

    if service.accepts_medicaid:
        details.costs.append("Takes Medicaid")
    for cost in _objects(service.extra, "cost_options"):
        words = " ".join(str(cost.get(k) or "").strip() for k in ("option", "amount_description")).strip()
        amount = cost.get("amount")
        if amount not in (None, ""):
            words = f"{words} {amount} {cost.get('currency') or ''}".strip()
        if words:
            details.costs.append(words)
    if service.fees_description:
        details.costs.append(service.fees_description)
    details.documents = [
        str(d.get("document") or "").strip() for d in _objects(service.extra, "required_documents") if d.get("document")
    ]
    details.areas = [
        str(a.get("name") or a.get("description") or "").strip()
        for a in _objects(service.extra, "service_areas")
        if a.get("name") or a.get("description")
    ]
    details.terms = [t.name for t in service.taxonomy_terms.all()]
    return details
