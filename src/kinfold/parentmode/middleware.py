"""While the tablet is in parent mode, only parent mode's own pages answer, and 5 idle minutes end it.

Every other address (the caseload, another family, the staff member's own family pages, organisations, the
admin site, the API, signing in or out) sends her back to parent mode's first page: there is no way to the staff
pages except the staff member's password (``views.leave``). Static files are served before this runs. After
``KINFOLD_PARENT_MODE_IDLE_SECONDS`` without a request (300 by default), parent mode ends and the staff member
is signed out: the next person to pick up the tablet meets the sign-in page. It sits before the site-wide idle
sign-out, so its own, shorter clock is read first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve
from django.utils.translation import gettext, override

from kinfold.parentmode.services import (
    idle_limit_seconds,
    is_idle,
    parent_mode_end,
    parent_mode_of,
    parent_mode_touch,
)

NAMESPACE = "parentmode"
ALSO_ALLOWED = frozenset({"favicon"})  # a redirect to a static file


def allowed_in_parent_mode(path: str) -> bool:
    """Whether ``path`` is one of parent mode's own pages (her pages, her signing step, giving it back)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.namespace == NAMESPACE or match.url_name in ALSO_ALLOWED


class ParentModeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.get_response(request)
        mode = parent_mode_of(request.session)
        if mode is None:
            return self.get_response(request)
        now = time.time()
        if mode.staff_user_id != request.user.pk:
            # Not the session parent mode was started in (it cannot be signed into while parent mode is on).
            parent_mode_end(request=request, reason="another account")
            return redirect("login")
        if is_idle(mode, now=now):
            parent_mode_end(request=request, reason="idle")
            # The sign-in page is the staff member's: its message is in English.
            with override("en"):
                messages.info(
                    request,
                    gettext(
                        "Parent mode ended after %(minutes)s minutes without activity, and you were signed out. "
                        "Please sign in again."
                    )
                    % {"minutes": round(idle_limit_seconds() / 60)},
                )
            return redirect("login")
        parent_mode_touch(session=request.session, now=now)
        if not allowed_in_parent_mode(request.path_info):
            return redirect(f"{NAMESPACE}:home")
        return self.get_response(request)
