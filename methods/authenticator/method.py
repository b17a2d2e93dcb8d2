"""The authenticator app: a six-digit code that changes every 30 seconds (TOTP), from an app
the person set up by scanning a QR code. Kept as django-otp's TOTP device with its key sealed
(models.py); the key never leaves the setup page, and only until the first code confirms it."""

from __future__ import annotations

import logging
import secrets
import time
from functools import lru_cache

from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from methods.base import Method, MethodState, MethodStatus
from methods.conf import app_settings as methods_settings
from methods.waits import wait_message
from sspr_site import field_keys

from .models import SEALED, AuthenticatorDevice

# The session's key being set up (its device's id, when it was made, and whether in a sitting
# proven with a registered method): an hour to scan it and type a first code (views.py).
PENDING_KEY = "sspr_authenticator_pending"
PENDING_SECONDS = 3600

logger = logging.getLogger("sspr.methods")

KIND = "authenticator_app"
SET_UP = _("Ready to use")
# What its setup page's right first code is told (views.py), or a second tab that sent it too.
SET_UP_MESSAGE = _("Authenticator app set up.")
DRIFT_STEPS = 1  # one 30-second step either way (docs/security.md §37)


def confirmed_devices(user_id) -> QuerySet:
    return AuthenticatorDevice.objects.filter(user_id=user_id, confirmed=True)


@lru_cache(maxsize=4)
def _stand_in_key(_keys: tuple) -> str:
    """A random key sealed under the current field keys, opened for someone without a device
    so that they cost the same work (docs/security.md §12)."""
    return field_keys.seal(secrets.token_bytes(20))


def _key(device: AuthenticatorDevice) -> bytes | None:
    try:
        return device.bin_key
    except field_keys.InvalidToken:
        # The field keys changed without keeping the one that sealed this key: the app can
        # no longer be checked. The person sets it up again (README, "Configuration").
        logger.error("authenticator key cannot be opened device=%s", device.pk)
        return None


def check_code(user_id: int | None, code: str) -> bool:
    """Check a code against the person's confirmed device, once: a code used is refused again
    within its window, and failures back off (django-otp's throttling). Someone without a
    device costs the same work and the same queries, and never passes (docs/security.md §12)."""
    with transaction.atomic():
        device = confirmed_devices(user_id or 0).select_for_update().first()
        target = device or AuthenticatorDevice(
            key=SEALED, sealed_key=_stand_in_key(field_keys.current_keys()), pk=0
        )
        allowed = target.verify_is_allowed()[0]
        key = _key(target)
        totp = TOTP(key or b"\0" * 20, target.step, target.t0, target.digits, 0)
        totp.time = time.time()
        matches = code.isdigit() and totp.verify(int(code), DRIFT_STEPS, target.last_t + 1)
        ok = allowed and matches and key is not None and device is not None
        # One write either way; a try during the backoff is not counted (as for sent codes).
        rows = TOTPDevice.objects.filter(pk=target.pk if allowed else -1)
        if ok:
            rows.update(
                last_t=totp.t(),
                throttling_failure_count=0,
                throttling_failure_timestamp=None,
                last_used_at=timezone.now(),
            )
            device.reseal_if_stale()  # moves to the newest field key as it is used
        else:
            rows.update(
                throttling_failure_count=F("throttling_failure_count") + 1,
                throttling_failure_timestamp=timezone.now(),
            )
    return ok


class AuthenticatorAppMethod(Method):
    kind = KIND
    proof_strength = 40
    slug = "authenticator"
    key = "authenticator"
    label = _("Authenticator app")
    summary = _(
        "An app on your phone, such as a password manager or an authenticator, that shows a "
        "new six-digit code every 30 seconds. Works without signal."
    )
    enabled_by_default = True
    setup_urlconf = "methods.authenticator.setup_urls"
    reset_urlconf = "methods.authenticator.reset_urls"
    caller_check = "ask"
    caller_check_prompt = _("The 6 digits the caller's app shows now.")

    def load_one(self, queryset: QuerySet) -> QuerySet:
        # When the confirmed app was added (the latest, as MAX: no sort); none, when there is
        # none.
        devices = confirmed_devices(OuterRef("pk")).order_by().values("user_id")
        return queryset.annotate(
            sspr_one_authenticator_at=Subquery(
                devices.annotate(at=Max("created_at")).values("at")[:1]
            )
        )

    def from_row(self, row):
        return None if row is None else row.sspr_one_authenticator_at

    def status(self, methods, policy) -> MethodStatus:
        since = methods[self.key]
        if since is None:
            return MethodStatus(self, MethodState.NOT_SET)
        text = str(SET_UP)
        return MethodStatus(self, MethodState.VERIFIED, value=text, masked=text, updated_at=since)

    def remove(self, user) -> tuple[bool, list[str]]:
        return bool(TOTPDevice.objects.filter(user=user).delete()[0]), []

    def count_condition(self, policy) -> Q:
        return Q(Exists(confirmed_devices(OuterRef("pk"))))

    def masked_many(self, values: dict) -> str:
        return str(SET_UP) if values[self.flag_name] else ""

    def check_caller(self, *, request, user, code: str) -> bool:
        """The helpdesk's caller check: the caller reads a current code from their app."""
        return check_code(user.pk, code)

    def change_begun_with_proof(self, request) -> bool:
        # The key being set up was made in a proven sitting, and no longer ago than a sent
        # code lasts (views.py, _pending_device).
        held = request.session.get(PENDING_KEY)
        return (
            isinstance(held, dict)
            and held.get("proved") is True
            and isinstance(held.get("at"), int | float)
            and time.time() - held["at"] < methods_settings.CODE_VALID_SECONDS
        )

    def confirmed_meanwhile(self, request) -> str:
        held = request.session.get(PENDING_KEY)
        if not isinstance(held, dict) or not isinstance(held.get("id"), int):
            return ""
        if not confirmed_devices(request.user.pk).filter(pk=held["id"]).exists():
            return ""
        return str(SET_UP_MESSAGE)

    def caller_wait(self, *, user) -> str:
        device = confirmed_devices(user.pk).first()
        if device is None or device.verify_is_allowed()[0]:
            return ""
        return wait_message(device)
