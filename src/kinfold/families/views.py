"""Pages for caseloads, families and care teams. Thin: parse, call one selector or service, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kinfold.access.door import require_create, require_page
from kinfold.access.http import viewer_for
from kinfold.access.rules import REDISCLOSURE_NOTICE_TEXT
from kinfold.access.vocabulary import Interaction
from kinfold.families import selectors, services
from kinfold.families.forms import (
    DeliveryForm,
    FamilyCreateForm,
    FamilyMemberForm,
    PregnancyForm,
    TeamMemberAddForm,
)
from kinfold.families.models import CareTeamMember, Sensitivity
from kinfold.families.selectors import CASELOAD_SORTS, DEFAULT_CASELOAD_SORT, CaseloadScope
from kinfold.web.forms import apply_errors
from kinfold.web.pagination import page_first


def _message(error: ValidationError | PermissionDenied) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


@login_required
def caseload(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    scope: CaseloadScope = "organization" if request.GET.get("scope") == "organization" else "mine"
    search = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", DEFAULT_CASELOAD_SORT)
    if sort not in CASELOAD_SORTS:
        sort = DEFAULT_CASELOAD_SORT
    families = selectors.caseload_for(viewer=viewer, scope=scope, search=search, sort=sort)
    # Her organisation's caseload is decided only as far as the page shown (page first, then decide).
    page = page_first(families.families, request.GET.get("page"), settings.KINFOLD_CASELOAD_PAGE_SIZE)
    rows = selectors.caseload_rows(viewer=viewer, caseload=families, families=list(page.object_list))
    base_params = {k: v for k, v in {"scope": scope, "q": search, "sort": sort}.items() if v}
    context = {
        "rows": rows,
        "page_obj": page,
        "scope": scope,
        "search": search,
        "sort": sort,
        "query_string": urlencode(base_params),
        # Each column header links to the other direction when it is the current sort.
        "name_sort_qs": urlencode({**base_params, "sort": "-name" if sort == "name" else "name"}),
        "activity_sort_qs": urlencode({**base_params, "sort": "activity" if sort == "-activity" else "-activity"}),
        # A parent's name made by a Part 2 programme, shown outside it, carries the 42 CFR 2.32 notice.
        "shows_redisclosure_notice": any(row.notice for row in rows),
        "redisclosure_notice_text": REDISCLOSURE_NOTICE_TEXT,
    }
    template = "families/_caseload_table.html" if request.headers.get("HX-Request") else "families/caseload.html"
    return render(request, template, context)


@login_required
def family_create(request: HttpRequest) -> HttpResponse:
    viewer = viewer_for(request)
    form = FamilyCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            family = services.family_create(viewer=viewer, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Family created. You are its designated coordinator.")
            return redirect("families:detail", family_id=family.pk)
    return render(request, "families/family_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def family_detail(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    detail = selectors.family_detail(viewer=viewer, family_id=family_id, purpose=request.GET.get("purpose"))
    return render(
        request,
        "families/family_detail.html",
        {"d": detail, "family": detail.family, "redisclosure_notice_text": REDISCLOSURE_NOTICE_TEXT},
    )


@login_required
def family_member_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    family, _gate = selectors.access_family(viewer=viewer, family_id=family_id)
    form = FamilyMemberForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            relationship = services.family_member_add(viewer=viewer, family=family, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{relationship.person.display_name} was added to the family.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "families/member_form.html",
        {"form": form, "family": family},
        status=400 if form.errors else 200,
    )


@login_required
def pregnancy_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    family, _gate = selectors.access_family(viewer=viewer, family_id=family_id)
    form = PregnancyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.pregnancy_start(
                viewer=viewer, family=family, estimated_due_on=form.cleaned_data["estimated_due_on"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Pregnancy recorded.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "families/pregnancy_form.html",
        {"form": form, "family": family, "title": "Record a pregnancy"},
        status=400 if form.errors else 200,
    )


@login_required
def pregnancy_due_date(request: HttpRequest, family_id: int, episode_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    episode = selectors.access_pregnancy(
        viewer=viewer, family_id=family_id, pregnancy_id=episode_id, interaction=Interaction.CHANGE
    ).record
    family = episode.family
    form = PregnancyForm(
        request.POST if request.method == "POST" else None,
        initial={"estimated_due_on": episode.estimated_due_on, "version": episode.version},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.pregnancy_correct_due_date(
                viewer=viewer,
                episode=episode,
                estimated_due_on=form.cleaned_data["estimated_due_on"],
                expected_version=form.cleaned_data.get("version"),
            )
        except ValidationError as error:
            apply_errors(form, error)
        except services.ConcurrentEditError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Estimated due date corrected.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "families/pregnancy_form.html",
        {"form": form, "family": family, "title": "Correct the estimated due date"},
        status=400 if form.errors else 200,
    )


@login_required
def delivery_record(request: HttpRequest, family_id: int, episode_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    episode = selectors.access_pregnancy(
        viewer=viewer, family_id=family_id, pregnancy_id=episode_id, interaction=Interaction.CHANGE
    ).record
    family = episode.family
    form = DeliveryForm(request.POST if request.method == "POST" else None, initial={"version": episode.version})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.delivery_record(
                viewer=viewer,
                episode=episode,
                delivered_on=data["delivered_on"],
                outcome=data["outcome"],
                infants=data["infants"],
                expected_version=data["version"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except services.ConcurrentEditError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Delivery recorded.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "families/delivery_form.html",
        {"form": form, "family": family, "episode": episode},
        status=400 if form.errors else 200,
    )


@login_required
def team_member_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    family, gate = selectors.access_family(viewer=viewer, family_id=family_id)
    search = request.GET.get("q", "").strip()[:100]
    require_page(
        require_create,
        viewer,
        CareTeamMember,
        family_id=family.pk,
        category=Sensitivity.CONTACT,
        gate=gate,
        message="Only her designated coordinator adds members to her care team.",
    )
    candidates = selectors.staff_to_add(gate=gate, family_id=family.pk, search=search)
    form = TeamMemberAddForm(request.POST if request.method == "POST" else None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.care_team_member_add(
                viewer=viewer,
                family=family,
                membership=form.cleaned_data["membership"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{member.membership.display_name} is now on the care team.")
            return redirect("families:detail", family_id=family.pk)
    if request.headers.get("HX-Request") and request.method == "GET":
        return render(request, "families/_staff_options.html", {"form": form})
    return render(
        request,
        "families/team_member_form.html",
        {"form": form, "family": family, "search": search},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def team_member_remove(request: HttpRequest, family_id: int, member_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    member = selectors.access_team_place(viewer=viewer, family_id=family_id, place_id=member_id).record
    family = member.care_team.family
    try:
        services.care_team_member_remove(viewer=viewer, member=member)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _message(error))
    else:
        if member.membership_id == viewer.membership_id:
            # Her consents may have reached her only as a team member: the family may no longer be hers to open.
            messages.success(request, "You left her care team.")
            return redirect("families:caseload")
        messages.success(request, f"{member.membership.display_name} was removed from the care team.")
    return redirect("families:detail", family_id=family.pk)


@login_required
@require_POST
def coordinator_handover(request: HttpRequest, family_id: int, member_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    member = selectors.access_team_place(viewer=viewer, family_id=family_id, place_id=member_id).record
    family = member.care_team.family
    try:
        services.coordinator_handover(viewer=viewer, family=family, to_member=member)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _message(error))
    else:
        messages.success(request, f"{member.membership.display_name} is now the designated coordinator.")
    return redirect("families:detail", family_id=family.pk)


@login_required
def family_export(request: HttpRequest, family_id: int) -> HttpResponse:
    """Download what the viewer may see of a family as JSON, with the redisclosure notice attached."""
    viewer = viewer_for(request)
    data = selectors.family_export(viewer=viewer, family_id=family_id, purpose=request.GET.get("purpose"))
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="kinfold-family-{family_id}.json"'
    return response
