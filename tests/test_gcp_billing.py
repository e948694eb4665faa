"""Format gcp-billing-export: the koku sample, every hard case with expected FOCUS values, every file shape, and
the BigQuery path end to end against a local fake of the REST API."""

from __future__ import annotations

import ast
import csv
import math
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from conftest import SAMPLES_DIR, auth, sync_and_wait
from costlake.catalog import open_catalog
from costlake.catalog.tenants import set_allowed_uri_prefixes
from costlake.errors import InvalidInput
from costlake.formats.conversion import ConversionError
from costlake.formats.gcp import bigquery as gcp_billing_bigquery
from costlake.formats.gcp.source import NAME, looks_like_gcp_export, select_gcp_files
from costlake.formats.registry import FORMATS
from costlake.months import MonthRange
from costlake.samples.gcp_export import COMMITMENT_ID, DETAILED_FIELDS, STANDARD_FIELDS, gcp_export_rows, write_gcp_export
from costlake.settings import Settings
from costlake.storage import StorageError, StoredFile
from fake_bigquery import FakeBigQuery, FakeTable
from lake_reader import billed_by_month

KOKU_STANDARD = SAMPLES_DIR / "gcp" / "koku__gcp_202011_standard.csv"
GCP = FORMATS[NAME]


EVERY_MONTH = MonthRange()


