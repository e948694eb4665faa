"""`costlake budget ...`, `costlake alerts ...` and `costlake channel ...`: the alert endpoints in a terminal."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import typer

from costlake.cli.client import api_for
from costlake.cli.common import TenantOption
from costlake.cli.costs import _filter
from costlake.cli.output import Output, OutputOption, emit
from costlake.errors import CostlakeError

budget_app = typer.Typer(help="Budgets: spend, forecast and thresholds per month, quarter or year.", no_args_is_help=True)
alerts_app = typer.Typer(help="Anomaly monitors, anomalies (acknowledge, snooze, resolve), backtests and deliveries.", no_args_is_help=True)
channel_app = typer.Typer(help="Where notifications go: Slack, Microsoft Teams, email, signed webhooks.", no_args_is_help=True)

Day = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])]
Filters = Annotated[list[str] | None, typer.Option("--filter", help="DIMENSION=VALUE, DIMENSION!=VALUE, DIMENSION=A,B, DIMENSION~TEXT.")]
Channels = Annotated[list[str] | None, typer.Option("--channel", help="A channel id to notify (repeat for more).")]
Metric = Annotated[str, typer.Option(help="EffectiveCost, BilledCost, ListCost or ContractedCost.")]
IdArgument = Annotated[str, typer.Argument(metavar="ID")]
MONITOR_COLUMNS = ("name", "id", "split_by", "sensitivity", "min_daily_impact", "min_percent", "channels", "default")
BUDGET_COLUMNS = ("name", "id", "period", "amount", "currency", "spend", "forecast", "forecast_method", "percent_used", "crossed")
ANOMALY_COLUMNS = ("id", "series", "start_date", "last_date", "impact", "currency", "status", "top_cause")
CHANNEL_COLUMNS = ("name", "id", "kind", "url_hint", "to", "status", "enabled", "last_error")
DELIVERY_COLUMNS = ("id", "channel_id", "type", "subject", "subject_id", "status", "attempts", "last_status_code", "sent_at", "last_error")


def _base(tenant: str) -> str:
    return f"/api/v1/tenants/{quote(tenant, safe='')}"


def _day(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def _window(start: datetime | None, end: datetime | None) -> dict[str, str]:
    if start is None or end is None:
        raise typer.BadParameter("a backtest needs --start and --end (at most a year apart)", param_hint="--start / --end")
    return {"start": _day(start) or "", "end": _day(end) or ""}


def _thresholds(texts: list[str] | None) -> list[dict[str, Any]] | None:
    """"actual:80" or "forecast:100"."""
    if not texts:
        return None
    out = []
    for text in texts:
        kind, _, percent = text.partition(":")
        if kind not in ("actual", "forecast") or not percent:
            raise typer.BadParameter(f"{text!r}: use actual:PERCENT or forecast:PERCENT", param_hint="--threshold")
        out.append({"kind": kind, "percent": percent})
    return out


# Budgets.


def _budget_body(name: str, amount: str, currency: str, period: str, metric: str, filters: list[str] | None,
                 thresholds: list[str] | None, channels: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "amount": amount, "currency": currency, "period": period, "metric": metric,
                            "filters": [_filter(text) for text in filters or []], "channels": channels or []}
    if (parsed := _thresholds(thresholds)) is not None:
        body["thresholds"] = parsed
    return body


def _budget_row(budget: dict[str, Any]) -> dict[str, Any]:
    status = budget.get("status") or {}
    crossed = ", ".join(f"{c['kind']} {c['percent']} %" for c in status.get("crossed", []))
    return {**budget, **{k: status.get(k) for k in ("spend", "forecast", "forecast_method", "percent_used")}, "crossed": crossed}


@budget_app.command("list")
def budget_list(ctx: typer.Context, tenant: TenantOption, as_of: Day = None, output: OutputOption = Output.table) -> None:
    """Budgets with their status: spend so far, forecast (and its method), % used, thresholds crossed."""
    with api_for(ctx) as api:
        budgets = api.get(f"{_base(tenant)}/budgets", as_of=_day(as_of))
    emit(budgets if output is Output.json else [_budget_row(b) for b in budgets], output, columns=BUDGET_COLUMNS)


@budget_app.command("show")
def budget_show(ctx: typer.Context, tenant: TenantOption, budget_id: IdArgument, as_of: Day = None, output: OutputOption = Output.json) -> None:
    with api_for(ctx) as api:
        emit(api.get(f"{_base(tenant)}/budgets/{budget_id}", as_of=_day(as_of)), output)


ThresholdOption = Annotated[list[str] | None, typer.Option("--threshold", help="actual:PERCENT or forecast:PERCENT (repeat); default actual:100.")]


@budget_app.command("create")
def budget_create(
    ctx: typer.Context, tenant: TenantOption,
    name: Annotated[str, typer.Option(help="A name unique in the tenant.")],
    amount: Annotated[str, typer.Option(help="Per period, e.g. 25000.")],
    currency: Annotated[str, typer.Option(help="ISO 4217; only costs in this currency count.")],
    period: Annotated[str, typer.Option(help="month, quarter or year.")] = "month",
    metric: Metric = "EffectiveCost", filter_: Filters = None, threshold: ThresholdOption = None, channel: Channels = None,
    output: OutputOption = Output.json,
) -> None:
    """Create a budget over an explorer scope (its --filter), notified on --channel when a threshold is crossed."""
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/budgets", json=_budget_body(name, amount, currency, period, metric, filter_, threshold, channel)), output)


@budget_app.command("preview")
def budget_preview(
    ctx: typer.Context, tenant: TenantOption,
    amount: Annotated[str, typer.Option()], currency: Annotated[str, typer.Option()],
    period: Annotated[str, typer.Option()] = "month", metric: Metric = "EffectiveCost", filter_: Filters = None,
    threshold: ThresholdOption = None, start: Day = None, end: Day = None, output: OutputOption = Output.json,
) -> None:
    """Backtest thresholds over stored history: per period, the first day each would have been crossed."""
    body = _budget_body("preview", amount, currency, period, metric, filter_, threshold, None) | _window(start, end)
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/budgets/preview", json=body), output)


@budget_app.command("delete")
def budget_delete(ctx: typer.Context, tenant: TenantOption, budget_id: IdArgument) -> None:
    with api_for(ctx) as api:
        api.delete(f"{_base(tenant)}/budgets/{budget_id}")


# Anomaly monitors and anomalies.


def _monitor_body(name: str, split_by: list[str] | None, metric: str, filters: list[str] | None, sensitivity: str, direction: str,
                  min_daily_impact: str, min_percent: str, include_non_usage: bool, channels: list[str] | None) -> dict[str, Any]:
    return {"name": name, "split_by": split_by or [], "metric": metric, "filters": [_filter(text) for text in filters or []],
            "sensitivity": sensitivity, "direction": direction, "min_daily_impact": min_daily_impact, "min_percent": min_percent,
            "include_non_usage": include_non_usage, "channels": channels or []}


SplitBy = Annotated[list[str] | None, typer.Option("--split-by", help="Up to 2 dimensions: ServiceName, SubAccountId, tag:<key>, ...")]
Sensitivity = Annotated[str, typer.Option(help="low, medium or high.")]
DirectionOption = Annotated[str, typer.Option(help="increase, decrease or both.")]
MinImpact = Annotated[str, typer.Option(help="Least average daily impact, in each series' currency.")]
MinPercent = Annotated[str, typer.Option(help="Least average daily change, in % of the expected amount.")]
NonUsage = Annotated[bool, typer.Option(help="Also watch Tax, Credit, Adjustment and Purchase charges.")]


@alerts_app.command("monitors")
def monitors(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    """The tenant's anomaly monitors (one default monitor by service and sub account exists from the first sync)."""
    with api_for(ctx) as api:
        emit(api.get(f"{_base(tenant)}/anomaly-monitors"), output, columns=MONITOR_COLUMNS)


