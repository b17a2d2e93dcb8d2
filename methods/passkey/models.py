from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Passkey(models.Model):
    """A passkey or security key registered for password reset: its public key only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sspr_passkeys",
        help_text=_("Whose key."),
    )
    name = models.CharField(max_length=60, help_text=_("The name its owner gave it."))
    credential_id = models.CharField(
        max_length=1400, unique=True, help_text=_("The credential's id (base64url).")
    )
    public_key = models.BinaryField(help_text=_("The credential's public key (COSE)."))
    sign_count = models.PositiveBigIntegerField(
        default=0, help_text=_("The authenticator's signature counter at its last use.")
    )
    created_at = models.DateTimeField(auto_now_add=True, help_text=_("When it was added."))
    last_used_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When it last proved its owner at reset.")
    )

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("passkey")
        verbose_name_plural = _("passkeys")

    def __str__(self) -> str:
        return self.name
