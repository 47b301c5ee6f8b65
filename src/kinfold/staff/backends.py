"""The sign-in backend: Django's own (passwords, ``is_active``), reading the signed-in person on each request with her
membership and its organisation in one prepared statement. Every page asks who she works for (``Viewer.of``); read
apart, that was a second query on every request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import QuerySet

from kinfold.prepared import prepared_list


def _user_with_membership(user_id: Any) -> QuerySet[Any]:
    users = get_user_model()._default_manager
    return users.select_related("membership__organization").filter(pk=user_id).order_by("pk")[:1]


class StaffBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = next(iter(prepared_list("staff.signed_in_user", _user_with_membership, user_id)), None)
        return user if user is not None and self.user_can_authenticate(user) else None
