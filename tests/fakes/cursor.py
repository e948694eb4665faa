"""A local Cursor Admin API (https://cursor.com/docs/account/teams/admin-api) for tests.

It follows the documented shapes: HTTP Basic auth with the key as username and an empty password;
POST /teams/filtered-usage-events (startDate/endDate in epoch ms, at most 30 days apart, page/pageSize,
`pagination.hasNextPage`, timestamps as strings, cents as JSON numbers); POST /teams/spend (page/pageSize,
`totalPages`, cumulative `spendCents` since `subscriptionCycleStart`); GET /teams/members. Like Cursor it keeps
only a rolling window of events. Every generated event records, by construction, the cents it bills, so tests
compare a reader's totals with figures the fake knows on its own.

    fake = FakeCursor()            # deterministic data up to NOW
    fake.install(httpserver)
    fake.expected_billed_by_month()  # {"2026-03": Decimal(...), ...}
"""

from __future__ import annotations

import base64
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

KEY = "key_" + "5e" * 32
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_RANGE_MS = 30 * 24 * 3600 * 1000
USERS = ("developer@company.com", "admin@company.com", "sam@company.com", "lee@company.com")
NAMES = ("Alex", "Sam Admin", "Sam", "Lee")
MODELS = ("claude-4-opus", "claude-4-sonnet", "gpt-5", "auto")
EVENTS_PATH = "/teams/filtered-usage-events"
SPEND_PATH = "/teams/spend"
MEMBERS_PATH = "/teams/members"


def ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


@dataclass
class FakeEvent:
    """One usage event as Cursor sends it, and what it bills in cents (known when it was made, not computed)."""

    moment: datetime  # kept beside the payload, so a test may spoil the payload's timestamp
    payload: dict[str, Any]
    billed_cents: Decimal
    included_cents: Decimal = Decimal(0)  # model cost of a call the subscription pays for

    @property
    def email(self) -> str | None:
        return self.payload.get("userEmail")


def _cents(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(1, 6_000_000)).scaleb(-5)  # up to 60 cents, 5 decimals, like 20.18232


def _tokens(rng: random.Random, cents: Decimal) -> dict[str, Any]:
    return {"inputTokens": rng.randint(0, 9000), "outputTokens": rng.randint(0, 3000), "cacheWriteTokens": rng.randint(0, 12000),
            "cacheReadTokens": rng.randint(0, 20000), "totalCents": cents}


def event(moment: datetime, email: str | None, rng: random.Random, shape: str) -> FakeEvent:
    """One event of a given shape; the shapes are the kinds of calls the docs and integrators describe."""
    base: dict[str, Any] = {"timestamp": str(ms(moment)), "model": rng.choice(MODELS), "maxMode": rng.random() < 0.3,
                            "requestsCosts": Decimal(rng.randint(1, 40)).scaleb(-1), "isFreeBugbot": False,
                            "someFutureField": {"nested": [1, 2]}}
    if email is not None:
        base["userEmail"] = email
    model_cents = _cents(rng)
    if shape == "charged":  # newer payloads: chargedCents = model cost + Cursor's token fee
        fee = Decimal(rng.randint(0, 90000)).scaleb(-5)
        base.update(kind="Usage-based", isTokenBasedCall=True, tokenUsage=_tokens(rng, model_cents), chargedCents=model_cents + fee,
                    cursorTokenFee=fee, isChargeable=True, isHeadless=rng.random() < 0.2)
        return FakeEvent(moment, base, model_cents + fee)
    if shape == "token":  # the documented shape: no chargedCents, the model cost is what is billed
        base.update(kind="Usage-based", isTokenBasedCall=True, tokenUsage=_tokens(rng, model_cents))
        return FakeEvent(moment, base, model_cents)
    if shape == "included-request":  # documented: request-based, no tokenUsage
        base.update(kind="Included in Business", isTokenBasedCall=False)
        return FakeEvent(moment, base, Decimal(0))
    if shape == "included-token":  # the subscription pays: not chargeable, the model cost is still reported
        base.update(kind="Included in Business", isTokenBasedCall=True, tokenUsage=_tokens(rng, model_cents), chargedCents=0,
                    isChargeable=False)
        return FakeEvent(moment, base, Decimal(0), included_cents=model_cents)
    if shape == "free-bugbot":
        base.update(kind="Usage-based", isTokenBasedCall=True, tokenUsage=_tokens(rng, model_cents), isFreeBugbot=True)
        return FakeEvent(moment, base, Decimal(0))
    if shape == "errored":
        base.update(kind="Errored, Not Charged", isTokenBasedCall=True, tokenUsage=_tokens(rng, model_cents))
        return FakeEvent(moment, base, Decimal(0))
    raise ValueError(f"unknown event shape {shape}")


