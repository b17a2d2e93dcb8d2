"""An authenticator app's key is kept encrypted (docs/security.md §37): someone who reads a
backup of the database must not be able to make valid codes.

django-otp's TOTP device stays the record (its throttling, its code check, its setup link),
extended by one table that holds the key sealed with sspr_site.field_keys. django-otp's own key
column holds only a marker that is not hexadecimal, so nothing reading that column directly can
make or check codes with it; it fails instead."""

from __future__ import annotations

import datetime
from binascii import unhexlify

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice

from sspr_site import field_keys

# What django-otp's key column holds for a sealed key: not hex, so unusable as a key.
SEALED = "sealed"
# The longest wait after wrong codes (AuthenticatorDevice.verify_is_allowed): a day.
LONGEST_WAIT_SECONDS = 24 * 3600


class AuthenticatorDevice(TOTPDevice):
    """A TOTP device whose key is kept sealed. Assign a hex key to `key` (a new device gets a
    random one) and saving seals it; read it only through `bin_key`."""

    sealed_key = models.TextField(
        editable=False, help_text=_("The app's key, encrypted; never shown.")
    )

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def __str__(self) -> str:
        return str(_("Authenticator app of %(user)s") % {"user": self.user_id})

    def save(self, *args, **kwargs):
        if self.key != SEALED:
            # A hex key on this object (a new device, or one given a new key): seal it.
            self.sealed_key = field_keys.seal(unhexlify(self.key.encode()))
            self.key = SEALED
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "key", "sealed_key"}
        super().save(*args, **kwargs)

    def verify_is_allowed(self):
        """django-otp's backoff after wrong codes (1, 2, 4… seconds), with the wait capped at
        LONGEST_WAIT_SECONDS. The device is the person's own, and anyone can type wrong codes
        for it at the reset portal: uncapped, twenty-five wrong codes would hold the person's
        right one back for half a year. Capped at a day, a guesser still gets one checked code
        a day once the wait has grown, about as few as uncapped, and the person's app works
        again a day after the last wrong code (docs/security.md §37)."""
        if (
            self.throttling_enabled
            and self.throttling_failure_count > 0
            and self.throttling_failure_timestamp is not None
        ):
            steps = min(self.throttling_failure_count - 1, 30)
            required = min(self.get_throttle_factor() * 2**steps, LONGEST_WAIT_SECONDS)
            until = self.throttling_failure_timestamp + datetime.timedelta(seconds=required)
            if timezone.now() < until:
                return False, {
                    "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                    "failure_count": self.throttling_failure_count,
                    "locked_until": until,
                }
        return True, None

    @property
    def bin_key(self) -> bytes:
        """The key; raises field_keys.InvalidToken when no configured key can open it."""
        if self.key != SEALED:
            return unhexlify(self.key.encode())
        return field_keys.open_sealed(self.sealed_key)

    def reseal_if_stale(self) -> bool:
        """Seal the key again under the newest field key, if it is not already. Return whether
        it was (and saved)."""
        if self.key != SEALED or field_keys.is_current(self.sealed_key):
            return False
        self.sealed_key = field_keys.reseal(self.sealed_key)
        type(self).objects.filter(pk=self.pk).update(sealed_key=self.sealed_key)
        return True
