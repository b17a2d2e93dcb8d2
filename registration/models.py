"""The registration policy and each user's registration record."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_regions(value: str) -> None:
    unknown = [code for code in parse_regions(value) if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValidationError(
            _("Unknown country codes: %(codes)s. Use two-letter codes such as GB, DE, US."),
            params={"codes": ", ".join(unknown)},
            code="unknown_region",
        )


def parse_regions(value: str) -> list[str]:
    return [code.strip().upper() for code in value.replace(";", ",").split(",") if code.strip()]


class Policy(models.Model):
    """What users must register. There is exactly one row; Policy.load() returns it."""

    office_phone_enabled = models.BooleanField(
        _("office phone"),
        default=False,
        help_text=_("Count the office phone an administrator set as a method."),
    )
    phone_sms_enabled = models.BooleanField(
        _("authentication phone by text message"),
        default=True,
        help_text=_("Users may receive codes by text message."),
    )
    phone_voice_enabled = models.BooleanField(
        _("authentication phone by voice call"),
        default=True,
        help_text=_("Users may receive codes by a call that reads the code out."),
    )
    email_enabled = models.BooleanField(
        _("authentication email"), default=True, help_text=_("Users may register an email address.")
    )
    questions_enabled = models.BooleanField(
        _("security questions"), default=True, help_text=_("Users may answer security questions.")
    )
    methods_required = models.PositiveSmallIntegerField(
        _("methods required to register"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(2)],
        help_text=_("How many verified methods a user needs before Finish (1 or 2)."),
    )
    questions_required = models.PositiveSmallIntegerField(
        _("questions to register"),
        default=3,
        validators=[MinValueValidator(3), MaxValueValidator(5)],
        help_text=_("How many questions a user answers (3 to 5)."),
    )
    allowed_regions = models.CharField(
        _("allowed phone regions"),
        max_length=500,
        blank=True,
        validators=[validate_regions],
        help_text=_(
            "Two-letter country codes, separated by commas (GB, DE, US). Empty allows every "
            "country."
        ),
    )
    helpdesk_contact = models.CharField(
        _("helpdesk contact"),
        max_length=200,
        blank=True,
        help_text=_(
            "An email address or a web address shown on every page for people who need help."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True, help_text=_("Last change."))

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policy")

    def __str__(self) -> str:
        return str(_("Password reset policy"))

    def save(self, *args, **kwargs):
        self.pk = 1  # one policy
        super().save(*args, **kwargs)

    def clean(self) -> None:
        enabled = self.enabled_method_count
        if enabled == 0:
            raise ValidationError(_("Enable at least one method."), code="no_method")
        if enabled < self.methods_required:
            raise ValidationError(
                {
                    "methods_required": _(
                        "Only %(enabled)d method is enabled, fewer than the %(required)d "
                        "required. Enable more methods or require fewer."
                    )
                    % {"enabled": enabled, "required": self.methods_required}
                },
                code="too_few_methods",
            )

    @classmethod
    def load(cls) -> Policy:
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy

    @property
    def enabled_method_count(self) -> int:
        from methods.registry import enabled_methods  # noqa: PLC0415  (avoids an import cycle)

        return len(enabled_methods(self))

    @property
    def region_list(self) -> list[str]:
        return parse_regions(self.allowed_regions)

    @property
    def helpdesk_is_email(self) -> bool:
        return "@" in self.helpdesk_contact and "://" not in self.helpdesk_contact


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

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def __str__(self) -> str:
        return str(_("Registration of %(user)s") % {"user": self.user_id})
