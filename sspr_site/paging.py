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
    """Django's paginator over at most LIST_BOUND rows; `capped` says there are more."""

    bound = LIST_BOUND
    capped = False

    @cached_property
    def count(self) -> int:
        # Without an order, the database may stop at the first bound + 1 rows it finds.
        counted = self.object_list.order_by()[: self.bound + 1].count()
        self.capped = counted > self.bound
        return min(counted, self.bound)
