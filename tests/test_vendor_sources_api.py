"""Every vendor connector through the API, as a user meets it: add with a stored credential (checked by one vendor
call), sync, and find each month's bill in the run and in the explorer, to the cent, against the fake's own totals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import auth, sync_and_wait
from costlake.settings import Settings
from fakes import aiven, anthropic, confluent, cursor, datadog


@dataclass(frozen=True)
class Vendor:
    provider: str
    setting: str  # the server setting naming the vendor's host
    start: Callable[[Any, datetime], Any]  # (httpserver, now) -> installed fake
    credential: Any
    options: dict[str, str]


NOW = datetime.now(UTC)
TODAY = NOW.date()
VENDORS = [
    Vendor("anthropic", "ANTHROPIC", lambda server, now: anthropic.FakeAnthropic(
        anthropic.generate(first_day=now.date() - timedelta(days=60), last_day=now.date() - timedelta(days=1))).install(server),
        anthropic.API_KEY, {}),
    Vendor("cursor", "CURSOR", lambda server, now: cursor.FakeCursor(
        events=cursor.generate_events(now), now=now, cycle_start=datetime(now.year, now.month, 1, tzinfo=UTC)).install(server),
        cursor.KEY, {}),
    Vendor("datadog", "DATADOG", lambda server, now: datadog.FakeDatadog(now=now).install(server),
           {"api_key": datadog.API_KEY, "app_key": datadog.APP_KEY}, {"site": "eu"}),
    Vendor("confluent", "CONFLUENT", lambda server, now: confluent.FakeConfluent(now.date()).install(server),
           confluent.FakeConfluent.credential(), {}),
    Vendor("aiven", "AIVEN", lambda server, now: aiven.FakeAiven(now.date()).install(server),
           aiven.TOKEN, {"organization_id": aiven.ORGANIZATION}),
]


@pytest.fixture(params=VENDORS, ids=[vendor.provider for vendor in VENDORS])
def vendor(request: pytest.FixtureRequest, httpserver: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Vendor, Any]:
    chosen: Vendor = request.param
    monkeypatch.setenv(f"COSTLAKE_{chosen.setting}_BASE_URL", httpserver.url_for(""))
    monkeypatch.setenv("COSTLAKE_VENDOR_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("COSTLAKE_VENDOR_MAX_WAIT", "1s")
    return chosen, chosen.start(httpserver, NOW)


@pytest.fixture
def settings(vendor: tuple[Vendor, Any], settings: Settings) -> Settings:  # vendor hosts are set before Settings()
    return Settings()


def test_a_vendor_source_syncs_its_bill_to_the_cent(client: TestClient, make_tenant: Any, vendor: tuple[Vendor, Any]) -> None:
    spec, fake = vendor
    acme = make_tenant("acme")
    body = {"provider": spec.provider, "options": spec.options, "credential": {"kind": "stored", "value": spec.credential}}
    response = client.post(f"/api/v1/tenants/{acme.id}/billing-sources", json=body, headers=auth(acme.admin))
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["format"] == "api" and source["credential"] == {"kind": "stored", "set": True}

    run = sync_and_wait(client, acme.id, source["id"], acme.admin)
    assert run["status"] in ("succeeded", "warning"), run
    expected = {month: total for month, total in fake.expected_billed_by_month().items() if total}
    billed = {month: sum(map(Decimal, by_currency.values())) for month, by_currency in run["billed_cost_by_month"].items()}
    assert billed and billed == {month: expected[month] for month in billed}
    # Every month from the first one the sync covers (12 months back, or what the vendor keeps) is there.
    assert {month for month in expected if month >= min(billed)} == set(billed) and len(billed) >= 2

    health = client.get(f"/api/v1/tenants/{acme.id}/data-health", headers=auth(acme.member)).json()
    (row,) = health["sources"]
    assert row["status"] == run["status"] and {month["month"] for month in row["months"]} == set(billed)
    query = {"metric": "BilledCost", "time_basis": "billing", "granularity": "none",
             "start": f"{min(billed)}-01", "end": (date(TODAY.year + 1, 1, 1)).isoformat()}
    totals = client.post(f"/api/v1/tenants/{acme.id}/costs/query", json=query, headers=auth(acme.member)).json()["totals"]
    assert sum(map(Decimal, totals.values())) == sum(billed.values())
