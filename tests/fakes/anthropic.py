"""A local Anthropic Admin API (organization, workspaces, cost report, messages usage report) for tests.

It follows the documented shapes (platform.claude.com/docs/en/api/admin/...): `x-api-key` + `anthropic-version`
headers, errors as {"type": "error", "error": {"type": ..., "message": ...}}, daily buckets in [starting_at,
ending_at) with `limit` (1-31) buckets per page, `has_more`/`next_page` paging (the cost report's tokens are
base64 "page_..." strings, the usage report's bare timestamps: both shapes appear in the docs), and `group_by[]`
really grouping: dimensions not grouped by are null and amounts/counts are summed. Results also carry fields the
connector does not know, as a newer API would.

    fake = FakeAnthropic(generate()).install(httpserver)   # credential: API_KEY
    fake.expected_billed_by_month()                        # {"2025-07": Decimal(...)} in dollars
"""

from __future__ import annotations

import base64
import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

API_KEY = "sk-ant-admin01-fake-0123456789abcdef"
API_VERSION = "2023-06-01"
ORGANIZATION = {"id": "12345678-1234-5678-1234-567812345678", "name": "Costlake Fake Org", "type": "organization"}
WORKSPACES = [
    {"id": "wrkspc_01Research", "name": "Research", "archived_at": None},
    {"id": "wrkspc_01Support", "name": "Support", "archived_at": "2025-07-20T10:00:00Z"},
]
COST_REPORT = "/v1/organizations/cost_report"
USAGE_REPORT = "/v1/organizations/usage_report/messages"
TOKEN_TYPES = ("uncached_input_tokens", "output_tokens", "cache_read_input_tokens",
               "cache_creation.ephemeral_1h_input_tokens", "cache_creation.ephemeral_5m_input_tokens")
TOKEN_LABELS = dict(zip(TOKEN_TYPES, ("Input Tokens", "Output Tokens", "Cache Read", "Cache Write (1h)", "Cache Write (5m)")))
# Model -> (display name, cents per million tokens in TOKEN_TYPES order): Anthropic's list prices.
MODELS = {
    "claude-sonnet-4-20250514": ("Claude Sonnet 4", (300, 1500, 30, 600, 375)),
    "claude-opus-4-1-20250805": ("Claude Opus 4.1", (1500, 7500, 150, 3000, 1875)),
    "claude-3-5-haiku-20241022": ("Claude Haiku 3.5", (80, 400, 8, 160, 100)),
}
COST_DESCRIPTION_FIELDS = ("description", "cost_type", "model", "service_tier", "context_window", "token_type", "inference_geo", "speed")
COST_GROUPS = {"workspace_id", "description"}
USAGE_DIMENSIONS = ("api_key_id", "workspace_id", "model", "service_tier", "context_window")
USAGE_GROUPS = {*USAGE_DIMENSIONS, "inference_geo", "speed", "account_id", "service_account_id"}
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
               429: "rate_limit_error", 500: "api_error", 503: "api_error", 529: "overloaded_error"}


@dataclass(frozen=True)
class UsageRecord:
    """Messages usage of one API key on one day for one model, tier and context window."""

    day: date
    workspace_id: str | None
    api_key_id: str | None
    model: str
    service_tier: str  # standard | batch | priority (priority costs never reach the cost report)
    context_window: str
    tokens: dict[str, int]  # by the cost report's token_type names
    web_search_requests: int = 0


@dataclass(frozen=True)
class CostRecord:
    """One cost-report line at its finest grain (day, workspace, description); amount in cents as a string."""

    day: date
    workspace_id: str | None
    amount: str
    description: str
    cost_type: str
    model: str | None = None
    service_tier: str | None = None
    context_window: str | None = None
    token_type: str | None = None
    inference_geo: str | None = None
    speed: str | None = None
    currency: str = "USD"


