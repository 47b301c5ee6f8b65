"""services.py — the changes an organisation's staff make to their own listings: what the service offers and to
whom (``service_update``), and "this is still right" (``service_assure``). Each is one transaction: it checks
that the listing is hers to keep (else it is refused and the refusal audited), validates, writes only if nobody
changed the listing since she read it (``version``), refreshes the words search finds it by, and audits the
change. Listings are directory data, never family records.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F

from kinfold import clock
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import Refused, atomic_write, record_event
from kinfold.directory.models import Need, Service, ServiceStatus
from kinfold.directory.search import search_text_for
from kinfold.directory.selectors import may_edit_listing
from kinfold.families.services import ConcurrentEditError

RECORD_TYPE = "DirectoryService"
NOT_YOURS = (
    "Only the staff of the organisation that offers this service can change its listing. "
    "If something in it is wrong, tell that organisation (or the directory's keeper)."
)
STALE_EDIT = "Someone else changed this listing while you were editing. Reload the page to see their changes."

# What a listing's own staff may change here (names, descriptions and addresses come with the HSDS import).
EDITABLE_FIELDS = (
    "status",
    "needs",
    "accepts_pregnant",
    "postpartum_programme",
    "parenting_programme",
    "moud_methadone",
    "moud_buprenorphine",
    "moud_naltrexone",
    "moud_continued_in_hospital",
    "residential_with_children",
    "childcare_on_site",
    "transport_help",
    "walk_in",
    "accepting_new",
    "wait_days",
    "capacity_note",
    "languages",
    "accepts_medicaid",
    "minimum_age",
    "maximum_age",
    "counties",
    "first_pregnancy_only",
    "enrol_from_week",
    "enrol_before_week",
    "eligibility_description",
)
MAX_AGE = 120
LONGEST_PREGNANCY_WEEKS = 44
LONGEST_WAIT_DAYS = 365
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")

__all__ = ["ConcurrentEditError", "service_assure", "service_update"]


def validate_listing(values: dict[str, Any]) -> None:
    """Plain-words errors, by field, for a listing's editable values (``values`` holds all of them)."""
    errors: dict[str, str] = {}
    if values["status"] not in ServiceStatus.values:
        errors["status"] = "Choose one of the statuses listed."
    unknown_needs = [n for n in values["needs"] if n not in Need.values]
    if unknown_needs:
        errors["needs"] = f"Not a need Kinfold knows: {', '.join(map(str, unknown_needs))}."
    for name in ("minimum_age", "maximum_age"):
        age = values[name]
        if age is not None and not 0 <= age <= MAX_AGE:
            errors[name] = f"An age is between 0 and {MAX_AGE}."
    low, high = values["minimum_age"], values["maximum_age"]
    if low is not None and high is not None and low > high and "maximum_age" not in errors:
        errors["maximum_age"] = "The oldest age served cannot be below the youngest."
    for name in ("enrol_from_week", "enrol_before_week"):
        week = values[name]
        if week is not None and not 1 <= week <= LONGEST_PREGNANCY_WEEKS:
            errors[name] = f"A week of pregnancy is between 1 and {LONGEST_PREGNANCY_WEEKS}."
    start, before = values["enrol_from_week"], values["enrol_before_week"]
    if start is not None and before is not None and start >= before and "enrol_before_week" not in errors:
        errors["enrol_before_week"] = "Enrolment must close after it opens: this week must be later than the first."
    wait = values["wait_days"]
    if wait is not None and not 0 <= wait <= LONGEST_WAIT_DAYS:
        errors["wait_days"] = f"A wait is between 0 and {LONGEST_WAIT_DAYS} days."
    bad_codes = [c for c in values["languages"] if not LANGUAGE_CODE.match(str(c))]
    if bad_codes:
        errors["languages"] = "Languages are two- or three-letter codes, such as en or es."
    if any(len(str(c)) > 120 for c in values["counties"]) or len(values["counties"]) > 30:
        errors["counties"] = "List at most 30 counties, each name under 120 characters."
    if len(values["capacity_note"]) > 300:
        errors["capacity_note"] = "Keep the note under 300 characters."
    offers_moud = values["moud_methadone"] or values["moud_buprenorphine"] or values["moud_naltrexone"]
    if values["moud_continued_in_hospital"] and not offers_moud:
        errors["moud_continued_in_hospital"] = "Tick the medications offered first: this says they continue."
    if errors:
        raise ValidationError(errors)


