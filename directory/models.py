"""Who in this site came from the directory, and when they were last seen there."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
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
    entry_id = models.CharField(
        _("entry id"),
        max_length=64,
        blank=True,
        default="",
        # In the table too: a host still on the release before writes rows without it.
        db_default="",
        # A renamed entry is found by it (mirror.follow_renames).
        db_index=True,
        help_text=_(
            "The entry's lasting id in the directory (entryUUID, or objectGUID in hex): a name "
            "given again to someone new names another entry."
        ),
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


class PasswordScan(models.Model):
    """One read of everyone's password life for the helpdesk's list (directory.password_life):
    when it was read, how many people it read, and whether it was read to the end. Only the
    newest complete scan is shown; a new one replaces the older ones."""

    read_at = models.DateTimeField(_("read at"))
    scanned = models.PositiveIntegerField(_("people read"), default=0)
    complete = models.BooleanField(_("complete"), default=False)
    # A minute's freshness counts from here, as the cache's minute did from the end of the read.
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("directory password scan")
        verbose_name_plural = _("directory password scans")
        indexes = [models.Index(fields=["complete", "read_at"])]

    def __str__(self) -> str:
        return f"{self.read_at:%Y-%m-%d %H:%M:%S} ({self.scanned})"


class PasswordLife(models.Model):
    """One watched person of a scan (whose password expires within 90 days, must change or is
    locked): plain values, the email already masked (docs/security.md rules 20 and 48: the list
    is the helpdesk's, which sees addresses masked)."""

    # Indexed by the indexes below, each of which starts with the scan.
    scan = models.ForeignKey(
        PasswordScan, on_delete=models.CASCADE, related_name="lives", db_index=False
    )
    username = models.CharField(_("username"), max_length=255)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    email = models.CharField(_("masked email"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=35, blank=True)
    expires_at = models.DateTimeField(_("password expires at"), null=True, blank=True)
    must_change = models.BooleanField(_("must change"), default=False)
    locked = models.BooleanField(_("locked"), default=False)

    class Meta:
        verbose_name = _("directory password life")
        verbose_name_plural = _("directory password lives")
        indexes = [
            # The list's sorts (helpdesk.password_life), each within one scan; "expires" also
            # serves the expired and expiring filters.
            models.Index(fields=["scan", "username"], name="directory_life_username"),
            models.Index(fields=["scan", "expires_at", "username"], name="directory_life_expires"),
            models.Index(
                F("scan"),
                Lower("last_name"),
                Lower("first_name"),
                F("username"),
                name="directory_life_name",
            ),
        ]

    def __str__(self) -> str:
        return self.username
