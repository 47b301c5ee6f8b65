"""Security headers on every response, sign-out after the configured idle time, and a 404 for an id in a URL
that no row can have."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)
# Swagger UI at /api/docs (served from ninja's own static files) sets inline styles; its pages hold no
# family data, so only there may styles be inline. Scripts stay 'self' everywhere.
API_DOCS_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = API_DOCS_POLICY if request.path.startswith("/api/docs") else CONTENT_SECURITY_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        # Family data must not linger in shared caches or the back button of a shared tablet: no page is stored,
        # signed in or not (a one-time link's page shows what a referral carried). Static files keep whitenoise's.
        response.headers.setdefault("Cache-Control", "no-store")
        return response


IDLE_KEY = "kinfold_last_seen"
# The time of her last request is written to the session (a database write and a commit) only when it is this
# many seconds old: a page read in the same minute as the last one writes nothing. The sign-out counts from the
# time written, so it may come up to this much earlier than the idle minutes, never later.
IDLE_STAMP_SECONDS = 30


class IdleTimeoutMiddleware:
    """Signs a person out after ``IDLE_TIMEOUT_MINUTES`` without a request (counted from her last request, as
    written at most ``IDLE_STAMP_SECONDS`` apart)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(IDLE_KEY)
            if last_seen is not None and now - float(last_seen) > settings.IDLE_TIMEOUT_MINUTES * 60:
                from kinfold.audit.models import Action
                from kinfold.audit.services import record_event

                record_event(actor=request.user, action=Action.LOGOUT, detail={"reason": "idle timeout"})
                logout(request)
                messages.info(request, "You were signed out after a period without activity. Please sign in again.")
            elif last_seen is None or now - float(last_seen) >= IDLE_STAMP_SECONDS:
                request.session[IDLE_KEY] = now
        return self.get_response(request)


# Every id is a 64-bit signed integer (BigAutoField: bigint on PostgreSQL, INTEGER on SQLite).
SMALLEST_ID, LARGEST_ID = -(2**63), 2**63 - 1


def names_no_row(name: str, value: object) -> bool:
    """Whether a URL's value for ``name`` is an id outside the range any row's id can have. ``<int:…>`` routes
    give ints; the API's ``{family_id}`` gives the digits as a string, so only ``id``/``…_id`` strings count."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and (name == "id" or name.endswith("_id")):
        text = value
        try:
            value = int(text)
        except ValueError:
            # More digits than Python parses by default (4,300): certainly no row's id; anything else is not
            # a number at all, and the view's own validation answers it.
            return text.strip().isdecimal()
    return isinstance(value, int) and not SMALLEST_ID <= value <= LARGEST_ID


class OutOfRangeIdMiddleware:
    """``/families/99999999999999999999/`` names no family: it answers 404 like any family that does not exist,
    before the view asks the database (which refuses such a number: SQLite raises OverflowError, a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        if any(names_no_row(name, value) for name, value in view_kwargs.items()):
            raise Http404("No such record.")