@dataclass
class FakeData:
    usage: list[UsageRecord] = field(default_factory=list)
    costs: list[CostRecord] = field(default_factory=list)

    def tokens(self, day: date, workspace_id: str | None, model: str, tier: str, context_window: str, token_type: str) -> int:
        return sum(record.tokens.get(token_type, 0) for record in self.usage
                   if (record.day, record.workspace_id, record.model, record.service_tier, record.context_window)
                   == (day, workspace_id, model, tier, context_window))

    def web_searches(self, day: date, workspace_id: str | None) -> int:
        return sum(record.web_search_requests for record in self.usage if (record.day, record.workspace_id) == (day, workspace_id))


def priced_costs(usage: Iterable[UsageRecord]) -> list[CostRecord]:
    """The cost lines Anthropic would bill for this usage: per day, workspace, model, tier, context window and
    token type, plus web searches at 1 cent each; priority-tier usage is left out, as in the real report."""
    tokens: dict[tuple[Any, ...], int] = defaultdict(int)
    searches: dict[tuple[Any, ...], int] = defaultdict(int)
    for record in usage:
        if record.service_tier == "priority":
            continue
        for token_type, count in record.tokens.items():
            tokens[(record.day, record.workspace_id, record.model, record.service_tier, record.context_window, token_type)] += count
        searches[(record.day, record.workspace_id)] += record.web_search_requests
    costs = []
    for (day, workspace, model, tier, window, token_type), count in sorted(tokens.items(), key=str):
        display, prices = MODELS[model]
        factor = Decimal("0.5" if tier == "batch" else 1) * (2 if window == "200k-1M" else 1)
        cents = (Decimal(count) * prices[TOKEN_TYPES.index(token_type)] * factor / 1_000_000).quantize(Decimal("0.0001"))
        description = f"{display} Usage - {TOKEN_LABELS[token_type]}" + (" (Batch)" if tier == "batch" else "") + (
            " (Long Context)" if window == "200k-1M" else "")
        if count:
            costs.append(CostRecord(day, workspace, str(cents), description, "tokens", model, tier, window, token_type, "global"))
    costs += [CostRecord(day, workspace, f"{count}.00", "Web Search Usage", "web_search")
              for (day, workspace), count in sorted(searches.items(), key=str) if count]
    return costs


def generate(first_day: date = date(2025, 6, 15), last_day: date = date(2025, 8, 10), seed: int = 1) -> FakeData:
    """Deterministic usage for every day of [first_day, last_day] in three workspaces (the default one is None),
    two API keys each, and the cost lines it prices to, plus a code-execution charge every third day."""
    rng = random.Random(seed)
    usage = []
    keys = {None: ["apikey_01Default"], "wrkspc_01Research": ["apikey_01R1", "apikey_01R2"], "wrkspc_01Support": ["apikey_01S1"]}
    combos = [(model, tier, "0-200k") for model in MODELS for tier in ("standard", "batch")]
    combos += [("claude-sonnet-4-20250514", "standard", "200k-1M"), ("claude-sonnet-4-20250514", "priority", "0-200k")]
    day = first_day
    while day <= last_day:
        for workspace, api_keys in keys.items():
            for model, tier, window in rng.sample(combos, 4):
                for api_key in api_keys:
                    counts = {token_type: rng.choice((0, rng.randint(1, 3_000_000))) for token_type in TOKEN_TYPES}
                    searches = rng.choice((0, 0, rng.randint(1, 40)))
                    usage.append(UsageRecord(day, workspace, api_key, model, tier, window, counts, searches))
        day += timedelta(days=1)
    costs = priced_costs(usage)
    costs += [CostRecord(day, "wrkspc_01Research", f"{rng.randint(100, 900)}.{rng.randint(0, 99):02d}", "Code Execution Usage",
                         "code_execution") for day in sorted({record.day for record in usage}) if day.toordinal() % 3 == 0]
    return FakeData(usage, costs)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _ok(body: Any) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json")


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _BadRequest(Exception):
    pass


