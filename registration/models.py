"""Each user's registration record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Earlier migrations name these validators here.
from policy.models import validate_helpdesk_contact, validate_regions  # noqa: F401


class Registration(models.Model):
    """A user's registration: when they finished it and last confirmed it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sspr_registration",
        help_text=_("Whose registration."),
    )
    completed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_(
            "When the user's methods last came to meet the policy; empty while they do not."
        ),
    )
    last_confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the user last confirmed their methods.")
    )
    reconfirmation_required = models.BooleanField(
        default=False, help_text=_("The user must confirm their methods again.")
    )
    skips_used = models.PositiveSmallIntegerField(
        default=0, help_text=_("How often the user postponed registering at sign-in.")
    )
    reminded_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the user was last sent a registration reminder.")
    )

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def __str__(self) -> str:
        return str(_("Registration of %(user)s") % {"user": self.user_id})


class PreferredLanguage(models.Model):
    """The language a person reads (README, "Languages"): chosen with the footer's picker while
    signed in, else the page's language (the browser's) when they first sign in or set up a
    method. Everything sent to them later is written in it (registration/language.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="sspr_language",
        help_text=_("Whose language."),
    )
    # One of settings.LANGUAGES (checked when stored, so a new language needs no migration).
    language = models.CharField(max_length=16, help_text=_("The language they read."))
    # Chosen with the picker (True), or taken from the browser (False): a choice outranks the
    # directory's preferredLanguage, a browser's guess does not (directory/expiry_reminders.py).
    chosen = models.BooleanField(default=False, help_text=_("Chosen with the language picker."))
    updated_at = models.DateTimeField(auto_now=True, help_text=_("When it was last set."))

    class Meta:
        verbose_name = _("preferred language")
        verbose_name_plural = _("preferred languages")

    def __str__(self) -> str:
        return self.language


class CheckedImport(models.Model):
    """A contact file a dry run checked, kept so that the administrator who checked it can
    apply it without uploading it again, from whichever web host the next request reaches
    (README, "Administration"). The rows hold names, phones and addresses: the file is kept
    compressed and sealed under the field keys (sspr_site/field_keys.py), for an hour, and the
    key that applies it is stored only as its hash (registration/checked_imports.py)."""

    key = models.CharField(max_length=64, unique=True, help_text=_("Hash of the key."))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("The administrator who checked it."),
    )
    name = models.CharField(max_length=100, help_text=_("The uploaded file's name."))
    sealed = models.TextField(help_text=_("The file, compressed and sealed."))
    created_at = models.DateTimeField(db_index=True, help_text=_("When it was checked."))

    class Meta:
        verbose_name = _("checked contact file")
        verbose_name_plural = _("checked contact files")

    def __str__(self) -> str:
        return self.name
