"""Issue 14, finding 6 (limits and messages): an oversized field fails the run clearly, and a CSV that is not UTF-8,
is compressed under a .csv name, or has broken quoting says so, with what to do."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import sync_and_wait
from costlake.months import current_month
from lake_reader import billed_by_month

NOW = current_month()
HEADER = "BilledCost,ChargePeriodStart,BillingCurrency,BillingPeriodStart,ServiceName\n"


def _row(cost: str, service: str) -> str:
    return f"{cost},{NOW}-02T00:00:00Z,USD,{NOW}-01T00:00:00Z,{service}\n"


@pytest.fixture
def acme(make_tenant):  # type: ignore[no-untyped-def]
    return make_tenant("acme")


def _sync(client, folder: Path, **fields) -> dict:  # type: ignore[no-untyped-def]
    created = client.post("/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(folder), "validate": False, **fields})
    assert created.status_code == 201, created.text
    return sync_and_wait(client, "acme", created.json()["id"])


def test_a_field_over_the_limit_fails_the_run_naming_the_column_and_the_setting(operator_client, acme, tmp_path, settings):  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "big.csv").write_text(HEADER + _row("1", "ok") + _row("2", '"' + "x" * (1536 * 1024) + '"'))
    run = _sync(operator_client, folder)
    assert run["status"] == "failed", run
    assert "ServiceName" in run["error"] and "COSTLAKE_MAX_FIELD_BYTES" in run["error"], run["error"]
    assert billed_by_month(settings, acme.id) == {}


def test_the_field_limit_is_a_setting(operator_client, acme, tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.max_field_bytes = 2 * 1024 * 1024
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "big.csv").write_text(HEADER + _row("2", '"' + "x" * (1536 * 1024) + '"'))
    assert _sync(operator_client, folder)["status"] == "succeeded"


def test_a_latin1_csv_says_it_is_not_utf8_and_which_option_reads_it(operator_client, acme, tmp_path, settings):  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "latin.csv").write_bytes((HEADER + _row("1", "ok") + _row("2", "Caf\xe9")).encode("latin-1"))
    run = _sync(operator_client, folder, format="focus")
    assert run["status"] == "failed", run
    assert "not UTF-8" in run["error"] and "encoding=latin-1" in run["error"], run["error"]

    changed = operator_client.put(f"/api/v1/tenants/acme/billing-sources/{run['source_id']}", json={"options": {"encoding": "latin-1"}})
    assert changed.status_code == 200, changed.text
    again = sync_and_wait(operator_client, "acme", run["source_id"])
    assert again["status"] == "succeeded", again
    assert billed_by_month(settings, acme.id) == {NOW: Decimal(3)}


def test_an_unknown_encoding_is_refused_at_add_time(operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "a.csv").write_text(HEADER + _row("1", "ok"))
    response = operator_client.post("/api/v1/tenants/acme/billing-sources",
                                    json={"provider": "aws", "source_uri": str(folder), "format": "focus", "options": {"encoding": "ebcdic"}})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "options"], response.text


def test_gzip_content_named_csv_says_it_is_compressed(operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "costs.csv").write_bytes(gzip.compress((HEADER + _row("1", "ok")).encode()))
    run = _sync(operator_client, folder, format="focus")
    assert run["status"] == "failed", run
    assert "gzip" in run["error"] and ".csv.gz" in run["error"], run["error"]


def test_broken_quoting_says_so(operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "quotes.csv").write_text(HEADER + _row("1", '"never closed') + _row("2", "ok"))
    run = _sync(operator_client, folder, format="focus")
    assert run["status"] == "failed", run
    assert "broken quoting" in run["error"] and "quotes.csv" in run["error"], run["error"]


def test_an_unclosed_quote_late_in_a_file_fails_instead_of_losing_the_rows_after_it(operator_client, acme, tmp_path, settings):  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    rows = "".join(_row("1", f"svc{n}") for n in range(300))
    (folder / "late.csv").write_text(HEADER + rows + _row("1", '"never closed') + rows)
    run = _sync(operator_client, folder, format="focus")
    assert run["status"] == "failed", run  # lenient reading alone stored 301 of the 601 rows and said nothing
    assert "broken quoting" in run["error"] and "late.csv" in run["error"], run["error"]
    assert billed_by_month(settings, acme.id) == {}


def test_a_value_with_a_line_break_is_named_as_such_not_as_broken_quoting(operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "notes.csv").write_text(HEADER + _row("1", '"Compute\nEngine, EU"') + _row("2", "ok"))
    run = _sync(operator_client, folder, format="focus")
    assert run["status"] == "failed", run
    assert "spans several lines" in run["error"] and "broken quoting" not in run["error"], run["error"]


def test_a_bad_value_past_the_first_batch_still_names_the_file_and_column(operator_client, acme, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    folder.mkdir()
    rows = "".join(_row("1", "ok") for _ in range(300_000))  # more than one Arrow batch (256k rows)
    (folder / "long.csv").write_text(HEADER + rows + _row("$1.00", "bad"))
    run = _sync(operator_client, folder, format="focus")
    assert run["status"] == "failed", run
    assert "long.csv" in run["error"] and "column BilledCost" in run["error"] and "unexpected" not in run["error"], run["error"]
