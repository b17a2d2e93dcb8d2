"""Who in this site came from the directory, and when they were last seen there."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DirectoryAccount(models.Model):
    """The link between a mirrored person and their directory entry."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="directory_account",
        help_text=_("The mirrored account."),
    )
    dn = models.CharField(
        _("distinguished name"), max_length=1000, help_text=_("The entry in the directory.")
    )
    seen_run = models.PositiveBigIntegerField(
        default=0, help_text=_("The last directory sync that found this person in scope.")
    )
    left_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text=_("When the person was no longer found in the directory's scope."),
    )
    data_removed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When their recovery data was removed after leaving.")
    )

    class Meta:
        verbose_name = _("directory account")
        verbose_name_plural = _("directory accounts")
        indexes = [models.Index(fields=["seen_run"])]

    def __str__(self) -> str:
        return self.dn


class ExpiryReminder(models.Model):
    """A password expiry reminder sent (or passed over as already late), so that a person gets
    each reminder once for each expiry (the README's "Directory")."""

    username = models.CharField(_("username"), max_length=150)
    expires_on = models.DateField(_("password expires on"))
    days = models.PositiveSmallIntegerField(_("days before expiry"))
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("password expiry reminder")
        verbose_name_plural = _("password expiry reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["username", "expires_on", "days"], name="one_expiry_reminder_each"
            )
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.expires_on} -{self.days}"
