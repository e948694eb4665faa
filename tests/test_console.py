"""The web console.

Browser tests drive Debian's Chromium through Playwright against a real `costlake serve` holding the demo data
(see fixtures_browser.py), and check what the pages show against the REST API's answers for the same question.
The session's cookie and redirect rules are also checked without a browser, through the app itself.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from calendar import monthrange
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import yaml
from fastapi.testclient import TestClient

from costlake.api.session import CONSOLE_HEADER, SESSION_COOKIE
from costlake.app import create_app
from costlake.catalog import open_catalog
from costlake.catalog.tenants import revoke_token
from costlake.months import add_months, current_month
from costlake.settings import Settings
from costlake_server import serving
from fakes import anthropic
from fixtures_browser import ConsoleServer, console_server, page, screenshot  # noqa: F401
from fixtures_browser import _run as run_costlake
from focus_files import focus_row, write_csv

SYMBOLS = {"USD": "$", "EUR": "€"}
DEMO_FOCUS = "demo FOCUS export: AWS, Azure and Google Cloud"


# --- helpers -----------------------------------------------------------------------------------------------------


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions (imported here: without playwright the browser tests skip)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def sign_in(page: Any, token: str, path: str = "/console/explorer") -> None:
    """Open a console page signed out, get sent to sign-in, sign in, and land back on that page."""
    page.goto(path)
    assert urlsplit(page.url).path == "/console/sign-in"
    page.fill("#token", token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(urlsplit(path).path)))


def wait_ready(page: Any, state: str = "ready") -> None:
    page.wait_for_selector(f"#results[data-state={state}]")


def money_text(amount: str, currency: str) -> str:
    """What en-US Intl.NumberFormat shows for an amount: 2 decimals, half away from zero, thousands separators."""
    value = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{'-' if value < 0 else ''}{SYMBOLS[currency]}{abs(value):,.2f}"


def body_from_url(url: str) -> dict[str, Any]:
    """The query a console URL asks, built independently of the page's script."""
    params = parse_qs(urlsplit(url).query)
    top = params["top"][0]
    return {
        "metric": params["metric"][0],
        "start": params["start"][0],
        "end": params["end"][0],
        "time_basis": params["basis"][0],
        "granularity": params["granularity"][0],
        "group_by": params.get("group", []),
        "filters": [dict(zip(("dimension", "op", "values"), json.loads(f), strict=True)) for f in params.get("filter", [])],
        "top": None if top == "all" else int(top),
    }


