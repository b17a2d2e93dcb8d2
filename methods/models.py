"""Recovery methods a user registers: the kinds, a method's changes and the pause they may set.

The code family's models (methods/code/models.py) and the security questions'
(methods/questions/models.py) are imported at the end: Django registers them in this app, under
the names and tables they always had, and `from methods.models import ...` keeps finding them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def method_kinds() -> list[tuple[str, str]]:
    """Every method's kind and label, from the registry: no closed list (README,
    "Architecture"). Read when a form or the admin needs them."""
    from .registry import REGISTRY

    return [(str(method.kind), method.label) for method in REGISTRY.values()]


class MethodKind(models.TextChoices):
    """The kinds of the methods defined in this module's family (their labels); the registry,
    not this list, says which methods exist (method_kinds)."""

    OFFICE_PHONE = "office_phone", _("Office phone")
    AUTHENTICATION_PHONE = "authentication_phone", _("Authentication phone")
    AUTHENTICATION_EMAIL = "authentication_email", _("Authentication email")
    SECURITY_QUESTIONS = "security_questions", _("Security questions")


class ChangeAction(models.TextChoices):
    ADDED = "added", _("Added")
    REPLACED = "replaced", _("Changed")
    REMOVED = "removed", _("Removed")


class MethodChange(models.Model):
    """One method added, replaced or removed by its owner (methods/lifecycle.py). The notice
    of it carries a "That wasn't me" link naming this row (methods/not_me.py): it works once,
    for seven days, and holds no secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sspr_method_changes",
        help_text=_("Whose method changed."),
    )
    method = models.CharField(max_length=40, help_text=_("The method's kind."))
    action = models.CharField(max_length=10, choices=ChangeAction.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reported_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the owner said the change was not theirs.")
    )
    cooling_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Until then the method counts for a reset only beside an older one."),
    )
    # What a replacement replaced (a number or an address), sealed with the field keys
    # (sspr_site/field_keys.py): "That wasn't me" puts it back. Dropped with the row.
    previous = models.TextField(blank=True, default="", editable=False)
    # Made in a session that began when the person already had methods (one whose new methods
    # cool off, methods/cooling.py), whatever the policy's hours, or in one opened with a
    # temporary access pass: perhaps a thief's, so a later report does not put back what this
    # change set (methods/not_me.py, cooling.changes_uncertain).
    in_cooling_session = models.BooleanField(default=False, db_default=False, editable=False)

    class Meta:
        verbose_name = _("method change")
        verbose_name_plural = _("method changes")

    def __str__(self) -> str:
        return f"{self.method} {self.action}"


class BlockReason(models.TextChoices):
    NOT_ME = "not_me", _("the person reported a change to their methods as not theirs")


class SelfServiceBlock(models.Model):
    """Self-service changes and resets are paused for this person until the helpdesk clears
    it (docs/security.md rule 68): the "That wasn't me" link sets it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sspr_block",
        help_text=_("Whose self-service is paused."),
    )
    reason = models.CharField(max_length=20, choices=BlockReason.choices)
    change = models.ForeignKey(
        MethodChange,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("The change that was reported."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("paused self-service")
        verbose_name_plural = _("paused self-service")

    def __str__(self) -> str:
        return str(self.get_reason_display())


# After MethodKind and method_kinds, which the code family's models read.
from .code.models import (  # noqa: E402
    AuthenticationEmail,
    AuthenticationPhone,
    Channel,
    CheckOutcome,
    ContactMethod,
    OfficePhone,
    Purpose,
    VerificationCode,
)
from .questions.models import SecurityAnswer, SecurityQuestion  # noqa: E402

__all__ = [
    "AuthenticationEmail",
    "AuthenticationPhone",
    "BlockReason",
    "ChangeAction",
    "Channel",
    "CheckOutcome",
    "ContactMethod",
    "MethodChange",
    "MethodKind",
    "OfficePhone",
    "Purpose",
    "SecurityAnswer",
    "SecurityQuestion",
    "SelfServiceBlock",
    "VerificationCode",
    "method_kinds",
]