SHAPES = ("charged", "charged", "token", "token", "included-request", "included-token", "free-bugbot", "errored")


def documented_events(moment: datetime) -> list[FakeEvent]:
    """The three events of the docs' example response, verbatim apart from the time."""
    docs = [
        {"model": "claude-4-opus", "kind": "Usage-based", "maxMode": True, "requestsCosts": 5, "isTokenBasedCall": True,
         "tokenUsage": {"inputTokens": 126, "outputTokens": 450, "cacheWriteTokens": 6112, "cacheReadTokens": 11964,
                        "totalCents": Decimal("20.18232")}, "isFreeBugbot": False, "userEmail": "developer@company.com"},
        {"model": "claude-4-opus", "kind": "Usage-based", "maxMode": True, "requestsCosts": 10, "isTokenBasedCall": True,
         "tokenUsage": {"inputTokens": 5805, "outputTokens": 311, "cacheWriteTokens": 11964, "cacheReadTokens": 0,
                        "totalCents": Decimal("40.16699999999999")}, "isFreeBugbot": False, "userEmail": "developer@company.com"},
        {"model": "claude-4-sonnet-thinking", "kind": "Included in Business", "maxMode": True, "requestsCosts": Decimal("1.4"),
         "isTokenBasedCall": False, "isFreeBugbot": False, "userEmail": "admin@company.com"},
    ]
    billed = [Decimal("20.18232"), Decimal("40.16699999999999"), Decimal(0)]
    return [FakeEvent(moment + timedelta(milliseconds=i), {"timestamp": str(ms(moment) + i), **payload}, cents)
            for i, (payload, cents) in enumerate(zip(docs, billed))]


def generate_events(now: datetime = NOW, days: int = 100, seed: int = 20260520) -> list[FakeEvent]:
    """A few events per user and day over `days` before `now`, a few without a user (free Bugbot runs), and on
    every day one event exactly at midnight and one a millisecond before: on any day, month, request-window or
    cycle boundary a reader could count an event twice or lose it."""
    rng = random.Random(seed)
    start = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=days)
    events: list[FakeEvent] = []
    day = start
    while day < now:
        for email in USERS:
            for _ in range(rng.randint(0, 3)):
                moment = day + timedelta(milliseconds=rng.randint(0, 86_400_000 - 1))
                if moment < now:
                    events.append(event(moment, email, rng, rng.choice(SHAPES)))
        if rng.random() < 0.2:
            events.append(event(day + timedelta(hours=3), None, rng, "free-bugbot"))
        events.append(event(day, USERS[0], rng, "charged"))  # at midnight: on every day, month or window boundary
        events.append(event(day - timedelta(milliseconds=1), USERS[1], rng, "token"))  # the last moment of the day before
        day += timedelta(days=1)
    events += documented_events(datetime(2026, 4, 14, 9, 30, tzinfo=UTC))
    return events


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Cursor's numbers are JSON floats (e.g. 40.16699999999999): Decimal goes out as the same digits.
    return Response(json.dumps(body, default=float), status=status, headers=headers, content_type="application/json")


