"""The one policy: who may use the service, which recovery methods they may use and how many
they need. Every app reads it; it depends only on the method registry."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import (
    EmailValidator,
    MaxValueValidator,
    MinValueValidator,
    URLValidator,
)
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy as ngettext

from methods.registry import REGISTRY, enabled_methods
from sspr_site import shared_cache
from sspr_site.request_memo import request_memo


def validate_regions(value: str) -> None:
    unknown = [code for code in parse_regions(value) if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ValidationError(
            _("Unknown country codes: %(codes)s. Use two-letter codes such as GB, DE, US."),
            params={"codes": ", ".join(unknown)},
            code="unknown_region",
        )


def contact_link(value: str) -> str:
    value = value.strip()
    try:
        EmailValidator()(value)
        return f"mailto:{value}"
    except ValidationError:
        pass
    try:
        URLValidator(schemes=["https"])(value)
        return value
    except ValidationError:
        return ""


def validate_helpdesk_contact(value: str) -> None:
    """Refuse anything that looks like a link but is neither an email nor an https address (a
    page served over plain http could be changed on its way to the person)."""
    if ":" in value and not contact_link(value):
        raise ValidationError(
            _("Use an email address, a web address starting with https://, or plain text."),
            code="unsafe_link",
        )


def parse_regions(value: str) -> list[str]:
    return [code.strip().upper() for code in value.replace(";", ",").split(",") if code.strip()]


CACHE_KEY = "sspr:policy"
CACHE_SECONDS = 300


def _forget_cached() -> None:
    shared_cache.forget(CACHE_KEY)


def option_field_name(method, name: str) -> str:
    """The admin form's field for one option of one method."""
    return f"method__{method.key}__{name}"


class Scope(models.TextChoices):
    NOBODY = "nobody", _("Nobody")
    GROUP = "group", _("Members of one group")
    EVERYONE = "everyone", _("Everyone")


def reminder_days(value: str) -> list[int]:
    """The days of `value` ("14,7,3,1"), largest first; ValueError when it is not that."""
    parts = [part.strip() for part in (value or "").split(",") if part.strip()]
    days = sorted({int(part) for part in parts if _whole(part)}, reverse=True)
    if len(days) != len(parts) or any(not 1 <= day <= 365 for day in days):
        raise ValueError(value)
    return days


def _whole(part: str) -> bool:
    # Digits 0-9 only: "²" is a digit to str.isdigit() but no number to int().
    return part.isascii() and part.isdigit()


def validate_reminder_days(value: str) -> None:
    try:
        reminder_days(value)
    except ValueError:
        parts = [part.strip() for part in (value or "").split(",") if part.strip()]
        numbers = [int(part) for part in parts if _whole(part) and 1 <= int(part) <= 365]
        if len(numbers) == len(parts) and len(set(numbers)) < len(numbers):
            twice = next(day for day in numbers if numbers.count(day) > 1)
            raise ValidationError(
                _("List each day once: %(day)d is listed more than once.") % {"day": twice},
                code="reminder_days_repeated",
            ) from None
        raise ValidationError(
            _("Type whole numbers of days from 1 to 365, separated by commas, e.g. 14,7,3,1."),
            code="reminder_days",
        ) from None


