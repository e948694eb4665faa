"""The CLI for a newcomer (issue 10): money to the minor unit and right-aligned, plural words, formats checked at
add time, local errors without HTTP noise, help that fits 80 columns, one rule for the default output."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from costlake.cli.output import Output, chosen, money, plural
from costlake.months import add_months, current_month
from focus_files import focus_row, write_csv
from test_cli import add_source, cli, home, ok, one_line_error, tenant  # noqa: F401

NOW = current_month()
AZURE_HEADER = ["Date", "CostInBillingCurrency", "BillingCurrencyCode", "MeterCategory", "ChargeType", "PricingModel", "ReservationId"]


def test_money_is_shown_to_the_currency_minor_unit() -> None:
    assert money("8.5450077867419368", "USD") == "8.55"
    assert money("1234567.5", "JPY") == "1,234,568"
    assert money("0.0005", "KWD") == "0.001"
    assert money("-2.345", "EUR") == "-2.35"
    assert money("12", "unknown") == "12.00"
    assert plural(1, "row") == "1 row" and plural(3000, "row") == "3,000 rows" and plural(0, "row") == "0 rows"


def test_default_output_is_a_table_on_a_terminal_and_json_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert chosen(None) is Output.table and chosen(Output.json) is Output.json
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert chosen(None) is Output.json and chosen(Output.table) is Output.table


def test_tables_round_money_right_aligned_and_json_keeps_it_exact(tenant: dict[str, Any], tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_csv(export / "a.csv", [focus_row(NOW, "8.5450077867419368")])
    add_source("acme", export, "--name", "main")
    ok("billing-source", "sync", "--tenant", "acme", "main", "--wait")

    exact = ok("costs", "query", "--tenant", "acme", "--granularity", "none")  # JSON: not a terminal here
    assert exact["totals"] == {"USD": "8.5450077867419368"}
    table = cli("costs", "query", "--tenant", "acme", "--granularity", "none", "--output", "table").stdout
    assert "8.55" in table and "8.545" not in table
    cost_lines = [line for line in table.splitlines() if "8.55" in line]
    header = next(line for line in table.splitlines() if "cost" in line and "currency" in line)
    # right-aligned: the amount ends where the cost column's header ends
    assert all(line.index("8.55") + len("8.55") == header.index("cost") + len("cost") for line in cost_lines), table

    health = cli("data-health", "--tenant", "acme", "--output", "table").stdout
    assert "1 row, USD 8.55" in health and "1 rows" not in health
    run = cli("billing-source", "syncs", "--tenant", "acme", "main", "--output", "table").stdout
    assert run and "8.545" not in run


def test_a_wrong_explicit_format_fails_at_add(tenant: dict[str, Any], tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_csv(export / "a.csv", [focus_row(NOW, "1")])
    line = one_line_error(cli(
        "billing-source", "add", "--tenant", "acme", "--provider", "azure", "--source-uri", str(export),
        "--format", "gcp-billing-export",
    ))
    assert line.startswith("Error: format: ") and "looks like focus" in line
    assert ok("billing-source", "list", "--tenant", "acme") == []
    # the right one passes
    assert add_source("acme", export, "--format", "focus")["format"] == "focus"


def _azure_file(path: Path, pricing_model: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(AZURE_HEADER)
        writer.writerow([f"{NOW}-02", "10.50", "USD", "Virtual Machines", "Usage", pricing_model,
                         "/providers/Microsoft.Capacity/reservationOrders/1" if pricing_model == "Reservation" else ""])
    return path


def test_a_lone_azure_file_without_a_dataset_is_checked_at_add(tenant: dict[str, Any], tmp_path: Path) -> None:
    covered = _azure_file(tmp_path / "covered" / "costs.csv", "Reservation")
    line = one_line_error(cli("billing-source", "add", "--tenant", "acme", "--provider", "azure", "--source-uri", str(covered)))
    assert line.startswith("Error: options: ") and "reservation or savings-plan rows" in line and "dataset=actual" in line

    plain = _azure_file(tmp_path / "plain" / "costs.csv", "OnDemand")
    result = cli("billing-source", "add", "--tenant", "acme", "--provider", "azure", "--source-uri", str(plain))
    assert result.exit_code == 0, result.stderr
    source = json.loads(result.stdout)
    assert source["options"] == {"dataset": "actual"} and source["format"] == "azure-cost-details"
    assert "no reservation or savings-plan rows" in source["notices"][0]
    assert result.stderr.startswith("Note: ") and "dataset=actual" in result.stderr
    run = ok("billing-source", "sync", "--tenant", "acme", source["id"], "--wait")
    assert run["status"] == "succeeded" and run["billed_cost_by_month"] == {NOW: {"USD": "10.50"}}


def test_local_errors_carry_neither_http_status_nor_pydantic_prefix(tenant: dict[str, Any], tmp_path: Path) -> None:
    line = one_line_error(cli("billing-source", "add", "--tenant", "acme", "--provider", "oracle", "--source-uri", str(tmp_path)))
    assert line.startswith("Error: provider: unknown provider 'oracle'")
    assert "HTTP" not in line and "Value error" not in line
    assert "HTTP" not in one_line_error(cli("billing-source", "list", "--tenant", "nope"))


def test_help_fits_80_columns_names_every_option_and_lists_formats(home: Path) -> None:
    text = cli("billing-source", "add", "--help", env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"}).stdout
    assert "--storage-service-account" in text and "…" not in text
    assert "<bool>" not in text
    for name in ("auto", "focus", "aws-cur2", "aws-cur-legacy", "azure-cost-details", "gcp-billing-export", "api"):
        assert f"  {name} " in text, name
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "<bool>" not in cli("billing-source", "sync", "--help", env={"COLUMNS": "80"}).stdout


def test_a_month_with_one_row_says_row(tenant: dict[str, Any], tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_csv(export / "a.csv", [focus_row(add_months(NOW, -1), "1"), focus_row(NOW, "2"), focus_row(NOW, "3")])
    add_source("acme", export, "--name", "main")
    ok("billing-source", "sync", "--tenant", "acme", "main", "--wait")
    health = cli("data-health", "--tenant", "acme", "-o", "table").stdout
    assert "1 row, USD 1.00" in health and "2 rows, USD 5.00" in health
