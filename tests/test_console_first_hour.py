"""The console for a newcomer (issue 10), in Chromium: the Add dialog and Sync from… take a `from` date, data health
says why a source is stale."""

from __future__ import annotations

import time
from typing import Any

from costlake.months import add_months, current_month
from fixtures_browser import ConsoleServer, browser, console_server, page, screenshot  # noqa: F401
from focus_files import focus_row, write_csv
from test_console import sign_in

NOW = current_month()


def finished(api: Any, path: str) -> dict[str, Any]:
    """The source's newest run, once it ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = api.get(f"{path}/syncs?limit=1").json()["items"][0]
        if run["status"] != "running":
            return run
        time.sleep(0.2)
    raise AssertionError(f"the newest run of {path} is still running")


def test_adding_an_old_export_with_a_from_date_loads_it_and_sync_from_reloads(page: Any, console_server: ConsoleServer) -> None:
    oldest, newest = add_months(NOW, -20), add_months(NOW, -19)
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
    page.fill("#sync-from", f"{add_months(NOW, 2)}-01")
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
    old = add_months(NOW, -30)
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
