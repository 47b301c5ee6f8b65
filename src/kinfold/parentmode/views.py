"""Parent mode's pages, under /parent/: her consents (the first page), her team and what each member can see,
who has seen her information, switching between English and Spanish, and giving the tablet back. Starting it
is a staff member's button on the family's consent pages.

Thin: reads through ``selectors``, changes through ``services``. Each page speaks her language and has no staff
navigation (``parentmode/base.html``); the middleware keeps every other page away while parent mode is on.
Without parent mode these pages send the staff member to her own pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kinfold.access.http import viewer_for
from kinfold.parentmode.selectors import HerFamily, her_accounting, her_consents, her_family, her_team
from kinfold.parentmode.services import (
    LANGUAGES,
    LeaveOutcome,
    ParentMode,
    parent_mode_language,
    parent_mode_leave,
    parent_mode_of,
    parent_mode_start,
)

PAGES = ("home", "team", "accounting", "leave", "sign", "screening")
ParentView = Callable[..., HttpResponse]


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdecimal() and len(value) < 19 else None


def _mode(request: HttpRequest) -> ParentMode | None:
    mode = parent_mode_of(request.session)
    if mode is None or mode.staff_user_id != request.user.pk:
        return None
    return mode


def in_parent_mode(view: ParentView) -> ParentView:
    """The page answers only in parent mode, in her language; otherwise the staff member goes to her own pages."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        mode = _mode(request)
        if mode is None:
            return redirect("home")
        with translation.override(mode.language):
            return view(request, mode, *args, **kwargs)

    return wrapped


def layout(mode: ParentMode, current: str, her: HerFamily | None = None, **more: Any) -> dict[str, Any]:
    """What parent mode's layout needs: her language, the page, who holds the tablet."""
    return {
        "lang": mode.language,
        "current": current,
        "her": her,
        "awaits_signature": mode.awaits_signature,
        "awaits_screening": mode.awaits_screening,
        **more,
    }


@require_GET
@in_parent_mode
def consents(request: HttpRequest, mode: ParentMode) -> HttpResponse:
    her = her_family(viewer=viewer_for(request), mode=mode)
    rows = her_consents(page=her, just_signed=_number(request.GET.get("signed")))
    return render(request, "parentmode/consents.html", layout(mode, "home", her, rows=rows))


@require_GET
@in_parent_mode
def team(request: HttpRequest, mode: ParentMode) -> HttpResponse:
    her = her_family(viewer=viewer_for(request), mode=mode)
    return render(request, "parentmode/team.html", layout(mode, "team", her, members=her_team(page=her)))


@require_GET
@in_parent_mode
def accounting(request: HttpRequest, mode: ParentMode) -> HttpResponse:
    her = her_family(viewer=viewer_for(request), mode=mode)
    return render(request, "parentmode/accounting.html", layout(mode, "accounting", her, a=her_accounting(page=her)))


@require_http_methods(["GET", "POST"])
@in_parent_mode
def leave(request: HttpRequest, mode: ParentMode) -> HttpResponse:
    """Give the tablet back: the staff member who started parent mode types her password."""
    full_name = getattr(request.user, "get_full_name", str)()
    staff_name = full_name or request.user.get_username()
    error = ""
    status = 200
    if request.method == "POST":
        outcome = parent_mode_leave(request=request, password=request.POST.get("password", ""))
        if outcome == LeaveOutcome.LEFT:
            with translation.override("en"):  # the sign-in page is the staff member's, in English
                messages.success(request, gettext("Parent mode has ended and you are signed out. Sign in to go on."))
            return redirect("login")
        if outcome == LeaveOutcome.PAUSED:
            error = gettext(
                "Too many wrong passwords. Giving the tablet back is paused for a while; the tablet stays in parent "
                "mode."
            )
            status = 429
        else:
            error = gettext("That password is not right. The tablet stays in parent mode.")
            status = 400
    return render(
        request,
        "parentmode/leave.html",
        layout(mode, "leave", staff_name=staff_name, error=error),
        status=status,
    )


@require_POST
@in_parent_mode
def language(request: HttpRequest, mode: ParentMode) -> HttpResponse:
    chosen = request.POST.get("language", "")
    if chosen in LANGUAGES:
        parent_mode_language(session=request.session, language=chosen)
    page = request.POST.get("page", "home")
    return redirect(f"parentmode:{page if page in PAGES else 'home'}")


@require_POST
@login_required
def start(request: HttpRequest, family_id: int) -> HttpResponse:
    """Hand her the tablet: only someone who may open the family (else 404, audited)."""
    if parent_mode_of(request.session) is not None:
        return redirect("parentmode:home")  # already in parent mode: no other family
    viewer = viewer_for(request)
    try:
        parent_mode_start(
            viewer=viewer,
            family_id=family_id,
            session=request.session,
            reader_person_id=_number(request.POST.get("reader")),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("families:detail", family_id=family_id)
    return redirect("parentmode:home")
