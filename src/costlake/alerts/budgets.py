"""Budgets: spend so far in the current period, an end-of-period forecast, and the thresholds crossed.

Forecast methods (the status says which answered):
- "weekday-profile" once 8 weeks of history exist before the last day with data: each remaining day is forecast
  as the mean of its weekday over those 8 weeks (weekends stay weekends);
- "run-rate" from 3 days into the period: spend / days elapsed x days in the period;
- none before that ("insufficient-data").
Only rows in the budget's currency count; costs in other currencies are reported beside, never converted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from costlake.alerts.series import daily_series
from costlake.alerts.specs import BudgetSpec, Threshold
from costlake.catalog.models import Budget
from costlake.months import add_months, month_of
from costlake.query.engine import CostReader
from costlake.query.scope import Scope
from costlake.text import money_text

PROFILE_WEEKS = 8
MIN_RUN_RATE_DAYS = 3
CENT = Decimal("0.01")


def period_bounds(period: str, day: date) -> tuple[date, date]:
    """[start, end) of the month, quarter or year holding `day`."""
    if period == "month":
        start = day.replace(day=1)
        return start, date.fromisoformat(add_months(month_of(start), 1) + "-01")
    if period == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return start, date.fromisoformat(add_months(month_of(start), 3) + "-01")
    return date(day.year, 1, 1), date(day.year + 1, 1, 1)


def spec_of(budget: Budget) -> BudgetSpec:
    return BudgetSpec.model_validate(
        {
            "name": budget.name, "filters": budget.filters, "metric": budget.metric, "period": budget.period,
            "amount": budget.amount, "currency": budget.currency, "thresholds": budget.thresholds, "channels": budget.channels,
        }
    )


def budget_fields(spec: BudgetSpec) -> dict[str, Any]:
    return {
        "name": spec.name, "filters": [f.model_dump() for f in spec.filters], "metric": spec.metric, "period": spec.period,
        "amount": spec.amount, "currency": spec.currency, "channels": spec.channels,
        "thresholds": [{"kind": t.kind, "percent": float(t.percent) if t.percent % 1 else int(t.percent)} for t in spec.thresholds],
    }


@dataclass
class Status:
    period_start: date
    period_end: date  # exclusive
    spend: Decimal
    forecast: Decimal | None
    forecast_method: str
    last_day: date | None  # the last day with data in the period
    crossed: list[Threshold] = field(default_factory=list)
    other_currencies: dict[str, Decimal] = field(default_factory=dict)


def _forecast(daily: dict[date, Decimal], start: date, end: date, last: date | None, spend: Decimal) -> tuple[Decimal | None, str]:
    if last is None:
        return None, "insufficient-data"
    elapsed = (last - start).days + 1
    remaining = [last + timedelta(days=k) for k in range(1, (end - last).days)]
    first_known = min(daily) if daily else last
    if (last - first_known).days + 1 >= 7 * PROFILE_WEEKS:
        window = [last - timedelta(days=k) for k in range(7 * PROFILE_WEEKS)]
        per_weekday: dict[int, Decimal] = {}
        for day in window:
            per_weekday[day.weekday()] = per_weekday.get(day.weekday(), Decimal(0)) + daily.get(day, Decimal(0))
        ahead = sum((per_weekday[day.weekday()] / PROFILE_WEEKS for day in remaining), Decimal(0))
        return (spend + ahead).quantize(CENT), "weekday-profile"
    if elapsed >= MIN_RUN_RATE_DAYS:
        return (spend / elapsed * (end - start).days).quantize(CENT), "run-rate"
    return None, "insufficient-data"


def status_from_daily(spec: BudgetSpec, daily: dict[date, Decimal], as_of: date) -> Status:
    """The budget's status on `as_of`, from its daily amounts in its currency (history before the period included)."""
    start, end = period_bounds(spec.period, as_of)
    in_period = [day for day in daily if start <= day <= as_of]
    spend = sum((daily[day] for day in in_period), Decimal(0))
    last = max(in_period) if in_period else None
    history = {day: value for day, value in daily.items() if day <= as_of}
    forecast, method = _forecast(history, start, end, last, spend)
    crossed = [
        t for t in spec.thresholds
        if (spend if t.kind == "actual" else forecast) is not None
        and (spend if t.kind == "actual" else forecast) >= spec.amount * t.percent / 100  # type: ignore[operator]
    ]
    return Status(start, end, spend, forecast, method, last, crossed)


