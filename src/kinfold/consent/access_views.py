"""Pages for court orders (rule 3a), break-the-glass emergency access (rule 4) and the parent's requests to
restrict disclosures (42 CFR 2.26). Thin: parse a form, call one service, render; the rules are checked
in ``services.py`` and access is decided by ``policy.decide``.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from kinfold import clock
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import record_event
from kinfold.consent import services
from kinfold.consent.access_forms import (
    PART2_FINDINGS_EXPLAINED,
    CourtOrderForm,
    EmergencyForm,
    RestrictionDecisionForm,
    RestrictionEndForm,
    RestrictionRequestForm,
)
from kinfold.consent.models import Restriction, RestrictionStatus
from kinfold.consent.policy import Viewer, may_open_family
from kinfold.consent.selectors import RecordGate, active_emergency, family_restrictions
from kinfold.consent.vocabulary import Purpose
from kinfold.families.models import Family, Sensitivity
from kinfold.families.selectors import purpose_for
from kinfold.families.views import _apply_errors, _family, _viewer

ONLY_CLINICIANS = "Only clinicians can declare a medical emergency."


def _family_page(family_id: int, purpose: str | None = None) -> str:
    url = reverse("families:detail", args=[family_id])
    return f"{url}?purpose={purpose}" if purpose else url


# --- court orders (rule 3a) ------------------------------------------------------------------------


@login_required
def court_order_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = _viewer(request)
    family = _family(viewer, family_id)
    today = clock.today()
    form = CourtOrderForm(
        request.POST if request.method == "POST" else None,
        initial={
            "categories": [Sensitivity.CONTACT, Sensitivity.LEGAL],
            "issued_on": today,
            "valid_from": today,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            order = services.court_order_record(viewer=viewer, family=family, **form.service_arguments())
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Court order {order.order_reference} for {order.court.name} recorded.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "consent/court_order_form.html",
        {
            "form": form,
            "family": family,
            "title": "Record a court order",
            "findings_explained": PART2_FINDINGS_EXPLAINED,
        },
        status=400 if form.errors else 200,
    )


# --- break-the-glass (rule 4) ----------------------------------------------------------------------


def _audit_refused_emergency(viewer: Viewer, family: Family | None, refusal: str, family_id: int = 0) -> None:
    """42 CFR 2.51 and CONSENT-RULES rule 4: every refused declaration is audited, like the service's own."""
    record_event(
        actor=viewer.user,
        action=Action.EMERGENCY,
        record_type="Family",
        record_id=family.pk if family else family_id,
        family_id=family.pk if family else None,
        purpose=Purpose.EMERGENCY,
        outcome=Outcome.DENIED,
        detail={"refused": refusal},
    )


@login_required
def emergency_declare(request: HttpRequest, family_id: int) -> HttpResponse:
    """A clinician may open this page for any family, even one she cannot open yet: that is the point of
    break-the-glass. Her name for the parent is shown only if she may already see it."""
    viewer = _viewer(request)
    if not viewer.is_clinician:
        # Refused the same way whether or not the family exists, so the refusal reveals nothing; and
        # before the service is called, so it is recorded exactly once.
        found = Family.objects.filter(pk=family_id).first()
        may_open_found = found is not None and may_open_family(viewer, found)
        _audit_refused_emergency(viewer, found, ONLY_CLINICIANS, family_id=family_id)
        refused = {"family": found if may_open_found else None, "may_open": may_open_found, "refusal": ONLY_CLINICIANS}
        return render(request, "consent/emergency_refused.html", refused, status=403)
    family = get_object_or_404(Family.objects.select_related("parent"), pk=family_id)
    may_open = may_open_family(viewer, family)
    context: dict[str, Any] = {
        "family": family,
        "may_open": may_open,
        "window_hours": f"{services.emergency_window().total_seconds() / 3600:g}",
        "active": active_emergency(viewer=viewer, family_id=family.pk),
    }
    form = EmergencyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not form.is_valid():
        _audit_refused_emergency(viewer, family, " ".join(str(e) for errs in form.errors.values() for e in errs))
    elif request.method == "POST":
        mail_failed = False
        try:
            access = services.emergency_declare(viewer=viewer, family=family, reason=form.cleaned_data["reason"])
        except (OSError, smtplib.SMTPException):
            # The declaration is committed; only the email to the privacy officers (sent on commit) failed.
            # A clinician in an emergency must not be left on an error page.
            access = active_emergency(viewer=viewer, family_id=family.pk)
            if access is None:
                raise
            mail_failed = True
        except PermissionDenied as denied:
            return render(request, "consent/emergency_refused.html", {**context, "refusal": str(denied)}, status=403)
        except ValidationError as error:
            _apply_errors(form, error)
            access = None
        if access is not None:
            until = access.expires_at.astimezone(clock.zone())
            messages.warning(
                request,
                f"Emergency access declared until {until:%H:%M}. Every record you open is flagged, and the "
                "privacy officers are told.",
            )
            if mail_failed:
                messages.error(
                    request,
                    "The email to the privacy officers could not be sent. Tell your privacy officer about this "
                    "emergency access today.",
                )
            return redirect(_family_page(family.pk, Purpose.EMERGENCY))
    return render(request, "consent/emergency_form.html", {**context, "form": form}, status=400 if form.errors else 200)


