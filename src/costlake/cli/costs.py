"""`costlake costs query` and `costlake data-health`: the explorer and the health page, in a terminal."""

from __future__ import annotations

import csv
import sys
from datetime import datetime
from enum import Enum
from typing import Annotated, Any
from urllib.parse import quote

import typer

from costlake.cli.client import api_for
from costlake.cli.common import TenantOption
from costlake.cli.output import Output, OutputOption, chosen, emit, money, plural
from costlake.errors import CostlakeError

app = typer.Typer(help="Explore costs across every billing source.", no_args_is_help=True)


class QueryOutput(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def tenant_path(tenant: str) -> str:
    return f"/api/v1/tenants/{quote(tenant, safe='')}"


def _filter(text: str) -> dict[str, Any]:
    """DIMENSION=VALUE (eq), DIMENSION!=VALUE (ne), DIMENSION=A,B (in), DIMENSION~TEXT (contains), DIMENSION= (missing)."""
    for separator, op in (("!=", "ne"), ("~", "contains"), ("=", "eq")):
        if separator in text:
            dimension, _, value = text.partition(separator)
            if op == "eq" and value == "":
                return {"dimension": dimension, "op": "missing", "values": []}
            values = value.split(",")
            if op == "eq" and len(values) > 1:
                op = "in"
            elif op == "ne" and len(values) > 1:
                op = "not_in"
            return {"dimension": dimension, "op": op, "values": values}
    raise typer.BadParameter(f"{text!r}: use DIMENSION=VALUE, DIMENSION!=VALUE, DIMENSION=A,B or DIMENSION~TEXT", param_hint="--filter")


@app.command("query")
def query(
    ctx: typer.Context,
    tenant: TenantOption,
    start: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help="First day (default: two months ago).")] = None,
    end: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help="Day after the last (exclusive).")] = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(metavar="DIMENSION", help="Up to 3: ServiceName, RegionId, ..., source, tag:<key> or dim:<allocation dimension>."),
    ] = None,
    granularity: Annotated[str, typer.Option(help="day, week, month or none.")] = "month",
    metric: Annotated[str, typer.Option(help="EffectiveCost, BilledCost, ListCost or ContractedCost.")] = "EffectiveCost",
    time_basis: Annotated[str, typer.Option(help="charge (ChargePeriodStart) or billing (billing month).")] = "charge",
    filter_: Annotated[
        list[str] | None,
        typer.Option("--filter", metavar="FILTER", help="DIMENSION=VALUE, DIMENSION!=VALUE, DIMENSION=A,B, DIMENSION~TEXT, DIMENSION= (missing)."),
    ] = None,
    top: Annotated[int | None, typer.Option(help="Keep the N largest groups per currency; sum the rest as other.")] = None,
    per: Annotated[str | None, typer.Option("--per", metavar="METRIC", help="Unit costs: also divide each row by this usage metric.")] = None,
    scale: Annotated[int, typer.Option(help="With --per: cost per this many units, e.g. 1000.")] = 1,
    allocation_version: Annotated[int | None, typer.Option(min=1, help="Allocation rules version for dim:<name> (default: published).")] = None,
    output: Annotated[
        QueryOutput | None,
        typer.Option("--output", "-o", help="table, json or csv; default: a table on a terminal, JSON when piped."),
    ] = None,
) -> None:
    """Costs by time and dimension. Currencies are never added together: each row and total has its own."""
    body: dict[str, Any] = {
        "metric": metric,
        "granularity": granularity,
        "time_basis": time_basis,
        "group_by": group_by or [],
        "filters": [_filter(text) for text in filter_ or []],
        "top": top,
        "allocation_version": allocation_version,
    }
    body.update({name: day.date().isoformat() for name, day in (("start", start), ("end", end)) if day is not None})
    if per is not None:
        body |= {"unit_metric": per, "unit_scale": scale}
    with api_for(ctx) as api:
        result = api.post(f"{tenant_path(tenant)}/costs/query", json=body)
    columns = ["period", *(group_by or []), "cost", "currency", *(["unit_cost"] if per else [])]
    if output is None:
        output = QueryOutput(chosen(None).value)
    if output is QueryOutput.json:
        emit(result, Output.json)
    elif output is QueryOutput.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=[*columns, "other"], extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "other": str(row["other"]).lower()} for row in result["rows"])
    else:
        rows = [{**row, **({name: "(other)" for name in group_by or []} if row["other"] else {})} for row in result["rows"]]
        unit_totals = result.get("unit_totals") or {}
        totals = [
            {"period": "total", "cost": cost, "currency": currency, "unit_cost": unit_totals.get(currency)}
            for currency, cost in result["totals"].items()
        ]
        shown = [{**row, "cost": money(row["cost"], row["currency"])} for row in rows + totals]
        emit(shown, Output.table, columns=columns, right=("cost", "unit_cost"))


def data_health(ctx: typer.Context, tenant: TenantOption, output: OutputOption = None) -> None:
    """Per billing source: status, last success, freshness, staleness, and rows and billed cost per month."""
    with api_for(ctx) as api:
        result = api.get(f"{tenant_path(tenant)}/data-health")
    if chosen(output) is Output.json:
        emit(result, output)
        return
    if not result["sources"]:
        raise CostlakeError(f"tenant {tenant!r} has no billing sources yet; add one with `costlake billing-source add`")
    rows = [
        {
            **source,
            "stale": source["stale_reason"] or "no",
            "months": {
                m["month"]: ", ".join([plural(m["rows"], "row"), *(f"{c} {money(v, c)}" for c, v in m["billed_cost"].items())])
                for m in source["months"]
            },
        }
        for source in result["sources"]
    ]
    emit(rows, output, columns=("name", "status", "stale", "last_success_at", "freshness", "months", "last_error"))