def _month(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


@dataclass
class FakeCursor:
    events: list[FakeEvent] = field(default_factory=generate_events)
    key: str = KEY
    now: datetime = NOW
    retention: timedelta = timedelta(days=90)
    cycle_start: datetime = datetime(2026, 4, 27, tzinfo=UTC)  # a mid-month cycle, as in the docs' example
    spend_offset_cents: int = 0  # added to the first member's spend, to make the cross-check fail
    send_included_spend: bool = False  # members carry includedSpendCents (third-party report) and spend includes it
    events_page_cap: int = 40  # the server's own page size cap, so paging is exercised
    spend_page_cap: int = 2
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _failures: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=lambda: defaultdict(list))

    # --- what a correct reader must produce -------------------------------------------------------------------

    def served(self) -> list[FakeEvent]:
        """The events Cursor still holds: its rolling window."""
        return [item for item in self.events if self.now - self.retention <= item.moment < self.now]

    def complete_months(self) -> set[str]:
        """Months whose every day is inside the retention window (a partly expired month must not be loaded)."""
        edge = self.now - self.retention
        return {_month(item.moment) for item in self.served() if datetime(item.moment.year, item.moment.month, 1, tzinfo=UTC) >= edge}

    def expected_billed_by_month(self) -> dict[str, Decimal]:
        """Dollars billed per month, for the complete months."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        complete = self.complete_months()
        for item in self.served():
            if _month(item.moment) in complete:
                totals[_month(item.moment)] += item.billed_cents / 100
        return dict(totals)

    def fail(self, path: str, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """The next `times` calls to `path` answer `status` (e.g. 429 with Retry-After, or 503)."""
        self._failures[path] += [(status, headers or {})] * times

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [body for called, body in self.requests if called == path]

    # --- the server -----------------------------------------------------------------------------------------

    def install(self, httpserver: HTTPServer) -> FakeCursor:
        httpserver.expect_request(EVENTS_PATH, method="POST").respond_with_handler(self._guarded(EVENTS_PATH, self._events))
        httpserver.expect_request(SPEND_PATH, method="POST").respond_with_handler(self._guarded(SPEND_PATH, self._spend))
        httpserver.expect_request(MEMBERS_PATH, method="GET").respond_with_handler(self._guarded(MEMBERS_PATH, self._members))
        return self

    def _guarded(self, path: str, handler: Any) -> Any:
        def respond(request: Request) -> Response:
            body = request.get_json(silent=True) or {}
            self.requests.append((path, body))
            if self._failures[path]:
                status, headers = self._failures[path].pop(0)
                words = "Too Many Requests" if status == 429 else "Service Unavailable"
                return _json({"error": words, "message": "Rate limit exceeded. Please try again later." if status == 429
                              else "An internal error occurred"}, status, headers)
            expected = "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return _json({"error": "Unauthorized", "message": "Invalid API key"}, 401)
            return handler(body)

        return respond

    def _events(self, body: dict[str, Any]) -> Response:
        start, end = body.get("startDate"), body.get("endDate")
        if not isinstance(start, int) or not isinstance(end, int) or end < start:
            return _json({"error": "Bad Request", "message": "startDate and endDate must be epoch milliseconds"}, 400)
        if end - start > MAX_RANGE_MS:
            return _json({"error": "Bad Request", "message": "Date range cannot exceed 30 days"}, 400)
        page, size = int(body.get("page", 1)), min(int(body.get("pageSize", 10)), self.events_page_cap)
        # endDate taken as inclusive: the stricter case for a reader walking consecutive windows
        matching = sorted((item for item in self.served() if start <= ms(item.moment) <= end), key=lambda item: item.moment, reverse=True)
        pages = max(1, -(-len(matching) // size))
        return _json({
            "totalUsageEventsCount": len(matching),
            "pagination": {"numPages": pages, "currentPage": page, "pageSize": size, "hasNextPage": page < pages,
                           "hasPreviousPage": page > 1},
            "usageEvents": [item.payload for item in matching[(page - 1) * size: page * size]],
            "period": {"startDate": start, "endDate": end},
            "anUndocumentedTopLevelField": True,
        })

    def member_spend_cents(self) -> dict[str, Decimal]:
        """Each member's cumulative spend since the cycle start, in whole cents like the docs' example."""
        spend: dict[str, Decimal] = {email: Decimal(0) for email in USERS}
        for item in self.served():
            if item.email in spend and item.moment >= self.cycle_start:
                spend[item.email] += item.billed_cents + (item.included_cents if self.send_included_spend else 0)
        spend[USERS[0]] += self.spend_offset_cents
        return {email: cents.quantize(Decimal(1), ROUND_HALF_UP) for email, cents in spend.items()}

    def _included_cents(self, email: str) -> Decimal:
        return sum((item.included_cents for item in self.served() if item.email == email and item.moment >= self.cycle_start),
                   Decimal(0)).quantize(Decimal(1), ROUND_HALF_UP)

    def _spend(self, body: dict[str, Any]) -> Response:
        page, size = int(body.get("page", 1)), min(int(body.get("pageSize", 25)), self.spend_page_cap)
        members = []
        for (email, cents), name in zip(self.member_spend_cents().items(), NAMES):
            member = {"spendCents": int(cents), "fastPremiumRequests": 12, "name": name, "email": email,
                      "role": "member", "hardLimitOverrideDollars": 0, "somethingNew": "ignored"}
            if self.send_included_spend:
                member["includedSpendCents"] = int(self._included_cents(email))
            members.append(member)
        pages = max(1, -(-len(members) // size))
        return _json({"teamMemberSpend": members[(page - 1) * size: page * size], "subscriptionCycleStart": ms(self.cycle_start),
                      "totalMembers": len(members), "totalPages": pages})

    def members(self) -> list[dict[str, Any]]:
        return [{"name": name, "email": email, "role": "member", "id": index, "isRemoved": False}
                for index, (email, name) in enumerate(zip(USERS, NAMES))]

    def _members(self, body: dict[str, Any]) -> Response:
        return _json({"teamMembers": self.members()})
