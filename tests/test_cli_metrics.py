"""`costlake metric ...` speaks the metrics API: a CSV push, its line-level refusal, and values read back."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from costlake.cli.main import app

runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_push_a_csv_and_read_it_back(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok("tenant", "create", "acme")
    ok("metric", "create", "--tenant", "acme", "requests", "--unit", "requests")
    good = tmp_path / "requests.csv"
    good.write_text("date,value,ServiceName\n2026-11-02,1000,Compute\n2026-11-03,1200.5,Compute\n")
    assert json.loads(ok("metric", "push", "--tenant", "acme", str(good))) == {"upserted": 2, "deleted": 0}
    bad = tmp_path / "more.csv"
    bad.write_text("date,value,ServiceName\n2026-11-04,5,Compute\n2026-11-05,-3,Compute\n")
    refused = runner.invoke(app, ["metric", "push", "--tenant", "acme", "--metric", "requests", str(bad)])
    assert refused.exit_code == 1 and "line 3" in refused.stderr and "negative" in refused.stderr and "line 3: line 3" not in refused.stderr
    values = json.loads(ok("metric", "values", "--tenant", "acme", "requests"))["values"]
    assert [(v["date"], v["value"]) for v in values] == [("2026-11-02", "1000"), ("2026-11-03", "1200.5")]
    table = ok("metric", "list", "--tenant", "acme", "--output", "table")
    assert "requests" in table and "sum" in table
    missing = runner.invoke(app, ["metric", "push", "--tenant", "acme", str(tmp_path / "requests.csv"), "--metric", "users"])
    assert missing.exit_code == 1 and "no metric 'users'" in missing.stderr


def test_events_and_webhooks_from_the_cli(settings) -> None:  # type: ignore[no-untyped-def]
    ok("tenant", "create", "acme")
    event = json.loads(ok("event", "add", "--tenant", "acme", "Deploy v42", "--at", "2026-11-03T14:00:00Z", "--category", "deploy",
                          "--label", "service=checkout"))
    assert event["start"] == "2026-11-03T14:00:00Z" and event["labels"] == {"service": "checkout"}
    assert "Deploy v42" in ok("event", "list", "--tenant", "acme", "--label", "service:checkout")
    assert json.loads(ok("event", "list", "--tenant", "acme", "--label", "service:search", "--output", "json")) == []
    hook = json.loads(ok("webhook", "add", "--tenant", "acme", "github"))
    assert hook["url"].startswith("/api/v1/hooks/") and hook["secret"]
    assert hook["secret"] not in ok("webhook", "list", "--tenant", "acme", "--output", "json")
    replaced = runner.invoke(app, ["webhook", "set-secret", "--tenant", "acme", hook["id"]], input="issued-by-the-provider-0123456789\n")
    assert replaced.exit_code == 0 and "secret replaced" in replaced.stderr and "issued-by" not in replaced.stdout + replaced.stderr
    empty = runner.invoke(app, ["webhook", "set-secret", "--tenant", "acme", hook["id"]], input="\n")
    assert empty.exit_code == 1 and "standard input" in empty.stderr
    bad = runner.invoke(app, ["event", "add", "--tenant", "acme", "x", "--category", "party"])
    assert bad.exit_code == 1 and "category" in bad.stderr


def test_views_and_dashboards_from_the_cli(settings) -> None:  # type: ignore[no-untyped-def]
    ok("tenant", "create", "acme")
    view = json.loads(ok("view", "create", "--tenant", "acme", "By service", "--query", '{"group_by": ["ServiceName"]}', "--range", "last_30_days", "--chart", "line"))
    assert view["range"] == "last_30_days" and view["chart"] == "line"
    assert "By service" in ok("view", "list", "--tenant", "acme")
    assert json.loads(ok("view", "run", "--tenant", "acme", view["id"]))["rows"] == []
    board = json.loads(ok("dashboard", "create", "--tenant", "acme", "Weekly", "--note", "hello", "--view", view["id"]))
    assert [w["type"] for w in board["widgets"]] == ["note", "view"]
    bad = runner.invoke(app, ["view", "create", "--tenant", "acme", "x", "--query", '{"group_by": ["Nope"]}'])
    assert bad.exit_code == 1 and "query.group_by" in bad.stderr
