from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kinfold.access.rules import REDISCLOSURE_NOTICE_TEXT
from kinfold.access.vocabulary import role_access


def kinfold(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    membership = getattr(user, "membership", None) if user is not None and user.is_authenticated else None
    # 42 CFR 2.32: the notice's words, for any page that shows a Part 2 record outside its programme.
    role = role_access(membership.role) if membership is not None and membership.is_active else None
    return {
        "current_membership": membership,
        "redisclosure_notice_text": REDISCLOSURE_NOTICE_TEXT,
        # Until she passes the second sign-in step, the page shows no menu (every link would lead back to it).
        "second_factor_pending": getattr(request, "second_factor_pending", False),
        "leads_staff": role is not None and role.staff_lead,
    }
