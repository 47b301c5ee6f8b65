"""The accounting of disclosures page: printable, and downloadable as CSV. It shows the entries the door
lets the viewer see (``consent.accounting``)."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from kinfold.access.http import viewer_for
from kinfold.consent.accounting import accounting_for

CSV_HEADER = ["date", "who received it", "organisation", "from", "what (kinds of information)", "purpose", "why"]
CSV_HEADER += ["times", "notes"]


@login_required
def accounting(request: HttpRequest, family_id: int) -> HttpResponse:
    viewer = viewer_for(request)
    result = accounting_for(viewer=viewer, family_id=family_id)
    family = result.family
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="accounting-of-disclosures-family-{family.pk}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_HEADER)
        for e in result.entries:
            writer.writerow(
                [
                    e.day.isoformat(),
                    e.recipient_name,
                    e.recipient_org,
                    "; ".join(e.disclosing_orgs),
                    "; ".join(e.kinds),
                    e.purpose,
                    e.basis,
                    e.times,
                    "made before the consent was revoked" if e.made_before_revocation else "",
                ]
            )
        for r in result.revocations:
            writer.writerow([r.at.date().isoformat(), "", "", "", "", "", f"revoked: {r.title} ({r.method})", "", ""])
        return response
    return render(request, "consent/accounting.html", {"family": family, "a": result})


urlpatterns = [path("accounting/", accounting, name="accounting")]
