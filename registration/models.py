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