def api_query(server: ConsoleServer, body: dict[str, Any]) -> dict[str, Any]:
    with server.api() as api:
        response = api.post(f"/api/v1/tenants/{server.tenant_id}/costs/query", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def page_totals(page: Any) -> dict[str, str]:
    cards = page.locator("#totals .total")
    return {cards.nth(i).get_attribute("data-currency"): cards.nth(i).get_attribute("data-amount") for i in range(cards.count())}


def footer_totals(page: Any) -> dict[str, str]:
    rows = page.locator("#cost-table tfoot tr.total-row")
    return {
        rows.nth(i).get_attribute("data-currency"): rows.nth(i).locator("td[data-amount]").get_attribute("data-amount")
        for i in range(rows.count())
    }


def table_sums(page: Any) -> dict[str, Decimal]:
    """Exact sums of the table's cost cells per currency."""
    cells = page.eval_on_selector_all(
        "#cost-table tbody tr",
        "rows => rows.map(r => [r.dataset.currency, r.querySelector('td[data-amount]').dataset.amount])",
    )
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in cells:
        sums[currency] += Decimal(amount)
    return dict(sums)


def assert_view_matches_api(page: Any, server: ConsoleServer) -> dict[str, Any]:
    """Totals (cards and table footer) equal the API's totals for the URL's query, exactly; the table adds up."""
    expected = api_query(server, body_from_url(page.url))
    assert expected["rows"], "the demo data should answer this query"
    assert page_totals(page) == expected["totals"]
    assert footer_totals(page) == expected["totals"]
    for currency, amount in expected["totals"].items():
        card = page.locator(f'#totals .total[data-currency="{currency}"] .total-amount')
        assert card.inner_text() == money_text(amount, currency)
    assert table_sums(page) == {currency: Decimal(amount) for currency, amount in expected["totals"].items()}
    return expected


def chart_info(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const canvas = document.getElementById('chart');
            const chart = Chart.getChart(canvas);
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
            return {
                type: chart.config.type,
                labels: chart.data.labels.length,
                series: chart.data.datasets.map(d => d.label),
                currency: canvas.dataset.currency,
                painted,
            };
        }"""
    )


# --- session, without a browser -----------------------------------------------------------------------------------


@pytest.fixture
def tokens(make_tenant: Any) -> Any:
    return make_tenant("acme")


def test_pages_send_a_signed_out_visitor_to_sign_in(client: TestClient) -> None:
    response = client.get("/console/explorer?start=2026-01-01&end=2026-02-01", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/console/sign-in?next=" + quote("/console/explorer?start=2026-01-01&end=2026-02-01", safe="")
    )
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/explorer"
    page = client.get("/console/sign-in")
    assert page.status_code == 200 and 'name="token"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_sign_in_sets_an_http_only_strict_session_cookie(client: TestClient, tokens: Any) -> None:
    response = client.post(
        "/console/sign-in",
        data={"token": tokens.admin, "next": "/console/data-health"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/console/data-health"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={tokens.admin};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    assert client.get("/console/data-health").status_code == 200

    # The cookie authenticates the API too; a change needs the console header (a cross-site form cannot add it).
    path = f"/api/v1/tenants/{tokens.id}/costs/query"
    body = {"start": "2026-01-01", "end": "2026-02-01"}
    assert client.post(path, json=body).status_code == 403
    assert client.post(path, json=body, headers={CONSOLE_HEADER: "1"}).status_code == 200

    signed_out = client.post("/console/sign-out", follow_redirects=False)
    assert signed_out.status_code == 303
    assert f'{SESSION_COOKIE}=""' in signed_out.headers["set-cookie"] and "Max-Age=0" in signed_out.headers["set-cookie"]
    assert client.get("/console/explorer", follow_redirects=False).status_code == 303


def test_session_cookie_is_secure_over_https(settings: Settings, tokens: Any) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as secure_client:
        response = secure_client.post("/console/sign-in", data={"token": tokens.member}, follow_redirects=False)
    assert response.status_code == 303
    assert "secure" in {part.strip().lower() for part in response.headers["set-cookie"].split(";")}


def test_sign_in_refuses_bad_tokens_cross_site_posts_and_open_redirects(client: TestClient, tokens: Any) -> None:
    bad = client.post("/console/sign-in", data={"token": "clk_not-a-token"}, follow_redirects=False)
    assert bad.status_code == 401 and "not valid" in bad.text and "set-cookie" not in bad.headers
    empty = client.post("/console/sign-in", data={"token": "  "}, follow_redirects=False)
    assert empty.status_code == 401 and "Paste an API token" in empty.text

    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        forged = client.post("/console/sign-in", data={"token": tokens.admin}, headers=headers, follow_redirects=False)
        assert forged.status_code == 403 and "set-cookie" not in forged.headers, headers
    # Behind a proxy that rewrites Host, the browser's own Sec-Fetch-Site still vouches for the form.
    proxied = client.post(
        "/console/sign-in",
        data={"token": tokens.admin},
        headers={"Origin": "https://costs.example", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert proxied.status_code == 303

    # The sign-in page shows only its own notices, never text from the link.
    assert "Send your token" not in client.get("/console/sign-in?message=Send+your+token+to+evil.example").text

    for target in ("https://evil.example/", "//evil.example/console/", "/api/v1/me", "/console/sign-out"):
        response = client.post("/console/sign-in", data={"token": tokens.admin, "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/console/explorer", target


def test_a_revoked_token_ends_the_session(client: TestClient, tokens: Any, settings: Settings) -> None:
    client.post("/console/sign-in", data={"token": tokens.member})
    assert client.get("/console/explorer").status_code == 200
    token_id = client.get("/api/v1/me").json()["token_id"]
    catalog = open_catalog(settings)
    try:
        revoke_token(catalog, token_id)
    finally:
        catalog.close()
    response = client.get("/console/explorer", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith("&message=session-ended")
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]


def test_members_get_no_billing_sources_page(client: TestClient, tokens: Any) -> None:
    client.post("/console/sign-in", data={"token": tokens.member})
    explorer = client.get("/console/explorer")
    assert explorer.status_code == 200
    assert 'href="/console/billing-sources"' not in explorer.text
    assert 'href="/console/data-health"' in explorer.text
    forbidden = client.get("/console/billing-sources")
    assert forbidden.status_code == 403 and "managed by the tenant&#39;s admins" in forbidden.text
    assert client.get("/console/data-health").status_code == 200


def test_static_files_ship_the_chart_library_with_its_license(client: TestClient) -> None:
    library = client.get("/console/static/vendor/chart-4.6.1.umd.min.js")
    assert library.status_code == 200 and "Chart.js v4.6.1" in library.text[:200]
    license_text = client.get("/console/static/vendor/chart.js-LICENSE.md")
    assert license_text.status_code == 200 and "MIT License" in license_text.text


# --- in the browser ---------------------------------------------------------------------------------------------------


def test_sign_in_and_sign_out(page: Any, console_server: ConsoleServer) -> None:
    page.goto("/console/data-health")
    assert urlsplit(page.url).path == "/console/sign-in"
    page.fill("#token", "clk_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("#token-error").inner_text().startswith("That token is not valid")

    page.fill("#token", console_server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/data-health")  # back where the visitor was going
    session = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["path"] == "/"
    assert SESSION_COOKIE not in page.evaluate("document.cookie")  # scripts cannot read the token
    assert page.locator(".topbar .tenant").inner_text() == "demo"

    # The page's own script calls the API with the cookie; without the console header a change is refused.
    statuses = page.evaluate(
        """async (tenant) => {
            const path = `/api/v1/tenants/${tenant}/costs/query`;
            const body = JSON.stringify({start: "2026-01-01", end: "2026-02-01"});
            const bare = await fetch(path, {method: "POST", body, headers: {"Content-Type": "application/json"}});
            const withHeader = await fetch(path, {method: "POST", body,
                headers: {"Content-Type": "application/json", "X-Costlake-Console": "1"}});
            return [bare.status, withHeader.status];
        }""",
        console_server.tenant_id,
    )
    assert statuses == [403, 200]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in**")
    assert page.locator(".notice").inner_text() == "You are signed out."
    assert not [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    page.goto("/console/explorer")
    assert urlsplit(page.url).path == "/console/sign-in"


def test_explorer_shows_the_demo_data(page: Any, console_server: ConsoleServer, screenshot: Any) -> None:
    sign_in(page, console_server.admin_token)
    wait_ready(page)
    # An empty URL gets the default view written out, so it can be bookmarked as it is.
    params = parse_qs(urlsplit(page.url).query)
    assert params["group"] == ["ServiceName"] and params["granularity"] == ["day"] and params["top"] == ["10"]

    expected = assert_view_matches_api(page, console_server)
    assert set(expected["totals"]) == {"USD", "EUR"}  # the demo bills in two currencies: never added together
    assert page.locator("#totals .total").count() == 2

    chart = chart_info(page)
    assert chart["type"] == "bar" and chart["currency"] == "USD" and chart["painted"] > 5000
    start, end = params["start"][0], params["end"][0]
    assert chart["labels"] == (date.fromisoformat(end) - date.fromisoformat(start)).days  # every day, gaps included
    usd_groups = {row["ServiceName"] for row in expected["rows"] if row["currency"] == "USD" and not row["other"]}
    assert set(chart["series"]) - {"Other"} == usd_groups
    assert ("Other" in chart["series"]) == any(row["other"] for row in expected["rows"] if row["currency"] == "USD")

    # The table: one row per service and currency, largest first within each currency.
    usd_by_service: dict[str, Decimal] = defaultdict(Decimal)
    for row in expected["rows"]:
        if row["currency"] == "USD" and not row["other"]:
            usd_by_service[row["ServiceName"]] += Decimal(row["cost"])
    first = page.locator("#cost-table tbody tr").first
    assert first.get_attribute("data-currency") == "USD"
    assert first.locator("td").first.inner_text() == max(usd_by_service, key=usd_by_service.__getitem__)
    screenshot(page, "explorer.png")

    # The EUR chart, then back.
    page.locator('#currency-switch button[data-currency="EUR"]').click()
    assert chart_info(page)["currency"] == "EUR"
    assert parse_qs(urlsplit(page.url).query)["currency"] == ["EUR"]

    # Sort by service name, ascending: the choice lives in the URL too.
    page.locator('#cost-table thead button[data-sort="g:ServiceName"]').click()
    assert parse_qs(urlsplit(page.url).query)["sort"] == ["g:ServiceName"]
    names = page.eval_on_selector_all(
        '#cost-table tbody tr:not(.row-other)', "rows => rows.map(r => r.cells[0].textContent)"
    )
    assert names == sorted(names, key=str.casefold)

    # CSV of the table: exact decimals that add up to the API's totals.
    with page.expect_download() as download_info:
        page.click("#download-csv")
    with open(download_info.value.path(), newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row["currency"]] += Decimal(row["EffectiveCost"])
    assert sums == {currency: Decimal(amount) for currency, amount in expected["totals"].items()}
    assert set(rows[0]) == {"ServiceName", "currency", "EffectiveCost", "share"}


def test_explorer_groups_by_a_tag_and_filters(page: Any, console_server: ConsoleServer) -> None:
    sign_in(page, console_server.admin_token)
    wait_ready(page)

    page.select_option("#group-1", "tag:team")
    wait_ready(page)
    assert parse_qs(urlsplit(page.url).query)["group"] == ["tag:team"]
    assert page.locator("#cost-table thead th").first.inner_text().startswith("Tag: team")
    expected = assert_view_matches_api(page, console_server)
    teams = {row["tag:team"] for row in expected["rows"] if not row["other"] and row["tag:team"]}
    shown = set(page.eval_on_selector_all("#cost-table tbody tr", "rows => rows.map(r => r.cells[0].textContent)"))
    assert teams <= shown <= teams | {"(not set)", "Other"}
    assert "(not set)" in shown  # untagged cost is shown, not dropped

    # Filter: Service is Amazon Elastic Compute Cloud, picked from the values the API lists.
    page.click("#add-filter")
    page.select_option("#filter-dimension", "ServiceName")
    page.locator('#filter-values input[value="Amazon Simple Storage Service"]').wait_for()
    page.fill("#filter-search", "elastic compute")
    expect(page.locator("#filter-values input")).to_have_count(1)  # the search narrows the list
    page.locator('#filter-values input[value="Amazon Elastic Compute Cloud"]').check()
    page.click("#filter-apply")
    wait_ready(page)
    chip = page.locator("#filters .chip")
    assert chip.count() == 1 and chip.inner_text().startswith("Service is Amazon Elastic Compute Cloud")
    body = body_from_url(page.url)
    assert body["filters"] == [{"dimension": "ServiceName", "op": "in", "values": ["Amazon Elastic Compute Cloud"]}]
    filtered = assert_view_matches_api(page, console_server)
    assert set(filtered["totals"]) == {"USD"}  # EC2 bills in USD only in the demo
    assert Decimal(filtered["totals"]["USD"]) < Decimal(expected["totals"]["USD"])

    # A filter on a tag value, then remove the first filter.
    page.click("#add-filter")
    page.select_option("#filter-dimension", "tag:team")
    page.select_option("#filter-op", "missing")
    page.click("#filter-apply")
    wait_ready(page)
    assert page.locator("#filters .chip").nth(1).inner_text().startswith("Tag: team is not set")
    assert_view_matches_api(page, console_server)
    page.locator("#filters .chip").first.locator(".chip-remove").click()
    wait_ready(page)
    assert [f["dimension"] for f in body_from_url(page.url)["filters"]] == ["tag:team"]
    assert_view_matches_api(page, console_server)


def test_a_bookmarked_url_restores_the_view(page: Any, console_server: ConsoleServer) -> None:
    last, this = add_months(current_month(), -1), current_month()
    view = [
        ("start", f"{add_months(current_month(), -2)}-01"),
        ("end", f"{this}-01"),
        ("metric", "BilledCost"),
        ("basis", "billing"),
        ("granularity", "month"),
        ("group", "ProviderName"),
        ("group", "tag:env"),
        ("filter", json.dumps(["ChargeCategory", "in", ["Usage"]], separators=(",", ":"))),
        ("top", "5"),
        ("chart", "area"),
        ("table", "rows"),
        ("sort", "period"),
        ("dir", "asc"),
    ]
    bookmark = f"/console/explorer?{urlencode(view)}"
    sign_in(page, console_server.admin_token, bookmark)  # signed out first: sign-in brings the visitor back
    wait_ready(page)
    assert sorted(parse_qs(urlsplit(page.url).query).items()) == sorted(parse_qs(urlencode(view)).items())

    assert page.input_value("#start") == f"{add_months(current_month(), -2)}-01"
    assert page.input_value("#end") == f"{last}-{_last_day(last):02d}"  # shown inclusive
    assert page.input_value("#metric") == "BilledCost"
    assert page.input_value("#time-basis") == "billing"
    assert page.input_value("#granularity") == "month"
    assert page.input_value("#group-1") == "ProviderName"
    assert page.input_value("#group-2") == "tag:env"
    assert page.input_value("#top") == "5"
    assert page.input_value("#chart-type") == "area"
    assert page.locator("#filters .chip").inner_text().startswith("Charge category is Usage")
    assert page.locator('#table-view button[data-view="rows"]').get_attribute("aria-pressed") == "true"
    assert chart_info(page)["type"] == "line"

    expected = assert_view_matches_api(page, console_server)
    periods = page.eval_on_selector_all("#cost-table tbody td[data-period]", "cells => cells.map(c => c.dataset.period)")
    assert periods == sorted(periods) and set(periods) == {row["period"] for row in expected["rows"]}

    # Billing months have no days or weeks to offer.
    assert page.is_disabled('#granularity option[value="week"]')

    # Back and forward walk through views like any page.
    page.select_option("#granularity", "none")
    wait_ready(page)
    assert parse_qs(urlsplit(page.url).query)["granularity"] == ["none"]
    whole = assert_view_matches_api(page, console_server)
    chart = chart_info(page)
    usd_groups = {(row["ProviderName"], row["tag:env"], row["other"]) for row in whole["rows"] if row["currency"] == "USD"}
    assert chart["labels"] == len(usd_groups) and chart["currency"] == "USD"  # one bar per group
    page.go_back()
    wait_ready(page)
    assert page.input_value("#granularity") == "month"
    assert parse_qs(urlsplit(page.url).query)["granularity"] == ["month"]
    page.go_forward()
    wait_ready(page)
    assert page.input_value("#granularity") == "none"


def test_explorer_says_what_to_do_when_nothing_matches(page: Any, console_server: ConsoleServer) -> None:
    sign_in(page, console_server.admin_token, "/console/explorer?start=2001-01-01&end=2001-02-01&metric=EffectiveCost"
            "&basis=charge&granularity=day&top=10")
    wait_ready(page, "empty")
    assert "No costs in this range. Connect a billing source or widen the dates." in page.inner_text("#message")
    assert page.locator('#message a[href="/console/billing-sources"]').count() == 1

    page.fill("#end", "2000-12-01")
    page.dispatch_event("#end", "change")
    wait_ready(page, "error")
    assert "From date must be on or before the To date" in page.inner_text("#message")


def test_admin_adds_edits_syncs_and_removes_a_source(
    page: Any, console_server: ConsoleServer, screenshot: Any
) -> None:
    export = console_server.exports / "acme"
    last, this = add_months(current_month(), -1), current_month()
    write_csv(export / f"{last}.csv", [focus_row(last, "12345.67"), focus_row(last, "250.00", service="Storage")])
    write_csv(export / f"{this}.csv", [focus_row(this, "4321.09")])
    base = f"/api/v1/tenants/{console_server.tenant_id}/billing-sources"

    sign_in(page, console_server.admin_token, "/console/billing-sources")
    page.wait_for_selector("#sources[data-state=ready]")
    with console_server.api() as api:
        demo_sources = len(api.get(base).json())  # the demo's FOCUS and native exports
    assert page.locator("#sources-table tbody tr[data-source-id]").count() == demo_sources

    # A URI that matches nothing: the API's 422 message shows next to the field, nothing is created.
    missing = f"{console_server.exports}/nothing-here/*.csv"
    page.click("#add-source")
    page.select_option("#source-provider", "aws")
    page.fill("#source-uri", missing)
    page.fill("#source-name", "acme focus")
    page.click("#source-save")
    page.wait_for_selector("#error-source_uri:not([hidden])")
    with console_server.api() as api:
        refused = api.post(base, json={"provider": "aws", "source_uri": missing, "name": "acme focus"})
    assert refused.status_code == 422
    assert page.inner_text("#error-source_uri") == refused.json()["detail"][0]["msg"]
    assert page.get_attribute("#source-uri", "aria-invalid") == "true"
    assert page.locator("#source-dialog").is_visible()

    page.fill("#source-uri", f"{export}/*.csv")
    page.click("#source-save")
    row = page.locator('#sources-table tr[data-source-name="acme focus"]')
    row.wait_for()
    assert page.locator("#source-dialog").is_hidden()
    with console_server.api() as api:
        created = next(s for s in api.get(base).json() if s["name"] == "acme focus")
    assert created["source_uri"] == f"{export}/*.csv" and created["provider"] == "aws"

    # Sync now (the scheduler may have started the first sync already): the row follows the run to its end.
    row.get_by_role("button", name="Sync now").click()
    row.locator(".badge-succeeded").wait_for(timeout=60_000)
    assert row.locator("td.num").inner_text() == "3"

    # A source whose export is not there yet fails its sync; the list says why.
    with console_server.api() as api:
        broken = api.post(
            base,
            json={"provider": "gcp", "name": "gcp billing (not delivered yet)", "validate": False,
                  "source_uri": f"{console_server.exports}/gcp-not-yet/**/*.parquet"},
        ).json()
        api.post(f"{base}/{broken['id']}/sync")  # 409 when the scheduler got there first: the same run
    page.reload()
    broken_row = page.locator(f'#sources-table tr[data-source-id="{broken["id"]}"]')
    broken_row.locator(".badge-failed").wait_for(timeout=60_000)
    assert "no file matches" in broken_row.locator(".last-error").inner_text()

    # History lists the runs.
    row.get_by_role("button", name="History").click()
    history = page.locator(".history-row")
    history.locator(".badge-succeeded").first.wait_for()
    assert last in history.inner_text() and this in history.inner_text()
    page.evaluate("document.getElementById('toasts')?.remove()")
    screenshot(page, "billing-sources.png")
    row.get_by_role("button", name="History").click()

    page.goto("/console/data-health")
    page.wait_for_selector("#health[data-state=ready]")
    assert page.locator(".health-card").count() == demo_sources + 2
    assert page.locator(f'.health-card[data-source-id="{broken["id"]}"] .error-box').is_visible()
    screenshot(page, "data-health.png")
    page.goto("/console/billing-sources")
    page.wait_for_selector("#sources[data-state=ready]")

    # Disable, then edit the window.
    row.locator("input.switch").uncheck()
    page.wait_for_function(
        "() => document.querySelector('tr[data-source-name=\"acme focus\"] input.switch') && "
        "!document.querySelector('tr[data-source-name=\"acme focus\"] input.switch').checked && "
        "!document.querySelector('tr[data-source-name=\"acme focus\"] input.switch').disabled"
    )
    row.get_by_role("button", name="Edit").click()
    assert page.input_value("#source-uri") == f"{export}/*.csv" and page.is_disabled("#source-provider")
    page.fill("#source-window", "40")
    page.click("#source-save")
    page.wait_for_selector("#error-window_months:not([hidden])")
    assert "36" in page.inner_text("#error-window_months")
    page.fill("#source-window", "3")
    page.click("#source-save")
    page.locator("#source-dialog").wait_for(state="hidden")
    with console_server.api() as api:
        updated = api.get(f"{base}/{created['id']}").json()
    assert updated["enabled"] is False and updated["window_months"] == 3

    # Remove asks first; cancelling keeps the source.
    row.get_by_role("button", name="Remove").click()
    assert "every billing row it loaded" in page.inner_text("#remove-text")
    page.click("#remove-cancel")
    assert row.count() == 1
    row.get_by_role("button", name="Remove").click()
    page.click("#remove-confirm")
    row.wait_for(state="detached")
    with console_server.api() as api:
        assert api.get(f"{base}/{created['id']}").status_code == 404
        assert api.delete(f"{base}/{broken['id']}").status_code == 204
        names = [s["name"] for s in api.get(base).json()]
        assert DEMO_FOCUS in names and all(name.startswith("demo ") for name in names)


def test_member_sees_data_health_but_no_billing_sources(page: Any, console_server: ConsoleServer) -> None:
    sign_in(page, console_server.member_token)
    wait_ready(page)  # members explore costs too
    assert page.locator(".badge-role").inner_text().lower() == "member"
    nav = page.locator("nav.nav a")
    assert nav.all_inner_texts() == ["Explorer", "Dashboards", "Metrics", "Events", "Tags", "Allocation", "Anomalies", "Budgets", "Data health"]

    response = page.goto("/console/billing-sources")
    assert response.status == 403
    assert "managed by the tenant's admins" in page.inner_text("main")
    api_status = page.evaluate(
        "async (tenant) => (await fetch(`/api/v1/tenants/${tenant}/billing-sources`)).status", console_server.tenant_id
    )
    assert api_status == 403

    page.click('nav.nav a:has-text("Data health")')
    page.wait_for_selector("#health[data-state=ready]")
    with console_server.api(console_server.member_token) as api:
        health = api.get(f"/api/v1/tenants/{console_server.tenant_id}/data-health").json()
    (source,) = [entry for entry in health["sources"] if entry["name"] == DEMO_FOCUS]
    card = page.locator(f'.health-card[data-source-id="{source["id"]}"]')
    assert card.locator("h2").inner_text() == DEMO_FOCUS
    assert card.locator(".badge-succeeded").count() >= 1 and card.locator(".badge-stale").count() == 0
    for month in source["months"]:
        row = card.locator(f'tr[data-month="{month["month"]}"]')
        assert row.locator("td").nth(1).inner_text() == f"{month['rows']:,}"
        for currency, amount in month["billed_cost"].items():
            cell = row.locator(f'td[data-currency="{currency}"]')
            assert cell.get_attribute("data-amount") == amount
            assert cell.inner_text() == money_text(amount, currency)
    assert card.locator("tbody tr").count() == len(source["months"])


def _last_day(month: str) -> int:
    year, number = (int(part) for part in month.split("-"))
    return monthrange(year, number)[1]


# --- vendor API sources, credentials and storage identities --------------------------------------------------------


class TestSecretsInTheConsole:
    """Vendor API sources and storage identities through the billing-sources page, against a server of their own:
    its Anthropic host is a local fake (the server reads it from COSTLAKE_ANTHROPIC_BASE_URL at start), and it
    exposes one variable to the tenant. Overriding `console_server` here gives the shared `page` fixture this
    server."""

    TENANT = "vendors-co"
    EXPOSED = "COSTLAKE_TENANT_VENDORS_CO_ANTHROPIC"  # the tenant's prefix + a name of its choosing

    @pytest.fixture(scope="class")
    def console_server(self, tmp_path_factory: pytest.TempPathFactory, make_httpserver: Any) -> Iterator[ConsoleServer]:
        root = tmp_path_factory.mktemp("vendor-console")
        env = {key: value for key, value in os.environ.items() if not key.startswith("COSTLAKE_")}
        env.update({
            "COSTLAKE_HOME": str(root / "home"),
            "COSTLAKE_ANTHROPIC_BASE_URL": make_httpserver.url_for(""),
            "COSTLAKE_VENDOR_MAX_ATTEMPTS": "2",
            "COSTLAKE_VENDOR_MAX_WAIT": "1s",
            self.EXPOSED: anthropic.API_KEY,
        })
        tenant = run_costlake(env, "tenant", "create", self.TENANT)
        admin = run_costlake(env, "token", "create", "--tenant", self.TENANT, "--role", "admin")
        member = run_costlake(env, "token", "create", "--tenant", self.TENANT, "--role", "member")
        with serving(env, root / "serve.log") as url:
            yield ConsoleServer(url=url, home=root / "home", exports=root, tenant_id=tenant["id"],
                                admin_token=admin["token"], member_token=member["token"], source_id="")  # no demo source

    @pytest.fixture
    def fake(self, httpserver: Any) -> anthropic.FakeAnthropic:
        today = datetime.now(UTC).date()
        data = anthropic.generate(first_day=today - timedelta(days=30), last_day=today - timedelta(days=1))
        return anthropic.FakeAnthropic(data).install(httpserver)

    @staticmethod
    def open_page(page: Any, server: ConsoleServer) -> list[Any]:
        """Sign in on the billing-sources page; the requests the page makes from then on."""
        requests: list[Any] = []
        page.on("request", lambda request: requests.append(request))
        sign_in(page, server.admin_token, "/console/billing-sources")
        page.wait_for_selector("#sources:not([data-state=loading])")
        return requests

    @staticmethod
    def saves(requests: list[Any]) -> list[dict[str, Any]]:
        """The bodies the page sent to create or change a source."""
        return [json.loads(r.post_data) for r in requests if r.method in ("POST", "PUT") and "/billing-sources" in r.url
                and r.post_data]

    @staticmethod
    def assert_secret_gone(page: Any, secret: str, requests: list[Any]) -> None:
        """Not in the markup, any input, web storage, the address or any URL the page asked for."""
        assert secret not in page.content()
        values = page.evaluate("() => [...document.querySelectorAll('input, textarea')].map((input) => input.value)")
        assert not [value for value in values if secret in value]
        stored = page.evaluate("() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
        assert secret not in stored and secret not in page.url
        assert not [r.url for r in requests if secret in r.url]

    def base(self, server: ConsoleServer) -> str:
        return f"/api/v1/tenants/{server.tenant_id}/billing-sources"

    def test_adding_an_anthropic_source_checks_the_key_and_forgets_it(
        self, page: Any, console_server: ConsoleServer, fake: anthropic.FakeAnthropic
    ) -> None:
        requests = self.open_page(page, console_server)
        page.click("#add-source")
        page.select_option("#source-provider", "anthropic")
        for export_only in ("#source-uri", "#source-format", "#source-region", "#storage-field"):
            assert page.locator(export_only).is_hidden(), export_only
        key_input = page.locator("#credential-field input[type=password]")
        expect(key_input).to_have_count(1)
        assert key_input.get_attribute("autocomplete") == "off" and key_input.input_value() == ""
        assert key_input.get_attribute("name") is None  # a form the script did not handle could not send it
        assert "Admin API key" in page.inner_text("#hint-credential")
        assert "organization_id" in page.inner_text("#hint-options")

        # A wrong key: Anthropic's reason shows under the credential, exactly as the API words it; nothing is added.
        wrong = "sk-ant-admin01-not-the-key"
        key_input.fill(wrong)
        page.click("#source-save")
        page.wait_for_selector("#error-credential:not([hidden])")
        with console_server.api() as api:
            refused = api.post(self.base(console_server), json={"provider": "anthropic",
                                                                 "credential": {"kind": "stored", "value": wrong}})
            assert api.get(self.base(console_server)).json() == []
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "credential"]
        assert page.inner_text("#error-credential") == refused.json()["detail"][0]["msg"]
        assert "invalid x-api-key" in page.inner_text("#error-credential")  # the fake's 401 body
        assert key_input.get_attribute("aria-invalid") == "true"

        key_input.fill(anthropic.API_KEY)
        page.fill("#source-name", "anthropic org")
        page.click("#source-save")
        row = page.locator('#sources-table tr[data-source-name="anthropic org"]')
        row.wait_for()
        assert page.locator("#source-dialog").is_hidden()
        with console_server.api() as api:
            (created,) = api.get(self.base(console_server)).json()
        assert created["provider"] == "anthropic" and created["format"] == "api"
        assert created["credential"] == {"kind": "stored", "set": True} and created["storage_credential"] is None
        assert row.locator(".secret-state").inner_text() == "credential set (stored)"
        # The key went once, in a request body, and is nowhere on the page now.
        assert self.saves(requests)[-1]["credential"] == {"kind": "stored", "value": anthropic.API_KEY}
        self.assert_secret_gone(page, anthropic.API_KEY, requests)
        self.assert_secret_gone(page, wrong, requests)

        # It syncs the fake's bill (the scheduler may have started the first sync already).
        row.get_by_role("button", name="Sync now").click()
        row.locator(".badge-succeeded, .badge-warning").wait_for(timeout=60_000)
        with console_server.api() as api:
            (run,) = api.get(f"{self.base(console_server)}/{created['id']}/syncs?limit=1").json()["items"]
        billed = {month: sum(map(Decimal, costs.values())) for month, costs in run["billed_cost_by_month"].items()}
        assert billed == {month: total for month, total in fake.expected_billed_by_month().items() if total}

    def test_editing_keeps_the_credential_unless_a_new_one_is_typed(
        self, page: Any, console_server: ConsoleServer, fake: anthropic.FakeAnthropic
    ) -> None:
        with console_server.api() as api:
            source = api.post(self.base(console_server), json={
                "provider": "anthropic", "name": "rotating", "enabled": False,
                "credential": {"kind": "stored", "value": anthropic.API_KEY}}).json()
        requests = self.open_page(page, console_server)
        row = page.locator(f'#sources-table tr[data-source-id="{source["id"]}"]')

        # Untouched, the key stays: the form shows that one is set, never its value, and sends no credential.
        row.get_by_role("button", name="Edit").click()
        assert page.input_value("#credential-part-api_key") == "" and page.is_disabled("#source-provider")
        assert "set — leave empty to keep" in page.inner_text("#credential-state")
        page.fill("#source-name", "rotating key")
        page.click("#source-save")
        page.locator("#source-dialog").wait_for(state="hidden")
        assert self.saves(requests)[-1] == {"name": "rotating key"}

        # Rotation: a wrong key is refused with Anthropic's reason; the right one replaces the old in place.
        row.get_by_role("button", name="Edit").click()
        page.fill("#credential-part-api_key", "sk-ant-admin01-revoked")
        page.click("#source-save")
        page.wait_for_selector("#error-credential:not([hidden])")
        assert "invalid x-api-key" in page.inner_text("#error-credential")
        page.fill("#credential-part-api_key", anthropic.API_KEY)
        page.click("#source-save")
        page.locator("#source-dialog").wait_for(state="hidden")
        assert self.saves(requests)[-1] == {"credential": {"kind": "stored", "value": anthropic.API_KEY}, "validate": True}
        self.assert_secret_gone(page, anthropic.API_KEY, requests)

        # A server environment variable instead: only the ones the operator exposed to this tenant may be named.
        row.get_by_role("button", name="Edit").click()
        page.check('#source-form [name="credential_kind"][value="env"]')
        assert page.locator("#credential-parts").is_hidden()
        page.fill("#credential-env", "ANTHROPIC_ADMIN_KEY")
        page.click("#source-save")
        page.wait_for_selector("#error-credential:not([hidden])")
        assert "COSTLAKE_TENANT_VENDORS_CO_*" in page.inner_text("#error-credential")
        assert page.get_attribute("#credential-env", "aria-invalid") == "true"
        checks = len(fake.calls(anthropic.COST_REPORT))
        page.fill("#credential-env", self.EXPOSED)
        page.click("#source-save")
        page.locator("#source-dialog").wait_for(state="hidden")
        expect(row.locator(".secret-state")).to_have_text("credential set (env)")
        with console_server.api() as api:
            assert api.get(f"{self.base(console_server)}/{source['id']}").json()["credential"] == {"kind": "env", "set": True}
        # Saving checked the variable's key with one more call to the fake (which refuses any other key).
        assert len(fake.calls(anthropic.COST_REPORT)) > checks

    def test_a_two_part_credential_needs_both_parts(self, page: Any, console_server: ConsoleServer) -> None:
        requests = self.open_page(page, console_server)
        page.click("#add-source")
        page.select_option("#source-provider", "datadog")
        parts = page.locator("#credential-parts input[type=password]")
        expect(parts).to_have_count(2)
        assert page.locator("#credential-parts label").all_inner_texts() == ["API key", "App key"]
        assert "site, view" in page.inner_text("#hint-options")
        page.fill("#credential-part-api_key", "dd-api-key-only")
        page.click("#source-save")
        expect(page.locator("#error-credential")).to_have_text("Enter the App key.")
        assert page.get_attribute("#credential-part-app_key", "aria-invalid") == "true"
        assert not self.saves(requests)  # refused before asking the API

        # Back to an export: its URI and storage identity return, the credential section goes.
        page.select_option("#source-provider", "aws")
        assert page.locator("#credential-field").is_hidden()
        assert page.locator("#source-uri").is_visible() and page.locator("#storage-field").is_visible()

    def test_an_export_reads_with_its_own_storage_identity(self, page: Any, console_server: ConsoleServer) -> None:
        requests = self.open_page(page, console_server)
        uri, role = "s3://acme-billing/focus/*.parquet", "arn:aws:iam::123456789012:role/costlake-exports"
        page.click("#add-source")
        page.select_option("#source-provider", "aws")
        page.select_option("#storage-kind", "aws-role")
        assert page.inner_text("#external-id") == f"costlake-{console_server.tenant_id}"
        page.fill("#source-uri", uri)
        page.fill("#storage-role_arn", role)
        page.fill("#source-name", "acme s3 export")
        page.uncheck("#source-enabled")  # no sync: there is no AWS here
        page.uncheck("#source-validate")
        page.click("#source-save")
        row = page.locator('#sources-table tr[data-source-name="acme s3 export"]')
        row.wait_for()
        assert self.saves(requests)[-1]["storage_credential"] == {"kind": "aws-role", "role_arn": role}
        assert row.locator(".secret-state").inner_text() == "storage identity set (aws-role)"
        with console_server.api() as api:
            source = next(s for s in api.get(self.base(console_server)).json() if s["name"] == "acme s3 export")
        assert source["storage_credential"] == {"kind": "aws-role", "set": True} and source["credential"] is None

        # Editing shows which kind is set, not its value; a SAS token cannot read s3://, said under the identity.
        row.get_by_role("button", name="Edit").click()
        assert page.input_value("#storage-kind") == "aws-role" and page.input_value("#storage-role_arn") == ""
        assert "set — leave empty to keep" in page.inner_text("#storage-state")
        sas = "sv=2024-05-04&sp=rl&sig=TOPSECRETSIGNATURE"
        page.select_option("#storage-kind", "azure-sas")
        assert page.get_attribute("#storage-sas_token", "type") == "password"
        page.fill("#storage-sas_token", sas)
        page.click("#source-save")
        page.wait_for_selector("#error-storage_credential:not([hidden])")
        path = f"{self.base(console_server)}/{source['id']}"
        with console_server.api() as api:
            refused = api.put(path, json={"storage_credential": {"kind": "azure-sas", "sas_token": sas}})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "storage_credential"]
        assert page.inner_text("#error-storage_credential") == refused.json()["detail"][0]["msg"]

        # Back to the server's own identity: that bucket is not opened to the server, said under the URI.
        page.select_option("#storage-kind", "")
        page.click("#source-save")
        page.wait_for_selector("#error-source_uri:not([hidden])")
        with console_server.api() as api:
            forbidden = api.put(path, json={"storage_credential": None})
            assert api.get(path).json()["storage_credential"] == {"kind": "aws-role", "set": True}
        assert forbidden.status_code == 403 and page.inner_text("#error-source_uri") == forbidden.json()["detail"]
        page.click("#source-cancel")
        self.assert_secret_gone(page, sas, requests)


# --- a newcomer's first hour (issue 10) -----------------------------------------------------------------------------


FIRST_HOUR_NOW = current_month()


def finished(api: Any, path: str) -> dict[str, Any]:
    """The source's newest run, once it ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = api.get(f"{path}/syncs?limit=1").json()["items"][0]
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"the newest run of {path} is still running")