def _read(paths: list[Path] | list[str], months: MonthRange = EVERY_MONTH, options: dict[str, str] | None = None) -> pa.Table:
    files = [StoredFile(uri=str(path), size=0) for path in paths]
    return pa.Table.from_batches(list(GCP.read(files, None, months, options or {})), schema=None)  # type: ignore[arg-type]


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def _utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def _expected_billed(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Sum(cost + credits) per invoice month, computed in Python from the floats' shortest text."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        month = row["invoice"]["month"]
        totals[f"{month[:4]}-{month[4:]}"] += Decimal(repr(row["cost"])) + sum(
            (Decimal(repr(credit["amount"])) for credit in row["credits"]), Decimal(0)
        )
    return dict(totals)


def _billed(table: pa.Table) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in _rows(table):
        totals[row["x_BillingMonth"]] += row["BilledCost"]
    return dict(totals)


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gcp")
    write_gcp_export(folder / "parquet")
    write_gcp_export(folder / "json", file_format="json")
    return folder


@pytest.fixture(scope="module")
def detailed(export_dir: Path) -> list[dict[str, Any]]:
    return _rows(_read(sorted((export_dir / "parquet").glob("*resource*"))))


def _one(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [row for row in rows if all(row[key] == value for key, value in match.items())]
    assert len(found) == 1, (match, len(found))
    return found[0]


# -- the public sample ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not KOKU_STANDARD.is_file(), reason=f"public sample not found at {KOKU_STANDARD}")
def test_koku_standard_sample_rows_and_totals_match_cost_plus_credits_to_the_cent() -> None:
    with KOKU_STANDARD.open(newline="") as handle:
        source = list(csv.DictReader(handle))
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in source:
        credits = ast.literal_eval(row["credits"])
        expected[f"{row['invoice.month'][:4]}-{row['invoice.month'][4:]}"] += Decimal(row["cost"]) + sum(
            (Decimal(repr(credit["amount"])) for credit in credits), Decimal(0)
        )
    table = _read([KOKU_STANDARD])
    assert table.num_rows == len(source) == 25
    assert _billed(table) == dict(expected)
    assert {month: round(total, 2) for month, total in _billed(table).items()} == {"2020-11": Decimal("0.00")}
    rows = _rows(table)
    assert {row["ServiceCategory"] for row in rows} == {"Security", "Management and Governance", "Databases"}
    assert sum(row["ListCost"] for row in rows) == sum(Decimal(row["cost"]) for row in source) == Decimal("0.000032")
    logging = next(row for row in rows if row["ServiceName"] == "Stackdriver Logging")
    assert dict(logging["Tags"])["goog-resource-type"].startswith("bigquery_")
    assert dict(logging["x_TagOrigins"]) == {"goog-resource-type": "label"}


def test_detect_recognizes_every_shape_and_nothing_else(export_dir: Path) -> None:
    nested = [field.name for field in DETAILED_FIELDS]
    dotted = ["billing_account_id", "service.id", "service.description", "usage_start_time", "cost", "currency",
              "credits", "invoice.month", "cost_type"]  # fmt: skip
    assert looks_like_gcp_export(nested)
    assert looks_like_gcp_export(dotted)
    assert not looks_like_gcp_export(["BilledCost", "ChargePeriodStart", "BillingCurrency"])
    assert not looks_like_gcp_export([name for name in dotted if name != "credits"])
    assert GCP.signature and "invoice.month" in GCP.signature


# -- hard cases, expected FOCUS values -----------------------------------------------------------------------------


def test_credits_are_netted_into_billed_and_effective_cost(detailed: list[dict[str, Any]]) -> None:
    vm = _one(detailed, ResourceName="web-1", ChargePeriodStart=_utc(2026, 1, 1, 10))
    # cost 10.51, credits sustained use -1.25 and promotion -0.75
    assert (vm["BilledCost"], vm["EffectiveCost"]) == (Decimal("8.51"), Decimal("8.51"))
    assert (vm["ContractedCost"], vm["ListCost"]) == (Decimal("10.51"), Decimal("13.1375"))
    assert (vm["ListUnitPrice"], vm["ContractedUnitPrice"]) == (Decimal("3.28125"), Decimal("2.625"))
    assert (vm["ChargeCategory"], vm["ChargeClass"], vm["ChargeFrequency"], vm["PricingCategory"]) == (
        "Usage", None, "Usage-Based", "Standard")  # fmt: skip
    assert (vm["ConsumedQuantity"], vm["ConsumedUnit"], vm["PricingQuantity"], vm["PricingUnit"]) == (
        Decimal("14400"), "seconds", Decimal("4"), "hour")  # fmt: skip
    assert (vm["ServiceCategory"], vm["ServiceSubcategory"]) == ("Compute", "Virtual Machines")
    assert (vm["RegionId"], vm["AvailabilityZone"], vm["SubAccountId"], vm["SubAccountType"]) == (
        "us-central1", "us-central1-a", "shop-prod-4821", "Project")  # fmt: skip
    assert vm["ResourceId"].startswith("//compute.googleapis.com/projects/shop-prod-4821/")
    assert vm["ResourceType"] == "compute.googleapis.com/instances"
    assert (vm["BillingAccountId"], vm["ProviderName"], vm["PublisherName"], vm["InvoiceIssuerName"]) == (
        "01A2B3-C4D5E6-F7A8B9", "Google Cloud", "Google Cloud", "Google Cloud")  # fmt: skip
    assert vm["CommitmentDiscountId"] is None and vm["CommitmentDiscountStatus"] is None
    assert '"type":"SUSTAINED_USAGE_DISCOUNT"' in dict(vm["x_Extensions"])["credits"]
    # A promotion larger than the cost leaves a negative bill; nothing clamps it at 0 (focus_converters' bug).
    promoted = _one(detailed, ServiceName="Vertex AI", ChargePeriodStart=_utc(2026, 1, 1, 10))
    assert (promoted["BilledCost"], promoted["EffectiveCost"]) == (Decimal("-0.3"), Decimal("-0.3"))
    free_tier = _one(detailed, ServiceName="BigQuery", ChargePeriodStart=_utc(2026, 1, 1, 10))
    assert free_tier["BilledCost"] == 0 and free_tier["ServiceCategory"] == "Databases"


def test_committed_use_discounts(detailed: list[dict[str, Any]]) -> None:
    covered = _one(detailed, ResourceName="batch-1", ChargePeriodStart=_utc(2026, 1, 2, 10))
    assert (covered["BilledCost"], covered["ContractedCost"]) == (Decimal(0), Decimal(8))
    assert (covered["CommitmentDiscountId"], covered["CommitmentDiscountCategory"], covered["CommitmentDiscountStatus"]) == (
        COMMITMENT_ID, "Usage", "Used")  # fmt: skip
    assert covered["CommitmentDiscountName"] == "Committed use discount: N2 Core in Americas"
    assert (covered["CommitmentDiscountType"], covered["PricingCategory"]) == ("Committed Use Discount", "Committed")
    spend = _one(detailed, ServiceName="Cloud SQL", ChargePeriodStart=_utc(2026, 1, 2, 10))
    assert (spend["BilledCost"], spend["CommitmentDiscountCategory"], spend["PricingCategory"]) == (Decimal(3), "Spend", "Committed")
    # The monthly commitment fee stays Usage (as in Google's FOCUS view): GCP does not amortize it onto the covered
    # usage, so a Purchase with EffectiveCost 0 (FOCUS rule EffectiveCost-C-005-C) would drop it from EffectiveCost.
    fee = _one(detailed, ChargeFrequency="Recurring", x_BillingMonth="2026-01")
    assert fee["ChargeDescription"].startswith("Commitment v1")
    assert (fee["ChargeCategory"], fee["BilledCost"], fee["EffectiveCost"], fee["PricingCategory"]) == (
        "Usage", Decimal(6), Decimal(6), "Committed")  # fmt: skip
    assert (fee["CommitmentDiscountId"], fee["CommitmentDiscountCategory"], fee["CommitmentDiscountStatus"]) == (
        COMMITMENT_ID, "Usage", None)  # fmt: skip


def test_corrections_tax_rounding_and_invoice_month_in_pacific_time(detailed: list[dict[str, Any]]) -> None:
    corrections = [row for row in detailed if row["ChargeClass"] == "Correction" and row["x_BillingMonth"] == "2026-02"]
    assert sorted(row["BilledCost"] for row in corrections) == [Decimal("-3.5"), Decimal("3.1")]
    for row in corrections:
        assert (row["ChargeCategory"], row["ChargeFrequency"]) == ("Adjustment", "One-Time")
        # Usage from January corrected on February's invoice: the billing period is the invoice month.
        assert row["ChargePeriodStart"] == _utc(2026, 1, 29)
        assert (row["BillingPeriodStart"], row["BillingPeriodEnd"]) == (_utc(2026, 2, 1, 8), _utc(2026, 3, 1, 8))
        assert dict(row["x_Extensions"])["adjustment_info.type"] == "USAGE_CORRECTION"
    tax = _one(detailed, ChargeCategory="Tax", x_BillingMonth="2026-01")
    assert (tax["BilledCost"], tax["ChargeClass"], tax["PricingQuantity"], tax["PricingCategory"]) == (Decimal("2.34"), None, None, None)
    rounding = [row for row in detailed if row["ChargeDescription"] == "Rounding error"]
    spellings = {dict(row["x_Extensions"])["cost_type"] for row in rounding}
    assert spellings == {"rounding_error", "rounding error"}
    assert {(row["ChargeCategory"], row["ChargeClass"], row["BilledCost"]) for row in rounding} == {("Adjustment", None, Decimal("-0.01"))}
    # 03:00 UTC on 1 February is 31 January in Pacific time: January's invoice, January's billing month.
    late = _one(detailed, ChargePeriodStart=_utc(2026, 2, 1, 3))
    assert (late["x_BillingMonth"], late["BillingPeriodStart"], late["BillingPeriodEnd"]) == (
        "2026-01", _utc(2026, 1, 1, 8), _utc(2026, 2, 1, 8))  # fmt: skip
    marketplace = _one(detailed, ServiceName="Acme Analytics", x_BillingMonth="2026-01")
    assert (marketplace["PublisherName"], marketplace["ProviderName"]) == ("Acme Analytics Inc.", "Google Cloud")


def test_labels_tags_project_and_system_labels_merge_by_precedence(detailed: list[dict[str, Any]]) -> None:
    vm = _one(detailed, ResourceName="web-1", ChargePeriodStart=_utc(2026, 1, 1, 10))
    # env is a label (prod), a tag (tagged) and a project label (staging): the resource's own label wins.
    assert dict(vm["Tags"]) == {"env": "prod", "team": "data", "cost-center": "cc-42", "owner": "web-team",
                                "compute.googleapis.com/machine_spec": "n2-standard-4"}  # fmt: skip
    assert dict(vm["x_TagOrigins"]) == {"env": "label", "team": "label", "cost-center": "tag", "owner": "project_label",
                                        "compute.googleapis.com/machine_spec": "system_label"}  # fmt: skip
    sql = _one(detailed, ServiceName="Cloud SQL", ChargePeriodStart=_utc(2026, 1, 1, 10))
    assert dict(sql["Tags"]) == {"env": "staging", "owner": "web-team"}


def test_exchange_rate_is_kept_and_usd_columns_only_filled_for_usd(tmp_path: Path) -> None:
    write_gcp_export(tmp_path / "eur", currency="EUR", rate=0.9214)
    write_gcp_export(tmp_path / "usd")
    eur = _rows(_read(sorted((tmp_path / "eur").glob("*resource*"))))
    usd = _rows(_read(sorted((tmp_path / "usd").glob("*resource*"))))
    assert {(row["BillingCurrency"], row["x_ExchangeRateUsdToBilling"], row["x_BilledCostInUsd"]) for row in eur} == {
        ("EUR", Decimal("0.9214"), None)
    }
    assert all(row["x_BilledCostInUsd"] == row["BilledCost"] == row["x_EffectiveCostInUsd"] for row in usd)


def test_every_file_shape_gives_the_same_rows(export_dir: Path, tmp_path: Path) -> None:
    """Parquet and JSON lines as BigQuery extracts write them, and CSV flattened with dotted names and Python literals."""
    rows = gcp_export_rows(detailed=False)
    flattened = tmp_path / "standard.csv"
    _write_flattened_csv(rows, STANDARD_FIELDS, flattened)
    shapes = {
        "parquet": _read(sorted((export_dir / "parquet").glob("gcp_billing_export_v1_*"))),
        "json": _read(sorted((export_dir / "json").glob("gcp_billing_export_v1_*"))),
        "csv": _read([flattened]),
    }
    ignored = {"x_Extensions"}  # raw text of export_time etc. differs by shape; the FOCUS columns may not
    canonical = {
        shape: sorted(tuple((k, str(v)) for k, v in row.items() if k not in ignored) for row in _rows(table))
        for shape, table in shapes.items()
    }
    assert canonical["parquet"] == canonical["json"] == canonical["csv"]
    assert _billed(shapes["parquet"]) == _expected_billed(rows)
    assert len(canonical["csv"]) == len(rows)


def _write_flattened_csv(rows: list[dict[str, Any]], fields: Any, path: Path) -> None:
    """The koku style: nested records dotted, repeated fields as Python literals, timestamps with +00:00."""

    def flat(prefix: str, spec: Any, value: Any, out: dict[str, str]) -> None:
        if spec.type == "RECORD" and spec.mode != "REPEATED":
            for child in spec.fields:
                flat(f"{prefix}{spec.name}.", child, (value or {}).get(child.name), out)
            return
        name = prefix + spec.name
        if spec.mode == "REPEATED":
            out[name] = str(value or [])
        elif isinstance(value, datetime):
            out[name] = value.strftime("%Y-%m-%d %H:%M:%S+00:00")
        else:
            out[name] = "" if value is None else repr(value) if isinstance(value, float) else str(value)

    flattened = []
    for row in rows:
        out: dict[str, str] = {}
        for spec in fields:
            flat("", spec, row.get(spec.name), out)
        flattened.append(out)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(flattened[0]))
        writer.writeheader()
        writer.writerows(flattened)


def test_unknown_cost_type_and_missing_fields_fail_naming_the_problem(tmp_path: Path) -> None:
    rows = gcp_export_rows(months=1, days=1, detailed=False)
    rows[0]["cost_type"] = "surprise"
    path = tmp_path / "bad.csv"
    _write_flattened_csv(rows, STANDARD_FIELDS, path)
    with pytest.raises(ConversionError, match=r"bad.csv: .*cost_type: unknown value 'surprise'"):
        _read([path])
    rows = gcp_export_rows(months=1, days=1, detailed=False)
    broken = tmp_path / "broken.csv"
    _write_flattened_csv(rows, STANDARD_FIELDS, broken)
    broken.write_text(broken.read_text().replace("[{'name': 'Sustained", "[{'name: 'Sustained", 1))
    with pytest.raises(ConversionError, match=r"broken.csv: .*column credits: not a JSON or Python list of records"):
        _read([broken])
    other = tmp_path / "other.csv"
    other.write_text("billing_account_id,cost\nx,1\n")
    with pytest.raises(ConversionError, match=r"other.csv: missing field\(s\) currency, usage_start_time"):
        _read([other])


def test_window_keeps_only_its_invoice_months(export_dir: Path) -> None:
    table = _read(sorted((export_dir / "parquet").glob("*resource*")), MonthRange("2026-02", "2026-02"))
    assert set(table.column("x_BillingMonth").to_pylist()) == {"2026-02"}
    assert _billed(table) == {"2026-02": _expected_billed(gcp_export_rows())["2026-02"]}


def test_sync_through_the_api_reconciles_per_month(operator_client, make_tenant, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    write_gcp_export(tmp_path / "export")
    response = operator_client.post(
        "/api/v1/tenants/acme/billing-sources",
        json={"provider": "gcp", "source_uri": str(tmp_path / "export" / "gcp_billing_export_resource_v1_*.parquet")},
    )
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["format"] == NAME  # `auto` recognized the export
    run = sync_and_wait(operator_client, "acme", source["id"], body={"from": "2026-01-01"})
    assert run["status"] == "succeeded", run
    rows = gcp_export_rows()
    assert run["row_count"] == len(rows)
    assert billed_by_month(settings, acme.id, source["id"]) == _expected_billed(rows)


def test_extracts_copied_to_gcs_read_through_gs_uris(gcs_env, export_dir: Path) -> None:  # type: ignore[no-untyped-def]
    bucket = gcs_env.create_bucket()
    for shape in ("json", "parquet"):
        for path in (export_dir / shape).glob("*resource*"):
            gcs_env.upload(bucket, f"billing/{shape}/{path.name}", path.read_bytes())
    expected = _expected_billed(gcp_export_rows())
    for pattern in ("billing/json/*.json", "billing/parquet/*.parquet"):
        files = select_gcp_files(f"gs://{bucket}/{pattern}", Settings(), {})
        assert [file.uri.startswith(f"gs://{bucket}/billing/") for file in files] == [True]
        table = pa.Table.from_batches(list(GCP.read(files, Settings(), EVERY_MONTH, {})))
        assert _billed(table) == expected


# -- BigQuery ------------------------------------------------------------------------------------------------------


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch) -> Any:
    rows = gcp_export_rows(months=3)
    tables = {
        "shop-billing.billing.gcp_billing_export_resource_v1_X": FakeTable(DETAILED_FIELDS, rows),
        "shop-billing.billing.copy_without_partitions": FakeTable(DETAILED_FIELDS, rows, ingestion_partitioned=False),
    }
    with FakeBigQuery(tables, page_rows=7) as fake:
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", fake.url)
        monkeypatch.setattr(gcp_billing_bigquery, "PAGE_ROWS", 7)
        yield fake, rows


def _read_bq(uri: str, months: MonthRange, options: dict[str, str] | None = None) -> Any:
    files = select_gcp_files(uri, None, {})  # type: ignore[arg-type]
    return GCP.read(files, None, months, options or {})  # type: ignore[arg-type]


def test_bigquery_reads_only_the_window_months_and_streams_page_by_page(bigquery: Any) -> None:
    fake, rows = bigquery
    batches = _read_bq("bq://shop-billing.billing.gcp_billing_export_resource_v1_X", MonthRange("2026-02", "2026-03"))
    first = next(batches)
    assert len(fake.page_requests()) == 1  # the next page is fetched only when this one is converted
    table = pa.Table.from_batches([first, *batches])
    wanted = [row for row in rows if row["invoice"]["month"] in ("202602", "202603")]
    assert table.num_rows == len(wanted)
    assert len(fake.page_requests()) == math.ceil(len(wanted) / 7)
    assert [r.query.get("pageToken") for r in fake.page_requests()][:3] == [None, "7", "14"]
    sql, parameters = fake.queries[-1]
    assert "invoice.month >= @first_month AND invoice.month <= @last_month" in sql
    assert "_PARTITIONTIME >= @partition_from AND _PARTITIONTIME < @partition_to" in sql
    assert (parameters["first_month"], parameters["last_month"]) == ("202602", "202603")
    assert parameters["partition_from"].startswith("2025-01-31") and parameters["partition_to"].startswith("2026-04-02")
    assert _billed(table) == {m: v for m, v in _expected_billed(rows).items() if m in ("2026-02", "2026-03")}
    # The same rows as the Parquet copy of the table: one mapping for every shape.
    assert dict(_one(_rows(table), ResourceName="web-1", ChargePeriodStart=_utc(2026, 2, 1, 10))["Tags"])["env"] == "prod"


def test_bigquery_partition_filter_follows_the_table_and_the_look_back_option(bigquery: Any) -> None:
    fake, _ = bigquery
    list(_read_bq("bq://shop-billing.billing.copy_without_partitions", MonthRange("2026-02", None)))
    assert "_PARTITIONTIME" not in fake.queries[-1][0]
    list(_read_bq("bq://shop-billing.billing.gcp_billing_export_resource_v1_X", MonthRange("2026-02", None),
                  {"partition_lookback_days": "31"}))  # fmt: skip
    sql, parameters = fake.queries[-1]
    assert "@last_month" not in sql and parameters["partition_from"].startswith("2026-01-01")


def test_bigquery_errors_name_the_table_and_what_to_fix(bigquery: Any) -> None:
    with pytest.raises(StorageError, match=r"bq://shop-billing.billing.missing: BigQuery refused the read \(NotFound"):
        list(_read_bq("bq://shop-billing.billing.missing", MonthRange()))
    with pytest.raises(InvalidInput, match="bq://PROJECT.DATASET.TABLE"):
        select_gcp_files("bq://only-two.parts", None, {})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="partition_lookback_days"):
        list(_read_bq("bq://shop-billing.billing.gcp_billing_export_resource_v1_X", MonthRange(), {"partition_lookback_days": "-1"}))


