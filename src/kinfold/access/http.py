"""http.py — the one way a view or an API endpoint learns who is asking. ``NotPermitted`` (a 404) covers the
other half: a view never writes its own "may she?" check."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from kinfold.access.viewer import Viewer

NO_ROLE = "Your account has no role in an organisation, so it cannot open family records."


def viewer_for(request: HttpRequest) -> Viewer:
    """The signed-in viewer; an account without a role in an organisation is refused (403) at once."""
    viewer = Viewer.of(request.user)
    if not viewer.may_see_family_data:
        raise PermissionDenied(NO_ROLE)
    return viewer
