"""The sign-in lockout's records in the admin (django-axes keeps them; directory/lockout.py).

Each record holds a keyed digest of the name, never the name typed (docs/security.md §39), so
the list is searched by the name an administrator types, turned into its digest. Removing
records clears a name's lockout: it is recorded in the audit log, as every unlock is.
"""

from __future__ import annotations

import axes.admin  # registers django-axes' own list first, which this one replaces
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.log import record
from audit.models import EventKind
from sspr_site.admin_search import BoundedSearchMixin, CheckedLookupsMixin, CheckedSelectionMixin

from .lockout import lockout_key, username_key

if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
# django-axes' logs of every sign-in and of failures: the site keeps neither
# (AXES_DISABLE_ACCESS_LOG; the failure log is off), so their lists would only ever be empty.
for _log in (AccessLog, AccessFailureLog):
    if admin.site.is_registered(_log):
        admin.site.unregister(_log)


@admin.register(AccessAttempt)
class LockoutRecordAdmin(
    CheckedLookupsMixin, CheckedSelectionMixin, BoundedSearchMixin, axes.admin.AccessAttemptAdmin
):
    search_fields = ["username"]
    # django-axes' "clean up expired attempts" removed records unrecorded: deleting is the way.
    actions = []
    search_help_text = _("Type a username exactly: records keep a sealed form of it.")
    # Nothing of the failed forms is kept (directory/lockout_handler.py): not shown either.
    fieldsets = (
        (None, {"fields": ("username", "path_info", "failures_since_start")}),
        (_("Browser and address"), {"fields": ("user_agent", "ip_address", "http_accept")}),
    )

    def get_search_results(self, request, queryset, search_term):
        # Not Django's search over the column: the sealed form of the name typed.
        term = self.bounded(request, search_term)
        if not term.strip():
            return queryset, False
        return queryset.filter(username=lockout_key(username_key(term))), False

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        _cleared(request, [obj.username])

    def delete_queryset(self, request, queryset):
        names = list(queryset.values_list("username", flat=True))
        super().delete_queryset(request, queryset)
        _cleared(request, names)


def _cleared(request, names: list[str]) -> None:
    """Recorded with the sealed names whose lockout was cleared (never a name as typed)."""
    if names:
        record(
            EventKind.LOCKOUT_CLEARED,
            request=request,
            actor=request.user,
            records=len(names),
            names=sorted(set(names))[:20],
        )
