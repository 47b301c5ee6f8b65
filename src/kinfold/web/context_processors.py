from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def kinfold(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    membership = getattr(user, "membership", None) if user is not None and user.is_authenticated else None
    return {"current_membership": membership}
