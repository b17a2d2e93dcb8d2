"""What could not be delivered: the dead-letter record the helpdesk reads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Problem(models.TextChoices):
    INVALID_NUMBER = "invalid_number", _("The number cannot receive messages")
    INVALID_ADDRESS = "invalid_address", _("The mail server refused the address")
    REGION_NOT_ENABLED = "region_not_enabled", _("Messages to this country are not enabled")
    TOO_MANY_REQUESTS = "too_many_requests", _("The message service was busy")
    UNAVAILABLE = "unavailable", _("The message service could not be reached")


class FailedDelivery(models.Model):
    """One message that did not leave after its last try. Never holds its text."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, help_text=_("When."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="failed_deliveries",
        help_text=_("Whom the message was for."),
    )
    channel = models.CharField(max_length=8, help_text=_("Text message, voice call or email."))
    purpose = models.CharField(max_length=16, help_text=_("A code, a notice or a reminder."))
    destination = models.CharField(max_length=254, help_text=_("Masked number or address."))
    problem = models.CharField(max_length=24, choices=Problem.choices, help_text=_("Why."))
    attempts = models.PositiveSmallIntegerField(default=1, help_text=_("Tries made."))

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"])]
        verbose_name = _("undelivered message")
        verbose_name_plural = _("undelivered messages")

    def __str__(self) -> str:
        return f"{self.get_problem_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class HeldMessage(models.Model):
    """A notice or reminder written while the queue could not be reached (delivery.outbox):
    kept here, sealed, until a worker hands it to the queue, so that what the notice tells of
    (a method added, a password reset) stands and the page can say so. A code's message is
    never held: its step answers with the "temporarily unavailable" page."""

    created_at = models.DateTimeField(auto_now_add=True, help_text=_("When."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="held_messages",
        help_text=_("Whom the message is for."),
    )
    channel = models.CharField(max_length=8, help_text=_("Text message, voice call or email."))
    purpose = models.CharField(max_length=16, help_text=_("A notice or a reminder."))
    destination = models.CharField(max_length=254, help_text=_("Masked number or address."))
    # The message, sealed as a queued job's arguments are (delivery.sealing).
    sealed = models.TextField(editable=False)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("message waiting for the queue")
        verbose_name_plural = _("messages waiting for the queue")

    def __str__(self) -> str:
        return f"{self.purpose} ({self.created_at:%Y-%m-%d %H:%M})"
