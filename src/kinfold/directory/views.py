"""The directory's pages: the search, one listing, a listing's edit and assurance by its own organisation, and
"our listings". Thin: parse a form, call one selector or service, render. Anyone signed in may search; with
``?family=<id>`` the pages also say whether each service fits that family (her facts are read through the door,
by ``referrals.selectors.family_fit``) and offer "Refer her here".
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kinfold import clock
from kinfold.directory import geo, selectors, services
from kinfold.directory.fit import FamilyFit, fits
from kinfold.directory.forms import RADIUS_CHOICES, ListingForm, SearchForm
from kinfold.directory.models import STALE_AFTER_DAYS
from kinfold.web.forms import apply_errors


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**62 else None


def _family_fit(request: HttpRequest, family_id: int | None) -> FamilyFit | None:
    """Her facts for "fits this family", through the door (a family she may not open is a 404)."""
    if family_id is None:
        return None
    try:
        from kinfold.referrals.selectors import family_fit
    except ImportError:  # the referrals room is not installed: search without a family
        return None
    fit: FamilyFit = family_fit(request, family_id)
    return fit


@login_required
def search(request: HttpRequest) -> HttpResponse:
    family_id = _int(request.GET.get("family"))
    fit = _family_fit(request, family_id)
    data = request.GET.copy()
    if fit is not None and fit.postal_code and "near" not in data:
        data["near"] = fit.postal_code  # her home, to start with; she may type another place or clear it
    form = SearchForm(data)
    page = None
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            page = selectors.search_services(
                query=cleaned["q"],
                near=cleaned["point"],
                radius_miles=cleaned["radius"],
                filters=form.filters(),
                fit=fit,
                fits_only=bool(cleaned["fits_only"]) and fit is not None,
                page=_int(request.GET.get("page")) or 1,
            )
        except ValidationError as error:
            apply_errors(form, error)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "directory/search.html",
        {
            "form": form,
            "page_obj": page,
            "fit": fit,
            "family_id": family_id if fit is not None else None,
            "place_label": form.cleaned_data.get("place_label", "") if form.is_bound and not form.errors else "",
            "radius_choices": RADIUS_CHOICES,
            "query_string": query.urlencode(),
            "stale_after_days": STALE_AFTER_DAYS,
        },
        status=400 if form.errors else 200,
    )


@login_required
def service_detail(request: HttpRequest, service_id: int) -> HttpResponse:
    service = selectors.service_detail(service_id=service_id)
    family_id = _int(request.GET.get("family"))
    fit = _family_fit(request, family_id)
    near = geo.point_for(fit.postal_code) if fit is not None and fit.postal_code else None
    return render(
        request,
        "directory/service_detail.html",
        {
            "service": service,
            "listing": selectors.listing_details(service=service, near=near),
            "fit": fits(service, fit) if fit is not None else None,
            "family_id": family_id if fit is not None else None,
            "may_edit": selectors.may_edit_listing(user=request.user, service=service),
            "is_stale": service.is_stale(clock.today()),
        },
    )


@login_required
def service_edit(request: HttpRequest, service_id: int) -> HttpResponse:
    service = selectors.service_detail(service_id=service_id)
    if request.method != "POST":
        services.require_listing_keeper(user=request.user, service=service)  # 403, audited, as the POST would be
    form = ListingForm(request.POST if request.method == "POST" else None, service=service)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_update(
                user=request.user,
                service=service,
                changes=form.changes(),
                expected_version=form.cleaned_data["version"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except services.ConcurrentEditError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Listing saved.")
            return redirect("directory:service", service_id=service.pk)
    return render(
        request,
        "directory/service_edit.html",
        {"form": form, "service": service},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def service_assure(request: HttpRequest, service_id: int) -> HttpResponse:
    service = selectors.service_detail(service_id=service_id)
    version = _int(request.POST.get("version"))
    target = request.POST.get("next") or reverse("directory:service", kwargs={"service_id": service.pk})
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("directory:service", kwargs={"service_id": service.pk})
    try:
        services.service_assure(user=request.user, service=service, expected_version=version or 0)
    except services.ConcurrentEditError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"“{service.name}” marked as checked and correct today.")
    return redirect(target)


@login_required
def our_listings(request: HttpRequest) -> HttpResponse:
    listings = selectors.our_listings(user=request.user)
    today = clock.today()
    rows: list[dict[str, Any]] = [{"service": s, "is_stale": s.is_stale(today)} for s in listings]
    return render(
        request,
        "directory/our_listings.html",
        {
            "rows": rows,
            "stale_count": sum(1 for r in rows if r["is_stale"]),
            "organizations": list(selectors.listing_organizations_of(user=request.user)),
        },
    )


# --- HSDS import and export --------------------------------------------------------------------------------

# Who keeps the region's directory: a programme lead (the role that manages organisations in the region).
DIRECTORY_KEEPERS = frozenset({"programme_lead"})
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@login_required
def hsds_import(request: HttpRequest) -> HttpResponse:
    """Upload an HSDS export (3.0 JSON, a 3.0 data package as .zip or its CSV files, or a 211's older CSVs):
    every row is checked, and a file with a bad row imports nothing and lists each problem."""
    from kinfold.directory import hsds

    membership = getattr(request.user, "membership", None)
    if membership is None or not membership.is_active or membership.role not in DIRECTORY_KEEPERS:
        raise PermissionDenied("Only a programme lead imports the region's directory.")
    report = None
    error = ""
    if request.method == "POST":
        uploads = request.FILES.getlist("files")
        if not uploads:
            error = "Choose the file or files of the export to import."
        elif sum(f.size or 0 for f in uploads) > MAX_UPLOAD_BYTES:
            error = "These files are over 50 MB together. Import them from the command line (kinfold hsds_import)."
        else:
            files = {f.name or "upload": f.read() for f in uploads}
            source = ", ".join(sorted(files))[:200]
            report = hsds.import_files(files, source=source, by=request.user)
            if report.ok:
                messages.success(request, f"Imported: {report.created} new and {report.updated} updated.")
    return render(
        request,
        "directory/hsds_import.html",
        {"report": report, "error": error},
        status=400 if error or (report is not None and not report.ok) else 200,
    )


@login_required
def hsds_export(request: HttpRequest) -> HttpResponse:
    """The whole directory as HSDS 3.0: ``?format=json`` (service objects) or ``zip`` (the CSV data package)."""
    import json

    from kinfold.directory import hsds

    if request.GET.get("format") == "zip":
        response = HttpResponse(hsds.export_zip(), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="kinfold-directory-hsds3.zip"'
        return response
    body = json.dumps(hsds.export_json(), indent=2, default=str, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="kinfold-directory-hsds3.json"'
    return response
