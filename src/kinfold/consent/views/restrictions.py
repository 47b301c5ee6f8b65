"""The parent's requests to restrict disclosures (42 CFR 2.26): record her request, the organisation asked
agrees or refuses, and ending an agreed one (45 CFR 164.522(a)(2)). Thin: the door decides who may (the
request is seen by the organisation it asks; only its staff decide), ``services`` write."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from kinfold.access.http import viewer_for
from kinfold.access.vocabulary import Interaction
from kinfold.consent import services
from kinfold.consent.access_forms import RestrictionDecisionForm, RestrictionEndForm, RestrictionRequestForm
from kinfold.consent.models import Restriction, RestrictionStatus
from kinfold.consent.selectors import access_restriction
from kinfold.families.selectors import access_family
from kinfold.web.forms import apply_errors


@login_required
def restriction_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    family, _gate = access_family(viewer=viewer, family_id=family_id)
    form = RestrictionRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            restriction = services.restriction_request(
                viewer=viewer,
                family=family,
                disclosing_org=data["disclosing_org"],
                recipient_org=data.get("recipient_org"),
                recipient_person=data.get("recipient_person"),
                categories=list(data.get("categories") or []),
                purposes=list(data.get("purposes") or []),
                description=data.get("description") or "",
                is_self_pay_to_health_plan=bool(data.get("is_self_pay_to_health_plan")),
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as denied:
            form.add_error(None, str(denied))
        else:
            messages.success(
                request,
                f"Her request was recorded. {restriction.disclosing_org.name} will be asked to agree or refuse.",
            )
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "consent/restriction_form.html",
        {"form": form, "family": family, "title": "Record her request to restrict sharing"},
        status=400 if form.errors else 200,
    )


@login_required
def restriction_decide(request: HttpRequest, family_id: int, restriction_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    seen = access_restriction(viewer=viewer, family_id=family_id, restriction_id=restriction_id)
    restriction, family = seen.record, seen.record.family
    context: dict[str, Any] = {"family": family, "r": restriction, "title": "Agree or refuse her request"}
    if not seen.gate.may(Interaction.CHANGE, restriction):
        context["refusal"] = (
            f"Only staff of {restriction.disclosing_org.name}, the organisation she asked to share less, can decide."
        )
        return render(request, "consent/restriction_decide.html", context, status=403)
    if restriction.status != RestrictionStatus.REQUESTED:
        return render(request, "consent/restriction_decide.html", context)
    form = RestrictionDecisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            decided = services.restriction_decide(
                viewer=viewer, restriction=restriction, agree=form.agrees, reason=form.cleaned_data.get("reason", "")
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as denied:
            context["refusal"] = str(denied)
            return render(request, "consent/restriction_decide.html", context, status=403)
        else:
            if decided.status == RestrictionStatus.AGREED:
                messages.success(request, "You agreed. From now on her consents no longer share what she asked.")
            else:
                messages.success(request, "You refused her request. Your reason is recorded.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request, "consent/restriction_decide.html", {**context, "form": form}, status=400 if form.errors else 200
    )


@login_required
def restriction_end(request: HttpRequest, family_id: int, restriction_id: int) -> HttpResponse:
    """End an agreed restriction (45 CFR 164.522(a)(2)): who asks and why, then a confirm step."""
    viewer = viewer_for(request)
    seen = access_restriction(viewer=viewer, family_id=family_id, restriction_id=restriction_id)
    restriction, family = seen.record, seen.record.family
    org_name = restriction.disclosing_org.name
    context: dict[str, Any] = {"family": family, "r": restriction, "title": "End this restriction", "step": "form"}
    if restriction.status != RestrictionStatus.AGREED:
        return render(request, "consent/restriction_end.html", context)
    form = RestrictionEndForm(
        request.POST if request.method == "POST" else None,
        organization_name=org_name,
        # 45 CFR 164.522(a)(2)(iii) and (a)(1)(vi): only the organisation's own staff end it on its side,
        # and never a self-pay restriction toward a health plan. The service checks both again.
        may_end_for_organization=seen.gate.may(Interaction.CHANGE, restriction)
        and not restriction.is_self_pay_to_health_plan,
    )
    action = request.POST.get("action", "confirm")
    if request.method == "POST" and form.is_valid() and action == "confirm":
        context["step"] = "confirm"
    elif request.method == "POST" and form.is_valid() and action == "end":
        try:
            ended = services.restriction_end(
                viewer=viewer,
                restriction=restriction,
                on_request_of=form.cleaned_data["on_request_of"],
                reason=form.cleaned_data.get("reason") or "",
            )
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as denied:
            context["refusal"] = str(denied)
            return render(request, "consent/restriction_end.html", context, status=403)
        else:
            if ended.ended_on_request_of == Restriction.EndRequestedBy.ORGANIZATION:
                messages.success(
                    request,
                    f"The restriction has ended. What {org_name} makes or receives from now on is shared again "
                    "as her consents allow; records it made before stay restricted.",
                )
            else:
                messages.success(
                    request, "The restriction has ended at her request. From now on her consents share what it covered."
                )
            return redirect("families:detail", family_id=family.pk)
    return render(
        request, "consent/restriction_end.html", {**context, "form": form}, status=400 if form.errors else 200
    )


urlpatterns = [
    path("restrictions/new/", restriction_add, name="restriction_add"),
    path("restrictions/<int:restriction_id>/decide/", restriction_decide, name="restriction_decide"),
    path("restrictions/<int:restriction_id>/end/", restriction_end, name="restriction_end"),
]