def test_adding_an_old_export_with_a_from_date_loads_it_and_sync_from_reloads(page: Any, console_server: ConsoleServer) -> None:
    oldest, newest = add_months(FIRST_HOUR_NOW, -20), add_months(FIRST_HOUR_NOW, -19)
    export = console_server.exports / "old-sample"
    write_csv(export / "a.csv", [focus_row(oldest, "10"), focus_row(newest, "20")])
    base = f"/api/v1/tenants/{console_server.tenant_id}/billing-sources"

    sign_in(page, console_server.admin_token, "/console/billing-sources")
    page.wait_for_selector("#sources[data-state=ready]")
    page.click("#add-source")
    page.select_option("#source-provider", "aws")
    page.fill("#source-uri", f"{export}/*.csv")
    page.fill("#source-name", "old sample")
    page.fill("#source-from", f"{oldest}-01")
    page.click("#source-save")
    row = page.locator('#sources-table tr[data-source-name="old sample"]')
    row.locator(".badge-succeeded").wait_for(timeout=60_000)
    with console_server.api() as api:
        created = next(s for s in api.get(base).json() if s["name"] == "old sample")
        (run,) = api.get(f"{base}/{created['id']}/syncs").json()["items"]
    assert run["from"] == f"{oldest}-01" and run["months"] == [oldest, newest] and run["row_count"] == 2

    # Sync from…: a date in the future is refused next to the field, a past one starts a run from it
    row.get_by_role("button", name="Sync from…").click()
    page.fill("#sync-from", f"{add_months(FIRST_HOUR_NOW, 2)}-01")
    page.click("#sync-start")
    page.wait_for_selector("#error-sync-from:not([hidden])")
    assert "future" in page.inner_text("#error-sync-from")
    page.fill("#sync-from", f"{newest}-01")
    page.click("#sync-start")
    page.locator("#sync-dialog").wait_for(state="hidden")
    with console_server.api() as api:
        latest = finished(api, f"{base}/{created['id']}")
        api.delete(f"{base}/{created['id']}")
    assert latest["from"] == f"{newest}-01" and latest["months"] == [newest]


