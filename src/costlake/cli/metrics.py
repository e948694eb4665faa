"""`costlake metric ...`: usage metrics of a tenant, over /api/v1/tenants/{tenant_id}/metrics."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from costlake.cli.client import api_for
from costlake.cli.common import TenantOption
from costlake.cli.output import Output, OutputOption, emit

app = typer.Typer(help="Usage metrics (requests, users, GB...) to divide costs by: values pushed from files or pulled on schedule.", no_args_is_help=True)

MetricArgument = Annotated[str, typer.Argument(metavar="METRIC", help="The metric's name.")]
DayOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])]
METRIC_COLUMNS = ("name", "unit", "aggregation", "description", "updated_at")
RUN_COLUMNS = ("id", "status", "trigger", "first_day", "last_day", "attempts", "values_written", "error")


def metrics_path(tenant: str, name: str | None = None) -> str:
    path = f"/api/v1/tenants/{quote(tenant, safe='')}/metrics"
    return path if name is None else f"{path}/{quote(name, safe='')}"


@app.command("list")
def list_metrics(ctx: typer.Context, tenant: TenantOption, output: OutputOption = Output.json) -> None:
    """Every metric of the tenant."""
    with api_for(ctx) as api:
        emit(api.get(metrics_path(tenant)), output, columns=METRIC_COLUMNS)


@app.command("create")
def create(
    ctx: typer.Context,
    tenant: TenantOption,
    name: MetricArgument,
    unit: Annotated[str, typer.Option(help="What one counts, e.g. requests, users, GB.")],
    aggregation: Annotated[str, typer.Option(help="How days add up to a week or month: sum, avg or max.")] = "sum",
    description: Annotated[str | None, typer.Option()] = None,
    output: OutputOption = Output.json,
) -> None:
    """Define a metric."""
    body = {"name": name, "unit": unit, "aggregation": aggregation, "description": description}
    with api_for(ctx) as api:
        emit(api.post(metrics_path(tenant), json=body), output)


@app.command("delete")
def delete(ctx: typer.Context, tenant: TenantOption, name: MetricArgument) -> None:
    """Remove a metric with its values and pull."""
    with api_for(ctx) as api:
        api.delete(metrics_path(tenant, name))


@app.command("push")
def push(
    ctx: typer.Context,
    tenant: TenantOption,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV: date,value[,label columns]; - for stdin.")],
    metric: Annotated[str | None, typer.Option("--metric", "-m", help="The metric (default: the file's name without .csv).")] = None,
    output: OutputOption = Output.json,
) -> None:
    """Upload a CSV of daily values (upsert by day and labels; the value `null` deletes a day).

    A bad line refuses the whole file, naming the line: nothing of it is stored.
    """
    name = metric or file.stem
    with api_for(ctx) as api:
        result = api.request("POST", f"{metrics_path(tenant, name)}/values.csv", content=file.read_bytes(), content_type="text/csv")
    emit(result, output)


@app.command("values")
def values(
    ctx: typer.Context, tenant: TenantOption, name: MetricArgument, start: DayOption = None, end: DayOption = None,
    output: OutputOption = Output.json,
) -> None:
    """A metric's daily values in [start, end)."""
    params = {key: day.date().isoformat() for key, day in (("start", start), ("end", end)) if day is not None}
    with api_for(ctx) as api:
        result = api.get(f"{metrics_path(tenant, name)}/values", **params)
    emit(result if output is Output.json else result["values"], output, columns=("date", "value", "labels"))


@app.command("pull")
def set_pull(
    ctx: typer.Context,
    tenant: TenantOption,
    name: MetricArgument,
    query: Annotated[str, typer.Option(help="PromQL (evaluated at the end of each UTC day) or SQL returning date, value and label columns.")],
    prometheus: Annotated[str | None, typer.Option(help="Pull from this Prometheus server, e.g. http://prometheus:9090.")] = None,
    dsn_env: Annotated[str | None, typer.Option(help="Pull from PostgreSQL: the server env var holding a read-only DSN.")] = None,
    dsn_stdin: Annotated[bool, typer.Option("--dsn-stdin", help="Pull from PostgreSQL: read the DSN from stdin, store it encrypted.")] = False,
    label: Annotated[list[str] | None, typer.Option(help="Prometheus label=metric label, e.g. service=ServiceName. Repeatable.")] = None,
    backfill_months: Annotated[int, typer.Option(help="How far the first run reaches back (1-12).")] = 12,
    window_days: Annotated[int, typer.Option(help="Days each later run reloads.")] = 3,
    disabled: Annotated[bool, typer.Option("--disabled", help="Keep the pull but do not run it on schedule.")] = False,
    output: OutputOption = Output.json,
) -> None:
    """Pull a metric on schedule from Prometheus or PostgreSQL (replaces its pull if it has one)."""
    body: dict[str, Any] = {"query": query, "backfill_months": backfill_months, "window_days": window_days, "enabled": not disabled}
    if prometheus:
        pairs = [pair.partition("=") for pair in label or []]
        if any(not sep or not key or not value for key, sep, value in pairs):
            raise typer.BadParameter("use PROMETHEUS_LABEL=METRIC_LABEL", param_hint="--label")
        body |= {"kind": "prometheus", "url": prometheus, "label_map": {key: value for key, _, value in pairs}}
    elif dsn_env or dsn_stdin:
        body["kind"] = "postgres"
        if dsn_env:
            body["credential"] = {"kind": "env", "name": dsn_env}
        else:
            if sys.stdin.isatty():
                typer.echo("--dsn-stdin: paste the DSN, then Ctrl-D", err=True)
            body["credential"] = {"kind": "stored", "value": sys.stdin.read().strip()}
    else:
        raise typer.BadParameter("give --prometheus URL, or --dsn-env / --dsn-stdin for PostgreSQL", param_hint="--prometheus")
    with api_for(ctx) as api:
        emit(api.put(f"{metrics_path(tenant, name)}/pull", json=body), output)


@app.command("pull-now")
def pull_now(
    ctx: typer.Context,
    tenant: TenantOption,
    name: MetricArgument,
    from_: Annotated[datetime | None, typer.Option("--from", formats=["%Y-%m-%d"], help="Backfill from this day (at most 12 months back).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the run to end; exit 1 if it failed.")] = False,
    output: OutputOption = Output.json,
) -> None:
    """Run the metric's pull now."""
    body = {"from": from_.date().isoformat()} if from_ else None
    path = f"{metrics_path(tenant, name)}/pull/runs"
    with api_for(ctx) as api:
        run = api.post(path, json=body)
        while wait and run["status"] == "running":
            time.sleep(0.5)
            run = api.get(f"{path}/{run['id']}")
    emit(run, output)
    if wait and run["status"] == "failed":
        raise typer.Exit(1)


@app.command("pull-runs")
def pull_runs(ctx: typer.Context, tenant: TenantOption, name: MetricArgument, output: OutputOption = Output.json) -> None:
    """The metric's pull runs, newest first."""
    with api_for(ctx) as api:
        emit(api.get(f"{metrics_path(tenant, name)}/pull/runs"), output, columns=RUN_COLUMNS)
