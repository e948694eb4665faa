"""`costlake view ...`, `costlake dashboard ...` and `costlake digest ...` over /views, /dashboards and /digests."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any
from urllib.parse import quote

import typer

from costlake.cli.client import api_for
from costlake.cli.common import TenantOption
from costlake.cli.output import Output, OutputOption, emit

view_app = typer.Typer(help="Saved views: named explorer states (query, chart, unit metric, events overlay).", no_args_is_help=True)
dashboard_app = typer.Typer(help="Dashboards: ordered widgets (saved views, metric series, notes).", no_args_is_help=True)
digest_app = typer.Typer(help="Scheduled digests of a view or dashboard, by email and Slack.", no_args_is_help=True)

IdArgument = Annotated[str, typer.Argument(metavar="ID")]


def _path(tenant: str, collection: str, row_id: str | None = None) -> str:
    path = f"/api/v1/tenants/{quote(tenant, safe='')}/{collection}"
    return path if row_id is None else f"{path}/{quote(row_id, safe='')}"


def _json(text: str, flag: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"not JSON: {error}", param_hint=flag) from None


@view_app.command("create")
def create_view(
    ctx: typer.Context,
    tenant: TenantOption,
    name: Annotated[str, typer.Argument()],
    query: Annotated[str, typer.Option(help='A costs/query body as JSON, e.g. \'{"group_by": ["tag:team"], "unit_metric": "requests"}\'.')] = "{}",
    range_: Annotated[str | None, typer.Option("--range", help="last_7_days, last_30_days, month_to_date, last_month, ...")] = None,
    chart: Annotated[str, typer.Option(help="bar, stacked, line, area or table.")] = "bar",
    events: Annotated[bool, typer.Option("--events", help="Overlay events on the chart.")] = False,
    allocation_version: Annotated[int | None, typer.Option(help="Pin the numbers to this allocation version.")] = None,
    output: OutputOption = Output.json,
) -> None:
    """Save an explorer state."""
    body = {"name": name, "query": _json(query, "--query"), "range": range_, "chart": chart, "allocation_version": allocation_version,
            "events_overlay": {"enabled": True} if events else None}
    with api_for(ctx) as api:
        emit(api.post(_path(tenant, "views"), json=body), output)


@view_app.command("list")
def list_views(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    """Every saved view of the tenant."""
    with api_for(ctx) as api:
        emit(api.get(_path(tenant, "views")), output, columns=("id", "name", "chart", "range", "url", "updated_at"))


@view_app.command("run")
def run_view(ctx: typer.Context, tenant: TenantOption, view_id: IdArgument) -> None:
    """The view's costs now, as JSON."""
    with api_for(ctx) as api:
        emit(api.get(_path(tenant, "views", view_id) + "/result"), Output.json)


@view_app.command("delete")
def delete_view(ctx: typer.Context, tenant: TenantOption, view_id: IdArgument) -> None:
    with api_for(ctx) as api:
        api.delete(_path(tenant, "views", view_id))


@dashboard_app.command("create")
def create_dashboard(
    ctx: typer.Context,
    tenant: TenantOption,
    name: Annotated[str, typer.Argument()],
    view: Annotated[list[str] | None, typer.Option(help="A saved view's id, shown as a chart. Repeatable, in order.")] = None,
    note: Annotated[str | None, typer.Option(help="A free-text note at the top.")] = None,
    widgets: Annotated[str | None, typer.Option(help="The widgets as JSON (instead of --view / --note).")] = None,
    output: OutputOption = Output.json,
) -> None:
    """Create a dashboard."""
    items = _json(widgets, "--widgets") if widgets else [
        *([{"type": "note", "text": note}] if note else []), *({"type": "view", "view_id": view_id} for view_id in view or [])
    ]
    with api_for(ctx) as api:
        emit(api.post(_path(tenant, "dashboards"), json={"name": name, "widgets": items}), output)


@dashboard_app.command("list")
def list_dashboards(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    with api_for(ctx) as api:
        emit(api.get(_path(tenant, "dashboards")), output, columns=("id", "name", "widgets", "updated_at"))


@dashboard_app.command("delete")
def delete_dashboard(ctx: typer.Context, tenant: TenantOption, dashboard_id: IdArgument) -> None:
    with api_for(ctx) as api:
        api.delete(_path(tenant, "dashboards", dashboard_id))


@digest_app.command("create")
def create_digest(
    ctx: typer.Context,
    tenant: TenantOption,
    name: Annotated[str, typer.Argument()],
    frequency: Annotated[str, typer.Option(help="weekly (Mondays) or monthly (the 2nd).")],
    view: Annotated[str | None, typer.Option(help="Summarize this saved view.")] = None,
    dashboard: Annotated[str | None, typer.Option(help="Or this dashboard (its views).")] = None,
    email: Annotated[list[str] | None, typer.Option(help="A recipient. Repeatable.")] = None,
    slack_stdin: Annotated[bool, typer.Option("--slack-stdin", help="Read a Slack incoming-webhook URL from stdin (stored write-only).")] = False,
    output: OutputOption = Output.json,
) -> None:
    """Schedule a digest (admins)."""
    body: dict[str, Any] = {"name": name, "frequency": frequency, "view_id": view, "dashboard_id": dashboard, "email_to": email or []}
    if slack_stdin:
        body["slack"] = {"webhook_url": sys.stdin.read().strip()}
    with api_for(ctx) as api:
        emit(api.post(_path(tenant, "digests"), json=body), output)


@digest_app.command("list")
def list_digests(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.table) -> None:
    with api_for(ctx) as api:
        emit(api.get(_path(tenant, "digests")), output, columns=("id", "name", "frequency", "last_period", "last_status", "last_message"))


@digest_app.command("send")
def send_digest(
    ctx: typer.Context,
    tenant: TenantOption,
    digest_id: IdArgument,
    force: Annotated[bool, typer.Option("--force", help="Send even when the data is incomplete or the period was sent.")] = False,
) -> None:
    """Send the digest of the latest complete period now."""
    with api_for(ctx) as api:
        emit(api.post(_path(tenant, "digests", digest_id) + "/send", json={"force": force}), Output.json)


@digest_app.command("delete")
def delete_digest(ctx: typer.Context, tenant: TenantOption, digest_id: IdArgument) -> None:
    with api_for(ctx) as api:
        api.delete(_path(tenant, "digests", digest_id))
