from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sspr_site.admin_search import BoundedSearchMixin, CheckedLookupsMixin, CheckedSelectionMixin

from . import stream
from .models import Event, StreamDeadLetter


@admin.register(Event)
class EventAdmin(CheckedLookupsMixin, CheckedSelectionMixin, BoundedSearchMixin, admin.ModelAdmin):
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


@admin.register(StreamDeadLetter)
class StreamDeadLetterAdmin(CheckedLookupsMixin, CheckedSelectionMixin, admin.ModelAdmin):
    """Audit events the SIEM did not receive after the last try (audit.stream)."""

    list_display = ["created_at", "sink", "event_id", "kind", "attempts", "problem"]
    list_filter = ["sink", "kind"]
    readonly_fields = ["created_at", "sink", "event_id", "kind", "attempts", "problem"]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send the selected events again"), permissions=["delete"])
    def send_again(self, request, queryset):
        count = 0
        for letter in queryset:
            stream.retry(letter)
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d event was queued again.", "%(count)d events were queued again.", count
            )
            % {"count": count},
        )
