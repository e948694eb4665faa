"""How a vendor's listing names its next page, one small class per shape (after dlt's rest_client paginators).

`VendorClient.pages` sends the first request as the connector wrote it, then asks the paginator for the next
one after each page. A paginator serves one listing: make a new one per listing. One that sees a vendor loop
(the same token or link again) stops the listing with an error, since following it would count costs twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx


class PagingError(Exception):
    """A page that does not say coherently where the next one is; the client words it as a VendorError."""


@dataclass(frozen=True)
class PageRequest:
    """One page's request. A listing with a JSON body is POSTed and pages inside that body (Cursor's); any other
    is a GET paging in its query. `link`: `url` is a link the vendor sent, followed on its own host only."""

    url: str
    params: Any = None
    json: dict[str, Any] | None = None
    link: bool = False

    @property
    def method(self) -> str:
        return "GET" if self.json is None else "POST"

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or self.url

    def argument(self, name: str) -> Any:
        return httpx.QueryParams(self.params).get(name) if self.json is None else self.json.get(name)

    def with_argument(self, name: str, value: Any) -> PageRequest:
        """The same request with `name` set (in place, if it is there already): the query or body is otherwise unchanged."""
        if self.json is None:
            return replace(self, params=httpx.QueryParams(self.params).set(name, value))
        return replace(self, json={**self.json, name: value})


def field_at(body: Any, path: str) -> Any:
    """A field of a JSON body by dotted path ("metadata.next"); None where any step is missing."""
    for name in path.split("."):
        body = body.get(name) if isinstance(body, dict) else None
    return body


class Paginator(ABC):
    """Reads where the next page is from the page just fetched, so connectors write no paging loops."""

    @abstractmethod
    def next(self, request: PageRequest, page: Any) -> PageRequest | None:
        """The request for the page after `page` (the answer to `request`); None when `page` is the last."""


@dataclass
class CursorPaginator(Paginator):
    """An opaque token in the body (at `cursor_path`) names the next page while `has_more_path` is true; it goes
    back as the argument `cursor_param`. Missing while there is more is an error, unless `lenient` (then that page
    is the last)."""

    cursor_path: str
    cursor_param: str
    has_more_path: str = "has_more"
    lenient: bool = False
    _seen: set[str] = field(default_factory=set, init=False, repr=False)

    def next(self, request: PageRequest, page: Any) -> PageRequest | None:
        if not field_at(page, self.has_more_path):
            return None
        token = field_at(page, self.cursor_path)
        if not token and self.lenient:
            return None
        if not token or token in self._seen:
            problem = f"the same {self.cursor_path} again" if token else f"no {self.cursor_path}"
            raise PagingError(f"said {request.path} has more pages but sent {problem}; try again later and report it if it persists")
        self._seen.add(token)
        return request.with_argument(self.cursor_param, token)


@dataclass
class NextLinkPaginator(Paginator):
    """The body's field at `next_url_path` is the next page's URL (absolute, or relative to the base URL) until
    it is empty."""

    next_url_path: str
    _seen: set[str] = field(default_factory=set, init=False, repr=False)

    def next(self, request: PageRequest, page: Any) -> PageRequest | None:
        link = field_at(page, self.next_url_path)
        if not link:
            return None
        if link in self._seen:
            raise PagingError(f"sent the same next-page link twice for {request.path}; stopping so no cost is counted twice")
        self._seen.add(link)
        return PageRequest(link, link=True)


@dataclass(frozen=True)
class PageNumberPaginator(Paginator):
    """The argument `page_param` numbers pages (the first request names the first page). The listing ends at a
    page with nothing at `items_path`, when `has_next_path` is false, or at the page count at `total_path`
    (missing: one page)."""

    page_param: str = "page"
    items_path: str | None = None
    has_next_path: str | None = None
    total_path: str | None = None

    def next(self, request: PageRequest, page: Any) -> PageRequest | None:
        number = int(request.argument(self.page_param))
        if self.items_path and not field_at(page, self.items_path):
            return None
        if self.has_next_path and not field_at(page, self.has_next_path):
            return None
        if self.total_path and number >= int(field_at(page, self.total_path) or 1):
            return None
        return request.with_argument(self.page_param, number + 1)