@alerts_app.command("monitor-create")
def monitor_create(
    ctx: typer.Context, tenant: TenantOption, name: Annotated[str, typer.Option()], split_by: SplitBy = None, metric: Metric = "EffectiveCost",
    filter_: Filters = None, sensitivity: Sensitivity = "medium", direction: DirectionOption = "increase", min_daily_impact: MinImpact = "0",
    min_percent: MinPercent = "0", include_non_usage: NonUsage = False, channel: Channels = None, output: OutputOption = Output.json,
) -> None:
    body = _monitor_body(name, split_by, metric, filter_, sensitivity, direction, min_daily_impact, min_percent, include_non_usage, channel)
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/anomaly-monitors", json=body), output)


@alerts_app.command("monitor-delete")
def monitor_delete(ctx: typer.Context, tenant: TenantOption, monitor_id: IdArgument) -> None:
    with api_for(ctx) as api:
        api.delete(f"{_base(tenant)}/anomaly-monitors/{monitor_id}")


@alerts_app.command("backtest")
def backtest(
    ctx: typer.Context, tenant: TenantOption, start: Day = None, end: Day = None, split_by: SplitBy = None, metric: Metric = "EffectiveCost",
    filter_: Filters = None, sensitivity: Sensitivity = "medium", direction: DirectionOption = "increase", min_daily_impact: MinImpact = "0",
    min_percent: MinPercent = "0", include_non_usage: NonUsage = False, output: OutputOption = Output.table,
) -> None:
    """What a monitor would have flagged over up to a year of stored history, before it is saved."""
    body = _monitor_body("preview", split_by, metric, filter_, sensitivity, direction, min_daily_impact, min_percent, include_non_usage, None)
    with api_for(ctx) as api:
        result = api.post(f"{_base(tenant)}/anomaly-monitors/preview", json=body | _window(start, end))
    if output is Output.json:
        emit(result, output)
    else:
        emit([_anomaly_row(item) for item in result["items"]], output, columns=ANOMALY_COLUMNS[1:])
        typer.echo(f"{result['count']} anomalies, {result['per_month']} a month", err=True)


