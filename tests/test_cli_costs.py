"""`costlake costs query` and `costlake data-health` speak the query API and print what it answered."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costlake.cli.main import app
from costlake.months import current_month
from costlake.samples.generator import generate_focus_export

runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def demo_tenant(settings, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    generate_focus_export(tmp_path / "export", end_month=date.fromisoformat(current_month() + "-01"), months=2, rows_per_month=600)
    ok("tenant", "create", "acme")
    source = json.loads(ok("billing-source", "add", "--tenant", "acme", "--provider", "aws", "--source-uri", str(tmp_path / "export")))
    run = json.loads(ok("billing-source", "sync", "--tenant", "acme", source["id"], "--wait"))
    assert run["status"] == "succeeded"
    return "acme"


def test_costs_query_json_csv_and_table_agree(demo_tenant: str) -> None:
    args = ["costs", "query", "--tenant", demo_tenant, "--group-by", "ServiceName", "--granularity", "none", "--filter", "ProviderName=AWS"]
    result = json.loads(ok(*args, "--output", "json"))
    assert result["rows"] and set(result["totals"]) == {"USD"}
    rows = list(csv.DictReader(io.StringIO(ok(*args, "--output", "csv"))))
    assert [(r["ServiceName"], r["cost"]) for r in rows] == [(r["ServiceName"], r["cost"]) for r in result["rows"]]
    table = ok(*args)
    assert result["totals"]["USD"] in table and "total" in table


def test_costs_query_filters_and_top(demo_tenant: str) -> None:
    base = ["costs", "query", "--tenant", demo_tenant, "--granularity", "none", "--output", "json"]
    everything = json.loads(ok(*base))
    top = json.loads(ok(*base, "--group-by", "tag:team", "--top", "1"))
    assert top["totals"] == everything["totals"]
    assert any(row["other"] for row in top["rows"])
    missing = json.loads(ok(*base, "--filter", "tag:team="))
    assert all(row["cost"] for row in missing["rows"])


def test_bad_filters_and_dimensions_are_clear_errors(demo_tenant: str) -> None:
    usage = runner.invoke(app, ["costs", "query", "--tenant", demo_tenant, "--filter", "nonsense"])
    assert usage.exit_code == 2
    bad = runner.invoke(app, ["costs", "query", "--tenant", demo_tenant, "--group-by", "Nope"])
    assert bad.exit_code == 1 and "unknown dimension" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_data_health(demo_tenant: str) -> None:
    report = json.loads(ok("data-health", "--tenant", demo_tenant, "--output", "json"))
    (source,) = report["sources"]
    assert source["status"] == "succeeded" and len(source["months"]) == 2
    assert "succeeded" in ok("data-health", "--tenant", demo_tenant)
