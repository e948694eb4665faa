"""Real public exports (AWS legacy CUR, Azure EA, GCP billing export, from ../shared/samples) and a vendor source
(Anthropic, faked) in one tenant: the inventory spans providers, and one dimension merges them, with coverage.
Expected figures come from hand-written DuckDB over the lake's files, not from costlake's SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from conftest import SAMPLES_DIR, auth, sync_and_wait
from costlake.months import add_months, current_month
from costlake.settings import Settings
from costlake.store import Lake
from fakes import anthropic

SAMPLES = {
    "aws": (SAMPLES_DIR / "aws" / "focus_converters__sample-anonymous-aws-export-dataset.csv", {}),
    "azure": (SAMPLES_DIR / "azure" / "finops-toolkit__EA_ActualCost_Small.csv", {}),
    "gcp": (SAMPLES_DIR / "gcp" / "koku__gcp_202011_standard.csv", {}),
}
pytestmark = pytest.mark.skipif(
    not all(path.is_file() for path, _ in SAMPLES.values()), reason=f"public samples not found under {SAMPLES_DIR}"
)
TODAY = datetime.now(UTC).date()

# One owner per row, whatever the provider calls it: Azure's CostCenter tag (any spelling), GCP's resource-type
# label (its BigQuery rows belong to data), Anthropic by provider, and AWS (untagged here) by provider.
OWNER = {
    "name": "owner",
    "rules": [
        {"coalesce": ["cost-center"], "flexible": True, "map": {"1234": "finance"}},
        {"coalesce": ["goog-resource-type"], "transform": [{"regex_extract": "^(bigquery)", "group": 1}], "map": {"bigquery": "data"}},
        {"when": [{"dimension": "ProviderName", "op": "eq", "values": ["Anthropic"]}], "value": "ml-platform"},
        {"when": [{"dimension": "ProviderName", "op": "eq", "values": ["AWS"]}], "value": "platform"},
    ],
}
HAND_WRITTEN = """
SELECT ProviderName, BillingCurrency,
       CASE WHEN coalesce(nullif(Tags['CostCenter'], ''), nullif(Tags['cost-center'], '')) IS NOT NULL
                 THEN replace(coalesce(nullif(Tags['CostCenter'], ''), Tags['cost-center']), '1234', 'finance')
            WHEN Tags['goog-resource-type'] LIKE 'bigquery%' THEN 'data'
            WHEN ProviderName = 'Anthropic' THEN 'ml-platform'
            WHEN ProviderName = 'AWS' THEN 'platform'
            ELSE 'Unallocated' END AS owner,
       sum(EffectiveCost) AS cost, sum(abs(EffectiveCost)) AS weight
FROM read_parquet($files, hive_partitioning = true) GROUP BY ALL
"""


@pytest.fixture
def settings(httpserver: Any, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("COSTLAKE_ANTHROPIC_BASE_URL", httpserver.url_for(""))
    return Settings()  # vendor hosts are read when settings are made


@pytest.fixture
def loaded(client, operator_client, make_tenant, httpserver) -> Any:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    anthropic.FakeAnthropic(anthropic.generate(first_day=TODAY - timedelta(days=40), last_day=TODAY - timedelta(days=1))).install(httpserver)
    for provider, (path, options) in SAMPLES.items():
        source = operator_client.post("/api/v1/tenants/acme/billing-sources", json={"provider": provider, "source_uri": str(path), "options": options})
        assert source.status_code == 201, source.text
        run = sync_and_wait(operator_client, "acme", source.json()["id"], body={"from": "2020-01-01"})
        assert run["status"] == "succeeded", run
    vendor = client.post("/api/v1/tenants/acme/billing-sources", headers=auth(acme.admin),
                         json={"provider": "anthropic", "credential": {"kind": "stored", "value": anthropic.API_KEY}})
    assert vendor.status_code == 201, vendor.text
    assert sync_and_wait(client, "acme", vendor.json()["id"], acme.admin)["status"] in ("succeeded", "warning")
    return acme


def test_one_dimension_merges_every_provider_with_coverage(client, loaded, settings) -> None:  # type: ignore[no-untyped-def]
    acme = loaded
    tags = {item["key"]: item for item in client.get("/api/v1/tenants/acme/tags", headers=auth(acme.member)).json()["items"]}
    assert tags["CostCenter"]["providers"] == ["Microsoft"] and tags["goog-resource-type"]["providers"] == ["Google Cloud"]

    assert client.put("/api/v1/tenants/acme/allocation/draft", headers=auth(acme.admin), json={"dimensions": [OWNER]}).status_code == 200
    window = {"start": "2020-01-01", "end": add_months(current_month(), 1) + "-01"}
    preview = client.post("/api/v1/tenants/acme/allocation/preview", headers=auth(acme.admin), json=window).json()
    assert client.post("/api/v1/tenants/acme/allocation/publish", headers=auth(acme.admin)).json()["version"] == 1

    result = client.post("/api/v1/tenants/acme/costs/query", headers=auth(acme.member),
                         json={"granularity": "none", "group_by": ["dim:owner", "ProviderName"], **window}).json()
    got: dict[tuple[str, str, str], Decimal] = {(r["dim:owner"], r["ProviderName"], r["currency"]): Decimal(r["cost"]) for r in result["rows"]}
    files = Lake(settings).data_files(acme.id)
    expected_rows = duckdb.connect().execute(HAND_WRITTEN, {"files": files}).fetchall()
    expected: dict[tuple[str, str, str], Decimal] = {}
    for provider, currency, owner, cost, _ in expected_rows:
        expected[(owner, provider, currency)] = expected.get((owner, provider, currency), Decimal(0)) + cost
    assert got == expected
    providers_by_owner = {owner: {p for o, p, _ in got if o == owner} for owner, _, _ in got}
    assert providers_by_owner["platform"] == {"AWS"} and providers_by_owner["ml-platform"] == {"Anthropic"}
    assert "Microsoft" in providers_by_owner["finance"] and providers_by_owner["data"] == {"Google Cloud"}

    allocated = sum(weight for _, _, owner, _, weight in expected_rows if owner != "Unallocated")
    total = sum(weight for *_, weight in expected_rows)
    (owner,) = preview["dimensions"]
    assert owner["coverage_before"] == 0.0 and owner["coverage_after"] == pytest.approx(float(allocated / total), abs=1e-4)
    assert 0 < owner["coverage_after"] < 1  # some Azure rows carry no cost center: they stay Unallocated, visibly
    after = {value["value"]: value["after"] for value in owner["values"]}
    assert set(after) == {"finance", "SubACM", "data", "ml-platform", "platform", "Unallocated"}
    print(f"owner coverage over every provider: {owner['coverage_after']:.2%} of absolute cost; per value: {after}")
