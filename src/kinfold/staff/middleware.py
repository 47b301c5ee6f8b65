"""The second sign-in step stands between a password and every page: until she gives her code (or enrols an
app, the first time), each request goes to that step; the API answers 401. Read from the session (set once at
sign-in) and the deployment setting, so a signed-in request costs no query here."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

PENDING = "kinfold_second_factor_needed"
# Pages open while the second step is pending: the step itself, signing out, and the static files.
OPEN_PREFIXES = ("/static/", "/favicon.ico", "/accounts/second-factor/", "/accounts/logout/")


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.second_factor_pending = False  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and (settings.KINFOLD_REQUIRE_MFA or request.session.get(PENDING))
            and not user.is_verified()
        ):
            request.second_factor_pending = True  # type: ignore[attr-defined]
            path = request.path_info
            if not path.startswith(OPEN_PREFIXES):
                if path.startswith("/api/"):
                    return JsonResponse({"detail": "Sign in with your second factor first."}, status=401)
                from kinfold.staff import mfa

                step = "staff:verify" if mfa.has_authenticator(user) else "staff:enrol"
                query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
                return HttpResponseRedirect(reverse(step) + (f"?{query}" if query else ""))
        return self.get_response(request)
