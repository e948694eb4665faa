"""The public FOCUS files in ../shared/samples/focus, with their real-world quirks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLES_DIR, sync_and_wait
from costlake.store import Lake

FOCUS_DIR = SAMPLES_DIR / "focus"
pytestmark = pytest.mark.skipif(not FOCUS_DIR.is_dir(), reason=f"public samples not found at {FOCUS_DIR}")
OFFICIAL_SAMPLE = FOCUS_DIR / "FOCUS-Sample-Data__focus_sample_1.0.csv"


def _add(client, uri: Path) -> dict:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(uri), "format": "focus"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_official_focus_1_0_sample_loads_and_reconciles(operator_client, make_tenant, settings):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    source = _add(operator_client, OFFICIAL_SAMPLE)
    run = sync_and_wait(operator_client, "acme", source["id"], body={"from": "2024-01-01"})
    assert run["status"] == "succeeded", run
    assert run["row_count"] == 1000
    # Totals computed independently from the CSV text: BilledCost per billing month, exact.
    expected = duckdb.connect().execute(
        "SELECT strftime(BillingPeriodStart::TIMESTAMP, '%Y-%m'), sum(BilledCost::DECIMAL(38,18))::VARCHAR "
        "FROM read_csv($path, all_varchar = true, nullstr = 'NULL') GROUP BY 1",
        {"path": str(OFFICIAL_SAMPLE)},
    ).fetchall()
    assert {m: Decimal(v) for m, v in expected} == {
        m: Decimal(v["USD"]) for m, v in run["billed_cost_by_month"].items()
    }
    rows = duckdb.connect().execute(
        "SELECT ProviderName, sum(BilledCost)::VARCHAR, count(*) FILTER (WHERE x_Extensions['Id'] IS NOT NULL) "
        "FROM read_parquet($files) GROUP BY 1 ORDER BY 1",
        {"files": Lake(settings).data_files(acme.id)},
    ).fetchall()
    by_provider = {name: (Decimal(total), with_id) for name, total, with_id in rows}
    assert round(by_provider["AWS"][0], 2) == Decimal("18.01")
    assert round(by_provider["Microsoft"][0], 2) == Decimal("1.98")
    assert round(by_provider["Oracle"][0], 2) == Decimal("0.54")
    # The non-FOCUS `Id` column is kept, not dropped.
    assert sum(with_id for _, with_id in by_provider.values()) == 1000


SPEC_EXAMPLES = sorted((FOCUS_DIR / "spec-examples-1.2").rglob("*.csv")) if FOCUS_DIR.is_dir() else []


@pytest.mark.parametrize("path", SPEC_EXAMPLES, ids=lambda p: p.stem)
def test_spec_examples_load_or_fail_with_a_message_naming_the_problem(operator_client, make_tenant, path):  # type: ignore[no-untyped-def]
    """Spec examples carry partial column sets and `$1,000.00` prices: each either loads or says exactly why not."""
    make_tenant("acme")
    header = path.read_text(encoding="utf-8-sig").splitlines()[0].lower()
    if "billingcurrency" not in header:
        # A file without a required column is refused when it is added as format focus, naming what is expected.
        response = operator_client.post(
            "/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(path), "format": "focus"}
        )
        assert response.status_code == 422 and "BillingCurrency" in response.text and path.name in response.text
        return
    source = _add(operator_client, path)
    run = sync_and_wait(operator_client, "acme", source["id"], body={"from": "2020-01-01"})
    if run["status"] == "failed":
        assert "is not a plain decimal number" in run["error"] and path.name in run["error"], run["error"]
    else:
        assert run["row_count"] > 0
