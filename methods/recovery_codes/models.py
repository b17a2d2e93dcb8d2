"""One-time recovery codes, kept only as keyed hashes (codes.py): the codes themselves are
shown once, at setup, and never stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RecoveryCode(models.Model):
    """One code of a person's set. Spent by setting `used_at`, once (codes.py, spend)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        # No reverse accessor: the User model's names stay free (methods/checks.py).
        related_name="+",
        help_text=_("Whose code."),
    )
    digest = models.CharField(
        max_length=64, help_text=_("Keyed hash (HMAC-SHA256) of the code; never shown.")
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text=_("When the set was made."))
    used_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the code was spent at a password reset.")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="one_recovery_code_digest")
        ]
        indexes = [models.Index(fields=["user", "used_at"], name="recovery_code_unused")]
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return str(_("Recovery code of %(user)s") % {"user": self.user_id})
