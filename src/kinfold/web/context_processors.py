from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kinfold.access.rules import REDISCLOSURE_NOTICE_TEXT


def kinfold(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    membership = getattr(user, "membership", None) if user is not None and user.is_authenticated else None
    # 42 CFR 2.32: the notice's words, for any page that shows a Part 2 record outside its programme.
    return {"current_membership": membership, "redisclosure_notice_text": REDISCLOSURE_NOTICE_TEXT}
