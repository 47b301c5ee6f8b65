"""The JSON API, mounted at /api/ with its OpenAPI schema at /api/openapi.json and docs at /api/docs.

Thin like the views: every endpoint parses input, calls one selector or service, and returns a schema.
Later capabilities add routers here so there is one API, not many.

Every input field is validated: text has its limit from ``kinfold.text_limits`` (``Limited``: refused with the
same plain sentence as the pages, and published as ``maxLength`` in the OpenAPI schema), and choices are
enumerations, so a bad query is a 422 naming the field.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Query, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.security import HttpBasicAuth, django_auth
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from kinfold import text_limits
from kinfold.access.http import viewer_for
from kinfold.access.rules import REDISCLOSURE_NOTICE_TEXT
from kinfold.access.viewer import Viewer
from kinfold.families import selectors
from kinfold.families.models import CareTeamMember, Family
from kinfold.families.selectors import CaseloadScope
from kinfold.screening import selectors as screening_selectors
from kinfold.staff import mfa
from kinfold.text_limits import TextLimit


class BasicAuth(HttpBasicAuth):
    """HTTP Basic for API clients; goes through the same lock-out as the sign-in page. Refused for an account that
    must give a second factor (KINFOLD_REQUIRE_MFA, or her own app): a session signed in with both works."""

    def authenticate(self, request: HttpRequest, username: str, password: str) -> Any:
        user = authenticate(request, username=username, password=password)
        if user is not None and mfa.second_factor_required(user):
            # A password alone is one factor: where a second is required, use a session signed in with both.
            return None
        if user is not None and user.is_active:
            request.user = user
            return user
        return None


api = NinjaAPI(
    title="Kinfold API",
    version="0.1.0",
    description="Families the caller may see, and their care teams. Every read is audited.",
    auth=[django_auth, BasicAuth()],
    urls_namespace="api",
)


@api.exception_handler(PermissionDenied)
def refused(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    """A refusal the door or a selector explains (a purpose her role may not state): 403 with its words."""
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


def _viewer(request: HttpRequest) -> Viewer:
    try:
        return viewer_for(request)
    except PermissionDenied as denied:
        raise HttpError(403, str(denied)) from denied


@dataclass(frozen=True)
class Limited:
    """A text field's limit in a schema: refused past it with the limit's own sentence (as the pages refuse),
    and published as ``maxLength``."""

    limit: TextLimit

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["maxLength"] = self.limit.chars
        return json_schema

    def _check(self, value: str) -> str:
        # Counted as the services count: without the spaces around it.
        if problem := self.limit.problem(value.strip()):
            raise PydanticCustomError("text_limit", problem)
        return value


class PersonRef(Schema):
    name: str
    organization: str
    organization_type: str
    role: str


class FamilySummary(Schema):
    id: int
    parent_name: str
    stage: str
    coordinator: PersonRef | None
    organizations: list[str]
    last_activity_at: datetime | None = None  # the newest timeline line the caller may read
    # 42 CFR 2.32: set when a Part 2 record is shown to someone outside the organisation that created it.
    redisclosure_notice: str | None = None


class MemberOut(Schema):
    name: str
    category: str
    description: str
    born_on: date | None
    lives_with_parent: bool


class PregnancyOut(Schema):
    id: int
    estimated_due_on: date
    gestational_age: str | None
    delivered_on: date | None
    outcome: str
    infants: list[str]


class TeamMemberOut(PersonRef):
    id: int
    is_coordinator: bool
    joined_at: datetime


class ActivityOut(Schema):
    occurred_at: datetime
    kind: str
    summary: str
    by: str
    organization: str


class RecordOut(Schema):
    id: int
    kind: str
    category: str
    occurred_on: date
    summary: str
    organization: str
    redisclosure_notice: str | None = None


class ConsentOut(Schema):
    id: int
    title: str
    summary: str
    # The kinds of information its latest version covers: exactly what its summary sentence names.
    kinds: list[str]
    status: str
    revoked_at: datetime | None = None


class CourtOrderOut(Schema):
    id: int
    order_reference: str
    court: str
    categories: list[str]
    kinds: list[str]
    # The records it names one by one ("Note 12"), beside the categories and kinds it names whole.
    records: list[str]
    valid_from: datetime
    valid_until: datetime


class RestrictionOut(Schema):
    id: int
    status: str
    disclosing_organization: str
    categories: list[str]
    purposes: list[str]
    description: str


class FamilyDetailOut(FamilySummary):
    parent_born_on: date | None
    preferred_language: str
    members: list[MemberOut]
    pregnancies: list[PregnancyOut]
    care_team: list[TeamMemberOut]
    records: list[RecordOut]
    consents: list[ConsentOut]
    court_orders: list[CourtOrderOut]
    restrictions: list[RestrictionOut]
    timeline: list[ActivityOut]


class CaseloadFilters(Schema):
    scope: Literal["mine", "organization"] = "mine"
    q: Annotated[str, Limited(text_limits.SEARCH)] = ""
    sort: Literal["name", "-name", "activity", "-activity"] = "name"  # selectors.CASELOAD_SORTS


def _person_ref(member: CareTeamMember) -> dict[str, Any]:
    m = member.membership
    return {
        "name": m.display_name,
        "organization": m.organization.name,
        "organization_type": m.organization.type,
        "role": member.role,
    }


def _team_person_ref(member: selectors.TeamPerson) -> dict[str, Any]:
    return {
        "name": member.name,
        "organization": member.organization_name,
        "organization_type": member.organization_type,
        "role": member.role,
    }


@api.get("/families", response=list[FamilySummary], tags=["families"], summary="Families the caller may see")
@paginate(LimitOffsetPagination)
def list_families(request: HttpRequest, filters: Query[CaseloadFilters]) -> Any:
    viewer = _viewer(request)
    scope: CaseloadScope = "organization" if filters.scope == "organization" else "mine"
    return _CaseloadPage(
        viewer, selectors.caseload_for(viewer=viewer, scope=scope, search=filters.q, sort=filters.sort)
    )


class _CaseloadPage:
    """A lazy sequence for ninja's paginator: slices the queryset, then turns the page into rows."""

    def __init__(self, viewer: Viewer, families: Any) -> None:
        self.viewer, self.families = viewer, families

    def count(self) -> int:
        return self.families.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        rows = selectors.caseload_rows(viewer=self.viewer, caseload=self.families, families=list(self.families[item]))
        return [
            {
                "id": r.family_id,
                "parent_name": r.parent_name,
                "stage": r.stage,
                "coordinator": _team_person_ref(r.coordinator) if r.coordinator else None,
                "organizations": [o.name for o in r.organizations],
                "last_activity_at": r.last_activity_at,
                "redisclosure_notice": REDISCLOSURE_NOTICE_TEXT if r.notice else None,
            }
            for r in rows
        ]


