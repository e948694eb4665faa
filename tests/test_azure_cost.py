"""Azure cost details (actual and amortized) to FOCUS: real samples, Microsoft's hard cases, deliveries, end to end."""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from conftest import SAMPLES_DIR, sync_and_wait
from costlake import schema
from costlake.formats.azure.amounts import exact_product
from costlake.formats.azure.columns import (
    english_name,
    looks_like_azure_cost_details,
)
from costlake.formats.azure.deliveries import select_files
from costlake.formats.azure.source import read_azure_cost
from costlake.formats.conversion import ConversionError
from costlake.formats.registry import FORMATS
from costlake.formats.service_categories import service_categories
from costlake.months import MonthRange
from costlake.samples.azure_export import AZURE_PAIR_TOTALS, write_azure_export
from costlake.settings import Settings
from costlake.storage import StoredFile

AZURE_DIR = SAMPLES_DIR / "azure"
needs_samples = pytest.mark.skipif(not AZURE_DIR.is_dir(), reason=f"public samples not found at {AZURE_DIR}")
SAMPLES = [
    "finops-toolkit__EA_ActualCost_Small.csv",
    "finops-toolkit__EA_AmortizedCost_Small.csv",
    "finops-toolkit__EA_NoRows.csv",
    "focus_converters__sample-anonymous-ea-export-dataset.csv",
    "koku__camel_azure_version_2_mca.csv",
]
COST_COLUMNS = ("costinbillingcurrency", "cost", "pretaxcost")
# FOCUS 1.2 ServiceSubcategory values (focus-spec.md).
SUBCATEGORIES = {
    "AI and Machine Learning": {"AI Platforms", "Bots", "Generative AI", "Machine Learning", "Natural Language Processing"},
    "Analytics": {"Analytics Platforms", "Business Intelligence", "Data Processing", "Search", "Streaming Analytics"},
    "Business Applications": {"Productivity and Collaboration"},
    "Compute": {"Containers", "End User Computing", "Quantum Compute", "Serverless Compute", "Virtual Machines"},
    "Databases": {"Caching", "Data Warehouses", "Ledger Databases", "NoSQL Databases", "Relational Databases", "Time Series Databases"},
    "Developer Tools": {"Developer Platforms", "Continuous Integration and Deployment", "Development Environments", "Source Code Management", "Quality Assurance"},
    "Identity": {"Identity and Access Management"},
    "Integration": {"API Management", "Messaging", "Workflow Orchestration"},
    "Internet of Things": {"IoT Analytics", "IoT Platforms"},
    "Management and Governance": {"Architecture", "Compliance", "Cost Management", "Data Governance", "Disaster Recovery", "Endpoint Management", "Observability", "Support"},
    "Media": {"Content Creation", "Gaming", "Media Streaming", "Mixed Reality"},
    "Migration": {"Data Migration", "Resource Migration"},
    "Mobile": set(),
    "Multicloud": {"Multicloud Integration"},
    "Networking": {"Application Networking", "Content Delivery", "Network Connectivity", "Network Infrastructure", "Network Routing", "Network Security"},
    "Security": {"Secret Management", "Security Posture Management", "Threat Detection and Response"},
    "Storage": {"Backup Storage", "Block Storage", "File Storage", "Object Storage", "Storage Platforms"},
    "Web": {"Application Platforms"},
    "Other": set(),
}  # fmt: skip


@pytest.fixture
def plain_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Readers need no catalog: a bare home is enough (and keeps these tests off PostgreSQL)."""
    monkeypatch.setenv("COSTLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COSTLAKE_DATABASE_URL", raising=False)
    return Settings()


def convert(files: list[StoredFile] | list[Path], settings: Settings, **options: str) -> pa.Table:
    stored = [file if isinstance(file, StoredFile) else StoredFile(str(file), 0) for file in files]
    batches = list(read_azure_cost(stored, settings, MonthRange(), options))
    return pa.Table.from_batches(batches, schema=schema.CONVERTED_SCHEMA)


def query(table: pa.Table, sql: str) -> list[tuple]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.register("t", table)
    return connection.execute(sql).fetchall()


def source_totals(path: Path) -> dict[str, Decimal]:
    """Sum of the file's cost column per billing month, computed from its text with Python's Decimal."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            lower = {name.lower(): value for name, value in row.items()}
            cost = next(lower[name] for name in COST_COLUMNS if name in lower)
            day = lower.get("billingperiodstartdate") or lower["date"]
            month = datetime.strptime(day, "%m/%d/%Y")
            totals[f"{month:%Y-%m}"] += Decimal(cost)
    return dict(totals)


