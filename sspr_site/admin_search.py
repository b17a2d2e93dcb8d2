"""What every admin list of the project shares: searches of a bounded size, actions only on ids
that can be ids, and filters typed into the address that the database cannot take answered as
Django answers a filter it does not know."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SEARCH_LIMIT = 100


class BoundedSearchMixin:
    """Search with at most SEARCH_LIMIT characters, and say so. A search of 100,000 characters
    (or 30,000 words) would otherwise build a query the database refuses."""

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, self.bounded(request, search_term))

    def bounded(self, request, search_term: str) -> str:
        """The search as used: its first SEARCH_LIMIT characters, and a note when cut."""
        if len(search_term) > SEARCH_LIMIT:
            messages.warning(
                request,
                _("Only the first %(limit)d characters of the search were used.")
                % {"limit": SEARCH_LIMIT},
            )
            search_term = search_term[:SEARCH_LIMIT]
        return search_term


class CheckedSelectionMixin:
    """An admin action runs only on ids that can be ids of the list's rows. Django filters the
    list by whatever ids were posted, and an id such as "abc" would end in a server error; the
    person gets the admin's usual "select items" message instead, and nothing changes."""

    def response_action(self, request, queryset):
        key = self.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                key.run_validators(key.to_python(value))
        except ValidationError:
            self.message_user(
                request,
                _(
                    "Items must be selected in order to perform actions on them. No items have "
                    "been changed."
                ),
                messages.WARNING,
            )
            return None
        return super().response_action(request, queryset)


class CheckedLookupsMixin:
    """A filter typed into the list's address with a value no query can hold (a year 99999 or
    0, an id past the database's integers) is answered as any filter the admin cannot use: the
    list without it and the admin's "?e=1" note, not a server error. Django checks the field
    names of a filter but not every value, and the value fails only once the query runs."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error
