"""Admin searches of a bounded size, for every list with a search box."""

from __future__ import annotations

from django.contrib import messages
from django.utils.translation import gettext as _

SEARCH_LIMIT = 100


class BoundedSearchMixin:
    """Search with at most SEARCH_LIMIT characters, and say so. A search of 100,000 characters
    (or 30,000 words) would otherwise build a query the database refuses."""

    def get_search_results(self, request, queryset, search_term):
        if len(search_term) > SEARCH_LIMIT:
            messages.warning(
                request,
                _("Only the first %(limit)d characters of the search were used.")
                % {"limit": SEARCH_LIMIT},
            )
            search_term = search_term[:SEARCH_LIMIT]
        return super().get_search_results(request, queryset, search_term)
