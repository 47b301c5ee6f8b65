from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kinfold.organizations import selectors
from kinfold.organizations.models import OrganizationType


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    type_ = request.GET.get("type", "")
    if type_ not in OrganizationType.values:
        type_ = ""
    page = Paginator(selectors.organizations_in_region(search=search, type=type_), 50).get_page(request.GET.get("page"))
    query = "&".join(f"{k}={v}" for k, v in {"q": search, "type": type_}.items() if v)
    return render(
        request,
        "organizations/organization_list.html",
        {
            "page_obj": page,
            "search": search,
            "type": type_,
            "types": OrganizationType.choices,
            "query_string": query,
        },
    )


@login_required
def organization_detail(request: HttpRequest, organization_id: int) -> HttpResponse:
    organization = selectors.organization(organization_id=organization_id)
    staff = list(selectors.staff_of(organization=organization))
    return render(
        request,
        "organizations/organization_detail.html",
        {
            "organization": organization,
            "employees": [m for m in staff if m.organization_id == organization.pk],
            "embedded": [m for m in staff if m.organization_id != organization.pk],
        },
    )
