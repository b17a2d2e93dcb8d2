from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.accounts import accounts
from policy.models import Policy
from sspr_site.admin_search import BoundedSearchMixin

from .forms import PHONE_MESSAGES, CanonicalEmailField
from .models import AuthenticationEmail, AuthenticationPhone, OfficePhone, SecurityQuestion
from .phones import PhoneError, parse


@admin.register(SecurityQuestion)
class SecurityQuestionAdmin(BoundedSearchMixin, admin.ModelAdmin):
    list_display = ["text", "active", "builtin"]
    list_filter = ["active", "builtin"]
    list_editable = ["active"]
    search_fields = ["text"]
    actions = ["activate", "deactivate"]

    @admin.action(description=_("Offer the selected questions"))
    def activate(self, request, queryset):
        count = queryset.update(active=True)
        self.message_user(request, _("%(count)d questions are offered.") % {"count": count})

    @admin.action(description=_("Stop offering the selected questions"))
    def deactivate(self, request, queryset):
        count = queryset.update(active=False)
        self.message_user(
            request,
            _("%(count)d questions are no longer offered; existing answers still work.")
            % {"count": count},
        )

    def has_delete_permission(self, request, obj=None):
        # Answers point at questions; retire a question instead of deleting it.
        return False


def policy_number(value, *, refuse_types: bool):
    """Check a number an administrator typed against the policy, as the user's form would."""
    if not value:
        return value
    try:
        parse(
            str(value.as_e164 if hasattr(value, "as_e164") else value),
            region=None,
            allowed_regions=Policy.load().region_list,
            refuse_types=refuse_types,
        )
    except PhoneError as exc:
        raise forms.ValidationError(PHONE_MESSAGES[exc.problem], code=exc.problem.value) from exc
    return value


class OfficePhoneForm(forms.ModelForm):
    class Meta:
        model = OfficePhone
        fields = ["number"]

    def clean_number(self):
        # Desk lines are often VoIP: any kind of number, but only in the policy's countries.
        return policy_number(self.cleaned_data.get("number"), refuse_types=False)


class OfficePhoneInline(admin.StackedInline):
    model = OfficePhone
    form = OfficePhoneForm
    can_delete = True
    extra = 0
    max_num = 1
    verbose_name_plural = _("office phone (set only here)")

    # In directory mode the directory owns the office phone: shown, never edited here.
    def _from_directory(self) -> bool:
        return accounts().kind != "none"

    def has_add_permission(self, request, obj=None):
        return not self._from_directory() and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._from_directory() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._from_directory() and super().has_delete_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        # With one form at most, the admin titles the inline with the singular name.
        if self._from_directory():
            self.verbose_name = _("office phone (from the directory)")
        else:
            self.verbose_name = _("office phone (set only here)")
        return super().get_formset(request, obj, **kwargs)


class PrepopulateForm(forms.ModelForm):
    """An administrator enters a user's contact detail, only with the user's recorded consent.

    The value then waits for the user's confirmation with a code before it counts.
    """

    user_agreed = forms.BooleanField(
        label=_("The user has agreed to this"),
        required=False,
        help_text=_("Required when you enter or change the value."),
    )

    def clean(self):
        cleaned = super().clean()
        if self.field_name in self.changed_data and not cleaned.get("user_agreed"):
            self.add_error(
                "user_agreed",
                _("Record that the user agreed before entering their contact details."),
            )
        return cleaned

    def save(self, commit=True):
        instance = super().save(commit=False)
        self.prepopulated_now = self.field_name in self.changed_data
        if self.prepopulated_now:
            instance.verified_at = None
            instance.prepopulated = True
            instance.consent_recorded_at = timezone.now()
        if commit:
            instance.save()
        return instance


class AuthenticationPhoneForm(PrepopulateForm):
    field_name = "number"

    class Meta:
        model = AuthenticationPhone
        fields = ["number"]

    def clean_number(self):
        number = self.cleaned_data.get("number")
        if "number" not in self.changed_data:
            return number  # an unchanged value is not checked again on every save
        return policy_number(number, refuse_types=True)


class AuthenticationEmailForm(PrepopulateForm):
    field_name = "email"

    class Meta:
        model = AuthenticationEmail
        fields = ["email"]
        field_classes = {"email": CanonicalEmailField}


class AuthenticationPhoneInline(admin.StackedInline):
    model = AuthenticationPhone
    form = AuthenticationPhoneForm
    extra = 0
    max_num = 1
    can_delete = True
    fields = [
        "number",
        "user_agreed",
        "verified_at",
        "prepopulated",
        "consent_recorded_at",
        "last_used_at",
    ]
    readonly_fields = ["verified_at", "prepopulated", "consent_recorded_at", "last_used_at"]


class AuthenticationEmailInline(AuthenticationPhoneInline):
    model = AuthenticationEmail
    form = AuthenticationEmailForm
    fields = [
        "email",
        "user_agreed",
        "verified_at",
        "prepopulated",
        "consent_recorded_at",
        "last_used_at",
    ]