def test_data_health_says_why_an_old_export_is_stale(page: Any, console_server: ConsoleServer) -> None:
    old = add_months(FIRST_HOUR_NOW, -30)
    export = console_server.exports / "very-old"
    write_csv(export / "a.csv", [focus_row(old, "5")])
    base = f"/api/v1/tenants/{console_server.tenant_id}/billing-sources"
    with console_server.api() as api:
        source = api.post(base, json={"provider": "aws", "source_uri": str(export), "name": "very old", "enabled": False}).json()
        api.post(f"{base}/{source['id']}/sync", json={"from": f"{old}-01"})
        finished(api, f"{base}/{source['id']}")
    sign_in(page, console_server.member_token, "/console/data-health")
    page.wait_for_selector("#health[data-state=ready]")
    card = page.locator(f'.health-card[data-source-id="{source["id"]}"]')
    card.locator(".badge-stale").wait_for()
    assert f"newest billing month with rows is {old}" in card.locator(".stale-reason").inner_text()
    with console_server.api() as api:
        api.delete(f"{base}/{source['id']}")


def test_a_running_sync_shows_its_progress_in_its_row_and_can_be_cancelled(page: Any, console_server: ConsoleServer) -> None:
    from costlake.samples.generator import generate_focus_export

    export = console_server.exports / "big"
    # Large enough that the sync is still running when the click lands, on an idle machine too (24 files).
    generate_focus_export(export, end_month=date.fromisoformat(f"{FIRST_HOUR_NOW}-01"), months=3, rows_per_month=400_000,
                          rows_per_file=50_000)
    base = f"/api/v1/tenants/{console_server.tenant_id}/billing-sources"
    with console_server.api() as api:
        source = api.post(base, json={"provider": "aws", "source_uri": str(export), "name": "big one", "enabled": False}).json()
    with console_server.api() as api:
        api.post(f"{base}/{source['id']}/sync")
    sign_in(page, console_server.admin_token, "/console/billing-sources")
    page.wait_for_selector("#sources[data-state=ready]")
    row = page.locator('#sources-table tr[data-source-name="big one"]')
    expect(row.locator(".run-progress")).to_contain_text(re.compile(r"writing · \d+/24 files · [\d,]+ rows"), timeout=60_000)
    row.get_by_role("button", name="Cancel sync").click()
    row.locator(".badge-cancelled").wait_for(timeout=60_000)
    with console_server.api() as api:
        run = finished(api, f"{base}/{source['id']}")
        api.delete(f"{base}/{source['id']}")
    assert run["status"] == "cancelled" and run["row_count"] in (None, 0)