def test_converted_rows_stay_decimal_exact(detailed: list[dict[str, Any]]) -> None:
    storage = _one(detailed, ServiceName="Cloud Storage", ChargePeriodStart=_utc(2026, 1, 3, 10))
    assert storage["BilledCost"] == Decimal("3.144592")  # the float's shortest text, never 3.1445919999...


def test_a_bq_source_is_added_as_auto_and_syncs_through_the_api(bigquery: Any, operator_client, make_tenant, settings) -> None:  # type: ignore[no-untyped-def]
    _, rows = bigquery
    acme = make_tenant("acme")
    response = operator_client.post(
        "/api/v1/tenants/acme/billing-sources",
        json={"provider": "gcp", "source_uri": "bq://shop-billing.billing.gcp_billing_export_resource_v1_X"},
    )
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["format"] == "gcp-billing-export"
    run = sync_and_wait(operator_client, "acme", source["id"], body={"from": "2020-01-01"})
    assert run["status"] == "succeeded", run
    assert run["row_count"] == len(rows)
    billed = {month: Decimal(by_currency["USD"]) for month, by_currency in run["billed_cost_by_month"].items()}
    assert billed == _expected_billed(rows)
    assert billed_by_month(settings, acme.id, currency="USD") == billed


def test_bq_uris_over_http_need_an_allowed_prefix_with_dot_boundaries(client, make_tenant, settings) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    body = {"provider": "gcp", "source_uri": "bq://shop-billing.billing.export_v1", "validate": False}
    assert client.post("/api/v1/tenants/acme/billing-sources", headers=auth(acme.admin), json=body).status_code == 403
    catalog = open_catalog(settings)
    set_allowed_uri_prefixes(catalog, "acme", ["bq://shop-billing.billing"])
    catalog.close()
    assert client.post("/api/v1/tenants/acme/billing-sources", headers=auth(acme.admin), json=body).status_code == 201
    other = {**body, "source_uri": "bq://shop-billing.billingother.export_v1"}
    assert client.post("/api/v1/tenants/acme/billing-sources", headers=auth(acme.admin), json=other).status_code == 403
