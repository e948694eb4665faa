"""The CLI for vendor sources: keys from stdin or a named variable, never printed; a sync loads the vendor's bill."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fakes.datadog import API_KEY, APP_KEY, FakeDatadog
from test_cli import cli, home, ok, one_line_error  # noqa: F401 - `home` is a fixture


@pytest.fixture
def datadog(httpserver: Any, monkeypatch: pytest.MonkeyPatch, home: Path) -> FakeDatadog:
    monkeypatch.setenv("COSTLAKE_DATADOG_BASE_URL", httpserver.url_for(""))
    ok("tenant", "create", "acme")
    return FakeDatadog(now=datetime.now(UTC)).install(httpserver)


def test_add_with_keys_from_stdin_then_rotate_to_an_env_variable(datadog: FakeDatadog, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = json.dumps({"api_key": API_KEY, "app_key": APP_KEY})
    added = cli("billing-source", "add", "--tenant", "acme", "--provider", "datadog", "--option", "site=us5", "--credential-stdin", input=keys)
    assert added.exit_code == 0, added.stderr
    assert API_KEY not in added.stdout and APP_KEY not in added.stdout
    source = json.loads(added.stdout)
    assert source["credential"] == {"kind": "stored", "set": True} and source["options"] == {"site": "us5"}

    run = ok("billing-source", "sync", source["id"], "--tenant", "acme", "--wait")
    assert run["status"] in ("succeeded", "warning"), run
    billed = {month: Decimal(by_currency["USD"]) for month, by_currency in run["billed_cost_by_month"].items()}
    expected = datadog.expected_billed_by_month()
    assert billed == {month: expected[month] for month in billed} and len(billed) >= 2

    monkeypatch.setenv("DD_KEYS", f"{API_KEY}:{APP_KEY}")
    rotated = ok("billing-source", "update", source["id"], "--tenant", "acme", "--credential-env", "DD_KEYS")
    assert rotated["credential"] == {"kind": "env", "set": True}


def test_a_wrong_key_fails_the_add_with_datadogs_reason(datadog: FakeDatadog) -> None:
    wrong = json.dumps({"api_key": "not-the-key-000", "app_key": APP_KEY})
    message = one_line_error(
        cli("billing-source", "add", "--tenant", "acme", "--provider", "datadog", "--credential-stdin", input=wrong)
    )
    assert "403" in message and "not-the-key-000" not in message
    assert ok("billing-source", "list", "--tenant", "acme") == []
