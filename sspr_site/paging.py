"""Lists of people that cost the same at a thousand people as at a million.

A list counts its rows only up to LIST_BOUND (the database stops looking there) and then says
"more than"; its pages go as far as that bound. Nobody reads a thousand people page by page: past
the bound, the page asks for a search or a filter instead (docs/performance.md, "At scale").
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

LIST_BOUND = 1000


class BoundedPaginator(Paginator):
    """Django's paginator over at most LIST_BOUND rows; `capped` says there are more.

    It first finds the ids of the rows, up to the bound and in no order (the database reads them
    from whatever index answers the filter best). A list within the bound is then read, sorted and
    cut into pages among those ids only, so its cost never depends on the size of the table. A list
    beyond the bound is read in its order, as far as the page asked for.
    """

    bound = LIST_BOUND

    @cached_property
    def _found(self) -> list:
        return list(self.object_list.order_by().values_list("pk", flat=True)[: self.bound + 1])

    @property
    def capped(self) -> bool:
        return len(self._found) > self.bound

    @cached_property
    def count(self) -> int:
        return min(len(self._found), self.bound)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = self.object_list if self.capped else self.object_list.filter(pk__in=self._found)
        return self._get_page(rows[bottom:top], number, self)