@alerts_app.command("evaluate")
def evaluate(ctx: typer.Context, tenant: TenantOption, monitor_id: IdArgument, output: OutputOption = Output.json) -> None:
    """Run a monitor now (admins); what it finds is notified like any evaluation's."""
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/anomaly-monitors/{monitor_id}/evaluate"), output)


def _anomaly_row(item: dict[str, Any]) -> dict[str, Any]:
    causes = item.get("root_causes") or []
    top = f"{causes[0]['dimension']}={causes[0]['value']} ({causes[0]['delta']})" if causes else None
    return {**item, "series": ", ".join(f"{k}={v}" for k, v in item["series"].items()) or "all", "top_cause": top}


@alerts_app.command("list")
def anomalies(
    ctx: typer.Context, tenant: TenantOption, status: Annotated[str | None, typer.Option(help="open, acknowledged, snoozed or resolved.")] = None,
    monitor: Annotated[str | None, typer.Option(help="Only this monitor's.")] = None, limit: int = 50,
    cursor: str | None = None, output: OutputOption = Output.table,
) -> None:
    """Anomalies, newest first, with their top root cause."""
    with api_for(ctx) as api:
        page = api.get(f"{_base(tenant)}/anomalies", status=status, monitor_id=monitor, limit=limit, cursor=cursor)
    emit(page if output is Output.json else {**page, "items": [_anomaly_row(i) for i in page["items"]]}, output, columns=ANOMALY_COLUMNS)


@alerts_app.command("show")
def anomaly(ctx: typer.Context, tenant: TenantOption, anomaly_id: IdArgument, output: OutputOption = Output.json) -> None:
    """One anomaly: expected vs actual per day, root causes, volume vs rate, events."""
    with api_for(ctx) as api:
        emit(api.get(f"{_base(tenant)}/anomalies/{anomaly_id}"), output)


