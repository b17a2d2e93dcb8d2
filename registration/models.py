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
        null=True, blank=True, help_text=_("When the user first pressed Finish.")
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
