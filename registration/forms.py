from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from directory.accounts import accounts
from passwords.forms import BoundedPasswordsMixin, described_by_the_rules

from . import address_limit


class BoundedUsernameMixin:
    """Refuse a username longer than any account can have, before it is looked up or counted
    by the sign-in lockout (whose columns are 255 characters): Django sets the length on the
    field only after its validators were built."""

    def clean_username(self):
        username = self.cleaned_data.get("username") or ""
        limit = self.fields["username"].max_length or 150
        if len(username) > limit:
            raise forms.ValidationError(
                _("A username has at most %(limit)d characters.") % {"limit": limit},
                code="max_length",
            )
        return username


class SignInForm(BoundedPasswordsMixin, BoundedUsernameMixin, AuthenticationForm):
    # A refusal names no one field: each is marked (sspr_site/form_renderer.py).
    refused_as_a_whole = {"invalid_login"}

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The username or password is not right. Both are case-sensitive; check Caps Lock."
        ),
        # In directory mode (where a name is matched whatever its case, as the directory does)
        # a right password is not tried while the directory counts enough
        # failed sign-ins (from anywhere) that one more could lock the account (docs/security.md
        # §40). Said to everyone whose sign-in failed, so it tells nothing about the account.
        "invalid_login_directory": _(
            "The username or password is not right. The password is case-sensitive; check "
            "Caps Lock. If you are sure of your password: failed sign-ins elsewhere count too, "
            "and after too many this site stops trying it. Unlocking your account at “Forgot "
            "your password, or locked out?” below clears them."
        ),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if accounts().takes_mail:  # the directory's filter matches the mail too
            self.fields["username"].label = _("Username or email")

    def get_invalid_login_error(self):
        if accounts().kind == "none":
            return super().get_invalid_login_error()
        return forms.ValidationError(
            self.error_messages["invalid_login_directory"], code="invalid_login"
        )


class AdminSignInForm(BoundedPasswordsMixin, BoundedUsernameMixin, AdminAuthenticationForm):
    """The admin's sign-in, under the same limit per client address as the site's own sign-in
    pages (registration.address_limit): past it, no password is tried."""

    def clean(self):
        if self.request is not None and address_limit.reached(self.request):
            raise forms.ValidationError(address_limit.TOO_MANY, code="address_limited")
        try:
            return super().clean()
        except forms.ValidationError:
            if self.request is not None:
                address_limit.count_failure(self.request)
            raise


class PasswordCheckForm(BoundedPasswordsMixin, forms.Form):
    """Ask for the password again before a method is changed or removed."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self):
        password = self.cleaned_data["password"]
        user = authenticate(
            self.request, username=self.request.user.get_username(), password=password
        )
        if user is None or user.pk != self.request.user.pk:
            raise forms.ValidationError(_("That password is not right."), code="invalid")
        return password


class ChangePasswordForm(BoundedPasswordsMixin, SetPasswordForm):
    """The current password, then the new one twice, checked by the site's validators. The
    account store (Django's or the directory) checks the current one and its own rules."""

    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Type your current password.")},
    )
    field_order = ["current_password", "new_password1", "new_password2"]

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        described_by_the_rules(self.fields["new_password1"])
        for name in ("current_password", "new_password1", "new_password2"):
            self.fields[name].widget.attrs["data-reveal"] = "true"
        self.order_fields(self.field_order)

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")
        current = self.cleaned_data.get("current_password")
        new = self.cleaned_data.get("new_password1")
        if current and new and constant_time_compare(current, new):
            # Nothing would change but the record of a change, the notice and the sessions.
            self.add_error("new_password1", _("Choose a new password, not the one you have now."))
            return forms.Form.clean(self)
        self.validate_password_for_user(self.user, "new_password1")
        return forms.Form.clean(self)
