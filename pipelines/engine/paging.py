"""Guards for a paged walk, shared by every vendor: a vendor's paging that never ends (a page
that repeats, a total that lies high, a has-more flag stuck at true) ends the walk with a
one-line error instead of running on while the run holds the warehouse."""
from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Any

import orjson

from pipelines.http import HttpError

HARD_CAP = 10_000  # pages of one walk, whatever the vendor's total says
MARGIN = 2  # pages beyond what the first response's total promises (the walk may grow meanwhile)


class IncompleteWalk(HttpError):
    """A walk ended by a guard, not by the vendor's own end signal: what it brought is kept, and it
    proves nothing missing (no job is deleted on its evidence)."""


class PageWalk:
    """Counts one walk's pages and the keys they brought.

    `expect(total)` sets the ceiling from the first response's total (÷ page size, plus a margin,
    never above the hard cap); `page(keys)` ends the walk when a page brings no key not seen
    before or the ceiling is passed. `new_keys` lets a vendor whose ties may repeat records (Weya)
    tell a repeated page from a walk that goes on."""

    def __init__(self, endpoint: str, page_size: int, hard_cap: int = HARD_CAP):
        self.endpoint, self.page_size = endpoint, page_size
        self.ceiling = hard_cap
        self.pages = 0
        self.keys: set[Hashable] = set()

    def expect(self, total: int | None) -> None:
        """The first response's count of records (None: it gave none)."""
        if total is not None and total >= 0:
            self.expect_pages(math.ceil(total / self.page_size))

    def expect_pages(self, pages: int | None) -> None:
        """The first response's count of pages (None: it gave none)."""
        if pages is not None and pages >= 0:
            self.ceiling = min(self.ceiling, pages + MARGIN)

    def new_keys(self, keys: Iterable[Hashable]) -> int:
        before = len(self.keys)
        self.keys.update(keys)
        return len(self.keys) - before

    def page(self, records: list[Any], id_field: str) -> None:
        """Record one page of records keyed by `id_field`; raises IncompleteWalk when the walk must
        end on a guard."""
        self.pages += 1
        keys = [_record_key(r, id_field) for r in records]
        if keys and not self.new_keys(keys):
            raise IncompleteWalk(f"{self.endpoint}: page {self.pages} repeats records already seen; paging "
                                 "would not end, so the walk stopped there")
        if self.pages > self.ceiling:
            raise IncompleteWalk(f"{self.endpoint}: more than {self.ceiling} pages, more than the vendor's total "
                                 "promised; the walk stopped there")


def _record_key(record: Any, id_field: str) -> Hashable:
    """A record's id, or (a record without one) its whole JSON text: distinct junk is not a repeat."""
    if isinstance(record, dict) and isinstance(record.get(id_field), (str, int)):
        return record[id_field]
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str)
