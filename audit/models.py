"""The append-only audit log that every app writes to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EventKind(models.TextChoices):
    SIGNED_IN = "signed_in", _("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
    PASSWORD_CONFIRMED = "password_confirmed", _("Password confirmed again")
    CHANGE_PROVED = "change_proved", _("Proved a method before a change")
    CHANGE_REPORTED = "change_reported", _("Change reported as not theirs")
    SELF_SERVICE_CLEARED = "self_service_cleared", _("Paused self-service cleared")
    RESET_BLOCK_LIFTED = "reset_block_lifted", _("Day's block on password resets lifted")
    HELPDESK_SECOND_PERSON_ASKED = (
        "helpdesk_second_person_asked",
        _("Helpdesk asked a second person to lift a pause or block"),
    )
    CODE_SENT = "code_sent", _("Code sent")
    CODE_SEND_REFUSED = "code_send_refused", _("Code not sent")
    CODE_FAILED = "code_failed", _("Code check failed")
    METHOD_VERIFIED = "method_verified", _("Method verified")
    METHOD_CHANGED = "method_changed", _("Method changed")
    METHOD_REMOVED = "method_removed", _("Method removed")
    QUESTIONS_SET = "questions_set", _("Security questions set")
    REGISTRATION_COMPLETED = "registration_completed", _("Registration completed")
    REGISTRATION_CONFIRMED = "registration_confirmed", _("Registration confirmed")
    REGISTRATION_FLAGGED = "registration_flagged", _("Reconfirmation required")
    REGISTRATION_SKIPPED = "registration_skipped", _("Registration postponed at sign-in")
    REGISTRATION_LAPSED = "registration_lapsed", _("Registration no longer complete")
    METHOD_PREPOPULATED = "method_prepopulated", _("Method prepopulated by an administrator")
    METHOD_UNVERIFIED = "method_unverified", _("Method must be verified again")
    CONTACT_IMPORTED = "contact_imported", _("Contact information imported")
    POLICY_CHANGED = "policy_changed", _("Policy changed")
    RESET_STARTED = "reset_started", _("Password reset started")
    RESET_REFUSED = "reset_refused", _("Password reset refused")
    RESET_METHOD_PASSED = "reset_method_passed", _("Reset: method passed")
    RESET_METHOD_FAILED = "reset_method_failed", _("Reset: method failed")
    # What happened ("the password was reset"), where elsewhere the words name the service.
    PASSWORD_RESET = "password_reset", pgettext_lazy("audit event", "Password reset")
    ACCOUNT_UNLOCKED = "account_unlocked", _("Account unlocked")
    LOCKOUT_CLEARED = "lockout_cleared", _("Sign-in lockout records removed in the admin")
    HELPDESK_CHECK = "helpdesk_check", _("Helpdesk verified a caller")
    HELPDESK_EXPORT = "helpdesk_export", _("Helpdesk exported the status list")
    DELIVERY_FAILED = "delivery_failed", _("Message could not be delivered")
    REMINDERS_SENT = "reminders_sent", _("Registration reminders sent")
    PASSWORD_REFUSED = "password_refused", _("New password refused by the account store")
    PASSWORD_UNCONFIRMED = (
        "password_unconfirmed",
        _("New password sent, the directory's answer lost: it may have been set"),
    )
    PASSWORD_CHANGED = "password_changed", _("Password changed by its owner")
    PASSWORD_SET_BY_ADMIN = "password_set_by_admin", _("Password set by an administrator")
    DIRECTORY_SYNCED = "directory_synced", _("Directory synchronised")
    DIRECTORY_LEFT = "directory_left", _("Left the directory's scope")
    DIRECTORY_DATA_REMOVED = "directory_data_removed", _("Recovery data removed after leaving")
    DIRECTORY_NAME_REUSED = (
        "directory_name_reused",
        _("Name now another person's in the directory: the previous holder's data removed"),
    )
    DIRECTORY_RENAMED = (
        "directory_renamed",
        _("Renamed in the directory: the account here took the new name"),
    )
    DIRECTORY_REFUSED = "directory_refused", _("The directory refused an operation")
    ACCESS_PASS_REQUESTED = "access_pass_requested", _("Temporary access pass awaiting approval")
    ACCESS_PASS_APPROVED = "access_pass_approved", _("Temporary access pass approved")
    ACCESS_PASS_ISSUED = "access_pass_issued", _("Temporary access pass issued")
    ACCESS_PASS_USED = "access_pass_used", _("Signed in with a temporary access pass")
    ACCESS_PASS_EXPIRED = "access_pass_expired", _("Temporary access pass expired")


class Event(models.Model):
    """One thing that happened. Never holds a code, an answer, a password or a full number."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, help_text=_("When."))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who did it (empty for anonymous or the system)."),
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
        help_text=_("Whose account it concerns."),
    )
    kind = models.CharField(max_length=40, choices=EventKind.choices, help_text=_("What happened."))
    ip = models.GenericIPAddressField(null=True, blank=True, help_text=_("Address of the request."))
    details = models.JSONField(
        default=dict, blank=True, help_text=_("Method kinds and outcomes; nothing secret.")
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["subject", "-created_at"])]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class StreamDeadLetter(models.Model):
    """An audit event the audit stream (audit.stream) could not hand to the SIEM after its
    last retry; shown in the admin, where it can be sent again."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, help_text=_("When."))
    # The event's id, not a foreign key: purging old events (purge_audit) must not be blocked.
    event_id = models.PositiveBigIntegerField(help_text=_("The audit event's number."))
    kind = models.CharField(max_length=40, help_text=_("The audit event's kind."))
    sink = models.CharField(max_length=20, help_text=_("Where it was going: syslog or webhook."))
    attempts = models.PositiveIntegerField(default=1, help_text=_("Tries made."))
    problem = models.CharField(max_length=200, help_text=_("Why the last try failed."))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("audit stream dead letter")
        verbose_name_plural = _("audit stream dead letters")

    def __str__(self) -> str:
        return f"{self.sink} #{self.event_id} ({self.created_at:%Y-%m-%d %H:%M})"