def test_explorer_totals_picker_amounts_period_order_and_narrow_controls(page: Any, console_server: ConsoleServer) -> None:
    sign_in(page, console_server.admin_token)
    wait_ready(page)

    # One total row per currency in the table's footer, each visible: stacked, not pinned to one spot.
    page.select_option("#group-1", "ResourceId")  # many rows: the table scrolls and the footer sticks
    wait_ready(page)
    footer = page.locator("#cost-table tfoot tr.total-row")
    assert footer.count() == 2
    boxes = [footer.nth(index).bounding_box() for index in range(2)]
    assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"] + 1, boxes
    scroller = page.locator(".table-scroll").bounding_box()
    assert all(scroller["y"] <= box["y"] and box["y"] + box["height"] <= scroller["y"] + scroller["height"] + 1 for box in boxes)

    # The filter picker's amounts are the costs in the selected date range.
    start, end = body_from_url(page.url)["start"], body_from_url(page.url)["end"]
    with page.expect_request(re.compile(r"/costs/dimension-values\?")) as asked:
        page.click("#add-filter")
        page.select_option("#filter-dimension", "ServiceName")
    query = parse_qs(urlsplit(asked.value.url).query)
    assert query["start"] == [start] and query["end"] == [end] and query["time_basis"] == ["charge"]
    with console_server.api() as api:
        ranged = api.get(f"/api/v1/tenants/{console_server.tenant_id}/costs/dimension-values",
                         params={"dimension": "ServiceName", "start": start, "end": end}).json()["values"][0]
    option = page.locator(f'#filter-values input[value="{ranged["value"]}"]').locator("xpath=..")
    currency, amount = next(iter(ranged["costs"].items()))
    expect(option.locator(".value-cost")).to_contain_text(money_text(amount, currency))
    page.keyboard.press("Escape")

    # "By period" lists the rows in date order.
    page.select_option("#group-1", "ServiceName")
    wait_ready(page)
    page.click('#table-view button[data-view="rows"]')
    periods = page.eval_on_selector_all("#cost-table tbody td[data-period]", "cells => cells.map(c => c.dataset.period)")
    assert periods and periods == sorted(periods), periods[:10]
    assert parse_qs(urlsplit(page.url).query)["sort"] == ["period"]

    # At 800 px the three group-by selects keep a readable width.
    page.set_viewport_size({"width": 800, "height": 800})
    for width in (800, 950, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        sizes = page.eval_on_selector_all(
            ".group-select", "selects => selects.map(s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height])"
        )
        range_height = page.locator("#range-preset").bounding_box()["height"]
        assert len(sizes) == 3 and all(w >= 150 and h >= range_height - 1 for w, h in sizes), (width, sizes, range_height)


# --- tags and allocation -----------------------------------------------------------------------------------------


def test_tags_and_allocation_accept_edit_preview_publish_then_explore(
    page: Any, console_server: ConsoleServer, screenshot: Any
) -> None:
    server = console_server
    tenant = f"/api/v1/tenants/{server.tenant_id}"
    with server.api() as api:
        inventory = api.get(f"{tenant}/tags").json()["items"]
        suggestions = api.get(f"{tenant}/tags/suggestions").json()["items"]
    pending = [item for item in suggestions if not item["accepted"]]
    assert inventory and pending, "the demo data should carry tags with variants"

    # Tags: the inventory is the API's; accepting a suggestion puts it in the draft.
    sign_in(page, server.admin_token, "/console/tags")
    page.wait_for_selector("#inventory-section[data-state=ready]")
    page.wait_for_selector("#suggestions-section[data-state=ready]")
    keys = page.eval_on_selector_all("#inventory-table tbody tr", "rows => rows.map(r => r.dataset.key)")
    assert keys == [tag["key"] for tag in inventory]
    first = page.locator("#inventory-table tbody tr").first
    assert json.loads(first.locator("td[data-cost]").get_attribute("data-cost")) == inventory[0]["cost"]
    assert first.locator("td[data-share]").inner_text() == f"{100 * inventory[0]['share']:.1f}%"
    screenshot(page, "tags.png")
    row = page.locator(f'#suggestions-table tr[data-id="{pending[0]["id"]}"]')
    assert row.locator(".coverage-after").inner_text() == f"{100 * pending[0]['coverage_after']:.1f}%"
    row.get_by_role("button", name="Accept").click()
    expect(page.locator(f'#suggestions-table tr[data-id="{pending[0]["id"]}"]')).to_have_attribute("data-accepted", "true")
    with server.api() as api:
        draft = api.get(f"{tenant}/allocation/draft").json()
    assert draft["updated_at"] is not None and draft["dimensions"]
    name = draft["dimensions"][0]["name"]

    # Allocation: a rule that is wrong is refused with the API's path to it, and nothing is saved.
    page.goto("/console/allocation")
    page.wait_for_selector("#draft-section[data-state=ready]")
    assert json.loads(page.input_value("#draft-text"))["dimensions"] == draft["dimensions"]
    bad = {"dimensions": [{**draft["dimensions"][0], "rules": [{"from_dimension": "nowhere"}, *draft["dimensions"][0]["rules"]]}]}
    page.fill("#draft-text", json.dumps(bad))
    page.click("#save-draft")
    page.wait_for_selector("#draft-section[data-state=invalid]")
    assert "dimensions.0.rules.0" in page.locator("#draft-errors").inner_text()
    with server.api() as api:
        assert api.get(f"{tenant}/allocation/draft").json()["dimensions"] == draft["dimensions"]

    # A condition rule first: EC2 belongs to compute-team. Preview it (unsaved text), then publish.
    edited = {"dimensions": [{**draft["dimensions"][0], "rules": [
        {"when": [{"dimension": "ServiceName", "op": "eq", "values": ["Amazon Elastic Compute Cloud"]}], "value": "compute-team"},
        *draft["dimensions"][0]["rules"],
    ]}, *draft["dimensions"][1:]]}
    # The same text in YAML (the shape of `costlake allocation show --format yaml`), edited as YAML.
    page.fill("#draft-text", json.dumps({"dimensions": draft["dimensions"]}))
    page.select_option("#draft-format", "yaml")
    assert yaml.safe_load(page.input_value("#draft-text")) == {"dimensions": draft["dimensions"]}
    page.fill("#draft-text", "dimensions: [unclosed")
    page.click("#preview")
    expect(page.locator("#draft-errors")).to_contain_text("The text is not valid YAML")
    page.fill("#draft-text", yaml.safe_dump(edited, sort_keys=False))
    page.click("#preview")
    page.wait_for_selector("#preview-section[data-state=ready]")
    expect(page.locator("#draft-errors")).to_be_hidden()
    with server.api() as api:
        preview = api.post(f"{tenant}/allocation/preview", json={"dimensions": edited["dimensions"]}).json()
    dim = next(d for d in preview["dimensions"] if d["name"] == name)
    compute = next(v for v in dim["values"] if v["value"] == "compute-team")
    assert compute["before"] == {} and Decimal(compute["after"]["USD"]) > 0
    shown = page.locator(f'.preview-dimension[data-dimension="{name}"] tr[data-value="compute-team"][data-currency="USD"]')
    assert shown.locator("td.after").get_attribute("data-amount") == compute["after"]["USD"]
    assert shown.locator("td.delta").get_attribute("data-amount") == compute["delta"]["USD"]
    assert shown.locator("td.after").inner_text() == money_text(compute["after"]["USD"], "USD")
    screenshot(page, "allocation.png")
    coverage = page.locator(f'.preview-dimension[data-dimension="{name}"] .coverage').inner_text()
    assert coverage == f"coverage {100 * dim['coverage_before']:.1f}% → {100 * dim['coverage_after']:.1f}%"

    page.click("#publish")  # saves the edited text first
    expect(page.locator('#versions-table tr[data-current="true"]')).to_have_count(1)
    with server.api() as api:
        versions = api.get(f"{tenant}/allocation/versions").json()["items"]
        assert api.get(f"{tenant}/allocation/draft").json()["dimensions"] == edited["dimensions"]
    assert page.locator('#versions-table tr[data-current="true"]').get_attribute("data-version") == str(versions[0]["version"])

    # The explorer groups by the new dimension, labelled as allocation, and its amounts are the API's.
    page.goto("/console/explorer")
    wait_ready(page)
    option = page.locator(f'#group-1 option[value="dim:{name}"]')
    assert option.inner_text() == f"{name} (allocation)"
    page.select_option("#group-1", f"dim:{name}")
    wait_ready(page)
    assert parse_qs(urlsplit(page.url).query)["group"] == [f"dim:{name}"]
    expected = assert_view_matches_api(page, server)
    assert "compute-team" in {row[f"dim:{name}"] for row in expected["rows"]}

    # Filters take it too: only compute-team's cost, which is EC2's.
    page.click("#add-filter")
    page.select_option("#filter-dimension", f"dim:{name}")
    page.locator('#filter-values input[value="compute-team"]').check()
    page.click("#filter-apply")
    wait_ready(page)
    assert page.locator("#filters .chip").first.inner_text().startswith(f"{name} (allocation) is compute-team")
    filtered = assert_view_matches_api(page, server)
    ec2 = api_query(server, {**body_from_url(page.url), "group_by": [], "filters": [
        {"dimension": "ServiceName", "op": "in", "values": ["Amazon Elastic Compute Cloud"]}]})
    assert filtered["totals"] == ec2["totals"]

    # Restore version 1 as the draft.
    page.goto("/console/allocation")
    page.wait_for_selector("#versions-section[data-state=ready]")
    page.locator(f'#versions-table tr[data-version="{versions[-1]["version"]}"] .restore').click()
    expect(page.locator("#draft-caption")).to_contain_text(f"started from version {versions[-1]['version']}")


def test_members_read_tags_and_allocation_without_edit_controls(page: Any, console_server: ConsoleServer) -> None:
    sign_in(page, console_server.member_token, "/console/allocation")
    page.wait_for_selector("#draft-section[data-state=ready]")
    page.wait_for_selector("#versions-section[data-state=ready]")
    assert page.locator("#draft-text").get_attribute("readonly") is not None
    expect(page.locator("#save-draft")).to_have_count(0)
    expect(page.locator("#publish")).to_have_count(0)
    expect(page.locator("#versions-table .restore")).to_have_count(0)
    page.click("#preview")  # members may preview
    page.wait_for_selector("#preview-section[data-state=ready]")
    page.goto("/console/tags")
    page.wait_for_selector("#suggestions-section[data-state=ready]")
    expect(page.locator("#suggestions-table button.accept")).to_have_count(0)