def rows_in(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def by_month(table: pa.Table, column: str) -> dict[str, Decimal]:
    return {month: total for month, total in query(table, f"SELECT x_BillingMonth, sum({column}) FROM t GROUP BY 1")}


def assert_to_the_cent(converted: dict[str, Decimal], expected: dict[str, Decimal]) -> None:
    assert converted.keys() == expected.keys()
    for month, total in expected.items():
        # DECIMAL(38,18) keeps 18 decimals; the samples write up to 28, so compare to 1e-15 and to the cent exactly.
        assert abs(converted[month] - total) < Decimal("1e-15"), month
        assert converted[month].quantize(Decimal("0.01")) == total.quantize(Decimal("0.01")), month


# --- correctness gates on the real samples -------------------------------------------------------------------


# The toolkit files say their dataset in their names (the path wins over the option); the others are read as each.
SAMPLE_DATASETS = [
    (name, dataset)
    for name in SAMPLES
    for dataset in ("actual", "amortized")
    if not ("ActualCost" in name and dataset == "amortized") and not ("AmortizedCost" in name and dataset == "actual")
]


@needs_samples
@pytest.mark.parametrize(("name", "dataset"), SAMPLE_DATASETS)
def test_sample_alone_keeps_every_row_and_reconciles_to_the_cent(name: str, dataset: str, plain_settings: Settings) -> None:
    """Actual alone: Sum(BilledCost) = Sum(cost). Amortized alone: Sum(EffectiveCost) = Sum(cost). Rows in = out."""
    path = AZURE_DIR / name
    table = convert([path], plain_settings, dataset=dataset)
    assert table.num_rows == rows_in(path)
    column = "BilledCost" if dataset == "actual" else "EffectiveCost"
    assert_to_the_cent(by_month(table, column), source_totals(path))


@needs_samples
def test_sample_values_match_microsofts_rules(plain_settings: Settings) -> None:
    actual = convert([AZURE_DIR / "finops-toolkit__EA_ActualCost_Small.csv"], plain_settings, dataset="actual")
    purchase = query(
        actual,
        "SELECT ChargeCategory, BilledCost, EffectiveCost, CommitmentDiscountId, CommitmentDiscountType, "
        "ServiceName, BillingPeriodStart::VARCHAR, BillingPeriodEnd::VARCHAR, ChargePeriodEnd::VARCHAR FROM t "
        "WHERE x_Extensions['ChargeType'] = 'Purchase'",
    )
    assert purchase == [
        (
            "Purchase", Decimal("3.25"), Decimal(0),
            "/providers/Microsoft.Capacity/reservationOrders/49ed0e4d-8e0c-4f1f-af2c-67c865056615", "Reservation",
            "Azure Reservations", "2023-09-01 00:00:00+00", "2023-10-01 00:00:00+00", "2023-09-22 00:00:00+00",
        )
    ]  # fmt: skip
    amortized = convert([AZURE_DIR / "finops-toolkit__EA_AmortizedCost_Small.csv"], plain_settings, dataset="amortized")
    covered = query(
        amortized,
        "SELECT CommitmentDiscountType, CommitmentDiscountCategory, CommitmentDiscountStatus, PricingCategory, "
        "BilledCost, EffectiveCost FROM t WHERE CommitmentDiscountId IS NOT NULL ORDER BY 1",
    )
    assert covered == [
        ("Reservation", "Usage", "Used", "Committed", Decimal(0), Decimal("0.493152")),
        ("Savings Plan", "Spend", "Used", "Committed", Decimal(0), Decimal("0.006000000468")),
    ]
    # EA tags come without braces; a 10K unit of measure is a block of 10000 units.
    ea = convert([AZURE_DIR / "focus_converters__sample-anonymous-ea-export-dataset.csv"], plain_settings, dataset="actual")
    row = query(
        ea,
        "SELECT Tags, PricingQuantity, PricingUnit, ConsumedQuantity, ConsumedUnit, BillingCurrency, PricingCategory "
        "FROM t WHERE x_Extensions['UnitOfMeasure'] = '10K' AND x_Extensions['Quantity'] = '0.0129'",
    )
    assert row == [
        ({"tagA": "valueA", "tagB": "valueB", "tagC": "valueC"}, Decimal("0.0129"), "10000 Units", Decimal(129), "Units", "CAD", "Standard")
    ]
    assert query(ea, "SELECT count(*) FROM t WHERE PricingCategory = 'Dynamic'") == [(3,)]  # the Spot rows


@needs_samples
def test_mca_sample_with_its_manifest_fails_on_the_row_count(tmp_path: Path, plain_settings: Settings) -> None:
    """koku's manifest counts 490 rows for its blob; the 4-row sample in its place is a broken delivery."""
    manifest = json.loads((AZURE_DIR / "koku__export_manifest.json").read_text())
    blob = tmp_path / manifest["blobs"][0]["blobName"]
    blob.parent.mkdir(parents=True)
    shutil.copyfile(AZURE_DIR / "koku__camel_azure_version_2_mca.csv", blob)
    shutil.copyfile(AZURE_DIR / "koku__export_manifest.json", blob.parent / "manifest.json")
    files = select_files(str(tmp_path), plain_settings, {})
    assert [file.uri for file in files] == [str(blob)]
    with pytest.raises(ConversionError, match=r"000001\.csv: holds 4 data rows but its manifest .* says 490"):
        convert(files, plain_settings, dataset="actual")
    # Told the right count, the same delivery reads (the manifest has no exportConfig: the option classifies it).
    manifest["blobs"][0]["dataRowCount"] = 4
    (blob.parent / "manifest.json").write_text(json.dumps(manifest))
    assert convert(files, plain_settings, dataset="actual").num_rows == 4


@needs_samples
def test_mca_sample_fills_exchange_rate_columns(plain_settings: Settings) -> None:
    table = convert([AZURE_DIR / "koku__camel_azure_version_2_mca.csv"], plain_settings, dataset="actual")
    rows = query(
        table,
        "SELECT DISTINCT x_ExchangeRateUsdToBilling, BillingAccountType, BillingAccountId, PricingCurrency, "
        "BillingPeriodStart::VARCHAR FROM t",
    )
    # The fixture leaves the billing period empty: billing periods are calendar months, so the charge's month.
    assert rows == [(Decimal(1), "Billing Profile", "NF5V-BI6B-BG7-PGB", "USD", "2023-08-01 00:00:00+00")]
    assert query(table, "SELECT sum(x_BilledCostInUsd) = sum(BilledCost) FROM t") == [(True,)]


# --- the actual + amortized pair ----------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    return write_azure_export(tmp_path / "exports")


def test_pair_reads_the_latest_complete_run_of_each_export(pair: Path, plain_settings: Settings) -> None:
    files = select_files(str(pair), plain_settings, {})
    assert [Path(file.uri).relative_to(pair).parts[:3] for file in files] == [
        ("cost-export-a", "20260101-20260131", "202602010600"),
        ("cost-export-b", "20260101-20260131", "202602010600"),
    ]
    # A glob reads exactly what it matches, manifests or not (here the older run, and the one still writing).
    globbed = select_files(str(pair / "cost-export-a" / "*" / "20260115*" / "*" / "*.csv"), plain_settings, {})
    assert len(globbed) == 1 and "202601150600" in globbed[0].uri


def test_pair_merges_without_double_counting(pair: Path, plain_settings: Settings) -> None:
    table = convert(select_files(str(pair), plain_settings, {}), plain_settings)
    totals = query(table, "SELECT x_BillingMonth, BillingCurrency, sum(BilledCost), sum(EffectiveCost), count(*) FROM t GROUP BY ALL")
    amortized_rows = 12
    commitment_purchases_and_refunds = 3
    assert totals == [
        ("2026-01", "EUR", AZURE_PAIR_TOTALS["actual"], AZURE_PAIR_TOTALS["amortized"], amortized_rows + commitment_purchases_and_refunds)
    ]
    # Each dataset alone: the actual one is the invoice, the amortized one the effective cost.
    actual_files = [f for f in select_files(str(pair), plain_settings, {}) if "cost-export-a" in f.uri]
    actual = convert(actual_files, plain_settings)
    assert query(actual, "SELECT sum(BilledCost), count(*) FROM t") == [(AZURE_PAIR_TOTALS["actual"], 13)]
    amortized_files = [f for f in select_files(str(pair), plain_settings, {}) if "cost-export-b" in f.uri]
    amortized = convert(amortized_files, plain_settings)
    assert query(amortized, "SELECT sum(EffectiveCost), count(*) FROM t") == [(AZURE_PAIR_TOTALS["amortized"], amortized_rows)]


def test_reservation_purchase_vs_amortized_usage_vs_unused_reservation(pair: Path, plain_settings: Settings) -> None:
    """The hard case, column by column: the purchase bills, the usage and the unused part carry the effective cost."""
    table = convert(select_files(str(pair), plain_settings, {}), plain_settings)
    rows = query(
        table,
        "SELECT x_Extensions['chargeType'], x_Extensions['costlake.dataset'], ChargeCategory, ChargeClass, "
        "ChargeFrequency, PricingCategory, CommitmentDiscountId, CommitmentDiscountName, CommitmentDiscountCategory, "
        "CommitmentDiscountType, CommitmentDiscountStatus, BilledCost, EffectiveCost, x_BilledCostInUsd, "
        "x_EffectiveCostInUsd, ConsumedQuantity, PricingQuantity, ServiceName "
        "FROM t WHERE CommitmentDiscountType = 'Reservation' ORDER BY 1, ChargePeriodStart",
    )
    order = "/providers/Microsoft.Capacity/reservationOrders/11111111-1111-1111-1111-111111111111"
    reservation = order + "/reservations/22222222-2222-2222-2222-222222222222"
    purchase = ("Purchase", "actual", "Purchase", None, "Recurring", "Standard", order, "vm-reservation", "Usage", "Reservation",
                None, Decimal(30), Decimal(0), Decimal("37.5"), Decimal(0), None, Decimal(1), "Azure Reservations")
    refund = ("Refund", "actual", "Purchase", "Correction", "One-Time", "Standard", order, "old-reservation", "Usage",
              "Reservation", None, Decimal(-10), Decimal(0), Decimal("-12.5"), Decimal(0), None, Decimal(-1), "Azure Reservations")
    unused = ("UnusedReservation", "amortized", "Usage", None, "Usage-Based", "Committed", reservation, "vm-reservation",
              "Usage", "Reservation", "Unused", Decimal(0), Decimal(6), Decimal(0), Decimal("7.5"), None, Decimal(18),
              "Azure Reservations")
    used = ("Usage", "amortized", "Usage", None, "Usage-Based", "Committed", reservation, "vm-reservation", "Usage",
            "Reservation", "Used", Decimal(0), Decimal(8), Decimal(0), Decimal(10), Decimal(24), Decimal(24), "Virtual Machines")
    assert rows == [purchase, refund, unused, used, used, used]  # fmt: skip
    savings_plan = query(
        table,
        "SELECT x_Extensions['chargeType'], CommitmentDiscountCategory, CommitmentDiscountStatus, BilledCost, EffectiveCost "
        "FROM t WHERE CommitmentDiscountType = 'Savings Plan' ORDER BY 1",
    )
    assert savings_plan == [
        ("Purchase", "Spend", None, Decimal(20), Decimal(0)),
        ("UnusedSavingsPlan", "Spend", "Unused", Decimal(0), Decimal(5)),
        ("Usage", "Spend", "Used", Decimal(0), Decimal("7.5")),
        ("Usage", "Spend", "Used", Decimal(0), Decimal("7.5")),
    ]
    rate = query(table, "SELECT DISTINCT x_ExchangeRateUsdToBilling, PricingCurrency, BillingCurrency FROM t")
    assert rate == [(Decimal("0.8"), "USD", "EUR")]


def test_actual_months_without_amortized_data_stay_whole(pair: Path, tmp_path: Path, plain_settings: Settings) -> None:
    """The merge is per billing month: where only the actual dataset covers a month, all of its rows stay."""
    files = select_files(str(pair), plain_settings, {})
    february = write_azure_export(tmp_path / "february", datetime(2026, 2, 1).date(), stale_runs=False)
    february_actual = [f for f in select_files(str(february), plain_settings, {}) if "cost-export-a" in f.uri]
    table = convert(files + february_actual, plain_settings)
    assert query(table, "SELECT x_BillingMonth, sum(BilledCost), count(*) FROM t GROUP BY 1 ORDER BY 1") == [
        ("2026-01", AZURE_PAIR_TOTALS["actual"], 15),
        ("2026-02", AZURE_PAIR_TOTALS["actual"], 13),
    ]


def test_a_run_with_a_missing_blob_falls_back_to_the_previous_complete_run(pair: Path, plain_settings: Settings) -> None:
    latest = next(p for p in (pair / "cost-export-a").rglob("part_0_0001.csv") if "202602010600" in str(p))
    latest.unlink()
    files = select_files(str(pair), plain_settings, {})
    assert ["202601150600" in f.uri for f in files] == [True, False]


# --- headers, classification, detection ---------------------------------------------------------------------


def write(path: Path, header: list[str], rows: list[list[str]], bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_localized_and_legacy_headers(tmp_path: Path, plain_settings: Settings) -> None:
    german = write(
        tmp_path / "de.csv",
        ["Abonnement-GUID (SubscriptionGuid)", "Ressourcengruppe (ResourceGroup)", "Nutzungsdatum (UsageDateTime)",
         "Kategorie der Verbrauchseinheit (MeterCategory)", "Kosten vor Steuern (PreTaxCost)", "Währung (Currency)",
         "Menge (UsageQuantity)", "Maßeinheit (UnitOfMeasure)", "Tags (Tags)"],
        [["sub-1", "rg", "2/3/2024", "Storage", "1.25", "eur", "2", "1 GB/Month", '{"a": "b"}']],
        bom=True,
    )  # fmt: skip
    assert english_name("\ufeffAbonnement-GUID (SubscriptionGuid)") == "SubscriptionGuid"
    table = convert([german], plain_settings, dataset="actual")
    assert query(
        table,
        "SELECT SubAccountId, BillingAccountId, ChargePeriodStart::VARCHAR, BilledCost, BillingCurrency, ChargeCategory, "
        "ChargeFrequency, ConsumedUnit, Tags, x_Extensions['ResourceGroup'] FROM t",
    ) == [("sub-1", "sub-1", "2024-02-03 00:00:00+00", Decimal("1.25"), "EUR", "Usage", "Usage-Based", "GB/Month", {"a": "b"}, "rg")]


def test_detect_recognizes_azure_headers_only() -> None:
    assert looks_like_azure_cost_details(["BillingAccountId", "Date", "MeterCategory", "CostInBillingCurrency"])
    assert looks_like_azure_cost_details(["date", "meterId", "costInBillingCurrency", "billingCurrency"])
    assert looks_like_azure_cost_details(["\ufeffSubscriptionGuid", "UsageDateTime", "MeterCategory", "PreTaxCost"])
    assert looks_like_azure_cost_details(["Datum (Date)", "Verbrauchter Dienst (ConsumedService)", "Kosten (Cost)"])
    assert not looks_like_azure_cost_details(["BilledCost", "ChargePeriodStart", "BillingCurrency", "ConsumedService", "Cost", "Date"])
    assert not looks_like_azure_cost_details(["line_item_unblended_cost", "line_item_usage_start_date", "product"])
    assert FORMATS["azure-cost-details"].detect(["Date", "MeterCategory", "Cost"])


def test_a_file_nothing_classifies_asks_for_the_dataset_option(tmp_path: Path, plain_settings: Settings) -> None:
    plain = write(tmp_path / "export" / "part.csv", ["Date", "MeterCategory", "Cost", "BillingCurrency"], [["1/2/2024", "VM", "1", "USD"]])
    with pytest.raises(ConversionError, match=r"part\.csv: .*set --option dataset=actual or --option dataset=amortized"):
        convert([plain], plain_settings)
    assert convert([plain], plain_settings, dataset="amortized").num_rows == 1
    with pytest.raises(ConversionError, match="dataset='amortised': use dataset=actual or dataset=amortized"):
        convert([plain], plain_settings, dataset="amortised")
    by_path = write(tmp_path / "daily-amortizedcost" / "part.csv", ["Date", "MeterCategory", "Cost", "BillingCurrency"], [["1/2/2024", "VM", "1", "USD"]])
    assert query(convert([by_path], plain_settings, dataset="actual"), "SELECT x_Extensions['costlake.dataset'] FROM t") == [("amortized",)]
    (plain.parent / "manifest.json").write_text(json.dumps({"exportConfig": {"type": "FocusCost"}, "blobs": []}))
    with pytest.raises(ConversionError, match="FocusCost.*use format focus"):
        convert([plain], plain_settings, dataset="actual")


def test_missing_cost_column_names_what_was_expected(tmp_path: Path, plain_settings: Settings) -> None:
    bad = write(tmp_path / "actual" / "x.csv", ["Date", "MeterCategory", "BillingCurrency"], [["1/2/2024", "VM", "USD"]])
    with pytest.raises(ConversionError, match=r"x\.csv: missing costinbillingcurrency"):
        convert([bad], plain_settings)


# --- lookups and arithmetic ---------------------------------------------------------------------------------


def test_service_categories_are_focus_values() -> None:
    categories = service_categories("azure")
    assert len(categories) == 159  # 160 names; "Azure VMware Solution" is also spelled "Azure VMWare Solution"
    for name, (category, subcategory) in categories.items():
        assert subcategory in SUBCATEGORIES[category] | {f"Other ({category})"}, name


def test_exact_product_keeps_18_decimals_beyond_duckdbs_decimal_range() -> None:
    def product(left: str, right: str) -> Decimal:
        sql = exact_product(f"CAST('{left}' AS DECIMAL(38,18))", f"CAST('{right}' AS DECIMAL(38,18))")
        return duckdb.connect().execute(f"SELECT {sql}").fetchall()[0][0]

    assert product("123456.000056490200000001", "123456.000056490200000001") == Decimal("15241383949.948108265591389608")
    assert product("-3.7", "2.9") == Decimal("-10.73")
    assert product("0.000000597720000000", "0.2") == Decimal("0.000000119544")


# --- end to end through the API ----------------------------------------------------------------------------


def test_sync_of_an_export_folder_through_the_api(operator_client, make_tenant, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_tenant("acme")
    root = write_azure_export(tmp_path / "exports")
    response = operator_client.post(
        "/api/v1/tenants/acme/billing-sources", json={"provider": "azure", "source_uri": str(root)}
    )
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["format"] == "azure-cost-details"
    run = sync_and_wait(operator_client, "acme", source["id"], body={"from": "2026-01-01"})
    assert run["status"] == "succeeded", run
    assert run["row_count"] == 15 and run["files"] == 2
    assert run["billed_cost_by_month"] == {"2026-01": {"EUR": "59.2002"}}


def test_export_container_in_azure_storage(azurite_env, tmp_path: Path, plain_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """The same delivery rules over az:// (Azurite): manifests found, latest runs picked, the pair merged."""
    local = write_azure_export(tmp_path / "exports")
    container = azurite_env.create_bucket()
    for path in local.rglob("*"):
        if path.is_file():
            azurite_env.upload(container, f"exports/{path.relative_to(local).as_posix()}", path.read_bytes())
    files = select_files(f"az://{container}/exports", plain_settings, {})
    assert [file.uri.split("/")[4:6] for file in files] == [["cost-export-a", "20260101-20260131"], ["cost-export-b", "20260101-20260131"]]
    assert all("202602010600" in file.uri for file in files)
    table = convert(files, plain_settings)
    assert query(table, "SELECT sum(BilledCost), sum(EffectiveCost), count(*) FROM t") == [
        (AZURE_PAIR_TOTALS["actual"], AZURE_PAIR_TOTALS["amortized"], 15)
    ]
