"""Forms of the reset portal. They validate input and nothing more."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from directory.accounts import accounts
from passwords.forms import ASKED_FOR, BoundedPasswordsMixin, described_by_the_rules

from .state import Action

__all__ = ["ActionForm", "NewPasswordForm", "StartForm"]


ACTIONS = [
    (Action.RESET, _("I forgot my password: set a new one")),
    (Action.UNLOCK, _("My account is locked, but I know my password: unlock it")),
]


class StartForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
        error_messages={
            "required": ASKED_FOR["username"],
            "max_length": _("A username has at most %(limit_value)d characters."),
        },
    )
    # Asked with the name, so the attempt goes straight to the methods: one page fewer for
    # everyone. A form sent without it (an older page) leads to the action page instead.
    action = forms.ChoiceField(
        label=_("What do you need?"),
        widget=forms.RadioSelect,
        choices=ACTIONS,
        required=False,
        initial=Action.RESET,
        error_messages={"invalid_choice": _("Choose one.")},
    )
    altcha = forms.CharField(required=False, widget=forms.HiddenInput)
    # Sent only by a browser without JavaScript (the page's <noscript>), which cannot do the
    # proof-of-work: such starts have a small budget of their own (flows.start_without_script).
    without_script = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if accounts().takes_mail:  # the portal takes the mail where sign-in does
            self.fields["username"].label = _("Username or email")


class ActionForm(forms.Form):
    action = forms.ChoiceField(
        label=_("What do you need?"),
        widget=forms.RadioSelect,
        choices=ACTIONS,
        error_messages={"required": _("Choose one.")},
        template_name="passwordreset/page_question.html",
    )


class PasswordlessForm(forms.Form):
    """The unlock step: one button; errors from the account store are shown above it."""


class NewPasswordForm(BoundedPasswordsMixin, SetPasswordForm):
    """Django's own: the new password twice, checked by the configured validators. What the
    validators say is shown next to the new password, where the person typed it."""

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        return forms.Form.clean(self)

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        described_by_the_rules(self.fields["new_password1"])
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs["data-reveal"] = "true"