# --- restrictions (42 CFR 2.26) ----------------------------------------------------------------------


@login_required
def restriction_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = _viewer(request)
    family = _family(viewer, family_id)
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
            _apply_errors(form, error)
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


def _visible_restriction(viewer: Viewer, family: Family, restriction_id: int) -> Restriction:
    """The request, if the policy lets the viewer see it (else 404); the read is audited and accounted."""
    purpose = purpose_for(viewer)
    gate = RecordGate.open(viewer, [family.pk], purpose)
    restriction = next((r for r in family_restrictions(gate=gate, family_id=family.pk) if r.pk == restriction_id), None)
    if restriction is None:
        record_event(
            actor=viewer.user,
            action=Action.VIEW,
            record_type="Restriction",
            record_id=restriction_id,
            family_id=family.pk,
            purpose=purpose,
            outcome=Outcome.DENIED,
        )
        raise Http404("No such request.")
    record_event(
        actor=viewer.user,
        action=Action.VIEW,
        record_type="Restriction",
        record_id=restriction.pk,
        family_id=family.pk,
        purpose=purpose,
    )
    gate.record_disclosures(channel="page")
    return restriction


@login_required
def restriction_decide(request: HttpRequest, family_id: int, restriction_id: int) -> HttpResponse:
    viewer = _viewer(request)
    family = _family(viewer, family_id)
    restriction = _visible_restriction(viewer, family, restriction_id)
    context: dict[str, Any] = {"family": family, "r": restriction, "title": "Agree or refuse her request"}
    if restriction.disclosing_org_id != viewer.organization_id:
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
            _apply_errors(form, error)
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
    viewer = _viewer(request)
    family = _family(viewer, family_id)
    restriction = _visible_restriction(viewer, family, restriction_id)
    org_name = restriction.disclosing_org.name
    context: dict[str, Any] = {"family": family, "r": restriction, "title": "End this restriction", "step": "form"}
    if restriction.status != RestrictionStatus.AGREED:
        return render(request, "consent/restriction_end.html", context)
    form = RestrictionEndForm(
        request.POST if request.method == "POST" else None,
        organization_name=org_name,
        # 45 CFR 164.522(a)(2)(iii) and (a)(1)(vi): only the organisation's own staff end it on its side,
        # and never a self-pay restriction toward a health plan. The service checks both again.
        may_end_for_organization=viewer.organization_id == restriction.disclosing_org_id
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
            _apply_errors(form, error)
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
    path("court-orders/new/", court_order_add, name="court_order_add"),
    path("emergency/", emergency_declare, name="emergency_declare"),
    path("restrictions/new/", restriction_add, name="restriction_add"),
    path("restrictions/<int:restriction_id>/decide/", restriction_decide, name="restriction_decide"),
    path("restrictions/<int:restriction_id>/end/", restriction_end, name="restriction_end"),
]
