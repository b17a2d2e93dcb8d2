from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, Max
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from methods.admin import AuthenticationEmailInline, AuthenticationPhoneInline, OfficePhoneInline

from .models import Policy, Registration


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """One policy: the list goes straight to its form; it cannot be added twice or deleted."""

    fieldsets = [
        (_("Who may use it"), {"fields": ["scope", "scope_group"]}),
        (
            _("Methods users may register"),
            {
                "fields": [
                    "phone_sms_enabled",
                    "phone_voice_enabled",
                    "email_enabled",
                    "questions_enabled",
                    "office_phone_enabled",
                ]
            },
        ),
        (
            _("Requirements"),
            {
                "fields": [
                    ("methods_required", "reset_methods_required"),
                    ("questions_required", "reset_questions_required"),
                ],
                "description": _(
                    "Staff accounts always need two methods to reset and can never use security "
                    "questions, whatever is set here."
                ),
            },
        ),
        (
            _("Registration at sign-in and reconfirmation"),
            {"fields": ["require_registration_at_sign_in", "skips_allowed", "reconfirm_days"]},
        ),
        (_("Phones"), {"fields": ["allowed_regions"]}),
        (
            _("Help and notices"),
            {
                "fields": [
                    "helpdesk_contact",
                    "notify_users_on_reset",
                    "notify_admins_on_admin_reset",
                ]
            },
        ),
    ]

    def changelist_view(self, request, extra_context=None):
        policy = Policy.load()
        return redirect(reverse("admin:registration_policy_change", args=[policy.pk]))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["user", "completed_at", "last_confirmed_at", "reconfirmation_required"]
    list_filter = ["reconfirmation_required", "completed_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "completed_at", "last_confirmed_at", "skips_used"]

    def has_add_permission(self, request):
        return False


User = get_user_model()


class SsprUserAdmin(UserAdmin):
    """Django's user admin plus each user's recovery methods (answers never shown)."""

    inlines = [OfficePhoneInline, AuthenticationPhoneInline, AuthenticationEmailInline]
    readonly_fields = [*UserAdmin.readonly_fields, "security_questions"]
    fieldsets = [*UserAdmin.fieldsets, (_("Password reset"), {"fields": ["security_questions"]})]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                answer_count=Count("security_answers"),
                answers_updated_at=Max("security_answers__created_at"),
            )
        )

    @admin.display(description=_("Security questions"))
    def security_questions(self, obj) -> str:
        count = getattr(obj, "answer_count", 0)
        if not count:
            return str(_("Not configured"))
        return ngettext(
            "Configured: %(count)d question, updated %(date)s",
            "Configured: %(count)d questions, updated %(date)s",
            count,
        ) % {"count": count, "date": formats.date_format(obj.answers_updated_at)}


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, SsprUserAdmin)
