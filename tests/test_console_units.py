"""The console's Metrics, Events and Dashboards pages, and the explorer's unit metric, event markers and saved views.

Browser tests drive Debian's Chromium through Playwright against a real `costlake serve` holding the demo data (its
`requests` metric labelled by team, and its deploys and incident; see fixtures_browser.py), and check what the
pages show, and what they send, against the REST API's own answers.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from fastapi.testclient import TestClient

from fixtures_browser import ConsoleServer, console_server, page, screenshot  # noqa: F401
from fixtures_browser import _run as run_costlake
from test_console import expect, sign_in
from webhook_payloads import GITHUB_DEPLOYMENT, github_headers

Json = dict[str, Any]


# --- helpers -----------------------------------------------------------------------------------------------------------


def tenant_path(server: ConsoleServer, rest: str) -> str:
    return f"/api/v1/tenants/{server.tenant_id}{rest}"


def api_get(server: ConsoleServer, rest: str, token: str | None = None, **params: Any) -> Any:
    with server.api(token) as api:
        response = api.get(tenant_path(server, rest), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def today() -> date:
    return datetime.now(UTC).date()


def daily_sums(values: list[Json]) -> dict[str, Decimal]:
    """A metric's values per day, label sets added up: what a chart of the metric shows."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for value in values:
        sums[value["date"]] += Decimal(value["value"])
    return dict(sums)


def chart_data(page: Any, selector: str) -> Json:
    """The periods and each series' exact values of the Chart.js chart on a canvas."""
    return page.evaluate(
        """(selector) => {
            const chart = Chart.getChart(document.querySelector(selector));
            return {
                type: chart.config.type,
                periods: chart.data.periods,
                series: chart.data.datasets.map((d) => ({label: d.label, exact: d.exact})),
                markers: (chart.options.plugins.costlakeEvents || {}).markers || [],
            };
        }""",
        selector,
    )


def series_points(chart: Json) -> dict[tuple[str, str], Decimal]:
    """{(series, period): value} of a chart, gaps left out."""
    return {
        (series["label"], period): Decimal(value)
        for series in chart["series"]
        for period, value in zip(chart["periods"], series["exact"], strict=True)
        if value is not None
    }


def group_label(row: Json, groups: list[str]) -> str:
    """How the console names a row's group (CostCharts.groupLabel)."""
    if row["other"]:
        return "Other"
    return " · ".join("(not set)" if row[g] is None else str(row[g]) for g in groups)


def deploy_pixels(page: Any) -> int:
    """Pixels of the deploy markers' colour (#1d4ed8) on the explorer's chart."""
    return int(page.evaluate(
        """() => {
            const canvas = document.getElementById('chart');
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let i = 0; i < pixels.length; i += 4) {
                if (pixels[i] === 29 && pixels[i + 1] === 78 && pixels[i + 2] === 216 && pixels[i + 3] === 255) count++;
            }
            return count;
        }"""
    ))


