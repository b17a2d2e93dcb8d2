from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AuthenticationEmail, AuthenticationPhone, OfficePhone, SecurityQuestion


@admin.register(SecurityQuestion)
class SecurityQuestionAdmin(admin.ModelAdmin):
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


class OfficePhoneInline(admin.StackedInline):
    model = OfficePhone
    can_delete = True
    extra = 0
    max_num = 1
    verbose_name_plural = _("office phone (set only here)")


class AuthenticationPhoneInline(admin.StackedInline):
    model = AuthenticationPhone
    extra = 0
    max_num = 1
    can_delete = True
    readonly_fields = ["number", "verified_at", "last_used_at", "prepopulated", "updated_at"]

    def has_add_permission(self, request, obj=None):
        return False


class AuthenticationEmailInline(AuthenticationPhoneInline):
    model = AuthenticationEmail
    readonly_fields = ["email", "verified_at", "last_used_at", "prepopulated", "updated_at"]
