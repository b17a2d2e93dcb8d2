"""Temporary access passes in the admin: read only, and never the hash."""

from __future__ import annotations

from django.contrib import admin

from sspr_site.admin_search import BoundedSearchMixin, CheckedLookupsMixin, CheckedSelectionMixin

from .models import AccessPass


@admin.register(AccessPass)
class AccessPassAdmin(
    CheckedLookupsMixin, CheckedSelectionMixin, BoundedSearchMixin, admin.ModelAdmin
):
    list_display = [
        "user",
        "requested_by",
        "approved_by",
        "verification",
        "issued_at",
        "expires_at",
        "uses",
        "ended_at",
        "end_reason",
    ]
    list_filter = ["verification", "end_reason", "needs_approval"]
    search_fields = ["user__username"]
    list_select_related = ["user", "requested_by", "approved_by"]
    exclude = ["digest"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
