"""Real parts the tests share: an SMTP server on loopback, the audit triggers switched off for a flush, and the
password hasher the tests use (Argon2, cheaply)."""

from __future__ import annotations

import importlib
import re
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection
from django.test import Client

_AUDIT_TRIGGERS = importlib.import_module("kinfold.audit.migrations.0003_sealed_by_the_sealer")


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id, as every deployment hashes, with its cheapest cost: Django's defaults (2 passes over 100 MiB, 8
    lanes) take some 125 ms a password on a CI core, and the suite makes thousands of accounts. The same
    algorithm, encoding and verification (a hash records its own cost, so the deployment's hasher verifies it);
    only the time a guess costs differs, which no test measures. ``tests/conftest.py`` puts it first under
    pytest only (never in settings: a deployment, the benchmarks and the crash drill's gunicorn keep the full
    cost)."""

    time_cost = 1
    memory_cost = 64  # KiB
    parallelism = 1


def set_audit_triggers(*, enabled: bool) -> None:
    """The audit trail's append-only triggers refuse DELETE and TRUNCATE, on purpose; a transactional test
    ends with pytest-django's flush, so the triggers are switched off for the flush only."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE audit_auditevent {'ENABLE' if enabled else 'DISABLE'} TRIGGER USER")
        elif connection.vendor == "sqlite":
            for statement in _AUDIT_TRIGGERS.SQLITE_FORWARD if enabled else _AUDIT_TRIGGERS.SQLITE_BACKWARD:
                cursor.execute(statement)


@dataclass
class SmtpServer:
    """An aiosmtpd handler that keeps every message it accepts, with its (sorted) recipients."""

    host: str
    port: int
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (sorted(envelope.rcpt_tos), message_from_bytes(envelope.original_content, policy=policy.default))
        )
        self.received.set()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [message for recipients, message in self.messages if address in recipients]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def use_smtp(settings: Any, port: int) -> None:
    """Point Django's SMTP backend at 127.0.0.1:``port``."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "kinfold@example.org"


def text(response: Any) -> str:
    """A response's HTML with runs of whitespace made one space, for asserting on what a page says."""
    return re.sub(r"\s+", " ", response.content.decode())


def client_for(membership: Any) -> Client:
    """A test client signed in as this staff member."""
    client = Client()
    client.force_login(membership.user)
    return client
