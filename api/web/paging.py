"""Server-side pages of long lists: which rows a page shows, and links that keep the filters.

Every list a page shows (the member list, each dashboard table) is cut here, so a page of a
10,000-member network weighs what one of a small network does. The links keep the whole query
of the current address (search, filters, the other tables' pages) and change only this list's
page number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request

PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_PAGE = 100_000


def page_query(alias: str | None = None) -> Any:
    """A page number parameter (1-based, bounded): ``x: int = page_query()``."""
    return Query(1, ge=1, le=MAX_PAGE, alias=alias, description="Page number, from 1")


def per_page_query() -> Any:
    """Rows per page, bounded: ``per_page: int = per_page_query()``."""
    return Query(PER_PAGE, ge=1, le=MAX_PER_PAGE, description="Rows per page")



@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, where it is, and the links to its neighbours."""

    rows: Sequence[Any]
    number: int
    last: int
    total: int
    first_row: int  # 1-based position of the first row shown (0 when the list is empty)
    previous_url: str | None
    next_url: str | None

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0


def _url(request: Request, name: str, number: int, anchor: str) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != name]
    if number > 1:
        query.append((name, str(number)))
    text = urlencode(query)
    return f"{request.url.path}{'?' + text if text else ''}{'#' + anchor if anchor else ''}"


def paginate(request: Request, items: Sequence[Any], number: int, per_page: int = PER_PAGE, *,
             name: str = "page", anchor: str = "") -> Page:
    """Rows ``number`` (1-based; past the end shows the last page) of ``items``, ``per_page``
    at a time; the links change the query parameter ``name`` and end in ``#anchor``."""
    number = clamp(len(items), number, per_page)
    start = (number - 1) * per_page
    return page_of(request, items[start:start + per_page], len(items), number, per_page,
                   name=name, anchor=anchor)


def clamp(total: int, number: int, per_page: int = PER_PAGE) -> int:
    """The page that shows for ``number`` in a list of ``total`` rows: past the end, the last."""
    return min(max(1, number), max(1, -(-total // per_page)))


def page_of(request: Request, rows: Sequence[Any], total: int, number: int,
            per_page: int = PER_PAGE, *, name: str = "page", anchor: str = "") -> Page:
    """Page ``number`` (already clamped) of a list of ``total`` rows whose ``rows`` were cut
    elsewhere (a query that read only them), with the same links as ``paginate``."""
    last = max(1, -(-total // per_page))
    start = (number - 1) * per_page
    return Page(rows, number, last, total, start + 1 if rows else 0,
                _url(request, name, number - 1, anchor) if number > 1 else None,
                _url(request, name, number + 1, anchor) if number < last else None)