class Policy(models.Model):
    """What users must register. There is exactly one row; Policy.load() returns it."""

    scope = models.CharField(
        _("enabled for"),
        max_length=10,
        choices=Scope.choices,
        default=Scope.EVERYONE,
        help_text=_("Who may register and reset their password here."),
    )
    scope_group = models.ForeignKey(
        "auth.Group",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("With “Members of one group”: the group."),
    )

    method_options = models.JSONField(
        _("method options"),
        default=dict,
        blank=True,
        help_text=_(
            "Each recovery method's settings, by method: whether it is enabled and its own "
            "options. Edited through the method fields of this form."
        ),
    )
    methods_required = models.PositiveSmallIntegerField(
        _("methods required to register"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(2)],
        help_text=_("How many verified methods a user needs to complete registration (1 or 2)."),
    )
    reset_methods_required = models.PositiveSmallIntegerField(
        _("methods required to reset"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(2)],
        help_text=_("How many methods a user must pass to reset or unlock (1 or 2)."),
    )
    questions_alone_allowed = models.BooleanField(
        _("let security questions alone be enough"),
        default=False,
        help_text=_(
            "Risky: answers to security questions can often be found out or guessed, so by "
            "default they count only beside another method. Turned on, a person whose policy "
            "asks for one method may reset with their questions alone. Administrator accounts "
            "never can."
        ),
    )
    reminders_enabled = models.BooleanField(
        _("send registration reminders"),
        default=True,
        help_text=_(
            "Administrators (and a scheduled job) may email people who have not registered, or "
            "must confirm again, a reminder with a link to register. Off: no reminder is sent."
        ),
    )
    reminder_interval_days = models.PositiveSmallIntegerField(
        _("days between reminders"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Nobody gets a reminder more often than this (1 to 365 days)."),
    )
    expiry_reminder_days = models.CharField(
        _("password expiry reminders (days before)"),
        max_length=60,
        default="14,7,3,1",
        blank=True,
        validators=[validate_reminder_days],
        help_text=_(
            "Directory mode: people are reminded this many days before their directory "
            "password expires, once each, e.g. 14,7,3,1. Empty: no expiry reminders."
        ),
    )
    expiry_reminder_email = models.BooleanField(
        _("expiry reminders by email"),
        default=True,
        help_text=_("To the personal address the person proved, or, without one, the directory's."),
    )
    expiry_reminder_text = models.BooleanField(
        _("expiry reminders by text message"),
        default=False,
        help_text=_("Also to the authentication phone the person proved."),
    )
    reconfirm_days = models.PositiveSmallIntegerField(
        _("reconfirm after (days)"),
        default=180,
        validators=[MaxValueValidator(730)],
        help_text=_("Ask users to confirm their methods again after this many days (0 = never)."),
    )
    require_registration_at_sign_in = models.BooleanField(
        _("require registration at sign-in"),
        default=True,
        help_text=_(
            "After signing in, users who have not registered, or must confirm again, are sent "
            "to the registration page first."
        ),
    )
    skips_allowed = models.PositiveSmallIntegerField(
        _("skips allowed"),
        default=3,
        validators=[MaxValueValidator(5)],
        help_text=_("How many times a user may postpone registering at sign-in (0 to 5)."),
    )
    notify_users_on_reset = models.BooleanField(
        _("notify users when their password is reset"),
        default=True,
        help_text=_("Send a notice to the user's addresses after each reset or unlock."),
    )
    notify_admins_on_admin_reset = models.BooleanField(
        _("notify all administrators when an administrator resets"),
        default=True,
        help_text=_("Tell every other administrator when a staff account resets its password."),
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
        validators=[validate_helpdesk_contact],
        help_text=_(
            "An email address or a web address shown on every page for people who need help."
        ),
    )
    # Temporary access passes (accesspass/, the README's "Temporary access pass").
    access_pass_lifetime_minutes = models.PositiveSmallIntegerField(
        _("temporary access pass lifetime (minutes)"),
        default=60,
        validators=[MinValueValidator(10), MaxValueValidator(480)],
        help_text=_(
            "How long a temporary access pass from the helpdesk works after it is shown "
            "(10 minutes to 8 hours). Sessions opened with it end when it does."
        ),
    )
    access_pass_single_use = models.BooleanField(
        _("temporary access passes work once"),
        default=True,
        help_text=_(
            "On: a pass signs the person in once. Off: it may be used again until it expires."
        ),
    )
    # Proof before change: a method added or replaced by someone who already had methods
    # cools off (methods/cooling.py, docs/security.md rule 69).
    cooling_off_hours = models.PositiveSmallIntegerField(
        _("cooling-off period (hours)"),
        default=24,
        validators=[MaxValueValidator(72)],
        help_text=_(
            "A method someone adds or replaces while they already have methods does not count "
            "for a password reset on its own for this long (0 to 72 hours): only together with "
            "a method they had before. A first registration, and methods added with a "
            "temporary access pass, do not cool off. 0 turns this off."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True, help_text=_("Last change."))

    class Meta:
        db_table = "registration_policy"  # where the policy was first kept
        verbose_name = _("policy")
        verbose_name_plural = _("policy")

    def __str__(self) -> str:
        return str(_("Password reset policy"))

    def save(self, *args, **kwargs):
        self.pk = 1  # one policy
        super().save(*args, **kwargs)
        memo = request_memo.get()
        if memo is not None:
            memo.pop("policy", None)  # the rest of this request reads what was saved
        # Every process reads the saved policy next (now, and again once the change is
        # committed, in case a read in between cached the old one).
        _forget_cached()
        transaction.on_commit(_forget_cached)

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        enabled = self.enabled_method_count
        if enabled == 0:
            raise ValidationError(_("Enable at least one method."), code="no_method")
        for field in ("methods_required", "reset_methods_required"):
            required = getattr(self, field) or 0
            # A value outside 1-2 already has the field's own message; say nothing more.
            if required in (1, 2) and enabled < required:
                errors[field] = ValidationError(
                    ngettext(
                        "Only %(enabled)d method is enabled, fewer than the %(required)d "
                        "required. Enable more methods or require fewer.",
                        "Only %(enabled)d methods are enabled, fewer than the %(required)d "
                        "required. Enable more methods or require fewer.",
                        enabled,
                    ),
                    params={"enabled": enabled, "required": required},
                    code="too_few_methods",
                )
        alone = [m for m in enabled_methods(self) if m.counts_alone or self.questions_alone_allowed]
        if not alone and "reset_methods_required" not in errors:
            # Security questions count only beside another method: alone, nobody could reset.
            errors["reset_methods_required"] = ValidationError(
                _(
                    "Only security questions are enabled, and they count for a reset only "
                    "together with another method: nobody could reset a password. Enable "
                    "another method, or let security questions count on their own."
                ),
                code="nothing_counts_alone",
            )
        for method in REGISTRY.values():
            try:
                method.clean_options(self.options_of(method))
            except ValidationError as error:
                for name, messages in error.message_dict.items():
                    errors[option_field_name(method, name)] = ValidationError(messages)
        if self.scope == Scope.GROUP and self.scope_group_id is None:
            errors["scope_group"] = ValidationError(
                _("Choose the group to enable, or enable it for everyone."), code="no_group"
            )
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> Policy:
        """The policy: once per request (PolicyPerRequestMiddleware), from the shared cache
        when it is there (every save clears it), else from the database."""
        memo = request_memo.get()
        if memo is not None and "policy" in memo:
            return memo["policy"]
        policy = shared_cache.read(CACHE_KEY)
        if policy is None:
            policy, _created = cls.objects.get_or_create(pk=1)
            if not transaction.get_connection().in_atomic_block:  # only what is committed
                shared_cache.keep(CACHE_KEY, policy, CACHE_SECONDS)
        if memo is not None:
            memo["policy"] = policy
        return policy

    def options_of(self, method) -> dict:
        """One method's options, with its defaults for anything not stored."""
        names = ["enabled", *method.option_fields]
        return {name: method.option(self, name) for name in names}

    def option(self, key: str, name: str):
        """A method's option by the method's key, e.g. option("questions", "count")."""
        return REGISTRY[key].option(self, name)

    def set_option(self, key: str, name: str, value) -> None:
        """Change one option in memory; save() stores it."""
        options = dict(self.method_options or {})
        options[key] = {**options.get(key, {}), name: value}
        self.method_options = options

    @property
    def enabled_method_count(self) -> int:
        return len(enabled_methods(self))

    def in_scope(self, user) -> bool:
        """Whether this user may use the service (staff included, inactive users never). The
        group is asked about an inactive user too: the reset portal treats one as an unknown
        name, with the same queries (docs/security.md §12, rule 70)."""
        if self.scope == Scope.NOBODY:
            return False
        member = True
        if self.scope == Scope.GROUP:
            member = user.groups.filter(pk=self.scope_group_id).exists()
        return member and user.is_active

    def scoped_users(self, queryset):
        """Narrow a user queryset to the policy's scope."""
        queryset = queryset.filter(is_active=True)
        if self.scope == Scope.NOBODY:
            return queryset.none()
        if self.scope == Scope.GROUP:
            return queryset.filter(groups=self.scope_group_id)
        return queryset

    @property
    def region_list(self) -> list[str]:
        return parse_regions(self.allowed_regions)

    @property
    def helpdesk_link(self) -> str:
        """A safe link for the helpdesk contact: mailto: or http(s) only, else none (shown as
        text). `javascript:` and other schemes never become a link."""
        return contact_link(self.helpdesk_contact)
