"""The `costlake` CLI: operator commands, billing sources in-process and over HTTP, output, errors, and the demo.

Every test runs against a fresh home (the `settings` fixture: SQLite, then PostgreSQL). Without COSTLAKE_URL the CLI
runs the API in-process as the operator; one test drives a real `costlake serve` over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from costlake.app import create_app
from costlake.cli.main import app
from costlake.months import add_months, current_month, month_of
from costlake.settings import Settings
from costlake_server import COSTLAKE, free_port, serving
from focus_files import focus_row, write_csv

SOURCE_FIELDS = {
    "notices",
    "id",
    "name",
    "provider",
    "format",
    "source_uri",
    "region",
    "window_months",
    "enabled",
    "options",
    "credential",
    "storage_credential",
    "created_at",
    "updated_at",
    "last_status",
    "last_synced_at",
    "last_row_count",
    "last_error",
}
UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

runner = CliRunner()


@pytest.fixture
def home(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, initialized home and no server configured: the CLI runs in-process as the operator."""
    monkeypatch.delenv("COSTLAKE_URL", raising=False)
    monkeypatch.delenv("COSTLAKE_TOKEN", raising=False)
    ok("init")
    return settings.home


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A FOCUS CSV export of the previous and the current month (both inside a first sync's backfill)."""
    folder = tmp_path / "export"
    this, last = current_month(), add_months(current_month(), -1)
    write_csv(folder / f"{last}.csv", [focus_row(last, "10.50"), focus_row(last, "2.25", currency="EUR")])
    write_csv(folder / f"{this}.csv", [focus_row(this, "3.00")])
    return folder


@pytest.fixture
def tenant(home: Path) -> dict[str, Any]:
    return ok("tenant", "create", "acme")


def cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), env=env, input=input)


def ok(*args: str, env: dict[str, str] | None = None) -> Any:
    result = cli(*args, env=env)
    assert result.exit_code == 0, (
        f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}\n{result.exception!r}"
    )
    return json.loads(result.stdout) if result.stdout.strip() else None