def daily_amounts(
    reader: CostReader, scope: Scope, spec: BudgetSpec, start: date, end: date
) -> tuple[dict[date, Decimal], dict[str, dict[date, Decimal]]]:
    """Daily amounts in the budget's currency over [start, end), and those found in other currencies."""
    rows = daily_series(reader, scope, filters=spec.filters, split_by=[], metric=spec.metric, start=start, end=end)
    daily: dict[date, Decimal] = {}
    others: dict[str, dict[date, Decimal]] = {}
    for series in rows:
        if series.currency == spec.currency:
            daily = series.values
        else:
            others[series.currency] = series.values
    return daily, others


def budget_status(reader: CostReader, scope: Scope, spec: BudgetSpec, as_of: date) -> Status:
    start, end = period_bounds(spec.period, as_of)
    history_start = min(start, as_of - timedelta(days=7 * PROFILE_WEEKS + 1))
    daily, others = daily_amounts(reader, scope, spec, history_start, min(end, as_of + timedelta(days=1)))
    status = status_from_daily(spec, daily, as_of)
    for currency, values in others.items():
        total = sum((value for day, value in values.items() if start <= day), Decimal(0))
        if total:
            status.other_currencies[currency] = total
    return status


def status_view(spec: BudgetSpec, status: Status) -> dict[str, Any]:
    def percent(value: Decimal | None) -> str | None:
        return None if value is None else str((value * 100 / spec.amount).quantize(CENT))

    return {
        "period_start": status.period_start.isoformat(),
        "period_end": status.period_end.isoformat(),
        "spend": money_text(status.spend),
        "forecast": None if status.forecast is None else money_text(status.forecast),
        "forecast_method": status.forecast_method,
        "percent_used": percent(status.spend),
        "forecast_percent": percent(status.forecast),
        "last_day": None if status.last_day is None else status.last_day.isoformat(),
        "crossed": [{"kind": t.kind, "percent": str(t.percent)} for t in status.crossed],
        "other_currencies": {currency: money_text(total) for currency, total in sorted(status.other_currencies.items())},
    }


def backtest(reader: CostReader, scope: Scope, spec: BudgetSpec, start: date, end: date) -> Iterator[dict[str, Any]]:
    """For every period touching [start, end): the first day each threshold was (or would have been) crossed."""
    history_start = period_bounds(spec.period, start)[0] - timedelta(days=7 * PROFILE_WEEKS + 1)
    daily, _ = daily_amounts(reader, scope, spec, history_start, end)
    day = start
    while day < end:
        period_start, period_end = period_bounds(spec.period, day)
        first_crossed: dict[tuple[str, Decimal], date] = {}
        status = None
        current = max(day, period_start)
        while current < min(period_end, end):
            status = status_from_daily(spec, daily, current)
            for threshold in status.crossed:
                first_crossed.setdefault((threshold.kind, threshold.percent), current)
            current += timedelta(days=1)
        yield {
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "spend": money_text(status.spend) if status else "0.00",
            "forecast": money_text(status.forecast) if status and status.forecast is not None else None,
            "crossed": [
                {"kind": t.kind, "percent": str(t.percent), "first_day": first_crossed[(t.kind, t.percent)].isoformat()}
                for t in spec.thresholds if (t.kind, t.percent) in first_crossed
            ],
        }
        day = period_end


def threshold_notice(budget: Budget, spec: BudgetSpec, status: Status, threshold: Threshold) -> dict[str, Any]:
    seen = status.spend if threshold.kind == "actual" else status.forecast
    what = "spend" if threshold.kind == "actual" else "the forecast"
    view = status_view(spec, status)
    summary = (
        f"Budget {budget.name}: {what} reached {money_text(seen or Decimal(0))} {budget.currency}, {threshold.percent} % or more of "
        f"{money_text(budget.amount)} {budget.currency} for {view['period_start']} to {(status.period_end - timedelta(days=1)).isoformat()}."
    )
    facts = [
        ("Budget", f"{money_text(budget.amount)} {budget.currency} per {budget.period}"),
        ("Spend", f"{view['spend']} {budget.currency} ({view['percent_used']} %)"),
        ("Forecast", f"{view['forecast']} {budget.currency} ({status.forecast_method})" if view["forecast"] else status.forecast_method),
        ("Threshold", f"{threshold.kind} {threshold.percent} %"),
    ]
    payload = {"budget_id": budget.id, "budget": budget.name, "threshold": {"kind": threshold.kind, "percent": str(threshold.percent)},
               "amount": money_text(budget.amount), "currency": budget.currency, "status": view}
    return {"title": f"Budget {budget.name}: {threshold.kind} {threshold.percent} % crossed", "summary": summary, "facts": facts,
            "path": f"/budgets/{budget.id}", "payload": payload}
