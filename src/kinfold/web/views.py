"""The pages every room shares: home, sign-in, the API's front page, and the error pages.

The error pages say in plain words what happened and what to do. A 404 never says why: a family she may not
open answers exactly as one that does not exist. The 500 page reads no database and no session (it may be
the database that failed). Under /api/ each error is JSON, as the API's own errors are.
"""

from __future__ import annotations

import json

from django.contrib.sessions.exceptions import SessionInterrupted
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.views.decorators.csrf import requires_csrf_token

API_PREFIX = "/api/"
# The body django-ninja answers for any 404 of the API (a record that does not exist, or that she may not see).
API_NOT_FOUND = {"detail": "Not Found"}


def home(request: HttpRequest) -> HttpResponse:
    return redirect("families:caseload" if request.user.is_authenticated else "login")


def api_home(request: HttpRequest) -> HttpResponse:
    """/api/ itself: what the API is and where its documentation and schema are (JSON for a program)."""
    links = {"docs": reverse("api:openapi-view"), "openapi": reverse("api:openapi-json")}
    if request.get_preferred_type(["text/html", "application/json"]) == "application/json":
        return _json(links, status=200)
    return render(request, "web/api_home.html", {"links": links})


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _json(body: dict[str, str], *, status: int) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403: the refusal's own plain words (what she tried and why not), and whom to ask."""
    reason = str(exception) if exception is not None else ""
    if _is_api(request):
        return _json({"detail": reason or "Forbidden"}, status=403)
    return render(request, "403.html", {"reason": reason}, status=403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: the same page whatever the reason, so it never tells whether a family's records exist."""
    if _is_api(request):
        return _json(API_NOT_FOUND, status=404)
    return render(request, "404.html", status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400, or 503 when the database went away after her write was saved but before her session was (Django's
    ``SessionInterrupted``): she is told to check before entering it again. Rendered like the 500 page."""
    interrupted = isinstance(exception, SessionInterrupted)
    status = 503 if interrupted else 400
    if _is_api(request):
        words = "Check whether your change was saved before sending it again." if interrupted else "Bad request"
        return _json({"detail": words}, status=status)
    return HttpResponse(loader.get_template("400.html").render({"interrupted": interrupted}), status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: rendered without the request, so no context processor reads the session, the user or the database."""
    if _is_api(request):
        return _json({"detail": "Something went wrong on the server. Try again in a few minutes."}, status=500)
    return HttpResponse(loader.get_template("500.html").render(), status=500)
