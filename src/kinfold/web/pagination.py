"""Pagination for a list whose length is known only once every item is decided (page first, then decide):
a numbered page with "Next" but no last page, until the end is reached and the count is known."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.paginator import Page, Paginator


class DecidedAsAsked(Protocol):
    """A sequence that decides its items as far as asked (``families.selectors.CaseloadFamilies``)."""

    @property
    def complete(self) -> bool: ...

    def decide_through(self, wanted: int | None) -> None: ...

    def count(self) -> int: ...

    def __getitem__(self, item: slice) -> Sequence[Any]: ...


def page_number(value: str | None) -> int:
    """The page asked for: a whole number from 1; anything else is the first page (as Django's ``get_page``)."""
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return max(number, 1)


@dataclass
class UnboundedPage:
    """One page of a list whose end is not known yet: it has a next page, and no count or last page."""

    number: int
    per_page: int
    object_list: list[Any] = field(default_factory=list)
    is_unbounded: bool = True

    def has_next(self) -> bool:
        return True

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return True

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1

    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    @property
    def earlier_pages(self) -> range:
        return range(1, self.number)


def page_first(items: DecidedAsAsked, number: str | None, per_page: int) -> Page | UnboundedPage:
    """The page asked for, deciding only as far as it (and one more item, to know there is a next page). Once
    every item is decided the count is known, and it is Django's ``Page`` with its last page."""
    n = page_number(number)
    items.decide_through(n * per_page + 1)
    if items.complete:
        return Paginator(items, per_page).get_page(n)  # type: ignore[arg-type]
    return UnboundedPage(n, per_page, list(items[(n - 1) * per_page : n * per_page]))
