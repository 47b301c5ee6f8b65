from typing import Any

from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "kinfold.staff"
    label = "staff"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        # At sign-in, note once in her session whether a second step is due (her own app, or the deployment
        # requires one), so the middleware asks no database on later requests.
        from django.contrib.auth import signals

        from kinfold.staff import mfa
        from kinfold.staff.middleware import PENDING

        def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
            if request is not None and hasattr(request, "session"):
                request.session[PENDING] = mfa.second_factor_required(user)

        signals.user_logged_in.connect(on_login, dispatch_uid="kinfold_second_factor_pending", weak=False)