def _refuse(*, user: Any, service: Service, what: str) -> Refused:
    return Refused(
        NOT_YOURS,
        audit={
            "actor": user,
            "action": Action.UPDATE,
            "record_type": RECORD_TYPE,
            "record_id": service.pk,
            "outcome": Outcome.DENIED,
            "detail": {"event": what, "reason": "not the listing's organisation"},
        },
    )


def _write(*, user: Any, service: Service, expected_version: int, changes: dict[str, Any]) -> Service:
    """Write ``changes`` if nobody has changed the listing since ``expected_version``; refresh it and its words."""
    written = Service.objects.filter(pk=service.pk, version=expected_version).update(
        version=F("version") + 1, updated_at=clock.now(), updated_by=user, **changes
    )
    if written != 1:
        raise ConcurrentEditError(STALE_EDIT)
    service.refresh_from_db()
    words = search_text_for(service)
    if words != service.search_text:
        Service.objects.filter(pk=service.pk).update(search_text=words)
        service.search_text = words
    return service


def require_listing_keeper(*, user: Any, service: Service) -> None:
    """Refuse (403, audited) a page that offers to change a listing she does not keep, as its POST would be."""
    if not may_edit_listing(user=user, service=service):
        refused = _refuse(user=user, service=service, what="edit page refused")
        record_event(**refused.audit)
        raise refused


@atomic_write
def service_update(*, user: Any, service: Service, changes: dict[str, Any], expected_version: int) -> Service:
    """Change what her organisation's listing says (only ``EDITABLE_FIELDS``), if the listing is hers to keep."""
    if not may_edit_listing(user=user, service=service):
        raise _refuse(user=user, service=service, what="edit refused")
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(f"These cannot be changed here: {', '.join(unknown)}.")
    changes = {**changes}
    for name in ("needs", "languages", "counties"):
        if name in changes:
            changes[name] = [str(v).strip() for v in changes[name] if str(v).strip()]
    if "languages" in changes:
        changes["languages"] = [c.lower() for c in changes["languages"]]
    values = {name: getattr(service, name) for name in EDITABLE_FIELDS} | changes
    validate_listing(values)
    before = {name: getattr(service, name) for name in changes}
    changed = {name: {"from": before[name], "to": value} for name, value in changes.items() if before[name] != value}
    service = _write(user=user, service=service, expected_version=expected_version, changes=changes)
    record_event(
        actor=user,
        action=Action.UPDATE,
        record_type=RECORD_TYPE,
        record_id=service.pk,
        detail={"event": "listing edited", "changed": changed, "version": service.version},
    )
    return service


@atomic_write
def service_assure(*, user: Any, service: Service, expected_version: int) -> Service:
    """Her organisation confirms the listing is right as it stands: assured today, by her."""
    if not may_edit_listing(user=user, service=service):
        raise _refuse(user=user, service=service, what="assurance refused")
    changes = {"assured_date": clock.today(), "assurer_email": getattr(user, "email", "") or ""}
    service = _write(user=user, service=service, expected_version=expected_version, changes=changes)
    record_event(
        actor=user,
        action=Action.UPDATE,
        record_type=RECORD_TYPE,
        record_id=service.pk,
        detail={"event": "listing assured", "assured_date": service.assured_date, "version": service.version},
    )
    return service


def service_refresh_search_text(*, service: Service) -> Service:
    """Recompute the words search finds a service by (after an import changed its names, terms or places)."""
    words = search_text_for(service)
    if words != service.search_text:
        Service.objects.filter(pk=service.pk).update(search_text=words)
        service.search_text = words
    return service
