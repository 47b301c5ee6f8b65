"""The second factor: an authenticator app (TOTP, django-otp) and single-use recovery codes.

Every staff account signs in with a password and a code from her phone when the deployment requires it
(``KINFOLD_REQUIRE_MFA``, on by default outside the demo), and always once she has enrolled. A wrong code
counts toward the same lock-out as a wrong password (django-axes: per username and address), and the
device itself slows repeated guesses (django-otp's throttling). Recovery codes are shown once, each works
once; a lead can reset a colleague's second factor when both her phone and her codes are lost.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import signals
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import record_event
from kinfold.web import qr as web_qr

RECOVERY_CODE_COUNT = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
_CODE = re.compile(r"^\d{6}$")


def second_factor_required(user: Any) -> bool:
    """Whether this account must give a second factor to sign in: always once she has enrolled one."""
    return bool(settings.KINFOLD_REQUIRE_MFA) or has_authenticator(user)


def has_authenticator(user: Any) -> bool:
    return bool(user.is_authenticated) and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def has_any_device(user: Any) -> bool:
    return bool(user_has_device(user, confirmed=True))


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def enrolment_device(user: Any) -> TOTPDevice:
    """Her enrolment in progress: one unconfirmed device, kept across reloads so the QR code does not change."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def secret_for_typing(device: TOTPDevice) -> str:
    """The key in base32, in groups of four, for typing into an app when the QR code cannot be scanned."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The enrolment QR code as inline SVG (made here: no image service ever sees the key)."""
    return web_qr.qr_svg(device.config_url)


@transaction.atomic
def confirm_enrolment(request: HttpRequest, user: Any, code: str) -> list[str] | None:
    """Her first code confirms the app: it replaces any earlier app, the session counts as verified, and she
    gets a fresh set of recovery codes (returned to be shown once). None if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    code = normalise(code)
    if device is None or not _CODE.match(code) or not device.verify_token(code):
        record_event(actor=user, action=Action.UPDATE, outcome=Outcome.DENIED, detail={"event": "mfa_enrol_failed"})
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = new_recovery_codes(user)
    otp_login(request, device)
    record_event(actor=user, action=Action.UPDATE, detail={"event": "mfa_enrolled"})
    return codes


def new_recovery_codes(user: Any) -> list[str]:
    """Ten new single-use recovery codes; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [f"{t[:4]}-{t[4:]}" for t in (StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT))]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=normalise(c)) for c in codes])
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return codes


def normalise(code: str) -> str:
    """What she types, as stored: no spaces or dashes, lower case (recovery codes are letters and digits)."""
    return re.sub(r"[\s-]", "", code or "").lower()


class Locked(Exception):
    """Too many wrong passwords or codes: the account is locked out for this address for a while."""


def verify(request: HttpRequest, user: Any, code: str) -> Any:
    """Check her second factor (a 6-digit app code or a recovery code). On success the session is verified;
    a wrong code counts toward the lock-out, and ``Locked`` is raised once it is reached."""
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        raise Locked
    token = normalise(code)
    device = None
    if token:
        with transaction.atomic():
            kinds = [TOTPDevice] if _CODE.match(token) else [StaticDevice]
            for model in kinds:
                for candidate in model.objects.select_for_update().filter(user=user, confirmed=True):
                    allowed, _ = candidate.verify_is_allowed()
                    if allowed and candidate.verify_token(token):
                        device = candidate
                        break
    if device is None:
        # The same signal a wrong password sends: django-axes counts it (and the audit trail records it).
        signals.user_login_failed.send(
            sender=__name__, credentials={**credentials, "factor": "second"}, request=request
        )
        if AxesProxyHandler.is_locked(request, credentials):
            raise Locked
        return None
    otp_login(request, device)
    signed_in(request, user)
    record_event(
        actor=user,
        action=Action.LOGIN,
        detail={"event": "second_factor", "with": "recovery_code" if isinstance(device, StaticDevice) else "app"},
    )
    return device


def signed_in(request: HttpRequest, user: Any) -> None:
    """She is fully signed in: her earlier failures from this address no longer count."""
    AxesProxyHandler.reset_attempts(ip_address=get_client_ip_address(request), username=user.get_username())


def forget_devices(user: Any) -> None:
    """Remove her authenticator app and recovery codes (a lead's reset, or her own replacement)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
