"""The number of referral notices the signed-in person has not read, for the menu ("Referrals 2").

``NoticeCountMiddleware`` reads it once per page request, before the view; the context processor only passes
it on, so rendering a template never queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from kinfold.referrals.models import ReferralNotice


class NoticeCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(("/api/", "/static/")):
            count = ReferralNotice.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()
            request.referral_notice_count = count  # type: ignore[attr-defined]
        return self.get_response(request)


def referral_notices(request: HttpRequest) -> dict[str, Any]:
    return {"referral_notice_count": getattr(request, "referral_notice_count", 0)}
