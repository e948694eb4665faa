"""The console's Anomalies, Budgets and Channels pages against a real `costlake serve` holding the demo data.

The demo injects one anomaly (BigQuery in project-0000, see samples/demo.py); what each page shows is checked
against the REST API's own answers, and what its buttons do against the API's state afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

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
    target = next(a for a in anomalies(console_server) if a["status"] != "acknowledged")
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
