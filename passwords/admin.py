from __future__ import annotations

from django.contrib import admin

from sspr_site.admin_search import BoundedSearchMixin, CheckedLookupsMixin, CheckedSelectionMixin

from .models import BannedWord


@admin.register(BannedWord)
class BannedWordAdmin(
    CheckedLookupsMixin, CheckedSelectionMixin, BoundedSearchMixin, admin.ModelAdmin
):
    list_display = ["word", "created_at"]
    search_fields = ["word"]
