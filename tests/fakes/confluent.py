"""A local Confluent Cloud Billing API: `GET /billing/v1/costs` as its OpenAPI spec (ccloud-sdk-go-v2
billing/v1/api/openapi.yaml) documents it.

HTTP Basic with the Cloud API key id and secret; start_date (inclusive) and end_date (exclusive) required, a window
of at most one month starting at most a year back; pages of at most `max_page_items` lines, `metadata.next` a full
URL carrying only a page_token; JSON:API error bodies; rate-limit headers on every answer. Money goes out as JSON
numbers (the spec's `format: double`). Lines are generated deterministically for every day before `today`.
"""

from __future__ import annotations

import base64
import json
import random
import secrets
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

COSTS_PATH = "/billing/v1/costs"
API_KEY = "CONFLUENTKEY1234"
API_SECRET = "cflt-secret-0123456789abcdef"

# (product, line_type, unit, list price per unit) of the daily lines each resource gets.
_LINES = {
    "lkc": [("KAFKA", "KAFKA_NUM_CKUS", "CKU-Hour", Decimal("1.50")), ("KAFKA", "KAFKA_STORAGE", "GB-Hour", Decimal("0.0001")),
            ("KAFKA", "KAFKA_NETWORK_READ", "GB", Decimal("0.05"))],
    "lcc": [("CONNECT", "CONNECT_CAPACITY", "Task-Hour", Decimal("0.1389"))],
    "lsrc": [("STREAM_GOVERNANCE", "GOVERNANCE_BASE", "Hour", Decimal("0.0137"))],
}
_RESOURCES = [("lkc-7yq0o1", "orders-prod", "env-prod1"), ("lkc-2kd9w3", "analytics", "env-data2"),
              ("lcc-a1b2c3", "s3-sink", "env-prod1"), ("lsrc-9z8y7x", "schema-registry", "env-prod1")]


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _json(body: Any) -> str:
    """Money as JSON numbers, as Confluent sends them (doubles); these few decimals round-trip exactly."""
    return json.dumps(body, default=float)


def generate_lines(first: date, today: date, seed: int = 7) -> list[dict[str, Any]]:
    """Daily cost lines from `first` to the day before `today`: usage per resource, a daily support line, and a
    promo credit (negative) every 7th day. Money is Decimal with at most 4 decimals."""
    rng = random.Random(seed)
    lines: list[dict[str, Any]] = []
    day = first
    while day < today:
        end = (day + timedelta(days=1)).isoformat()
        base = {"start_date": day.isoformat(), "end_date": end, "granularity": "DAILY", "api_version": "billing/v1", "kind": "Cost"}
        for resource_id, name, environment in _RESOURCES:
            for product, line_type, unit, price in _LINES[resource_id.split("-")[0]]:
                quantity = Decimal(rng.randint(1, 2400)) / 100
                original = (quantity * price).quantize(Decimal("0.0001"))
                discount = (original * Decimal(rng.choice([0, 0, 10, 20])) / 100).quantize(Decimal("0.0001"))
                lines.append({
                    **base, "id": f"dlz-{len(lines):07x}", "product": product, "line_type": line_type, "unit": unit,
                    "network_access_type": rng.choice(["INTERNET", "PRIVATE_LINK"]), "price": price,
                    "quantity": quantity, "original_amount": original, "discount_amount": discount,
                    "amount": original - discount,
                    "resource": {"id": resource_id, "display_name": name, "environment": {"id": environment}},
                    "tier_dimensions": {"tier": "standard"}, "x_unknown_field": {"nested": [1, 2]},
                })
        lines.append({**base, "id": f"dlz-{len(lines):07x}", "product": "SUPPORT_CLOUD_BUSINESS", "line_type": "SUPPORT",
                      "unit": "Day", "price": Decimal("33.33"), "quantity": 1, "original_amount": Decimal("33.33"), "discount_amount": 0,
                      "amount": Decimal("33.33")})
        if day.day % 7 == 0:
            credit = Decimal(rng.randint(100, 2000)) / 100
            lines.append({**base, "id": f"dlz-{len(lines):07x}", "product": "KAFKA", "line_type": "PROMO_CREDIT",
                          "description": "KAFKA101", "unit": "USD", "original_amount": -credit, "amount": -credit})
        day += timedelta(days=1)
    return lines


