from typing import Any

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "kinfold.web"
    label = "web"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from kinfold.prepared import utc_timestamps_in_c

        connection_created.connect(utc_timestamps_in_c, dispatch_uid="kinfold_utc_timestamps_in_c")

        # Sign-ins and sign-outs belong in the audit trail; Django announces them with its auth signals.
        from django.contrib.auth import signals

        from kinfold.audit.models import Action, Outcome
        from kinfold.audit.services import record_event

        def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
            record_event(actor=user, action=Action.LOGIN)

        def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
            if user is not None:
                record_event(actor=user, action=Action.LOGOUT)

        def on_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
            record_event(
                actor=None,
                action=Action.LOGIN_FAILED,
                outcome=Outcome.DENIED,
                detail={"username": str(credentials.get("username", ""))[:150]},
            )

        signals.user_logged_in.connect(on_login, dispatch_uid="kinfold_audit_login", weak=False)
        signals.user_logged_out.connect(on_logout, dispatch_uid="kinfold_audit_logout", weak=False)
        signals.user_login_failed.connect(on_failed, dispatch_uid="kinfold_audit_login_failed", weak=False)