class FakeAnthropic:
    """The fake server over `data`. `buckets_per_page` caps buckets per page below the asked `limit` (to force
    paging); `usage_spelling="flat"` writes the cache-write counts as flat fields (cache_creation_5m_input_tokens);
    `organization_found=False` makes /v1/organizations/me answer 404. `requests` records (path, query) per call."""

    def __init__(self, data: FakeData | None = None, *, api_key: str = API_KEY, buckets_per_page: int = 31,
                 usage_spelling: str = "nested", organization_found: bool = True) -> None:
        self.data = data if data is not None else generate()
        self.api_key = api_key
        self.buckets_per_page = buckets_per_page
        self.usage_spelling = usage_spelling
        self.organization_found = organization_found
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self._failures: dict[str, list[list[Any]]] = defaultdict(list)

    def install(self, httpserver: HTTPServer) -> FakeAnthropic:
        routes: dict[str, Callable[[Request], Response]] = {
            "/v1/organizations/me": self._organization,
            "/v1/organizations/workspaces": self._workspaces,
            COST_REPORT: self._cost_report,
            USAGE_REPORT: self._usage_report,
        }
        for path, handler in routes.items():
            httpserver.expect_request(path, method="GET").respond_with_handler(self._guarded(path, handler))
        return self

    def fail(self, path: str, status: int, *, times: int | None = 1, retry_after: str | None = None) -> None:
        """Answer the next `times` calls to `path` (None: every call) with `status` and Anthropic's error body."""
        self._failures[path].append([status, times, {"Retry-After": retry_after} if retry_after is not None else {}])

    def calls(self, path: str) -> list[dict[str, list[str]]]:
        return [query for called, query in self.requests if called == path]

    def expected_billed_by_month(self) -> dict[str, Decimal]:
        """Dollars per "YYYY-MM", straight from the cost lines' cent strings."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for cost in self.data.costs:
            totals[cost.day.strftime("%Y-%m")] += Decimal(cost.amount) / 100
        return dict(totals)

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _guarded(self, path: str, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def respond(request: Request) -> Response:
            self.requests.append((path, {key: request.args.getlist(key) for key in request.args}))
            pending = self._failures[path]
            if pending:
                status, times, headers = pending[0]
                if times is not None:
                    pending[0][1] -= 1
                    if pending[0][1] <= 0:
                        pending.pop(0)
                return _error(status, "Internal server error" if status >= 500 else "Rate limited; slow down", headers)
            if request.headers.get("x-api-key") != self.api_key:
                return _error(401, "invalid x-api-key")
            if request.headers.get("anthropic-version") != API_VERSION:
                return _error(400, "anthropic-version: header is required")
            try:
                return handler(request)
            except _BadRequest as problem:
                return _error(400, str(problem))

        return respond

    def _organization(self, request: Request) -> Response:
        return _ok(ORGANIZATION) if self.organization_found else _error(404, "Not found")

    def _workspaces(self, request: Request) -> Response:
        listed = [w for w in WORKSPACES if request.args.get("include_archived") == "true" or not w["archived_at"]]
        after = request.args.get("after_id")
        if after:
            listed = listed[[w["id"] for w in listed].index(after) + 1:]
        page = listed[: int(request.args.get("limit", 20))]
        items = [{**w, "type": "workspace", "created_at": "2025-01-02T03:04:05Z", "display_color": "#6C5BB9"} for w in page]
        return _ok({"data": items, "has_more": len(listed) > len(page), "first_id": page[0]["id"] if page else None,
                    "last_id": page[-1]["id"] if page else None})

    def _days(self, request: Request, *, decode_page: Callable[[str], str]) -> tuple[list[date], bool, date | None]:
        """The page of day buckets a report request asks for: (days, has_more, first day of the next page)."""
        args = request.args
        if args.get("bucket_width", "1d") != "1d":
            raise _BadRequest("this fake only serves bucket_width 1d")
        try:
            start = _parse(args["starting_at"])
            limit = int(args.get("limit", 7))
            end = _parse(args["ending_at"]) if "ending_at" in args else start + timedelta(days=limit)
            page = _parse(decode_page(args["page"])) if "page" in args else start
        except (KeyError, ValueError) as problem:
            raise _BadRequest(f"bad or missing parameter: {problem}") from None
        if not 1 <= limit <= 31:
            raise _BadRequest("limit: must be between 1 and 31 for bucket_width 1d")
        days, day = [], max(start, page).date()  # buckets snap to the start of the UTC day
        while datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC) <= end:
            days.append(day)
            day += timedelta(days=1)
        size = min(limit, self.buckets_per_page)
        return days[:size], len(days) > size, days[size] if len(days) > size else None

    def _groups(self, request: Request, allowed: set[str]) -> set[str]:
        groups = set(request.args.getlist("group_by[]"))
        if groups - allowed:
            raise _BadRequest(f"group_by[]: unknown value(s) {sorted(groups - allowed)}")
        return groups

    def _cost_report(self, request: Request) -> Response:
        groups = self._groups(request, COST_GROUPS)
        days, more, following = self._days(request, decode_page=lambda token: base64.b64decode(token.removeprefix("page_")).decode())
        buckets = []
        for day in days:
            sums: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
            for cost in (c for c in self.data.costs if c.day == day):
                described = tuple(getattr(cost, name) if "description" in groups else None for name in COST_DESCRIPTION_FIELDS)
                sums[(cost.workspace_id if "workspace_id" in groups else None, cost.currency, *described)] += Decimal(cost.amount)
            results = [{"amount": str(amount), "workspace_id": key[0], "currency": key[1],
                        **dict(zip(COST_DESCRIPTION_FIELDS, key[2:])), "granularity_note": "unknown to the connector"}
                       for key, amount in sorted(sums.items(), key=str)]
            buckets.append({"starting_at": _stamp(day), "ending_at": _stamp(day + timedelta(days=1)), "results": results})
        token = "page_" + base64.b64encode(_stamp(following).encode()).decode() if following else None
        return _ok({"data": buckets, "has_more": more, "next_page": token, "request_note": "unknown top-level field"})

    def _usage_report(self, request: Request) -> Response:
        groups = self._groups(request, USAGE_GROUPS)
        days, more, following = self._days(request, decode_page=lambda token: token)
        buckets = []
        for day in days:
            sums: dict[tuple[Any, ...], defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
            for record in (r for r in self.data.usage if r.day == day):
                key = tuple(getattr(record, name) if name in groups else None for name in USAGE_DIMENSIONS)
                for token_type, count in record.tokens.items():
                    sums[key][token_type] += count
                sums[key]["web_search_requests"] += record.web_search_requests
            buckets.append({"starting_at": _stamp(day), "ending_at": _stamp(day + timedelta(days=1)),
                            "results": [self._usage_result(dict(zip(USAGE_DIMENSIONS, key)), counts)
                                        for key, counts in sorted(sums.items(), key=str)]})
        return _ok({"data": buckets, "has_more": more, "next_page": _stamp(following) if following else None})

    def _usage_result(self, dimensions: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
        result = {**dimensions, "uncached_input_tokens": counts["uncached_input_tokens"], "output_tokens": counts["output_tokens"],
                  "cache_read_input_tokens": counts["cache_read_input_tokens"],
                  "server_tool_use": {"web_search_requests": counts["web_search_requests"], "web_fetch_requests": 3}}
        one_hour, five_minutes = counts["cache_creation.ephemeral_1h_input_tokens"], counts["cache_creation.ephemeral_5m_input_tokens"]
        if self.usage_spelling == "flat":
            result |= {"cache_creation_1h_input_tokens": one_hour, "cache_creation_5m_input_tokens": five_minutes}
        else:
            result["cache_creation"] = {"ephemeral_1h_input_tokens": one_hour, "ephemeral_5m_input_tokens": five_minutes}
        return result
