"""Cursor: a team's AI usage from the Admin API, as daily FOCUS rows per user, model and kind of charge.

Only usage events (POST /teams/filtered-usage-events) are loaded. Team spend (POST /teams/spend) is cumulative
for the running subscription cycle, so loading it too would count the same money twice: it only cross-checks
the events. Mapping, decisions and assumptions: docs/connectors/cursor.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa

from costlake.credentials import Secret
from costlake.errors import InvalidInput
from costlake.formats.vendors.connector import Connector, VendorContext, base_url_from
from costlake.formats.vendors.http import VendorError
from costlake.formats.vendors.paginators import PageNumberPaginator
from costlake.formats.vendors.rows import money, month_bounds, rows_to_batches, seller
from costlake.months import MonthRange

VENDOR = "Cursor"
EVENTS_PATH = "/teams/filtered-usage-events"
SPEND_PATH = "/teams/spend"
MEMBERS_PATH = "/teams/members"
WINDOW = timedelta(days=29)  # one request's date range; the Admin API refuses more than 30 days
RETENTION = timedelta(days=90)  # assumed rolling window of retained usage events (see the doc)
EVENTS_PAGE_SIZE = 1000
SPEND_PAGE_SIZE = 100
SPEND_TOLERANCE = Decimal("0.01")  # relative gap between spend and events that earns a warning
CENTS_PER_DOLLAR = Decimal(100)
DEFAULT_TEAM = "cursor-team"
# Kinds whose events the team does not pay for beyond its subscription ("Included in Business", "Errored, Not
# Charged", "Free"...): matched case-insensitively anywhere in `kind`.
NOT_BILLED_KINDS = ("included", "not charged", "free")
TOKEN_FIELDS = {"inputTokens": "x_InputTokens", "outputTokens": "x_OutputTokens",
                "cacheWriteTokens": "x_CacheWriteTokens", "cacheReadTokens": "x_CacheReadTokens"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class _Group:
    """What keeps two events on separate rows: their UTC day and everything that changes their price or meaning."""

    day: datetime
    email: str | None
    model: str | None
    kind: str | None
    max_mode: bool
    token_based: bool
    billed: bool
    headless: bool | None


@dataclass
class _Totals:
    events: int = 0
    billed_cents: Decimal = Decimal(0)
    list_cents: Decimal = Decimal(0)
    quantity: Decimal = Decimal(0)
    request_units: Decimal = Decimal(0)
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))


@dataclass(frozen=True)
class _Spend:
    cycle_start: datetime
    cents: Decimal


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


def _from_ms(value: Any, what: str) -> datetime:
    """Cursor sends epoch milliseconds as a number or (event timestamps) as a string of digits."""
    text = str(value).strip()
    if not text.isdigit():
        raise VendorError(f"cursor sent {what} {value!r}, not epoch milliseconds; the API may have changed, report it to costlake")
    return _EPOCH + int(text) * _MILLISECOND


def _object(answer: Any, method: str, path: str, key: str) -> dict[str, Any]:
    """The answer, once it is an object whose `key` is a list (or missing or null: nothing)."""
    if not isinstance(answer, dict) or not isinstance(answer.get(key) or [], list):
        raise VendorError(f"cursor answered {method} {path} without a {key} list; the API may have changed, report it to costlake")
    return answer


def _cents(value: Any) -> Decimal:
    return Decimal(0) if value is None else money(value)


def _is_billed(event: Mapping[str, Any]) -> bool:
    kind = str(event.get("kind") or "").lower()
    return not (
        event.get("isChargeable") is False or event.get("isFreeBugbot") is True or any(word in kind for word in NOT_BILLED_KINDS)
    )


def _add(totals: _Totals, event: Mapping[str, Any], group: _Group) -> Decimal:
    """Adds one event to its row; returns the cents it bills.

    Billed: `chargedCents` (model cost + Cursor's fee) when present, else the model cost `tokenUsage.totalCents`
    of a token-based call; 0 for the kinds and flags above. List: the same value before any allowance, so an
    included call shows what it would have cost.
    """
    usage = event.get("tokenUsage") or {}
    charged = event.get("chargedCents")
    model_cents = _cents(usage.get("totalCents"))
    list_cents = _cents(charged) or model_cents
    if not group.billed:
        billed = Decimal(0)
    elif charged is not None:
        billed = _cents(charged)
    else:
        billed = model_cents if group.token_based else Decimal(0)
    requests = _cents(event.get("requestsCosts"))
    totals.events += 1
    totals.billed_cents += billed
    totals.list_cents += list_cents
    totals.request_units += requests
    if group.token_based:
        for name in TOKEN_FIELDS:
            count = int(usage.get(name) or 0)
            totals.tokens[name] += count
            totals.quantity += count
    else:
        totals.quantity += requests
    return billed


def _group(moment: datetime, event: Mapping[str, Any]) -> _Group:
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    headless = event.get("isHeadless")
    return _Group(
        day=day,
        email=event.get("userEmail") or None,
        model=event.get("model") or None,
        kind=event.get("kind") or None,
        max_mode=event.get("maxMode") is True,
        token_based=bool(event.get("isTokenBasedCall", bool(event.get("tokenUsage")))),
        billed=_is_billed(event),
        headless=headless if isinstance(headless, bool) else None,
    )


def _row(group: _Group, totals: _Totals, team: str, names: Mapping[str, str]) -> dict[str, Any]:
    month_start, month_end = month_bounds(group.day)
    billed = totals.billed_cents / CENTS_PER_DOLLAR
    listed = totals.list_cents / CENTS_PER_DOLLAR
    unit = "Tokens" if group.token_based else "Requests"
    flag = {True: "true", False: "false"}
    extensions = {"x_Kind": group.kind, "x_MaxMode": flag[group.max_mode], "x_Billed": flag[group.billed],
                  "x_UsageEvents": str(totals.events), "x_RequestUnits": str(totals.request_units)}
    if group.headless is not None:
        extensions["x_IsHeadless"] = flag[group.headless]
    if group.token_based:
        extensions.update({name: str(totals.tokens[key]) for key, name in TOKEN_FIELDS.items()})
    mode = " in max mode" if group.max_mode else ""
    return {
        "BillingAccountId": team,
        "BillingAccountName": team,
        "BillingCurrency": "USD",
        "BillingPeriodStart": month_start,
        "BillingPeriodEnd": month_end,
        "ChargePeriodStart": group.day,
        "ChargePeriodEnd": group.day + _DAY,
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "ChargeDescription": f"Cursor {group.model or 'usage'}{mode}: {group.kind or 'unknown kind'}",
        "BilledCost": billed,
        "EffectiveCost": billed,
        "ListCost": listed,
        "ContractedCost": listed,
        "ConsumedQuantity": totals.quantity,
        "ConsumedUnit": unit,
        "PricingQuantity": totals.quantity,
        "PricingUnit": unit,
        **seller(VENDOR),
        "ServiceName": VENDOR,
        "ServiceCategory": "AI and Machine Learning",
        "ServiceSubcategory": "Generative AI",
        "SkuId": None if group.model is None else group.model + (":max" if group.max_mode else ""),
        "SkuMeter": unit,
        "SubAccountId": group.email,
        "SubAccountName": None if group.email is None else names.get(group.email, group.email),
        "x_Extensions": extensions,
        "x_ExchangeRateUsdToBilling": Decimal(1),
        "x_BilledCostInUsd": billed,
        "x_EffectiveCostInUsd": billed,
    }


def _events(context: VendorContext, start: datetime, end: datetime) -> Iterator[tuple[datetime, dict[str, Any]]]:
    """Every usage event in [start, end), in windows shorter than the API's 30-day limit, page by page.

    Each request asks for [window start, window end] and keeps the events in [window start, window end), so an
    event on a boundary is counted once whether Cursor treats endDate as inclusive or exclusive.
    """
    window_start = start
    while window_start < end:
        window_end = min(window_start + WINDOW, end)
        body = {"startDate": _ms(window_start), "endDate": _ms(window_end), "page": 1, "pageSize": EVENTS_PAGE_SIZE}
        paginator = PageNumberPaginator(items_path="usageEvents", has_next_path="pagination.hasNextPage")
        for answer in context.client.pages(EVENTS_PATH, paginator, json=body):
            for event in _object(answer, "POST", EVENTS_PATH, "usageEvents").get("usageEvents") or []:
                moment = _from_ms(event.get("timestamp"), "a usage event timestamp")
                if window_start <= moment < window_end:
                    yield moment, event
        window_start = window_end


def _team_spend(context: VendorContext) -> _Spend | None:
    """The team's spend in the running cycle, or None (with a warning) when it cannot be had.

    A member's `includedSpendCents`, when Cursor sends it, is taken off: that part is paid by the subscription
    and appears in the events as not billed.
    """
    cents, cycle = Decimal(0), None
    paginator = PageNumberPaginator(total_path="totalPages")
    try:
        for answer in context.client.pages(SPEND_PATH, paginator, json={"page": 1, "pageSize": SPEND_PAGE_SIZE}):
            for member in _object(answer, "POST", SPEND_PATH, "teamMemberSpend").get("teamMemberSpend") or []:
                cents += _cents(member.get("spendCents")) - _cents(member.get("includedSpendCents"))
            cycle = answer.get("subscriptionCycleStart", cycle)
        if cycle is None:
            raise VendorError("cursor answered POST /teams/spend without subscriptionCycleStart")
        return _Spend(_from_ms(cycle, "a subscriptionCycleStart"), cents)
    except VendorError as error:
        context.warn(f"cursor: the cross-check of usage events against team spend was skipped ({error}); the events were loaded")
        return None


def _dollars(cents: Decimal) -> Decimal:
    return (cents / CENTS_PER_DOLLAR).quantize(Decimal("0.01"))


def _cross_check(context: VendorContext, spend: _Spend, events_cents: Decimal) -> None:
    gap = abs(events_cents - spend.cents)
    if gap > max(spend.cents * SPEND_TOLERANCE, Decimal(1)):
        context.warn(
            f"cursor: team spend since the cycle start {spend.cycle_start:%Y-%m-%d} is {_dollars(spend.cents)} USD but the "
            f"billed usage events since then add up to {_dollars(events_cents)} USD (more than "
            f"{SPEND_TOLERANCE:.0%} apart); the events were loaded as they are: compare with Cursor's dashboard, and sync "
            "again later if Cursor was still aggregating the last hours"
        )


def _oldest_full_month(now: datetime) -> datetime:
    """The first month whose every day is still inside Cursor's retention: an older, partly expired month must not
    replace the complete month stored by an earlier sync."""
    start, end = month_bounds(now - RETENTION)
    return start if start == now - RETENTION else end


def _read_start(context: VendorContext, months: MonthRange) -> datetime:
    oldest = _oldest_full_month(context.now)
    if months.first is None:
        return oldest
    wanted = datetime.strptime(months.first, "%Y-%m").replace(tzinfo=UTC)
    if wanted < oldest:
        context.warn(
            f"cursor keeps usage events for about {RETENTION.days} days, so months before {oldest:%Y-%m} are not read "
            "(rows stored for them by earlier syncs are kept)"
        )
    return max(wanted, oldest)


def read(context: VendorContext, months: MonthRange) -> Iterator[pa.RecordBatch]:
    """Daily rows from the first wanted month (clamped to fully retained months) up to now."""
    start = _read_start(context, months)
    spend = _team_spend(context)
    fetch_from = start
    if spend is not None and not context.now - RETENTION <= spend.cycle_start <= context.now:
        context.warn(f"cursor: the subscription cycle started {spend.cycle_start:%Y-%m-%d}, outside the retained usage "
                     "events; the cross-check against team spend was skipped")
        spend = None
    if spend is not None:
        fetch_from = min(start, spend.cycle_start)  # the check needs every event of the cycle
    groups: defaultdict[_Group, _Totals] = defaultdict(_Totals)
    cycle_cents = Decimal(0)
    for moment, event in _events(context, fetch_from, context.now):
        group = _group(moment, event)
        billed = _add(groups[group], event, group)
        if spend is not None and moment >= spend.cycle_start:
            cycle_cents += billed
    if spend is not None:
        _cross_check(context, spend, cycle_cents)
    team = (context.options.get("team") or "").strip() or DEFAULT_TEAM
    names = _member_names(context)
    rows = (_row(group, totals, team, names) for group, totals in groups.items())
    yield from rows_to_batches(rows, MonthRange(first=f"{start:%Y-%m}", last=months.last))  # not the cycle's extra days


def _member_names(context: VendorContext) -> dict[str, str]:
    """Email -> name of the team's members (removed members too, when Cursor lists them), for SubAccountName."""
    answer = _object(context.client.get(MEMBERS_PATH), "GET", MEMBERS_PATH, "teamMembers")
    return {member["email"]: member.get("name") or member["email"] for member in answer.get("teamMembers") or [] if member.get("email")}


def check(context: VendorContext) -> None:
    """One cheap authenticated call: the team's member list."""
    context.client.get(MEMBERS_PATH)


def _auth(secret: Secret) -> httpx.Auth:
    return httpx.BasicAuth(secret.value, "")  # the key is the username, the password is empty


def _check_options(options: Mapping[str, str]) -> None:
    team = options.get("team")
    if team is not None and not (0 < len(team.strip()) <= 200):
        raise InvalidInput("options", "cursor option team must be a name of 1 to 200 characters (it labels the team's rows)")


CURSOR = Connector(
    name="cursor",
    label="Cursor",
    docs="docs/connectors/cursor.md",
    source_uri="cursor://team",
    base_url=base_url_from("cursor_base_url"),
    auth=_auth,
    check=check,
    read=read,
    credential_hint="the Cursor Admin API key (a team admin creates it under Settings > Advanced > Admin API Keys)",
    options=("team",),
    check_options=_check_options,
    history_months=3,
)
