"""Temporary access passes: what the helpdesk gives a person who has lost every method, or a
new starter, to sign in once (or for a while), register methods and set a new password
(the README's "Temporary access pass").

A pass is kept only as a keyed hash, like a one-time code (methods.models.VerificationCode):
its readable form exists once, in the page or file that hands it over.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

# No look-alikes: no 0/O, 1/I/L. 31 symbols, 16 of them: 79 bits (at least 60 are asked for).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 16
GROUP = 4
# A request for a privileged account must be approved, and an approved one shown, within this.
APPROVAL_MINUTES = 15


def new_pass() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def grouped(value: str) -> str:
    """ABCD-EFGH-JKMN-PQRS: easier to read out and to type."""
    return "-".join(value[i : i + GROUP] for i in range(0, len(value), GROUP))


def normalised(typed: str) -> str:
    """What was typed, as issued: small letters, spaces and dashes forgiven."""
    return "".join(ch for ch in typed.upper() if ch not in " -\t")


class Verification(models.TextChoices):
    CALLER_CHECK = "caller_check", _("Caller check with a registered method")
    IN_PERSON = "in_person", _("Identity checked in person")
    ONBOARDING = "onboarding", _("New starter (issued by an administrator's command)")


class EndReason(models.TextChoices):
    EXPIRED = "expired", _("Expired")
    REPLACED = "replaced", _("Replaced by a newer pass")
    APPROVAL_LAPSED = "approval_lapsed", _("Not approved or shown in time")
    PASSWORD_RESET = "password_reset", _("Ended by the person's password reset")
    DATA_REMOVED = "data_removed", _("Ended when the account's recovery data was removed")
    REPORTED = "reported", _("Ended when the person reported a change as not theirs")


class AccessPass(models.Model):
    """One pass for one person. At most one is open (waiting for approval, or issued and not
    yet ended) per person: a new one ends the old one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="access_passes",
        help_text=_("Whose account the pass signs in to."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The helpdesk agent who asked for it (empty: a command)."),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The second person, for an administrator account."),
    )
    verification = models.CharField(
        max_length=16, choices=Verification.choices, help_text=_("How the person was verified.")
    )
    check_method = models.CharField(
        max_length=32, blank=True, help_text=_("The method of the caller check, by kind.")
    )
    note = models.CharField(max_length=500, help_text=_("What the agent noted about the check."))
    needs_approval = models.BooleanField(
        default=False, help_text=_("An administrator account: two people.")
    )
    single_use = models.BooleanField(default=True, help_text=_("Works for one sign-in only."))
    lifetime_minutes = models.PositiveSmallIntegerField(
        default=60, help_text=_("How long it works after it is shown.")
    )
    requested_at = models.DateTimeField(default=timezone.now, help_text=_("When it was asked for."))
    approved_at = models.DateTimeField(null=True, blank=True, help_text=_("When it was approved."))
    deadline = models.DateTimeField(
        null=True, blank=True, help_text=_("Approve or show it before this, or it lapses.")
    )
    issued_at = models.DateTimeField(null=True, blank=True, help_text=_("When it was shown."))
    expires_at = models.DateTimeField(null=True, blank=True, help_text=_("When it stops working."))
    digest = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        help_text=_("Keyed hash of the pass while it can sign in; never the pass."),
    )
    uses = models.PositiveIntegerField(default=0, help_text=_("Sign-ins made with it."))
    last_used_at = models.DateTimeField(null=True, blank=True, help_text=_("Last sign-in."))
    ended_at = models.DateTimeField(null=True, blank=True, help_text=_("When it ended."))
    end_reason = models.CharField(
        max_length=16, choices=EndReason.choices, blank=True, help_text=_("Why it ended.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(ended_at__isnull=True),
                name="one_open_access_pass_per_person",
            )
        ]
        indexes = [models.Index(fields=["ended_at", "expires_at"])]
        ordering = ["-requested_at", "-pk"]
        default_permissions = ("view",)
        permissions = [
            ("approve_access_pass", _("Can approve temporary access passes for administrators"))
        ]
        verbose_name = _("temporary access pass")
        verbose_name_plural = _("temporary access passes")

    def __str__(self) -> str:
        return str(_("Temporary access pass of %(user)s") % {"user": self.user_id})

    # --- the secret --------------------------------------------------------------------------

    def _digest(self, value: str) -> str:
        bound = f"{self.pk}|{self.user_id}|{self.issued_at.isoformat()}|{value}"
        return salted_hmac("accesspass.AccessPass", bound, algorithm="sha256").hexdigest()

    def issue(self, now=None) -> str:
        """Make the pass, keep only its keyed hash, and return it once, grouped for reading."""
        now = now or timezone.now()
        value = new_pass()
        self.issued_at = now
        self.expires_at = now + timedelta(minutes=self.lifetime_minutes)
        self.digest = self._digest(value)
        self.save(update_fields=["issued_at", "expires_at", "digest"])
        return grouped(value)

    def matches(self, typed: str) -> bool:
        if not self.digest or self.issued_at is None:
            return False
        return constant_time_compare(self.digest, self._digest(normalised(typed)))

    # --- its state ---------------------------------------------------------------------------

    @property
    def waiting(self) -> bool:
        """Asked for, not yet shown, not ended."""
        return self.ended_at is None and self.issued_at is None

    def usable(self, now=None) -> bool:
        now = now or timezone.now()
        return bool(self.digest) and self.ended_at is None and self.expires_at > now
