"""`costlake budget`, `costlake alerts` and `costlake channel` speak the alert endpoints (in-process, as the operator)."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from alerts_data import TODAY, load, usage_until_today
from costlake.catalog import open_catalog
from costlake.catalog.tenants import resolve_tenant
from costlake.cli.main import app

runner = CliRunner()


def ok(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_budget_monitor_anomaly_and_channel_commands(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ok("tenant", "create", "acme")
    catalog = open_catalog(settings)
    tenant_id = resolve_tenant(catalog, "acme").id
    catalog.close()
    usage, _ = usage_until_today()
    load(settings, tenant_id, tmp_path / "usage", usage)
    t = ["--tenant", "acme"]

    budget = json.loads(ok("budget", "create", *t, "--name", "bigquery", "--amount", "20000", "--currency", "USD",
                           "--filter", "ServiceName=BigQuery", "--threshold", "actual:80", "--threshold", "forecast:100"))
    assert budget["status"]["forecast_method"] == "weekday-profile" and budget["thresholds"] == [
        {"kind": "actual", "percent": 80}, {"kind": "forecast", "percent": 100}]
    table = ok("budget", "list", *t)
    assert "bigquery" in table and "weekday-profile" in table
    assert json.loads(ok("budget", "show", *t, budget["id"], "--as-of", TODAY.isoformat()))["status"]["spend"] == budget["status"]["spend"]
    preview = json.loads(ok("budget", "preview", *t, "--amount", "20000", "--currency", "USD", "--filter", "ServiceName=BigQuery",
                            "--start", (TODAY - timedelta(days=60)).isoformat(), "--end", TODAY.isoformat()))
    assert preview["periods"]

    backtest = ok("alerts", "backtest", *t, "--split-by", "ServiceName", "--start", (TODAY - timedelta(days=30)).isoformat(),
                  "--end", TODAY.isoformat())
    assert "ServiceName=BigQuery" in backtest
    monitor = json.loads(ok("alerts", "monitor-create", *t, "--name", "services", "--split-by", "ServiceName", "--min-daily-impact", "25"))
    assert monitor["min_daily_impact"] == "25"
    assert json.loads(ok("alerts", "evaluate", *t, monitor["id"]))["anomalies_opened"] == 1
    listed = ok("alerts", "list", *t, "--monitor", monitor["id"])
    assert "ServiceName=BigQuery" in listed and "open" in listed
    (anomaly,) = json.loads(ok("alerts", "list", *t, "--monitor", monitor["id"], "-o", "json"))["items"]
    assert json.loads(ok("alerts", "ack", *t, anomaly["id"]))["status"] == "acknowledged"
    assert json.loads(ok("alerts", "snooze", *t, anomaly["id"], "--until", (TODAY + timedelta(days=3)).isoformat()))["status"] == "snoozed"
    assert json.loads(ok("alerts", "resolve", *t, anomaly["id"], "--reason", "too-small"))["resolution"] == "too-small"
    bad = runner.invoke(app, ["alerts", "resolve", *t, anomaly["id"], "--reason", "whatever"])
    assert bad.exit_code == 1 and "reason" in bad.stderr

    # A public address literal (no DNS in the tests); nothing is sent to it: no test message, no data notices.
    hook = json.loads(ok("channel", "create", *t, "--name", "hook", "--kind", "webhook", "--url-stdin", "--no-validate",
                         "--no-data-notifications", stdin="https://1.1.1.1/costlake/T0K3N\n"))
    assert hook["secret"].startswith("whsec_") and hook["url_hint"] == "https://1.1.1.1/…"
    listed = ok("channel", "list", *t)
    assert "1.1.1.1" in listed and "T0K3N" not in listed
    assert json.loads(ok("channel", "rotate-secret", *t, hook["id"]))["secret"] != hook["secret"]
    refused = runner.invoke(app, ["channel", "create", *t, "--name", "local", "--kind", "slack", "--url-stdin"], input="https://127.0.0.1/x\n")
    assert refused.exit_code == 1 and "COSTLAKE_ALLOWED_WEBHOOK_HOSTS" in refused.stderr
    ok("channel", "delete", *t, hook["id"])
    ok("alerts", "monitor-delete", *t, monitor["id"])
    ok("budget", "delete", *t, budget["id"])
    assert [m["name"] for m in json.loads(ok("alerts", "monitors", *t, "-o", "json"))] == ["All services by sub account"]  # the default
    assert ok("alerts", "deliveries", *t)
