"""Break-the-glass (rule 4): a clinician declares a medical emergency for one family, with a written reason.
Thin: ``services.emergency_declare`` checks the rules and audits; every refusal is audited once."""

from __future__ import annotations

import smtplib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from kinfold import clock
from kinfold.access.http import viewer_for
from kinfold.access.rules import may_open_family
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Purpose
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import record_event
from kinfold.consent import services
from kinfold.consent.access_forms import EmergencyForm
from kinfold.consent.models import EmergencyAccess
from kinfold.consent.selectors import active_emergency, emergency_family
from kinfold.families.models import Family
from kinfold.web.forms import apply_errors

ONLY_CLINICIANS = "Only clinicians can declare a medical emergency."


def _family_page(family_id: int, purpose: str | None = None) -> str:
    url = reverse("families:detail", args=[family_id])
    return f"{url}?purpose={purpose}" if purpose else url


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
    viewer = viewer_for(request)
    if not viewer.is_clinician:
        # Refused the same way whether or not the family exists, so the refusal reveals nothing; and
        # before the service is called, so it is recorded exactly once.
        _audit_refused_emergency(viewer, None, ONLY_CLINICIANS, family_id=family_id)
        refused = {"family_id": family_id, "may_open": may_open_family(viewer, family_id), "refusal": ONLY_CLINICIANS}
        return render(request, "consent/emergency_refused.html", refused, status=403)
    family, may_open = emergency_family(viewer=viewer, family_id=family_id)
    if family is None:
        _audit_refused_emergency(viewer, None, "no such family", family_id=family_id)
        raise Http404("No family found.")
    context: dict[str, Any] = {
        "family": family,
        "family_id": family.pk,
        "may_open": may_open,
        "window_hours": f"{services.emergency_window().total_seconds() / 3600:g}",
        "active": active_emergency(viewer=viewer, family_id=family.pk),
    }
    form = EmergencyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not form.is_valid():
        _audit_refused_emergency(viewer, family, " ".join(str(e) for errs in form.errors.values() for e in errs))
    elif request.method == "POST":
        mail_failed = False
        access: EmergencyAccess | None
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
            apply_errors(form, error)
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


urlpatterns = [path("emergency/", emergency_declare, name="emergency_declare")]