def one_line_error(result: Result) -> str:
    """The contract for errors: exit 1, one line on stderr, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), f"an exception escaped: {result.exception!r}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def add_source(tenant: str, export: Path, *extra: str) -> dict[str, Any]:
    return ok(
        "billing-source", "add", "--tenant", tenant, "--provider", "aws", "--source-uri", f"{export}/*.csv", *extra
    )


# --- operator commands ---------------------------------------------------------------------------------------------


def test_init_is_idempotent_and_says_where_things_are(home: Path, settings: Settings) -> None:
    first, second = ok("init"), ok("init")
    assert first == second
    assert set(first) == {"home", "catalog_url", "lake_uri"}
    assert first["home"] == str(home)
    assert first["lake_uri"] == settings.lake_root
    assert first["catalog_url"].split(":")[0] in ("sqlite", "postgresql+psycopg")


def test_tenant_create_and_list(home: Path) -> None:
    created = ok("tenant", "create", "acme")
    assert set(created) == {"id", "name", "created_at"}
    assert created["name"] == "acme" and UTC_Z.match(created["created_at"])
    ok("tenant", "create", "globex")
    listed = ok("tenant", "list")
    assert [tenant["name"] for tenant in listed] == ["acme", "globex"]
    assert listed[0]["id"] == created["id"]
    assert "globex" in cli("tenant", "list", "--output", "table").stdout


def test_tenant_update_sets_allowed_prefixes_by_name_or_id(tenant: dict[str, Any]) -> None:
    updated = ok("tenant", "update", "acme", "--allow-uri-prefix", "s3://bucket/a", "--allow-uri-prefix", "gs://b/c")
    assert updated["id"] == tenant["id"]
    assert updated["allowed_uri_prefixes"] == ["gs://b/c", "s3://bucket/a"]
    assert ok("tenant", "update", tenant["id"], "--allow-uri-prefix", "s3://x")["allowed_uri_prefixes"] == ["s3://x"]


def test_tenant_update_refuses_prefixes_that_are_not_object_store_uris(tenant: dict[str, Any]) -> None:
    for bad in ("/etc", "s3://bucket/*.parquet", "http://internal-host/x"):
        message = one_line_error(cli("tenant", "update", "acme", "--allow-uri-prefix", bad))
        assert bad.split("/")[0] in message or bad in message, message
    assert ok("tenant", "list")[0]["allowed_uri_prefixes"] == []


def test_token_is_shown_once_never_listed_and_revocable(tenant: dict[str, Any], client) -> None:  # type: ignore[no-untyped-def]
    created = ok("token", "create", "--tenant", "acme", "--role", "admin", "--name", "ci")
    assert set(created) == {"id", "tenant_id", "role", "name", "token"}
    assert (created["tenant_id"], created["role"], created["name"]) == (tenant["id"], "admin", "ci")
    member = ok("token", "create", "--tenant", tenant["id"], "--role", "member")
    assert member["tenant_id"] == tenant["id"] and member["name"] is None

    for ref in ("acme", tenant["id"]):
        result = cli("token", "list", "--tenant", ref)
        assert created["token"] not in result.stdout and member["token"] not in result.stdout
        assert {token["id"] for token in json.loads(result.stdout)} == {created["id"], member["id"]}
        assert all("token" not in token for token in json.loads(result.stdout))

    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    revoked = ok("token", "revoke", created["id"])
    assert revoked["id"] == created["id"] and UTC_Z.match(revoked["revoked_at"])
    assert client.get("/api/v1/me", headers=headers).status_code == 401


# --- billing sources, in-process -----------------------------------------------------------------------------------


def test_billing_source_lifecycle(tenant: dict[str, Any], export: Path) -> None:
    source = add_source("acme", export, "--name", "main", "--window-months", "3", "--region", "eu-west-1")
    assert set(source) == SOURCE_FIELDS
    assert (source["name"], source["provider"], source["format"], source["window_months"]) == (
        "main",
        "aws",
        "focus",
        3,
    )
    assert source["region"] == "eu-west-1" and source["enabled"] is True and source["last_status"] is None

    for ref in ("acme", tenant["id"]):
        assert [s["id"] for s in ok("billing-source", "list", "--tenant", ref)] == [source["id"]]

    # only the options given change, and SOURCE_ID may be the id or the name
    updated = ok("billing-source", "update", "--tenant", "acme", "main", "--window-months", "5")
    assert updated["window_months"] == 5 and updated["region"] == "eu-west-1" and updated["name"] == "main"
    renamed = ok("billing-source", "update", "--tenant", tenant["id"], source["id"], "--name", "primary")
    assert renamed["name"] == "primary" and renamed["window_months"] == 5

    assert ok("billing-source", "disable", "--tenant", "acme", "primary")["enabled"] is False
    assert ok("billing-source", "enable", "--tenant", "acme", source["id"])["enabled"] is True

    run = ok("billing-source", "sync", "--tenant", "acme", "primary", "--wait")
    this, last = current_month(), add_months(current_month(), -1)
    assert run["status"] == "succeeded" and run["source_id"] == source["id"]
    assert run["months"] == [last, this] and run["row_count"] == 3
    assert Decimal(run["billed_cost_by_month"][last]["USD"]) == Decimal("10.50")
    assert Decimal(run["billed_cost_by_month"][last]["EUR"]) == Decimal("2.25")
    assert ok("billing-source", "list", "--tenant", "acme")[0]["last_row_count"] == 3

    ok("billing-source", "sync", "--tenant", "acme", "primary", "--from", f"{last}-15", "--wait")
    page = ok("billing-source", "syncs", "--tenant", "acme", "primary", "--limit", "1")
    assert set(page) == {"items", "next_cursor"} and len(page["items"]) == 1 and page["next_cursor"]
    assert page["items"][0]["from"] == f"{last}-15"
    rest = ok("billing-source", "syncs", "--tenant", "acme", "primary", "--limit", "1", "--cursor", page["next_cursor"])
    assert rest["items"][0]["id"] == run["id"]

    removed = ok("billing-source", "remove", "--tenant", "acme", "primary", "--auto-approve")
    assert removed["id"] == source["id"]
    assert ok("billing-source", "list", "--tenant", "acme") == []


def test_add_with_no_validate_and_disabled(tenant: dict[str, Any], tmp_path: Path) -> None:
    not_yet = tmp_path / "later"
    result = cli(
        "billing-source", "add", "--tenant", "acme", "--provider", "gcp", "--source-uri", f"{not_yet}/*.parquet"
    )
    assert one_line_error(result).startswith("Error: source_uri: ")
    source = add_source("acme", not_yet, "--no-validate", "--disabled")
    assert source["enabled"] is False and source["provider"] == "aws"
    assert source["name"]  # a readable default derived from the URI


def test_sync_without_wait_still_finishes_in_process(tenant: dict[str, Any], export: Path) -> None:
    source = add_source("acme", export)
    started = ok("billing-source", "sync", "--tenant", "acme", source["id"])
    assert started["status"] == "queued"  # a worker thread takes it up next
    (latest,) = ok("billing-source", "syncs", "--tenant", "acme", source["id"])["items"]
    assert latest["id"] == started["id"] and latest["status"] == "succeeded"


def test_sync_wait_exits_1_when_the_sync_fails(tenant: dict[str, Any], export: Path) -> None:
    source = add_source("acme", export)
    ok("billing-source", "sync", "--tenant", "acme", source["name"], "--wait")
    shutil.rmtree(export)
    result = cli("billing-source", "sync", "--tenant", "acme", source["name"], "--wait")
    assert result.exit_code == 1, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "failed" and run["error"]
    assert result.stderr.startswith("Sync failed: ")


def test_remove_without_a_terminal_refuses_and_removes_nothing(tenant: dict[str, Any], export: Path) -> None:
    source = add_source("acme", export)
    line = one_line_error(cli("billing-source", "remove", "--tenant", "acme", source["id"]))
    assert "--auto-approve" in line and "terminal" in line
    assert [s["id"] for s in ok("billing-source", "list", "--tenant", "acme")] == [source["id"]]


def test_table_output(tenant: dict[str, Any], export: Path) -> None:
    source = add_source("acme", export, "--name", "main")
    ok("billing-source", "sync", "--tenant", "acme", "main", "--wait")
    listed = cli("billing-source", "list", "--tenant", "acme", "--output", "table").stdout
    assert "main" in listed and source["id"] in listed and "succeeded" in listed
    runs = cli("billing-source", "syncs", "--tenant", "acme", "main", "-o", "table").stdout
    assert "backfill" in runs and current_month() in runs
    one = cli("billing-source", "sync", "--tenant", "acme", "main", "--wait", "-o", "table").stdout
    assert "billed_cost_by_month" in one and "USD" in one


# --- errors ----------------------------------------------------------------------------------------------------------


def test_errors_print_one_line_and_exit_1(tenant: dict[str, Any], export: Path) -> None:
    assert "no tenant 'nope'" in one_line_error(cli("billing-source", "list", "--tenant", "nope"))
    assert "already exists" in one_line_error(cli("tenant", "create", "acme"))
    assert "no token" in one_line_error(cli("token", "revoke", "not-a-token-id"))
    bad_provider = cli("billing-source", "add", "--tenant", "acme", "--provider", "oracle", "--source-uri", str(export))
    assert one_line_error(bad_provider).startswith("Error: provider: ")
    bad_window = cli(
        "billing-source",
        "add",
        "--tenant",
        "acme",
        "--provider",
        "aws",
        "--source-uri",
        str(export),
        "--window-months",
        "40",
    )
    assert "window_months" in one_line_error(bad_window)
    assert "no billing source named 'ghost'" in one_line_error(
        cli("billing-source", "sync", "--tenant", "acme", "ghost")
    )


@pytest.mark.parametrize(
    "args",
    [
        ["billing-source", "list"],  # --tenant missing
        ["token", "create", "--tenant", "acme", "--role", "owner"],
        ["billing-source", "update", "--tenant", "acme", "some-source"],  # nothing to change
        ["billing-source", "sync", "--tenant", "acme", "some-source", "--from", "01/02/2026"],
        ["--server", "http://127.0.0.1:9", "billing-source", "list", "--tenant", "acme"],  # a server but no token
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(tenant: dict[str, Any], args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 2, (result.stdout, result.stderr)


# --- over HTTP, against a real server --------------------------------------------------------------------------------


@pytest.fixture
def server(home: Path, tmp_path: Path) -> Iterator[str]:
    """`costlake serve` in a subprocess on the same home; tenants may name local paths under tmp_path."""
    with serving({**os.environ, "COSTLAKE_ALLOWED_LOCAL_ROOTS": str(tmp_path)}, tmp_path / "serve.log") as url:
        yield url


def test_client_mode_over_http(tenant: dict[str, Any], export: Path, server: str) -> None:
    admin = ok("token", "create", "--tenant", "acme", "--role", "admin")["token"]
    member = ok("token", "create", "--tenant", "acme", "--role", "member")["token"]
    as_member = {"COSTLAKE_URL": server, "COSTLAKE_TOKEN": member}
    as_admin = {"COSTLAKE_URL": server, "COSTLAKE_TOKEN": admin}

    line = one_line_error(cli("billing-source", "list", "--tenant", "acme", env=as_member))
    assert "HTTP 403" in line and "member" in line

    # --disabled keeps the server's scheduler away from the source, so the manual sync is the only one
    source = add_source("acme", export, "--name", "over-http", "--disabled")  # in-process, as the operator
    assert [s["name"] for s in ok("billing-source", "list", "--tenant", "acme", env=as_admin)] == ["over-http"]
    run = ok("billing-source", "sync", "--tenant", "acme", "over-http", "--wait", env=as_admin)
    assert run["status"] == "succeeded" and run["source_id"] == source["id"] and run["row_count"] == 3

    # the global options work like the environment variables
    listed = ok("--server", server, "--token", admin, "billing-source", "list", "--tenant", tenant["id"])
    assert listed[0]["last_status"] == "succeeded"
    # a tenant over HTTP may not name a local path outside COSTLAKE_ALLOWED_LOCAL_ROOTS
    outside = cli(
        "billing-source", "add", "--tenant", "acme", "--provider", "aws", "--source-uri", "/etc/*.csv", env=as_admin
    )
    assert "HTTP 403" in one_line_error(outside)
    assert "HTTP 401" in one_line_error(
        cli("billing-source", "list", "--tenant", "acme", env={**as_admin, "COSTLAKE_TOKEN": "clk_wrong"})
    )


def test_unreachable_server_is_one_line(home: Path) -> None:
    line = one_line_error(
        cli(
            "--server", f"http://127.0.0.1:{free_port()}", "--token", "t", "billing-source", "list", "--tenant", "acme"
        )
    )
    assert "cannot reach the costlake server" in line


# --- demo ------------------------------------------------------------------------------------------------------------


def test_demo_no_serve_exits_0_and_is_safe_to_rerun(home: Path, settings: Settings) -> None:
    first = subprocess.run(
        [str(COSTLAKE), "demo", "--no-serve", "--output", "json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["tenant"] == "demo" and summary["token"].startswith("clk_") and summary["url"] is None
    assert summary["status"] in ("succeeded", "warning")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert len(summary["months"]) == 4 and summary["months"][-1] == month_of(yesterday)
    # whole months of 3000 rows, and the days so far of the last one
    assert 3 * 3000 < summary["row_count"] <= 4 * 3000
    assert set(summary["billed_cost_by_month"]) == set(summary["months"])
    assert (home / "demo" / "focus-export").is_dir()
    usage = summary["usage"]
    assert usage["metric"] == "requests" and usage["values"] > 6 * 90 and usage["events_added"] >= 5

    again = ok("demo", "--no-serve", "--output", "json")
    assert again["usage"]["events_added"] == 0 and again["usage"]["values"] == usage["values"]
    # the explorer shows a unit cost line and event markers on first run
    units = ok("costs", "query", "--tenant", "demo", "--group-by", "tag:team", "--per", "requests", "--scale", "1000", "--output", "json")
    assert units["unit_metric"]["matched_dimensions"] == ["tag:team"]
    assert any(row["unit_cost"] for row in units["rows"] if row["tag:team"] == "payments")
    deploys = ok("event", "list", "--tenant", "demo", "--category", "deploy", "--output", "json")
    assert len(deploys) >= 4 and all(event["labels"]["environment"] == "production" for event in deploys)
    assert again["source_id"] == summary["source_id"] and again["token"] != summary["token"]
    # the re-run replaced the demo token: one valid demo admin token, the one printed last
    demo_tokens = [token for token in ok("token", "list", "--tenant", "demo") if token["name"] == "demo"]
    assert [token["revoked_at"] is None for token in demo_tokens] == [False, True]
    assert again["billed_cost_by_month"] == summary["billed_cost_by_month"]
    assert again["native_sources"] == summary["native_sources"]
    assert set(summary["native_sources"]) == {"demo AWS CUR 2.0", "demo Azure cost details (EUR)", "demo Google Cloud billing export", "demo daily usage"}
    # Alerts from the first run: a monthly budget with a forecast, the default monitor and the injected anomaly.
    alerts = summary["alerts"]
    assert alerts["budget"]["name"] == "demo monthly budget" and alerts["budget"]["forecast_method"] in ("weekday-profile", "run-rate")
    assert {"series": {"ServiceName": "BigQuery", "SubAccountId": "project-0000"}} in [{"series": a["series"]} for a in alerts["anomalies"]]
    assert again["alerts"]["budget"] == alerts["budget"] and len(again["alerts"]["anomalies"]) == len(alerts["anomalies"])
    assert all(native["status"] in ("succeeded", "warning") for native in summary["native_sources"].values())
    # re-running reuses the sources: one per export, never duplicated
    sources = ok("billing-source", "list", "--tenant", "demo")
    assert sorted(source["name"] for source in sources) == sorted(["demo FOCUS export: AWS, Azure and Google Cloud", *summary["native_sources"]])
    # the FOCUS export holds several clouds' costs, and says so
    assert next(source for source in sources if source["id"] == summary["source_id"])["provider"] == "multicloud"
    providers = ok("costs", "query", "--tenant", "demo", "--group-by", "ProviderName", "--granularity", "none",
                   "--start", f"{summary['months'][0]}-01")
    focus_only = ok("costs", "query", "--tenant", "demo", "--group-by", "ProviderName", "--granularity", "none",
                    "--start", f"{summary['months'][0]}-01", "--filter", f"source={summary['source_id']}")
    assert {row["ProviderName"] for row in focus_only["rows"]} == {"AWS", "Microsoft", "Google Cloud"}
    assert providers["rows"]
    # every demo source covers the same months and ends yesterday: nothing dated today or later
    health = ok("data-health", "--tenant", "demo")
    assert {tuple(m["month"] for m in source["months"]) for source in health["sources"]} == {tuple(summary["months"])}
    for source in health["sources"]:
        assert source["freshness"] <= f"{datetime.now(UTC).date().isoformat()}T00:00:00Z", source
        assert source["stale"] is False, source
    # the dense exports (FOCUS, CUR, the daily usage) have rows up to yesterday; the small Azure and GCP samples have
    # a handful of dated charges per month
    dense = [source for source in health["sources"] if source["format"] in ("focus", "aws-cur2")]
    assert len(dense) == 3 and all(source["freshness"] >= f"{yesterday.isoformat()}T12:00:00Z" for source in dense), dense
    assert "billed_cost_by_month" in cli("demo", "--no-serve").stdout
    with TestClient(create_app(settings)) as client:
        for old in (summary["token"], again["token"]):
            assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
