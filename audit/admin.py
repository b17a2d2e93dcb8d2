from __future__ import annotations

from django.contrib import admin

from sspr_site.admin_search import BoundedSearchMixin

from .models import Event


@admin.register(Event)
class EventAdmin(BoundedSearchMixin, admin.ModelAdmin):
    """Read-only: the log is append-only."""

    list_display = ["created_at", "kind", "actor", "subject", "ip"]
    list_filter = ["kind", "created_at"]
    search_fields = ["subject__username", "actor__username"]
    list_select_related = ["actor", "subject"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "kind", "actor", "subject", "ip", "details"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