def url_params(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


# --- without a browser ----------------------------------------------------------------------------------------------------


def test_the_new_pages_are_in_the_nav_and_a_views_url_opens_the_explorer(client: TestClient, make_tenant: Any) -> None:
    acme = make_tenant("acme")
    client.post("/console/sign-in", data={"token": acme.member})
    for path in ("/console/dashboards", "/console/metrics", "/console/events"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for link in ("/console/explorer", "/console/dashboards", "/console/metrics", "/console/events", "/console/data-health"):
            assert f'href="{link}"' in page.text, (path, link)
        assert f'aria-current="page">{path.split("/")[-1].capitalize()}<' in page.text
    # Members get the pages without the admins' controls (the API would refuse them anyway).
    metrics = client.get("/console/metrics").text
    assert 'id="add-metric"' not in metrics and 'id="upload-form"' not in metrics
    events = client.get("/console/events").text
    assert 'id="add-event"' in events and 'id="webhooks"' not in events

    # A saved view's url, as the API hands it out, opens the console's explorer with it.
    response = client.get("/explorer?view=abc-123", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/explorer?view=abc-123"


# --- metrics ----------------------------------------------------------------------------------------------------------------


def test_metrics_page_shows_each_metric_and_its_daily_values(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    server = console_server
    sign_in(page, server.admin_token, "/console/metrics")
    page.wait_for_selector("#metric-detail[data-state=ready]")
    metrics = api_get(server, "/metrics")
    values = api_get(server, "/metrics/requests/values", start=(today() - timedelta(days=366)).isoformat(),
                     end=(today() + timedelta(days=1)).isoformat())["values"]
    health = api_get(server, "/data-health")

    rows = page.locator("#metrics-table tbody tr")
    assert [rows.nth(i).get_attribute("data-metric") for i in range(rows.count())] == [m["name"] for m in metrics]
    row = page.locator('#metrics-table tr[data-metric="requests"]')
    assert row.locator(".metric-unit").inner_text() == "requests"
    assert row.locator(".metric-aggregation").get_attribute("data-aggregation") == "sum"
    # The latest day with values and its total over the teams' label sets, exactly.
    daily = daily_sums(values)
    latest = max(daily)
    cell = row.locator("td.latest")
    expect(cell).to_have_attribute("data-date", latest)
    assert Decimal(cell.get_attribute("data-value")) == daily[latest]
    assert f"{daily[latest]:,}" in cell.inner_text()
    # The demo pushes its values: no scheduled pull, and data health lists none.
    assert health["metric_pulls"] == [] and row.locator("[data-pull]").get_attribute("data-pull") == "none"

    # The chart: one bar per day of the last 30 (today included), each the day's total; days without a value are gaps.
    chart = chart_data(page, "#metric-chart")
    first = today() - timedelta(days=29)
    assert chart["periods"] == [(first + timedelta(days=n)).isoformat() for n in range(30)]
    assert series_points(chart) == {("requests", day): total for day, total in daily.items() if day >= first.isoformat()}
    assert None in chart["series"][0]["exact"]  # today has no value yet: a gap, not a zero
    screenshot(page, "metrics.png")
    # The latest day, by label set.
    shown = page.eval_on_selector_all("#latest-table tbody tr", "rows => rows.map(r => [JSON.parse(r.dataset.labels), r.dataset.value])")
    assert sorted((labels["team"], value) for labels, value in shown) == sorted(
        (v["labels"]["team"], v["value"]) for v in values if v["date"] == latest)

    # 90 days: in the URL, and 90 bars.
    page.select_option("#detail-days", "90")
    page.wait_for_function("() => Chart.getChart(document.getElementById('metric-chart')).data.periods.length === 90")
    assert url_params(page) == {"metric": ["requests"], "days": ["90"]}
    assert page.locator("#detail-explore").get_attribute("href") == "/console/explorer?unit=requests&scale=1000&show=unit"


def test_admin_creates_a_metric_and_uploads_csv_all_or_nothing(page: Any, console_server: ConsoleServer) -> None:
    server = console_server
    sign_in(page, server.admin_token, "/console/metrics")
    page.wait_for_selector("#metrics[data-state=ready]")

    # A name the API refuses: its reason shows under the name, and nothing is created.
    page.click("#add-metric")
    page.fill("#metric-name", "gb served")
    page.fill("#metric-unit", "GB")
    page.click("#metric-save")
    page.wait_for_selector("#error-name:not([hidden])")
    with server.api() as api:
        refused = api.post(tenant_path(server, "/metrics"), json={"name": "gb served", "unit": "GB", "aggregation": "sum"})
    assert refused.status_code == 422 and page.inner_text("#error-name") == refused.json()["detail"][0]["msg"]
    assert page.get_attribute("#metric-name", "aria-invalid") == "true"

    page.fill("#metric-name", "gb_served")
    page.select_option("#metric-aggregation", "max")
    page.fill("#metric-description", "Egress per team")
    page.click("#metric-save")
    page.locator("#metric-dialog").wait_for(state="hidden")
    page.wait_for_selector('#metric-detail[data-metric="gb_served"][data-state=ready]')
    created = next(m for m in api_get(server, "/metrics") if m["name"] == "gb_served")
    assert (created["unit"], created["aggregation"], created["description"]) == ("GB", "max", "Egress per team")
    assert page.locator('#metrics-table tr[data-metric="gb_served"] .metric-aggregation').inner_text() == "Maximum"

    # A file with a negative value on line 3: the API's reason, that line among its neighbours, nothing stored.
    d1, d2, d3 = (today() - timedelta(days=n) for n in (3, 2, 1))
    bad = f"date,value,team\n{d1},10.5,payments\n{d2},-5,payments\n{d3},7,ml\n"
    page.set_input_files("#csv-file", files=[{"name": "gb.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.click("#csv-upload")
    page.wait_for_selector("#upload-error:not([hidden])")
    with server.api() as api:
        answer = api.post(tenant_path(server, "/metrics/gb_served/values.csv"), content=bad.encode(),
                          headers={"Content-Type": "text/csv"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "line 3"]
    assert page.inner_text("#upload-error-text") == f"line 3: {answer.json()['detail'][0]['msg']}"
    marked = page.locator("#csv-preview li.bad-line")
    assert marked.get_attribute("data-line") == "3" and marked.inner_text() == f"{d2},-5,payments"
    assert page.locator("#csv-preview li").count() == 5  # lines 1 to 5 (the last one empty)
    assert api_get(server, "/metrics/gb_served/values")["values"] == []

    good = f"date,value,team\n{d1},10.5,payments\n{d2},20,payments\n{d2},4,ml\n{d3},7,ml\n"
    page.set_input_files("#csv-file", files=[{"name": "gb.csv", "mimeType": "text/csv", "buffer": good.encode()}])
    page.click("#csv-upload")
    page.wait_for_selector("#upload-result:not([hidden])")
    assert page.get_attribute("#upload-result", "data-upserted") == "4" and page.locator("#upload-error").is_hidden()
    stored = api_get(server, "/metrics/gb_served/values")["values"]
    assert sorted((v["date"], v["value"], v["labels"]) for v in stored) == sorted([
        (d1.isoformat(), "10.5", {"team": "payments"}), (d2.isoformat(), "20", {"team": "payments"}),
        (d2.isoformat(), "4", {"team": "ml"}), (d3.isoformat(), "7", {"team": "ml"}),
    ], key=str)
    latest = page.locator('#metrics-table tr[data-metric="gb_served"] td.latest')
    expect(latest).to_have_attribute("data-date", d3.isoformat())
    assert latest.get_attribute("data-value") == "7"
    page.wait_for_selector("#metric-detail[data-state=ready]")
    chart = chart_data(page, "#metric-chart")
    assert series_points(chart) == {("GB", d1.isoformat()): Decimal("10.5"), ("GB", d2.isoformat()): Decimal("24"),
                                    ("GB", d3.isoformat()): Decimal("7")}


def test_a_failing_pull_shows_on_metrics_and_data_health(page: Any, console_server: ConsoleServer) -> None:
    server = console_server
    env = {key: value for key, value in os.environ.items() if not key.startswith("COSTLAKE_")} | {"COSTLAKE_HOME": str(server.home)}
    run_costlake(env, "metric", "create", "--tenant", "demo", "egress", "--unit", "GB")
    # Nothing listens on port 9: the run fails after its retries, with the connection's message.
    run_costlake(env, "metric", "pull", "--tenant", "demo", "egress", "--prometheus", "http://127.0.0.1:9", "--query", "up", "--disabled")
    with server.api() as api:
        run = api.post(tenant_path(server, "/metrics/egress/pull/runs")).json()
        deadline = time.monotonic() + 60
        while run["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            run = api.get(tenant_path(server, f"/metrics/egress/pull/runs/{run['id']}")).json()
    assert run["status"] == "failed", run
    (pull,) = api_get(server, "/data-health")["metric_pulls"]
    assert pull["metric"] == "egress" and pull["last_error"]

    sign_in(page, server.member_token, "/console/metrics?metric=egress")  # members see how pulls go, too
    cell = page.locator('#metrics-table tr[data-metric="egress"] [data-pull]')
    cell.wait_for()
    assert (cell.get_attribute("data-pull"), cell.get_attribute("data-status")) == ("prometheus", "failed")
    assert "Prometheus pull" in cell.inner_text() and "Paused" in cell.inner_text()
    assert cell.locator(".last-error").inner_text() == pull["last_error"]

    page.click('nav.nav a:has-text("Data health")')
    row = page.locator('#pulls-table tr[data-metric="egress"]')
    row.wait_for()
    assert row.get_attribute("data-status") == "failed" and row.locator(".badge-failed").inner_text() == "Failed"
    assert row.locator(".last-error").inner_text() == pull["last_error"]


def test_members_read_metrics_without_the_admin_controls(page: Any, console_server: ConsoleServer) -> None:
    sign_in(page, console_server.member_token, "/console/metrics")
    page.wait_for_selector("#metric-detail[data-state=ready]")
    names = page.eval_on_selector_all("#metrics-table tbody tr", "rows => rows.map(r => r.dataset.metric)")
    assert names == [m["name"] for m in api_get(console_server, "/metrics", console_server.member_token)]
    assert page.locator("#add-metric").count() == 0 and page.locator("#upload-form").count() == 0
    assert "Values come from your tenant's admins" in page.inner_text("#metric-detail")
    with console_server.api(console_server.member_token) as api:
        assert api.post(tenant_path(console_server, "/metrics"), json={"name": "x", "unit": "x"}).status_code == 403


# --- events -----------------------------------------------------------------------------------------------------------------------


def timeline_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all("#timeline-days .timeline-item", "items => items.map(i => i.dataset.eventId)")


def test_events_timeline_filters_and_adding_an_event(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    server = console_server
    start, end = (today() - timedelta(days=120)).isoformat(), (today() + timedelta(days=1)).isoformat()
    sign_in(page, server.admin_token, f"/console/events?start={start}&end={end}")
    page.wait_for_selector("#timeline[data-state=ready]")
    every = api_get(server, "/events", start=start, end=end)
    assert len(every) >= 5  # the demo's deploys and incident
    assert timeline_ids(page) == [event["id"] for event in reversed(every)]  # newest first
    incident = next(event for event in every if event["category"] == "incident")
    item = page.locator(f'.timeline-item[data-event-id="{incident["id"]}"]')
    assert item.locator(".event-title").inner_text() == incident["title"]
    assert item.locator(".timeline-when .strong").inner_text() == f"{incident['start'][11:16]} – {incident['end'][11:16]}"
    screenshot(page, "events.png")

    # A label chip filters by that label; the category too; both live in the URL and match the API's answer.
    team = next(event["labels"]["team"] for event in every if "team" in event["labels"])
    page.locator(f'.label-chip[data-label="team:{team}"]').first.click()
    page.wait_for_url(f"**label=team%3A{team}**")
    page.wait_for_selector("#timeline[data-state=ready]")
    assert timeline_ids(page) == [e["id"] for e in reversed(api_get(server, "/events", start=start, end=end, label=f"team:{team}"))]
    page.select_option("#events-category", "incident")
    page.wait_for_url("**category=incident**")
    page.wait_for_selector("#timeline[data-state=ready], #timeline[data-state=empty]")
    wanted = api_get(server, "/events", start=start, end=end, label=f"team:{team}", category="incident")
    assert timeline_ids(page) == [e["id"] for e in reversed(wanted)]
    assert url_params(page)["label"] == [f"team:{team}"]
    page.go_back()  # the category filter is one step of history
    page.wait_for_selector("#timeline[data-state=ready]")
    assert page.input_value("#events-category") == ""

    # Adding one by hand: a span with labels and a link. A label line without "=" is refused on the page first.
    page.click("#add-event")
    page.fill("#event-name", "Price change: EU storage")
    page.select_option("#event-category", "purchase")
    yesterday = (today() - timedelta(days=1)).isoformat()
    page.fill("#event-start", f"{yesterday}T09:15")
    page.fill("#event-end", f"{yesterday}T11:45")
    page.fill("#event-labels", "team payments")
    page.click("#event-save")
    expect(page.locator("#error-labels")).to_have_text("line 1: “team payments” is not KEY=VALUE")
    page.fill("#event-labels", f"team={team}\nenvironment=production")
    page.fill("#event-url", "ftp://files.example.com/price-list")
    page.click("#event-save")
    page.wait_for_selector("#error-url:not([hidden])")
    assert page.inner_text("#error-url") == "url must be an http(s) link"  # the API's words
    page.fill("#event-url", "https://example.com/price-list")
    page.click("#event-save")
    page.locator("#event-dialog").wait_for(state="hidden")
    (added,) = [e for e in api_get(server, "/events", start=start, end=end) if e["title"] == "Price change: EU storage"]
    assert added["category"] == "purchase" and added["source"] == "console" and added["url"] == "https://example.com/price-list"
    assert (added["start"], added["end"]) == (f"{yesterday}T09:15:00Z", f"{yesterday}T11:45:00Z")
    assert added["labels"] == {"team": team, "environment": "production"}
    page.locator(f'.timeline-item[data-event-id="{added["id"]}"]').wait_for()

    # Admins delete events, after saying so.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f'.timeline-item[data-event-id="{added["id"]}"]').get_by_role("button", name="Delete").click()
    page.locator(f'.timeline-item[data-event-id="{added["id"]}"]').wait_for(state="detached")
    with server.api() as api:
        assert api.get(tenant_path(server, f"/events/{added['id']}")).status_code == 404


def test_webhook_secret_is_shown_once_and_signs_deliveries(page: Any, console_server: ConsoleServer) -> None:
    server = console_server
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))
    sign_in(page, server.admin_token, "/console/events")
    page.wait_for_selector("#webhooks[data-state=ready]")
    page.click("#add-webhook")
    page.select_option("#webhook-kind", "github")
    page.fill("#webhook-name", "checkout repository")
    page.click("#webhook-save")
    page.wait_for_selector("#webhook-created:not([hidden])")
    secret = page.input_value("#created-secret")
    hook_url = page.input_value("#created-url")
    (hook,) = [h for h in api_get(server, "/webhooks") if h["name"] == "checkout repository"]
    assert hook["kind"] == "github" and hook_url == f"{server.url}/api/v1/hooks/{hook['id']}"
    assert secret not in json.dumps(hook)

    # The secret shown is the endpoint's: GitHub's delivery signed with it is recorded.
    body = json.dumps(GITHUB_DEPLOYMENT).encode()
    delivered = httpx.post(hook_url, content=body, headers=github_headers(secret, "deployment", body))
    assert delivered.status_code == 200 and len(delivered.json()["events"]) == 1

    # Closed, the dialog forgets it; the list shows the endpoint and, after a reload, its delivery.
    page.click("#webhook-done")
    assert page.input_value("#created-secret") == "" and secret not in page.content()
    row = page.locator(f'#webhooks-table tr[data-webhook-id="{hook["id"]}"]')
    assert row.locator(".uri").inner_text() == hook_url
    page.reload()
    page.wait_for_selector("#webhooks[data-state=ready]")
    assert "Nothing received yet" not in row.inner_text() and secret not in page.content()
    assert not [r.url for r in requests if secret in r.url]

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    assert hook["id"] not in [h["id"] for h in api_get(server, "/webhooks")]


def test_members_add_events_but_manage_no_webhooks(page: Any, console_server: ConsoleServer) -> None:
    sign_in(page, console_server.member_token, "/console/events")
    page.wait_for_selector("#timeline[data-state=ready], #timeline[data-state=empty]")
    assert page.locator("#webhooks").count() == 0
    assert page.locator(".timeline-item button", has_text="Delete").count() == 0
    page.click("#add-event")
    page.fill("#event-name", "Deploy billing v7 (member)")
    page.click("#event-save")
    page.locator("#event-dialog").wait_for(state="hidden")
    added = [e for e in api_get(console_server, "/events", console_server.member_token) if e["title"] == "Deploy billing v7 (member)"]
    assert len(added) == 1 and added[0]["category"] == "deploy"
    page.locator(f'.timeline-item[data-event-id="{added[0]["id"]}"]').wait_for()


# --- the explorer: unit costs, event markers, saved views ------------------------------------------------------------------------


def explorer_url(**params: Any) -> str:
    base = {"metric": "EffectiveCost", "basis": "charge", "top": "10", "chart": "bar", "table": "groups", "sort": "cost", "dir": "desc"}
    return f"/console/explorer?{urlencode({**base, **params}, doseq=True)}"


def query_of(page: Any) -> Json:
    """The costs/query body a console URL asks, built independently of the page's script."""
    params = url_params(page)
    body: Json = {
        "metric": params["metric"][0], "start": params["start"][0], "end": params["end"][0],
        "time_basis": params["basis"][0], "granularity": params["granularity"][0], "group_by": params.get("group", []),
        "filters": [dict(zip(("dimension", "op", "values"), json.loads(f), strict=True)) for f in params.get("filter", [])],
        "top": None if params["top"][0] == "all" else int(params["top"][0]),
    }
    if "unit" in params:
        body |= {"unit_metric": params["unit"][0], "unit_scale": int(params["scale"][0])}
    return body


def test_explorer_shows_unit_cost_next_to_cost(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    server = console_server
    start = (today() - timedelta(days=56)).isoformat()
    sign_in(page, server.admin_token, explorer_url(start=start, end=(today() + timedelta(days=1)).isoformat(),
                                                   granularity="week", group="tag:team"))
    page.wait_for_selector("#results[data-state=ready]")
    assert page.locator("#chart-show").is_hidden() and page.locator(".total-unit").count() == 0
    options = page.eval_on_selector_all("#unit-metric option", "options => options.map(o => o.value)")
    assert options == ["", *[m["name"] for m in api_get(server, "/metrics")]]

    page.select_option("#unit-metric", "requests")
    page.wait_for_url("**unit=requests**")
    page.select_option("#unit-scale", "1000")
    page.wait_for_url("**scale=1000**")
    page.wait_for_selector("#results[data-state=ready]")
    body = query_of(page)
    assert (body["unit_metric"], body["unit_scale"], body["group_by"]) == ("requests", 1000, ["tag:team"])
    with server.api() as api:
        expected = api.post(tenant_path(server, "/costs/query"), json=body).json()
    assert expected["unit_metric"]["matched_dimensions"] == ["tag:team"]

    # Next to each total: the range's cost per 1,000 requests.
    for currency, ratio in expected["unit_totals"].items():
        card = page.locator(f'#totals .total[data-currency="{currency}"] .total-unit')
        assert card.get_attribute("data-unit-total") == (ratio or "")
        assert card.inner_text().endswith("per 1,000 requests")

    # The chart shows unit cost at once: one line per team, each point the API's unit_cost for that team and week.
    assert url_params(page)["show"] == ["unit"]
    assert page.get_attribute("#chart", "data-show") == "unit"
    chart = chart_data(page, "#chart")
    currency = page.get_attribute("#chart", "data-currency")
    assert chart["type"] == "line"
    assert series_points(chart) == {
        (group_label(row, ["tag:team"]), row["period"]): Decimal(row["unit_cost"])
        for row in expected["rows"] if row["currency"] == currency and row["unit_cost"] is not None
    }
    assert any(row["unit_cost"] is None for row in expected["rows"])  # untagged cost has no team's requests: a gap
    page.check("#events-overlay")
    page.wait_for_selector('#event-caption:has-text("on the chart")')
    screenshot(page.locator("#results .chart-card"), "explorer-unit-costs.png")
    page.uncheck("#events-overlay")
    page.click('#chart-show button[data-show="cost"]')
    assert "show" not in url_params(page) and page.get_attribute("#chart", "data-show") == "cost"

    # By period, the table has each row's unit cost as the API computed it; the footer the range's.
    page.click('#table-view button[data-view="rows"]')
    cells = page.eval_on_selector_all(
        "#cost-table tbody tr",
        """rows => rows.map(r => [r.querySelector('td[data-period]').dataset.period, r.cells[1].textContent,
                                  r.dataset.currency, r.querySelector('td[data-unit-cost]').dataset.unitCost])""",
    )
    assert sorted(cells) == sorted(
        [row["period"], group_label(row, ["tag:team"]), row["currency"], row["unit_cost"] or ""] for row in expected["rows"])
    header = page.locator("#cost-table thead th").nth(4).inner_text()
    assert header.startswith("Cost per 1,000 requests")


def test_event_markers_follow_the_tag_filters(page: Any, console_server: ConsoleServer) -> None:
    server = console_server
    start, end = (today() - timedelta(days=90)).isoformat(), (today() + timedelta(days=1)).isoformat()
    sign_in(page, server.admin_token, explorer_url(start=start, end=end, granularity="day", group="ServiceName"))
    page.wait_for_selector("#results[data-state=ready]")
    without = deploy_pixels(page)
    page.check("#events-overlay")
    page.wait_for_url("**events=1**")
    page.wait_for_selector('#event-list:not([hidden]) #event-caption:has-text("on the chart")')
    every = api_get(server, "/events", start=start, end=end)
    chart = chart_data(page, "#chart")
    assert sorted(marker["id"] for marker in chart["markers"]) == sorted(event["id"] for event in every)
    assert page.get_attribute("#chart", "data-events") == str(len(every))
    listed = page.eval_on_selector_all("#event-items .event-item", "items => items.map(i => i.dataset.eventId)")
    assert sorted(listed) == sorted(event["id"] for event in every)
    assert deploy_pixels(page) > without + 100  # the deploy markers are drawn

    # Filtered to one team, the chart keeps only that team's events.
    team = next(event["labels"]["team"] for event in every if "team" in event["labels"])
    filtered = explorer_url(start=start, end=end, granularity="day", group="ServiceName", events="1",
                            filter=json.dumps(["tag:team", "in", [team]]))
    page.goto(filtered)
    page.wait_for_selector("#results[data-state=ready]")
    page.wait_for_selector('#event-caption:has-text("matching the tag filters")')
    chart = chart_data(page, "#chart")
    mine = api_get(server, "/events", start=start, end=end, label=f"team:{team}")
    assert mine and len(mine) < len(every)
    assert sorted(marker["id"] for marker in chart["markers"]) == sorted(event["id"] for event in mine)

    # Explicit overlay labels go to the API as label=KEY:VALUE.
    page.fill("#event-labels", "environment:production")
    page.dispatch_event("#event-labels", "change")
    page.wait_for_url("**evlabel=environment%3Aproduction**")
    page.wait_for_function("() => document.getElementById('event-caption').textContent.includes('environment:production')")
    production = api_get(server, "/events", start=start, end=end, label=[f"team:{team}", "environment:production"])
    assert sorted(m["id"] for m in chart_data(page, "#chart")["markers"]) == sorted(event["id"] for event in production)
    page.fill("#event-labels", "environment")
    page.dispatch_event("#event-labels", "change")
    expect(page.locator("#error-event-labels")).to_have_text("“environment” is not KEY:VALUE, e.g. team:payments")


def test_saving_the_explorer_state_as_a_view_and_opening_its_url(page: Any, console_server: ConsoleServer) -> None:
    server = console_server
    start, end = (today() - timedelta(days=30)).isoformat(), today().isoformat()
    sign_in(page, server.admin_token, explorer_url(start=start, end=end, granularity="none", group="tag:team", unit="requests",
                                                   scale="1000", events="1", evlabel="environment:production", chart="line"))
    page.wait_for_selector("#results[data-state=ready]")
    body = query_of(page)
    page.click("#save-view")
    assert page.input_value("#view-range") == "last_30_days"  # these dates are the last 30 days: offered as moving
    page.fill("#view-name", "Teams per 1k requests")
    page.click("#view-save")
    page.locator("#view-dialog").wait_for(state="hidden")
    (view,) = [v for v in api_get(server, "/views") if v["name"] == "Teams per 1k requests"]
    assert view["range"] == "last_30_days" and view["chart"] == "line"
    assert view["events_overlay"] == {"enabled": True, "labels": {"environment": "production"}, "categories": []}
    stored = {key: view["query"][key] for key in ("metric", "time_basis", "granularity", "group_by", "top", "unit_metric", "unit_scale")}
    assert stored == {key: body[key] for key in stored}
    assert page.locator("#view-caption").get_attribute("data-view-id") == view["id"]

    # Its url opens it in the explorer: the state written out in full, the same numbers as the view's result.
    page.goto(f"/console/explorer?{urlencode({'metric': 'BilledCost'})}")  # somewhere else first
    page.wait_for_selector("#results[data-state=ready]")
    page.goto(view["url"])
    page.wait_for_url("**/console/explorer?start=**")
    page.wait_for_selector("#results[data-state=ready]")
    result = api_get(server, f"/views/{view['id']}/result")
    opened = query_of(page)
    assert {key: opened[key] for key in ("start", "end", "group_by", "unit_metric", "unit_scale", "granularity")} == {
        key: result["query"][key] for key in ("start", "end", "group_by", "unit_metric", "unit_scale", "granularity")}
    assert page.input_value("#unit-metric") == "requests" and page.input_value("#chart-type") == "line"
    assert url_params(page)["show"] == ["unit"]  # a view with a unit metric shows its unit cost, as on a dashboard
    assert page.is_checked("#events-overlay") and page.input_value("#event-labels") == "environment:production"
    for currency, amount in result["totals"].items():
        total = page.locator(f'#totals .total[data-currency="{currency}"]')
        assert total.get_attribute("data-amount") == amount
        assert total.locator(".total-unit").get_attribute("data-unit-total") == (result["unit_totals"][currency] or "")
    assert "Saved view “Teams per 1k requests”" in page.inner_text("#view-caption")


# --- dashboards ------------------------------------------------------------------------------------------------------------------------


def test_a_dashboard_is_built_saved_and_rendered_from_the_api(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    server = console_server
    with server.api() as api:
        view = api.post(tenant_path(server, "/views"), json={
            "name": "Teams over 30 days", "range": "last_30_days", "chart": "bar",
            "query": {"group_by": ["tag:team"], "granularity": "none", "unit_metric": "requests", "unit_scale": 1000},
        }).json()
    sign_in(page, server.admin_token, "/console/dashboards")
    page.wait_for_selector("#views[data-state=ready]")
    assert page.locator(f'#views-table tr[data-view-id="{view["id"]}"] a').first.get_attribute("href") == \
        f"/console/explorer?view={view['id']}"

    page.click("#add-dashboard")
    page.fill("#dashboard-name", "Unit economics")
    page.click("#dashboard-save")
    page.wait_for_url("**edit=1")
    page.wait_for_selector("#board-editor:not([hidden])")
    page.select_option("#widget-type", "view")
    page.select_option("#widget-view", view["id"])
    page.select_option("#widget-display", "table")
    page.click("#add-widget")
    page.select_option("#widget-type", "metric")
    page.select_option("#widget-metric", "requests")
    page.select_option("#widget-range", "last_7_days")
    page.fill("#widget-title", "Requests this week")
    page.select_option("#widget-width", "12")
    page.click("#add-widget")
    page.select_option("#widget-type", "note")
    page.fill("#widget-note", "Cost per 1,000 requests, by team.\nDeploys are on the Events page.")
    page.click("#add-widget")
    note = page.locator('.widget[data-index="2"]')
    note.get_by_role("button", name="Move earlier").click()
    page.locator('.widget[data-index="1"]').get_by_role("button", name="Move earlier").click()
    page.locator('.widget[data-index="2"] select.widget-width').select_option("6")  # full, then half
    page.click("#save-board")
    page.wait_for_selector("#board-editor", state="hidden")

    (board,) = [d for d in api_get(server, "/dashboards") if d["name"] == "Unit economics"]
    assert board["widgets"] == [
        {"type": "note", "text": "Cost per 1,000 requests, by team.\nDeploys are on the Events page.", "width": 12},
        {"type": "view", "view_id": view["id"], "display": "table", "title": None, "width": 6},
        {"type": "metric", "metric": "requests", "range": "last_7_days", "title": "Requests this week", "width": 6},
    ]
    assert urlsplit(page.url).query == f"id={board['id']}"

    # Each widget as the API answers it: the note's text, the view's groups and unit costs, the metric's days.
    assert page.inner_text('.widget[data-index="0"] .note-text') == board["widgets"][0]["text"]
    table = page.locator('.widget[data-index="1"] table')
    table.wait_for()
    result = api_get(server, f"/views/{view['id']}/result")
    shown = table.evaluate(
        "t => [...t.tBodies[0].rows].map(r => [r.dataset.currency, r.dataset.group, r.cells[2].dataset.amount, r.cells[3].dataset.unitCost])")
    assert sorted([currency, group, Decimal(amount), unit] for currency, group, amount, unit in shown) == sorted(
        [row["currency"], group_label(row, ["tag:team"]), Decimal(row["cost"]), row["unit_cost"] or ""] for row in result["rows"])
    page.wait_for_selector('.widget[data-index="2"] canvas[data-series]')
    chart = chart_data(page, '.widget[data-index="2"] canvas')
    start, end = today() - timedelta(days=7), today()
    assert chart["periods"] == [(start + timedelta(days=n)).isoformat() for n in range(7)]
    values = api_get(server, "/metrics/requests/values", start=start.isoformat(), end=end.isoformat())["values"]
    assert series_points(chart) == {("requests", day): total for day, total in daily_sums(values).items()}
    assert page.inner_text('.widget[data-index="2"] .widget-title') == "Requests this week"
    screenshot(page, "dashboards.png")

    # A member reads it, without the buttons the API would refuse them; their own dashboard they edit.
    member = page.context.browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url, locale="en-US",
                                              timezone_id="UTC")
    try:
        other = member.new_page()
        sign_in(other, server.member_token, f"/console/dashboards?id={board['id']}")
        other.wait_for_selector('.widget[data-index="1"] table')
        assert other.locator("#edit-board").is_hidden() and other.locator("#delete-board").is_hidden()
        assert "read only" in other.inner_text("#board-meta")
        with server.api(server.member_token) as api:
            assert api.put(tenant_path(server, f"/dashboards/{board['id']}"), json={"name": "x"}).status_code == 403
        other.goto("/console/dashboards")
        other.click("#add-dashboard")
        other.fill("#dashboard-name", "Member's board")
        other.click("#dashboard-save")
        other.wait_for_url("**edit=1")
        other.select_option("#widget-type", "note")
        other.fill("#widget-note", "Mine")
        other.click("#add-widget")
        other.click("#save-board")
        other.wait_for_selector("#board-editor", state="hidden")
        assert other.locator("#edit-board").is_visible()
        (own,) = [d for d in api_get(server, "/dashboards") if d["name"] == "Member's board"]
        with server.api(server.member_token) as api:
            assert own["created_by"] == api.get("/api/v1/me").json()["token_id"]
        assert own["widgets"] == [{"type": "note", "text": "Mine", "width": 12}]
    finally:
        member.close()


def test_adding_a_saved_view_to_a_dashboard_from_the_list(page: Any, console_server: ConsoleServer) -> None:
    server = console_server
    with server.api() as api:
        view = api.post(tenant_path(server, "/views"), json={
            "name": "Services by month", "range": "last_3_months", "chart": "stacked",
            "query": {"group_by": ["ServiceName"], "granularity": "month", "top": 5},
        }).json()
        board = api.post(tenant_path(server, "/dashboards"), json={"name": "Monthly review", "widgets": [
            {"type": "note", "text": "Services"}]}).json()
    sign_in(page, server.admin_token, f"/console/dashboards?view={view['id']}")
    page.wait_for_selector("#add-view-card:not([hidden])")
    assert "“Services by month”" in page.inner_text("#add-view-text")
    page.select_option("#add-view-target", board["id"])
    page.click("#add-view-save")
    page.wait_for_url(f"**id={board['id']}")
    widgets = api_get(server, f"/dashboards/{board['id']}")["widgets"]
    assert widgets[1] == {"type": "view", "view_id": view["id"], "display": "chart", "title": None, "width": 6}

    # Drawn as stacked bars of the view's months, the totals the API's.
    page.wait_for_selector('.widget[data-index="1"] canvas[data-series]')
    result = api_get(server, f"/views/{view['id']}/result")
    chart = chart_data(page, '.widget[data-index="1"] canvas')
    currency = page.get_attribute('.widget[data-index="1"] canvas', "data-currency")
    assert chart["type"] == "bar"
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in result["rows"]:
        if row["currency"] == currency:
            expected[(group_label(row, ["ServiceName"]), row["period"])] += Decimal(row["cost"])
    assert {key: value for key, value in series_points(chart).items() if value} == {k: v for k, v in expected.items() if v}
    totals = page.eval_on_selector_all('.widget[data-index="1"] .widget-total', "spans => spans.map(s => [s.dataset.currency, s.dataset.amount])")
    assert dict(totals) == result["totals"]

