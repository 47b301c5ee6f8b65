"""The number of referral notices the signed-in person has not read, for the menu ("Referrals 2")."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kinfold.referrals.models import ReferralNotice


def referral_notices(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"referral_notice_count": ReferralNotice.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()}