@api.get("/families/{family_id}/export", tags=["families"], summary="Everything the caller may see, with notices")
def export_family(request: HttpRequest, family_id: int, purpose: str | None = None) -> dict[str, Any]:
    return selectors.family_export(viewer=_viewer(request), family_id=family_id, purpose=purpose)


@api.get("/families/{family_id}", response=FamilyDetailOut, tags=["families"], summary="One family")
def get_family(request: HttpRequest, family_id: int) -> dict[str, Any]:
    d = selectors.family_detail(viewer=_viewer(request), family_id=family_id)
    family: Family = d.family
    notes, consents, access = d.data["notes"], d.data["consents"], d.data["access"]
    parent = family.parent
    return {
        "id": family.pk,
        "parent_name": parent.display_name if parent else "",
        "parent_born_on": parent.born_on if parent else None,
        "preferred_language": parent.preferred_language if parent else "",
        "stage": d.stage,
        "coordinator": _person_ref(d.coordinator) if d.coordinator else None,
        "organizations": sorted({m.membership.organization.name for m in d.team}),
        "last_activity_at": d.last_activity_at,
        "redisclosure_notice": REDISCLOSURE_NOTICE_TEXT if d.shows_redisclosure_notice else None,
        "members": [
            {
                "name": r.person.display_name,
                "category": r.category,
                "description": r.description,
                "born_on": r.person.born_on,
                "lives_with_parent": r.lives_with_parent,
            }
            for r in d.members
        ],
        "pregnancies": [
            {
                "id": p.pk,
                "estimated_due_on": p.estimated_due_on,
                "gestational_age": str(ga) if (ga := p.gestational_age_on(d.today)) else None,
                "delivered_on": p.delivered_on,
                "outcome": p.outcome,
                "infants": [i.display_name for i in getattr(p, "visible_infants", [])],
            }
            for p in d.pregnancies
        ],
        "care_team": [
            {**_person_ref(m), "id": m.pk, "is_coordinator": m.is_coordinator, "joined_at": m.joined_at} for m in d.team
        ],
        # The records this family call discloses (each Part 2 record carries its notice).
        "records": [
            {
                "id": n.pk,
                "kind": n.kind,
                "category": n.sensitivity,
                "occurred_on": n.occurred_on,
                "summary": n.summary,
                "organization": n.created_by_org.name,
                "redisclosure_notice": REDISCLOSURE_NOTICE_TEXT if n.pk in notes["notice_ids"] else None,
            }
            for n in notes["notes"]
        ],
        # Everything the family call discloses is returned, so the accounting counts only what was sent.
        "consents": [
            {
                "id": row.directive.pk,
                "title": row.directive.title,
                "summary": row.summary,
                "kinds": row.kinds,
                "status": row.status.text,
                "revoked_at": row.directive.revoked_at,
            }
            for row in consents["rows"]
        ],
        "court_orders": [
            {
                "id": o.pk,
                "order_reference": o.order_reference,
                "court": o.court.name,
                "categories": o.categories,
                "kinds": o.kinds,
                "records": [f"{r.get('type')} {r.get('id')}" for r in o.records],
                "valid_from": o.valid_from,
                "valid_until": o.valid_until,
            }
            for o in access["court_orders"]
        ],
        "restrictions": [
            {
                "id": r.pk,
                "status": r.status,
                "disclosing_organization": r.disclosing_org.name,
                "categories": r.categories,
                "purposes": r.purposes,
                "description": r.description,
            }
            for r in access["restrictions"]
        ],
        "timeline": [
            {
                "occurred_at": a.occurred_at,
                "kind": a.kind,
                "summary": a.summary,
                "by": (a.created_by.get_full_name() if a.created_by else "") or "",
                "organization": a.created_by_org.name,
            }
            for a in d.timeline
        ],
    }


# --- FHIR R4: screening (the first piece of Kinfold's FHIR interface) ---------------------------------------------


@api.get(
    "/fhir/Questionnaire/{key}",
    tags=["fhir"],
    summary="A screening instrument as a FHIR R4 Questionnaire",
)
def fhir_questionnaire(request: HttpRequest, key: str) -> HttpResponse:
    _viewer(request)
    try:
        resource = screening_selectors.questionnaire(key)
    except KeyError as missing:
        raise HttpError(404, "No such questionnaire.") from missing
    return HttpResponse(resource, content_type="application/fhir+json")


@api.get(
    "/fhir/QuestionnaireResponse/{response_id}",
    tags=["fhir"],
    summary="A screening response as a FHIR R4 QuestionnaireResponse (decided by the door, audited)",
)
def fhir_questionnaire_response(request: HttpRequest, response_id: int) -> HttpResponse:
    resource = screening_selectors.questionnaire_response(viewer=_viewer(request), response_id=response_id)
    return HttpResponse(resource, content_type="application/fhir+json")
