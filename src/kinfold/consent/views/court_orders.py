"""The court-order page (rule 3a): a privacy officer of the organisation whose records an order names
records it; the order opens only her organisation's records. Thin: the door decides who may (the page, its
form and its POST ask the same question), ``services.court_order_record`` writes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from kinfold import clock
from kinfold.access.door import require_create, require_page
from kinfold.access.http import viewer_for
from kinfold.access.vocabulary import Interaction
from kinfold.consent import services
from kinfold.consent.access_forms import PART2_FINDINGS_EXPLAINED, CourtOrderForm
from kinfold.consent.models import CourtOrder
from kinfold.consent.selectors import access_court_order, records_an_order_may_name
from kinfold.families.models import Sensitivity
from kinfold.families.selectors import access_family
from kinfold.web.forms import apply_errors


@login_required
def court_order_add(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    family, gate = access_family(viewer=viewer, family_id=family_id)
    require_page(
        require_create,
        viewer,
        CourtOrder,
        family_id=family.pk,
        category=Sensitivity.LEGAL,
        gate=gate,
        message=services.ONLY_PRIVACY_OFFICERS,
    )
    today = clock.today()
    assert viewer.membership is not None
    nameable = records_an_order_may_name(gate=gate, viewer=viewer, family_id=family.pk)
    form = CourtOrderForm(
        request.POST if request.method == "POST" else None,
        initial={"categories": [Sensitivity.CONTACT, Sensitivity.LEGAL], "issued_on": today, "valid_from": today},
        excluded_court_id=viewer.organization_id,
        nameable_records=[(r.key, r.words + (" (a Part 2 record)" if r.part2 else "")) for r in nameable],
    )
    if request.method == "POST" and form.is_valid():
        try:
            order = services.court_order_record(viewer=viewer, family=family, **form.service_arguments())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            opened = f"Court order {order.order_reference} for {order.court.name} recorded. It opens only " + (
                f"{viewer.membership.organization.name}'s records"
            )
            if services.part2_waiting(order):
                messages.warning(
                    request,
                    f"{opened} that are not Part 2 records, for now. The Part 2 records it names stay closed "
                    "until both findings of 42 CFR 2.64(d) are recorded on the order.",
                )
            else:
                messages.success(request, f"{opened} that it names.")
            return redirect("families:detail", family_id=family.pk)
    return render(
        request,
        "consent/court_order_form.html",
        {
            "form": form,
            "family": family,
            "title": "Record a court order",
            "organization": viewer.membership.organization,
            "findings_explained": PART2_FINDINGS_EXPLAINED,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def court_order_findings(request: HttpRequest, family_id: int, order_id: int) -> HttpResponse:
    """Both findings of 42 CFR 2.64(d) are now recorded on the order: it opens the Part 2 records it names."""
    viewer = viewer_for(request)
    order = access_court_order(
        viewer=viewer, family_id=family_id, order_id=order_id, interaction=Interaction.CHANGE
    ).record
    if request.POST.get("confirm") != "on":
        messages.error(request, "Tick the box to confirm that the order records both findings.")
        return redirect("families:detail", family_id=family_id)
    try:
        services.court_order_findings_record(viewer=viewer, order=order)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Both findings recorded: court order {order.order_reference} now opens the Part 2 records it names.",
        )
    return redirect("families:detail", family_id=family_id)


urlpatterns = [
    path("court-orders/new/", court_order_add, name="court_order_add"),
    path("court-orders/<int:order_id>/findings/", court_order_findings, name="court_order_findings"),
]
