"""The shared paginators and VendorClient.pages, against httpx.MockTransport (no server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from costlake.credentials import Secret
from costlake.formats.vendors import VendorClient, VendorError
from costlake.formats.vendors.paginators import (
    CursorPaginator,
    NextLinkPaginator,
    PageNumberPaginator,
)
from costlake.settings import Settings

BASE = "https://vendor.test"


def _client(tmp_path: Path, answer: Callable[[httpx.Request], dict[str, Any]], sent: list[httpx.Request]) -> VendorClient:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=answer(request))

    settings = Settings(home=tmp_path, vendor_max_attempts=1)
    secret = Secret({"api_key": "key"})
    return VendorClient("vendor", BASE, {}, settings, secret=secret, hint="the key", transport=httpx.MockTransport(handler))


def test_cursor_paginator_sends_each_token_back_and_keeps_the_other_params(tmp_path: Path) -> None:
    following = {None: "t1", "t1": "t2", "t2": None}
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> dict[str, Any]:
        token = request.url.params.get("page")
        return {"data": [token or "first"], "has_more": following[token] is not None, "next_page": following[token]}

    client = _client(tmp_path, answer, sent)
    params = [("limit", "31"), ("group_by[]", "model"), ("group_by[]", "workspace_id")]
    pages = list(client.pages("/v1/report", CursorPaginator("next_page", "page"), params=params))
    assert [page["data"] for page in pages] == [["first"], ["t1"], ["t2"]]
    assert [str(request.url) for request in sent] == [
        f"{BASE}/v1/report?limit=31&group_by%5B%5D=model&group_by%5B%5D=workspace_id",
        f"{BASE}/v1/report?limit=31&group_by%5B%5D=model&group_by%5B%5D=workspace_id&page=t1",
        f"{BASE}/v1/report?limit=31&group_by%5B%5D=model&group_by%5B%5D=workspace_id&page=t2",
    ]


def test_cursor_paginator_refuses_a_repeated_or_missing_token_unless_lenient(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []
    client = _client(tmp_path, lambda request: {"has_more": True, "next_page": "same"}, sent)
    with pytest.raises(VendorError, match="vendor said /v1/report has more pages but sent the same next_page again"):
        list(client.pages("/v1/report", CursorPaginator("next_page", "page")))
    assert len(sent) == 2
    client = _client(tmp_path, lambda request: {"has_more": True}, sent)
    with pytest.raises(VendorError, match="sent no next_page"):
        list(client.pages("/v1/report", CursorPaginator("next_page", "page")))
    assert len(list(client.pages("/v1/report", CursorPaginator("next_page", "page", lenient=True)))) == 1


def test_next_link_paginator_follows_absolute_and_relative_links_on_the_same_host(tmp_path: Path) -> None:
    links = {"": f"{BASE}/v1/costs?page_token=a", "a": "/v1/costs?page_token=b", "b": None}
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> dict[str, Any]:
        token = request.url.params.get("page_token", "")
        return {"data": [token], "metadata": {"next": links[token]}}

    client = _client(tmp_path, answer, sent)
    pages = list(client.pages("/v1/costs", NextLinkPaginator("metadata.next"), params={"start_date": "2025-01-01"}))
    assert [page["data"] for page in pages] == [[""], ["a"], ["b"]]
    assert [str(request.url) for request in sent] == [
        f"{BASE}/v1/costs?start_date=2025-01-01", f"{BASE}/v1/costs?page_token=a", f"{BASE}/v1/costs?page_token=b"
    ]


def test_a_next_link_to_another_host_is_refused(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []
    client = _client(tmp_path, lambda request: {"data": [], "metadata": {"next": "https://elsewhere.test/v1/costs?page_token=a"}}, sent)
    with pytest.raises(VendorError, match=r"another host \(elsewhere.test\); refusing to follow it"):
        list(client.pages("/v1/costs", NextLinkPaginator("metadata.next")))
    assert [request.url.host for request in sent] == ["vendor.test"]


def test_page_number_paginator_posts_each_page_number_in_the_body_until_the_page_count(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []
    client = _client(tmp_path, lambda request: {"members": [json.loads(request.content)["page"]], "totalPages": 3}, sent)
    pages = list(client.pages("/teams/spend", PageNumberPaginator(total_path="totalPages"), json={"page": 1, "pageSize": 2}))
    assert [page["members"] for page in pages] == [[1], [2], [3]]
    assert [request.method for request in sent] == ["POST"] * 3
    bodies = [json.loads(request.content) for request in sent]
    assert bodies == [{"page": 1, "pageSize": 2}, {"page": 2, "pageSize": 2}, {"page": 3, "pageSize": 2}]
    assert all(list(body) == ["page", "pageSize"] for body in bodies)  # the page number keeps its place


def test_page_number_paginator_stops_at_an_empty_page_or_when_there_is_no_next(tmp_path: Path) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> dict[str, Any]:
        number = int(request.url.params["page"])
        return {"events": [number] if number < 3 else [], "pagination": {"hasNextPage": True}}

    client = _client(tmp_path, answer, sent)
    paginator = PageNumberPaginator(items_path="events", has_next_path="pagination.hasNextPage")
    assert [page["events"] for page in client.pages("/events", paginator, params={"page": 1})] == [[1], [2], []]
    assert [request.url.params["page"] for request in sent] == ["1", "2", "3"]
    sent.clear()
    client = _client(tmp_path, lambda request: {"events": [1], "pagination": {"hasNextPage": False}}, sent)
    assert len(list(client.pages("/events", paginator, params={"page": 1}))) == 1 and len(sent) == 1
