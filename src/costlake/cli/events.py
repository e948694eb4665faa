"""`costlake event ...` and `costlake webhook ...`: engineering events and the inbound endpoints that record them."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

import typer

from costlake.cli.client import api_for
from costlake.cli.common import TenantOption
from costlake.cli.output import Output, OutputOption, emit
from costlake.errors import CostlakeError

app = typer.Typer(help="Engineering events (deploys, incidents, releases...) shown with costs.", no_args_is_help=True)
webhook_app = typer.Typer(help="Inbound webhooks (GitHub, PagerDuty, generic signed) that record events.", no_args_is_help=True)

EVENT_COLUMNS = ("id", "start", "end", "category", "title", "labels", "source")
DayOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])]


def _path(tenant: str, collection: str) -> str:
    return f"/api/v1/tenants/{quote(tenant, safe='')}/{collection}"


@app.command("add")
def add(
    ctx: typer.Context,
    tenant: TenantOption,
    title: Annotated[str, typer.Argument()],
    at: Annotated[str | None, typer.Option("--at", help="When (ISO 8601 with a time zone); default: now.")] = None,
    end: Annotated[str | None, typer.Option(help="End of a span (ISO 8601); --at is then its start.")] = None,
    category: Annotated[str, typer.Option(help="deploy, incident, release, purchase, provider, business or other.")] = "other",
    label: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, e.g. service=checkout. Repeatable.")] = None,
    url: Annotated[str | None, typer.Option()] = None,
    source: Annotated[str | None, typer.Option(help="Where it comes from, e.g. ci.")] = "cli",
    output: OutputOption = Output.json,
) -> None:
    """Record an event."""
    pairs = [pair.partition("=") for pair in label or []]
    if any(not sep or not key for key, sep, _ in pairs):
        raise typer.BadParameter("use KEY=VALUE", param_hint="--label")
    moment = at or datetime.now().astimezone().isoformat()
    body = {"title": title, "category": category, "labels": {k: v for k, _, v in pairs}, "url": url, "source": source}
    body |= {"start": moment, "end": end} if end else {"timestamp": moment}
    with api_for(ctx) as api:
        emit(api.post(_path(tenant, "events"), json=body), output)


@app.command("list")
def list_events(
    ctx: typer.Context,
    tenant: TenantOption,
    start: DayOption = None,
    end: DayOption = None,
    label: Annotated[list[str] | None, typer.Option(help="KEY:VALUE; all must match. Repeatable.")] = None,
    category: Annotated[str | None, typer.Option()] = None,
    output: OutputOption = Output.table,
) -> None:
    """Events overlapping [start, end), oldest first."""
    params = {key: day.date().isoformat() for key, day in (("start", start), ("end", end)) if day is not None}
    with api_for(ctx) as api:
        result = api.request("GET", _path(tenant, "events"), params={**params, "label": label, "category": category})
    emit(result, output, columns=EVENT_COLUMNS)


@app.command("delete")
def delete(ctx: typer.Context, tenant: TenantOption, event_id: Annotated[str, typer.Argument()]) -> None:
    """Remove an event (admins)."""
    with api_for(ctx) as api:
        api.delete(f"{_path(tenant, 'events')}/{quote(event_id, safe='')}")


@webhook_app.command("add")
def add_webhook(
    ctx: typer.Context,
    tenant: TenantOption,
    kind: Annotated[str, typer.Argument(help="github, pagerduty or generic.")],
    name: Annotated[str | None, typer.Option()] = None,
    output: OutputOption = Output.json,
) -> None:
    """Create an inbound endpoint; prints its path and its secret (shown this once)."""
    with api_for(ctx) as api:
        emit(api.post(_path(tenant, "webhooks"), json={"kind": kind, "name": name}), output)


@webhook_app.command("set-secret")
def set_secret(ctx: typer.Context, tenant: TenantOption, webhook_id: Annotated[str, typer.Argument()]) -> None:
    """Verify an endpoint's deliveries with the secret the provider issued (PagerDuty makes its own), read from
    standard input so it stays out of shell history."""
    secret = sys.stdin.readline().strip()
    if not secret:
        raise CostlakeError("give the provider's signing secret on standard input, e.g. `pbpaste | costlake webhook set-secret ID`")
    with api_for(ctx) as api:
        api.put(f"{_path(tenant, 'webhooks')}/{quote(webhook_id, safe='')}/secret", json={"secret": secret})
    typer.echo("secret replaced: deliveries signed with the old one are refused from now on", err=True)


@webhook_app.command("list")
def list_webhooks(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    """The tenant's inbound endpoints (never their secrets)."""
    with api_for(ctx) as api:
        emit(api.get(_path(tenant, "webhooks")), output, columns=("id", "kind", "name", "url", "last_received_at"))


@webhook_app.command("delete")
def delete_webhook(ctx: typer.Context, tenant: TenantOption, webhook_id: Annotated[str, typer.Argument()]) -> None:
    """Remove an endpoint; its deliveries are refused from then on (events already recorded stay)."""
    with api_for(ctx) as api:
        api.delete(f"{_path(tenant, 'webhooks')}/{quote(webhook_id, safe='')}")
