"""The authentication email: a code sent to a personal address."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from delivery.outbox import Message
from methods.masking import mask_email
from methods.models import MethodKind
from sspr_site.conf import app_settings as site_settings

from .forms import EmailForm
from .method import CodeMethod
from .models import AuthenticationEmail, Channel


class AuthenticationEmailMethod(CodeMethod):
    kind = MethodKind.AUTHENTICATION_EMAIL
    proof_strength = 10
    slug = "email"
    key = "email"
    label = MethodKind.AUTHENTICATION_EMAIL.label
    summary = _(
        "A personal address you can read without the password you may need to reset. We send "
        "a code to it."
    )
    enabled_by_default = True
    model = AuthenticationEmail
    field = "email"
    admin_inline = "methods.admin.AuthenticationEmailInline"
    related_name = "authentication_email"
    start_label = _("Enter your address")
    reset_form = "email"

    def start_form(self, data, *, user, policy, previous: str | None = None, methods=None):
        return EmailForm(data, user=user, initial={"email": previous} if previous else {})

    def channels(self, policy) -> list[Channel]:
        return [Channel.EMAIL]

    def mask(self, destination: str) -> str:
        return mask_email(destination)

    def limit_counters(self, destination: str) -> dict[str, str]:
        # One count per mailbox: mail servers read the part before @ without case, so
        # "Victim@" and "vIctim@" are one inbox (docs/security.md §9).
        return {"destination": destination.casefold()}

    def notice_address(self, methods) -> str | None:
        return self.reset_destination(methods)

    def notify_removed_address(self, record) -> bool:
        # A removed address that was proven hears of it: its owner may not have removed it.
        return bool(record.verified_at)

    def code_message(
        self, *, destination: str, channel: str, code: str, helpdesk: bool = False
    ) -> Message:
        context = {"code": code, "site_url": site_settings.SITE_URL, "helpdesk": helpdesk}
        return Message(
            channel="email",
            to=destination,
            subject=render_to_string("methods/messages/email_code_subject.txt", context).strip(),
            body=render_to_string("methods/messages/email_code.txt", context),
            language=translation.get_language() or settings.LANGUAGE_CODE,
            purpose="code",
            masked_to=self.mask(destination),
        )
