"""The console's Anomalies, Budgets and Channels pages against a real `costlake serve` holding the demo data.

The demo injects one anomaly (BigQuery in project-0000, see samples/demo.py); what each page shows is checked
against the REST API's own answers, and what its buttons do against the API's state afterwards.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fixtures_browser import ConsoleServer, console_server, page, screenshot  # noqa: F401
from test_console import expect, sign_in

Json = dict[str, Any]


def tenant_path(server: ConsoleServer, rest: str) -> str:
    return f"/api/v1/tenants/{server.tenant_id}{rest}"


def api(server: ConsoleServer, method: str, rest: str, token: str | None = None, **kwargs: Any) -> Any:
    with server.api(token) as client:
        response = client.request(method, tenant_path(server, rest), **kwargs)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def anomalies(server: ConsoleServer) -> list[Json]:
    """The tenant's anomalies; the first time, the default monitor is evaluated so the demo's anomaly is found."""
    items = api(server, "GET", "/anomalies")["items"]
    if not items:
        for monitor in api(server, "GET", "/anomaly-monitors"):
            api(server, "POST", f"/anomaly-monitors/{monitor['id']}/evaluate")
        items = api(server, "GET", "/anomalies")["items"]
    assert items, "the demo's injected anomaly was not found"
    return items


def chart_values(page: Any) -> dict[str, list[str | None]]:
    return page.evaluate(
        """() => Object.fromEntries(Chart.getChart(document.querySelector('#anomaly-chart')).data.datasets
               .map((d) => [d.label, d.exact]))"""
    )


# --- anomalies ---------------------------------------------------------------------------------------------------------


def test_anomalies_list_and_detail_show_what_the_api_answers(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    items = anomalies(console_server)
    sign_in(page, console_server.admin_token, "/console/anomalies")
    page.wait_for_selector("#anomalies-section[data-state=ready]")
    rows = page.eval_on_selector_all(
        "#anomalies-table tbody tr",
        "rows => rows.map(r => ({id: r.dataset.id, status: r.dataset.status, impact: r.dataset.impact,"
        " start: r.querySelector('.start').textContent, currency: r.querySelector('.currency').textContent,"
        " series: r.querySelector('a').textContent}))",
    )
    assert [(r["id"], r["status"], r["start"], r["currency"]) for r in rows] == [
        (a["id"], a["status"], a["start_date"], a["currency"]) for a in items
    ]
    assert [Decimal(r["impact"]) for r in rows] == [Decimal(a["impact"]) for a in items]
    bigquery = next(a for a in items if a["series"].get("ServiceName") == "BigQuery")
    row = next(r for r in rows if r["id"] == bigquery["id"])
    assert "BigQuery" in row["series"]

    page.click(f"#anomalies-table tr[data-id='{bigquery['id']}'] a")
    page.wait_for_selector(f"#anomaly-detail[data-state=ready][data-id='{bigquery['id']}']")
    detail = api(console_server, "GET", f"/anomalies/{bigquery['id']}")
    values = chart_values(page)
    assert values["Actual"] == [day["actual"] for day in detail["daily"]]
    assert values["Expected"] == [day["expected"] for day in detail["daily"]]
    assert values["Band low"] == [day["lower"] for day in detail["daily"]]
    assert values["Expected band"] == [day["upper"] for day in detail["daily"]]
    causes = page.eval_on_selector_all(
        "#root-causes tbody tr", "rows => rows.map(r => [r.dataset.dimension, r.dataset.value])"
    )
    assert causes == [[c["dimension"], str(c["value"])] for c in detail["root_causes"]]
    assert detail["root_causes"], "the demo's anomaly has root causes"
    screenshot(page, "anomalies.png")

    # An admin snoozes, then resolves: the page shows the API's new state.
    until = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    page.fill("#snooze-until", until)
    page.click("#snooze")
    expect(page.locator("#anomaly-detail")).to_have_attribute("data-status", "snoozed")
    after = api(console_server, "GET", f"/anomalies/{bigquery['id']}")
    assert after["status"] == "snoozed" and after["snoozed_until"].startswith(until)
    page.select_option("#resolve-reason", "expected")
    page.click("#resolve")
    expect(page.locator("#anomaly-detail")).to_have_attribute("data-status", "resolved")
    after = api(console_server, "GET", f"/anomalies/{bigquery['id']}")
    assert (after["status"], after["resolution"]) == ("resolved", "expected")
    expect(page.locator(f"#anomalies-table tr[data-id='{bigquery['id']}']")).to_have_attribute("data-status", "resolved")


def test_members_acknowledge_but_neither_snooze_nor_resolve(page: Any, console_server: ConsoleServer) -> None:
    target = next(a for a in anomalies(console_server) if a["status"] in ("open", "snoozed"))
    # An alert message's link opens the anomaly on the console's page.
    sign_in(page, console_server.member_token, "/console/anomalies")
    page.goto(f"/anomalies/{target['id']}")
    page.wait_for_selector(f"#anomaly-detail[data-state=ready][data-id='{target['id']}']")
    assert page.locator("#snooze").count() == 0 and page.locator("#resolve").count() == 0
    page.click("#acknowledge")
    expect(page.locator("#anomaly-detail")).to_have_attribute("data-status", "acknowledged")
    after = api(console_server, "GET", f"/anomalies/{target['id']}", console_server.member_token)
    assert after["status"] == "acknowledged"
    assert after["events"][-1]["type"] == "acknowledged"
    assert page.locator("#anomaly-events li").last.inner_text().endswith(f"acknowledged by {after['events'][-1]['by']}")


# --- budgets -----------------------------------------------------------------------------------------------------------


def budget_rows(page: Any) -> dict[str, Json]:
    return {
        row["id"]: row
        for row in page.eval_on_selector_all(
            "#budgets-table tbody tr",
            """rows => rows.map(r => ({id: r.dataset.id, name: r.dataset.name,
                spend: r.querySelector('.budget-spend').dataset.amount, spend_percent: r.querySelector('.budget-spend').dataset.percent,
                forecast: r.querySelector('.budget-forecast').dataset.amount, forecast_percent: r.querySelector('.budget-forecast').dataset.percent,
                method: r.querySelector('.budget-forecast').textContent, crossed: r.querySelector('.crossed').textContent,
                bar: r.querySelector('.budget-spend .budget-bar-fill').style.width,
                period: r.querySelector('.period').textContent}))""",
        )
    }


def test_admin_creates_and_deletes_a_budget_and_its_bars_match_the_api(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    sign_in(page, console_server.admin_token, "/console/budgets")
    page.wait_for_selector("#budgets-section[data-state=ready]")
    before = {b["id"] for b in api(console_server, "GET", "/budgets")}

    page.click("#add-budget")
    page.fill("#budget-name", "bigquery")
    page.fill("#budget-amount", "not money")
    page.fill("#budget-filters", "ServiceName=BigQuery")
    page.fill("#budget-thresholds", "actual:1, forecast:100")
    page.click("#budget-save")
    expect(page.locator("#error-amount")).to_be_visible()  # the API's 422, under its field
    assert {b["id"] for b in api(console_server, "GET", "/budgets")} == before
    page.fill("#budget-thresholds", "actual:1, sideways:5")
    page.fill("#budget-amount", "1000.50")
    page.click("#budget-save")
    expect(page.locator("#error-thresholds")).to_contain_text("sideways:5")
    page.fill("#budget-thresholds", "actual:1, forecast:100")
    page.click("#budget-save")
    expect(page.locator("#budget-dialog")).not_to_be_visible()
    page.wait_for_selector("#budgets-table tr[data-name=bigquery]")

    listed = api(console_server, "GET", "/budgets")
    created = next(b for b in listed if b["id"] not in before)
    assert created["filters"] == [{"dimension": "ServiceName", "op": "eq", "values": ["BigQuery"]}]
    assert (created["amount"], created["currency"]) == ("1000.50", "USD")
    rows = budget_rows(page)
    assert set(rows) == {b["id"] for b in listed}
    for budget in listed:
        row, status = rows[budget["id"]], budget["status"]
        assert Decimal(row["spend"]) == Decimal(status["spend"]) and row["spend_percent"] == status["percent_used"]
        assert row["forecast"] == (status["forecast"] or "") and row["forecast_percent"] == (status["forecast_percent"] or "")
        assert status["forecast_method"] in row["method"]
        crossed = ", ".join(f"{t['kind']} {t['percent']}%" for t in status["crossed"]) or "none"
        assert row["crossed"] == crossed
        assert row["bar"] == f"{min(float(status['percent_used']), 100):g}%"
        last_day = date.fromisoformat(status["period_end"]) - timedelta(days=1)  # the API's end is exclusive
        assert row["period"] == f"{status['period_start']} to {last_day.isoformat()}"
    assert Decimal(created["status"]["spend"]) > 0 and created["status"]["crossed"], "BigQuery's spend crosses 1 %"
    screenshot(page, "budgets.png")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#budgets-table tr[data-id='{created['id']}'] .delete")
    expect(page.locator(f"#budgets-table tr[data-id='{created['id']}']")).to_have_count(0)
    assert {b["id"] for b in api(console_server, "GET", "/budgets")} == before


def test_members_read_budgets_without_the_admin_controls(page: Any, console_server: ConsoleServer) -> None:
    made = api(console_server, "POST", "/budgets", json={"name": "all", "amount": "50000", "currency": "USD"})
    try:
        sign_in(page, console_server.member_token, "/console/budgets")
        page.wait_for_selector(f"#budgets-table tr[data-id='{made['id']}']")
        assert page.locator("#add-budget").count() == 0 and page.locator("#budgets-table .delete").count() == 0
        listed = api(console_server, "GET", "/budgets", console_server.member_token)
        assert set(budget_rows(page)) == {b["id"] for b in listed}
    finally:
        api(console_server, "DELETE", f"/budgets/{made['id']}")


# --- channels ----------------------------------------------------------------------------------------------------------


def mark_failing(server: ConsoleServer, channel_id: str) -> None:
    """Every attempt for the last two days failed: what the deliveries would record, written into the catalog."""
    since = (datetime.now(UTC) - timedelta(days=2)).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(server.home / "catalog.db") as db:
        db.execute(
            "UPDATE alert_channels SET failing_since = ?, last_error = ? WHERE id = ?", (since, "HTTP 503 from the receiver", channel_id)
        )


def test_admin_creates_a_webhook_channel_sees_its_secret_once_and_its_failing_state(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    sign_in(page, console_server.admin_token, "/console/channels")
    page.wait_for_selector("#channels-section[data-state=ready]")
    before = {c["id"] for c in api(console_server, "GET", "/channels")}

    page.click("#add-channel")
    page.fill("#channel-name", "pager")
    page.select_option("#channel-kind", "webhook")
    page.fill("#channel-url", "https://10.1.2.3/hook")  # a private address: refused, and the page says why
    page.uncheck("#channel-validate")
    page.click("#channel-save")
    expect(page.locator("#channel-dialog .field-error:visible, #channel-form-error:visible")).to_contain_text("COSTLAKE_ALLOWED_WEBHOOK_HOSTS")
    assert {c["id"] for c in api(console_server, "GET", "/channels")} == before

    page.fill("#channel-url", "https://93.184.216.34/hook")
    page.click("#channel-save")
    expect(page.locator("#channel-created")).to_be_visible()
    secret = page.input_value("#channel-secret")
    assert secret.startswith("whsec_")
    listed = api(console_server, "GET", "/channels")
    created = next(c for c in listed if c["id"] not in before)
    assert created["secret"] is None and secret not in str(listed)  # write-only: shown once, never listed
    page.click("#channel-done")
    expect(page.locator("#channel-secret")).to_have_value("")  # closing forgets it

    mark_failing(console_server, created["id"])
    page.reload()
    page.wait_for_selector("#channels-section[data-state=ready]")
    listed = api(console_server, "GET", "/channels")
    shown = page.eval_on_selector_all(
        "#channels-table tbody tr", "rows => rows.map(r => [r.dataset.id, r.dataset.status, r.querySelector('.last-error').textContent])"
    )
    assert shown == [[c["id"], c["status"], c["last_error"] or ""] for c in listed]
    assert [c["status"] for c in listed if c["id"] == created["id"]] == ["failing"]
    expect(page.locator(f"#channels-table tr[data-id='{created['id']}'] .status")).to_contain_text("failing since")
    screenshot(page, "channels.png")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#channels-table tr[data-id='{created['id']}'] .delete")
    expect(page.locator(f"#channels-table tr[data-id='{created['id']}']")).to_have_count(0)
    assert {c["id"] for c in api(console_server, "GET", "/channels")} == before


def test_members_get_no_channels_page(page: Any, console_server: ConsoleServer) -> None:
    sign_in(page, console_server.member_token, "/console/anomalies")
    assert "Channels" not in page.locator("nav.nav a").all_inner_texts()
    response = page.goto("/console/channels")
    assert response.status == 403
    assert "managed by the tenant's admins" in page.inner_text("main")
    assert page.locator("#add-channel").count() == 0


# --- the budget line on the explorer -------------------------------------------------------------------------------------


def explorer_url(**params: Any) -> str:
    base = {"metric": "EffectiveCost", "basis": "charge", "top": "10", "chart": "bar", "table": "groups", "sort": "cost",
            "dir": "desc", "granularity": "month", "currency": "USD"}
    return f"/console/explorer?{urlencode({**base, **params}, doseq=True)}"


def test_a_monthly_budget_is_a_line_on_the_explorer_when_its_scope_is_the_filters(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    made = api(console_server, "POST", "/budgets", json={
        "name": "bq", "amount": "70000.25", "currency": "USD", "filters": [{"dimension": "ServiceName", "op": "in", "values": ["BigQuery"]}],
    })
    try:
        start = (datetime.now(UTC).date().replace(day=1) - timedelta(days=60)).replace(day=1).isoformat()
        end = datetime.now(UTC).date().isoformat()
        sign_in(page, console_server.admin_token, "/console/budgets")
        page.goto(explorer_url(start=start, end=end, filter=json.dumps(["ServiceName", "eq", ["BigQuery"]])))
        page.wait_for_selector("#results[data-state=ready]")
        expect(page.locator("#chart")).to_have_attribute("data-budgets", made["id"])
        lines = page.evaluate("() => Chart.getChart(document.querySelector('#chart')).options.plugins.costlakeBudgets.lines")
        assert [(line["id"], line["amount"]) for line in lines] == [(made["id"], "70000.25")]
        screenshot(page, "explorer-budget.png")

        # Other filters (here none: all costs) or days instead of months: no budget line.
        for url in (explorer_url(start=start, end=end), explorer_url(start=start, end=end, granularity="day",
                                                                      filter=json.dumps(["ServiceName", "eq", ["BigQuery"]]))):
            page.goto(url)
            page.wait_for_selector("#results[data-state=ready]")
            expect(page.locator("#chart")).not_to_have_attribute("data-budgets", made["id"])
            assert made["id"] not in (page.get_attribute("#chart", "data-budgets") or "")
    finally:
        api(console_server, "DELETE", f"/budgets/{made['id']}")


def test_alert_message_links_open_the_console_pages(client: Any) -> None:
    for path, target in (("/anomalies/a-1", "/console/anomalies?id=a-1"), ("/budgets/b-1", "/console/budgets"), ("/channels", "/console/channels")):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, target), path
