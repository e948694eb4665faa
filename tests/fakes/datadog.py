"""A fake Datadog usage-metering API: `/api/v2/usage/historical_cost` and `/api/v2/usage/estimated_cost`.

Shapes follow Datadog's docs and official client models (`CostByOrgResponse`, `CostByOrgAttributes`,
`ChargebackBreakdown`): not paginated, `{"data": [{"id", "type": "cost_by_org", "attributes": {...}}]}`, money as
JSON numbers, and per product a `committed`, an `on_demand` and a `total` charge (`total` = their sum). One product
("siem") reports only a `total`, as seen in public fixtures. Estimated costs in daily mode are month-to-date running
totals. Errors are `{"errors": ["..."]}`; a wrong key gets 403 Forbidden. Extra fields Datadog may add
(`last_aggregation_function`, a `meta` object) are always present, so readers must ignore them.

The truth is a ledger of daily amounts (`ledger`); every answer is computed from it, and
`expected_billed_by_month` / `expected_billed_by_day` sum it directly, never through the API shapes.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

HISTORICAL = "/api/v2/usage/historical_cost"
ESTIMATED = "/api/v2/usage/estimated_cost"
API_KEY = "dd-api-key-5f0c2a9e41b7"
APP_KEY = "dd-app-key-9b3e77d1c0a4f2e8"
ACCOUNT = ("acct-4f1a9c", "Acme Corp")
# The parent organization first; its public_id names the account in the summary view.
ORGS = (("9a1b2c3d", "acme-parent"), ("4e5f6a7b", "acme-prod"), ("8c9d0e1f", "acme-staging"))
# product -> its charge types in the ledger; "total" alone = a product Datadog reports without parts.
PRODUCTS = {
    "infra_host": ("committed", "on_demand"),
    "apm_host": ("committed", "on_demand"),
    "logs_indexed_15day": ("on_demand",),
    "siem": ("total",),
}
HISTORY_MONTHS = 15
HISTORICAL_FROM_DAY = 16  # a month reaches historical_cost on this day of the next month


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps({"errors": [message]}), status=status, headers=headers, content_type="application/json")


@dataclass
class FakeDatadog:
    """Usage from the first day Datadog keeps (15 months back) up to yesterday, for `now`."""

    now: datetime = field(default_factory=lambda: datetime(2025, 3, 10, 15, 30, tzinfo=UTC))
    seed: int = 7
    empty: bool = False  # an account with no charges at all
    total_cost_off_by: Decimal = Decimal(0)  # a payload whose total_cost disagrees with its charges
    ledger: dict[tuple[date, str, str, str], Decimal] = field(default_factory=dict)  # (day, org, product, type) -> USD
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    failures: dict[str, list[Response]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        if self.empty:
            return
        rng = random.Random(self.seed)
        day = self.first_month
        while day < self.today:
            for org, _ in ORGS:
                for product, charge_types in PRODUCTS.items():
                    for charge_type in charge_types:
                        # A fixed commitment per day; usage-priced amounts vary and are sometimes zero.
                        cents = 1250 if charge_type == "committed" else rng.choice([0, rng.randint(1, 90_000)])
                        if cents:
                            self.ledger[(day, org, product, charge_type)] = Decimal(cents) / 100
            day += timedelta(days=1)

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()

    @property
    def current_month(self) -> date:
        return _month_start(self.today)

    @property
    def first_month(self) -> date:
        return _add_months(self.current_month, 1 - HISTORY_MONTHS)

    def historical_months(self) -> list[date]:
        """Months historical_cost already has: all closed months but the previous one before the 16th."""
        previous = _add_months(self.current_month, -1)
        last = previous if self.today.day >= HISTORICAL_FROM_DAY else _add_months(previous, -1)
        months, month = [], self.first_month
        while month <= last:
            months.append(month)
            month = _add_months(month, 1)
        return months

    # What a reader should end up with, straight from the ledger.

    def expected_billed_by_month(self, org: str | None = None) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for (day, org_id, _, _), amount in self.ledger.items():
            if org is None or org_id == org:
                totals[day.strftime("%Y-%m")] += amount
        return dict(totals)

    def expected_billed_by_day(self, month: str) -> dict[date, Decimal]:
        totals: dict[date, Decimal] = defaultdict(Decimal)
        for (day, _, _, _), amount in self.ledger.items():
            if day.strftime("%Y-%m") == month:
                totals[day] += amount
        return dict(totals)

    # The server.

    def install(self, httpserver: HTTPServer) -> FakeDatadog:
        httpserver.expect_request(HISTORICAL, method="GET").respond_with_handler(lambda request: self._serve(request, self._historical))
        httpserver.expect_request(ESTIMATED, method="GET").respond_with_handler(lambda request: self._serve(request, self._estimated))
        return self

    def fail(self, path: str, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` requests to `path` with `status` and Datadog's error body."""
        message = "Too many requests" if status == 429 else "Internal Server Error"
        self.failures[path] += [_error(status, message, headers) for _ in range(times)]

    def _serve(self, request: Request, handler: Any) -> Response:
        params = dict(request.args)
        self.requests.append((request.path, params))
        if request.headers.get("DD-API-KEY") != API_KEY or request.headers.get("DD-APPLICATION-KEY") != APP_KEY:
            return _error(403, "Forbidden")
        if self.failures[request.path]:
            return self.failures[request.path].pop(0)
        try:
            data = handler(params)
        except ValueError as error:
            return _error(400, str(error))
        body = {"data": data, "meta": {"generated_by": "fake"}}
        return Response(json.dumps(body, default=float), content_type="application/json;datetime-format=rfc3339")

    def _historical(self, params: dict[str, str]) -> list[dict[str, Any]]:
        if "start_month" not in params:
            raise ValueError("start_month is required")
        start = datetime.strptime(params["start_month"], "%Y-%m").date()
        end = datetime.strptime(params["end_month"], "%Y-%m").date() if "end_month" in params else self.current_month
        months = [month for month in self.historical_months() if start <= month <= end]  # end_month inclusive
        return self._items(params, [(month, month, _add_months(month, 1)) for month in months])

    def _estimated(self, params: dict[str, str]) -> list[dict[str, Any]]:
        previous = _add_months(self.current_month, -1)
        if "start_month" in params and "start_date" in params:
            raise ValueError("Either start_month or start_date should be specified, but not both")
        if "start_date" in params:
            start = datetime.strptime(params["start_date"], "%Y-%m-%d").date()
            end = datetime.strptime(params["end_date"], "%Y-%m-%d").date() if "end_date" in params else self.today
            if start < previous:
                raise ValueError("start_date cannot go beyond two months in the past")
            # Day-over-day cumulative: each day carries the month's total from its first day to that day.
            days = [start + timedelta(days=offset) for offset in range((min(end, self.today - timedelta(days=1)) - start).days + 1)]
            return self._items(params, [(day, _month_start(day), day + timedelta(days=1)) for day in days])
        start = datetime.strptime(params.get("start_month", self.current_month.strftime("%Y-%m")), "%Y-%m").date()
        end = datetime.strptime(params["end_month"], "%Y-%m").date() if "end_month" in params else self.current_month
        if start < previous:
            raise ValueError("start_month cannot go beyond two months in the past")
        months = [month for month in (previous, self.current_month) if start <= month <= end]
        return self._items(params, [(month, month, _add_months(month, 1)) for month in months])

    def _items(self, params: dict[str, str], periods: Iterable[tuple[date, date, date]]) -> list[dict[str, Any]]:
        """One item per (dated period, organization) in the sub-org view, per dated period in the summary view;
        each sums the ledger over [from, to)."""
        view = params.get("view", "summary")
        if view not in ("summary", "sub-org"):
            raise ValueError(f"Invalid view: {view}")
        scopes = [(org, [org[0]]) for org in ORGS] if view == "sub-org" else [(ORGS[0], [org for org, _ in ORGS])]
        items = []
        for dated, since, until in periods:
            for (public_id, org_name), org_ids in scopes:
                amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
                for (day, org_id, product, charge_type), amount in self.ledger.items():
                    if since <= day < until and org_id in org_ids:
                        amounts[(product, charge_type)] += amount
                charges = self._charges(amounts)
                total = sum((charge["cost"] for charge in charges if charge["charge_type"] == "total"), Decimal(0))
                attributes = {
                    "account_name": ACCOUNT[1],
                    "account_public_id": ACCOUNT[0],
                    "org_name": org_name,
                    "public_id": public_id,
                    "region": "us",
                    "date": f"{dated.isoformat()}T00:00:00+00:00",
                    "total_cost": total + self.total_cost_off_by,
                    "charges": charges,
                }
                items.append({"id": f"{public_id}-{dated.isoformat()}", "type": "cost_by_org", "attributes": attributes})
        return items

    @staticmethod
    def _charges(amounts: dict[tuple[str, str], Decimal]) -> list[dict[str, Any]]:
        charges = []
        for product, charge_types in PRODUCTS.items():
            if charge_types == ("total",):
                parts = []
            else:
                parts = [(charge_type, amounts[(product, charge_type)]) for charge_type in ("committed", "on_demand")]
            total = sum((amount for _, amount in parts), Decimal(0)) if parts else amounts[(product, "total")]
            for charge_type, cost in [*parts, ("total", total)]:
                charges.append({"product_name": product, "charge_type": charge_type, "cost": cost, "last_aggregation_function": "sum"})
        return charges