def _error(status: int, code: str, title: str, detail: str, parameter: str | None = None) -> Response:
    error: dict[str, Any] = {"id": secrets.token_hex(8), "status": str(status), "code": code, "title": title, "detail": detail}
    if parameter:
        error["source"] = {"parameter": parameter}
    return Response(json.dumps({"errors": [error]}), status=status, content_type="application/json")


class FakeConfluent:
    """The costs endpoint over `lines`. `requests` records every (start_date, end_date) window asked for."""

    def __init__(self, today: date, lines: list[dict[str, Any]] | None = None, *, months: int = 3, max_page_items: int = 500) -> None:
        self.today = today
        first = _month_start(today)
        for _ in range(months - 1):
            first = _month_start(first - timedelta(days=1))
        self.lines = generate_lines(first, today) if lines is None else lines
        self.max_page_items = max_page_items
        self.windows: list[tuple[str, str]] = []
        self.pages = 0
        self._tokens: dict[str, tuple[date, date, int, int]] = {}
        self._url = ""

    def install(self, httpserver: HTTPServer) -> FakeConfluent:
        self._url = httpserver.url_for(COSTS_PATH)
        httpserver.expect_request(COSTS_PATH, method="GET").respond_with_handler(self._handle)
        return self

    def expected_billed_by_month(self) -> dict[str, Decimal]:
        """Sum of `amount` per month of `start_date`, straight from the fake's own lines."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            totals[line["start_date"][:7]] += line["amount"]
        return dict(totals)

    @staticmethod
    def credential() -> dict[str, str]:
        return {"api_key": API_KEY, "api_secret": API_SECRET}

    def _authorized(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{API_KEY}:{API_SECRET}".encode()).decode()
        return request.headers.get("Authorization") == expected

    def _handle(self, request: Request) -> Response:
        if not self._authorized(request):
            response = _error(401, "user_unauthenticated", "Authentication Required", "Valid authentication credentials must be provided")
            response.headers["WWW-Authenticate"] = 'Basic error="invalid_key", error_description="The API Key is invalid"'
            return response
        token = request.args.get("page_token")
        if token is not None:
            if token not in self._tokens:
                return _error(400, "invalid_page_token", "Invalid Page Token", "The page token is invalid or expired", "page_token")
            start, end, offset, size = self._tokens[token]
        else:
            problem = self._window_problem(request.args)
            if problem:
                return _error(400, "invalid_filter", "Invalid Filter", *problem)
            start, end = date.fromisoformat(request.args["start_date"]), date.fromisoformat(request.args["end_date"])
            size, offset = int(request.args.get("page_size", 5000)), 0
            self.windows.append((start.isoformat(), end.isoformat()))
        self.pages += 1
        return self._page(start, end, offset, size)

    def _window_problem(self, args: Any) -> tuple[str, str] | None:
        for name in ("start_date", "end_date"):
            try:
                date.fromisoformat(args.get(name, ""))
            except ValueError:
                return f"{name} is required, as YYYY-MM-DD", name
        start, end = date.fromisoformat(args["start_date"]), date.fromisoformat(args["end_date"])
        if end <= start:
            return "end_date must be after start_date", "end_date"
        if (end - start).days > 31:
            return "the date range must not exceed one month", "end_date"
        if start < self.today - timedelta(days=365):
            return "start_date must be within the last year", "start_date"
        if not 1 <= int(args.get("page_size", 5000)) <= 10000:
            return "page_size must be between 1 and 10000", "page_size"
        return None

    def _page(self, start: date, end: date, offset: int, size: int) -> Response:
        chosen = [line for line in self.lines if start.isoformat() <= line["start_date"] < end.isoformat()]
        served = min(size, self.max_page_items)
        metadata: dict[str, Any] = {"total_size": len(chosen), "first": self._url}
        if offset + served < len(chosen):
            token = secrets.token_urlsafe(15)
            self._tokens[token] = (start, end, offset + served, size)
            metadata["next"] = f"{self._url}?page_token={token}"
        body = {"api_version": "billing/v1", "kind": "CostList", "metadata": metadata, "data": chosen[offset:offset + served]}
        headers = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "999", "X-RateLimit-Reset": "60", "X-Request-Id": secrets.token_hex(8)}
        return Response(_json(body), status=200, content_type="application/json", headers=headers)