@alerts_app.command("ack")
def acknowledge(ctx: typer.Context, tenant: TenantOption, anomaly_id: IdArgument, note: str | None = None, output: OutputOption = Output.json) -> None:
    """Acknowledge: someone is on it, no more notifications (members may)."""
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/anomalies/{anomaly_id}/acknowledge", json={"note": note}), output)


@alerts_app.command("snooze")
def snooze(
    ctx: typer.Context, tenant: TenantOption, anomaly_id: IdArgument, until: Annotated[str, typer.Option(help="A date or an ISO 8601 time with zone.")],
    note: str | None = None, output: OutputOption = Output.json,
) -> None:
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/anomalies/{anomaly_id}/snooze", json={"until": until, "note": note}), output)


@alerts_app.command("resolve")
def resolve(
    ctx: typer.Context, tenant: TenantOption, anomaly_id: IdArgument, reason: Annotated[str, typer.Option(help="expected, unexpected or too-small.")],
    note: str | None = None, output: OutputOption = Output.json,
) -> None:
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/anomalies/{anomaly_id}/resolve", json={"reason": reason, "note": note}), output)


@alerts_app.command("deliveries")
def deliveries(
    ctx: typer.Context, tenant: TenantOption, channel: str | None = None, status: Annotated[str | None, typer.Option(help="sent, retrying or failed.")] = None,
    limit: int = 50, cursor: str | None = None, output: OutputOption = Output.table,
) -> None:
    """Every notification sent or being sent: status, attempts, last response code."""
    with api_for(ctx) as api:
        page = api.get(f"{_base(tenant)}/deliveries", channel_id=channel, status=status, limit=limit, cursor=cursor)
    emit(page, output, columns=DELIVERY_COLUMNS)


# Channels.


@channel_app.command("list")
def channel_list(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    with api_for(ctx) as api:
        emit(api.get(f"{_base(tenant)}/channels"), output, columns=CHANNEL_COLUMNS)


@channel_app.command("create")
def channel_create(
    ctx: typer.Context, tenant: TenantOption, name: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="slack, teams, email or webhook.")],
    url_stdin: Annotated[bool, typer.Option("--url-stdin", help="Read the webhook URL (a secret) from standard input.")] = False,
    to: Annotated[list[str] | None, typer.Option("--to", help="An email recipient (repeat for more).")] = None,
    no_validate: Annotated[bool, typer.Option("--no-validate", help="Do not send a test message first.")] = False,
    no_data_notifications: Annotated[bool, typer.Option("--no-data-notifications", help="No source first-data/failing/stale notices.")] = False,
    output: OutputOption = Output.json,
) -> None:
    """Create a channel; a webhook channel's signing secret is printed once, keep it."""
    url = sys.stdin.readline().strip() if url_stdin else None
    if kind != "email" and not url:
        raise CostlakeError("give the channel's URL on standard input with --url-stdin (it is a secret: keep it out of shell history)")
    body = {"name": name, "kind": kind, "url": url, "to": to or [], "validate": not no_validate, "data_notifications": not no_data_notifications}
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/channels", json=body), output)


@channel_app.command("delete")
def channel_delete(ctx: typer.Context, tenant: TenantOption, channel_id: IdArgument) -> None:
    with api_for(ctx) as api:
        api.delete(f"{_base(tenant)}/channels/{channel_id}")


@channel_app.command("rotate-secret")
def rotate_secret(ctx: typer.Context, tenant: TenantOption, channel_id: IdArgument, output: OutputOption = Output.json) -> None:
    """A new webhook signing secret, printed once; the old one keeps signing too for 24 hours."""
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/channels/{channel_id}/rotate-secret"), output)


@channel_app.command("test")
def channel_test(ctx: typer.Context, tenant: TenantOption, channel_id: IdArgument, output: OutputOption = Output.json) -> None:
    with api_for(ctx) as api:
        emit(api.post(f"{_base(tenant)}/channels/{channel_id}/test"), output)
