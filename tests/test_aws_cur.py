"""AWS CUR 2.0 and legacy CUR -> FOCUS: the hard cases, the public samples, deliveries and manifests, end to end."""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SAMPLES_DIR, sync_and_wait
from costlake.formats.aws.columns import looks_like_cur2, looks_like_legacy_cur, snake_name
from costlake.formats.aws.source import in_months
from costlake.formats.conversion import ConversionError
from costlake.formats.registry import FORMATS
from costlake.months import MonthRange, add_months, current_month
from costlake.samples.aws_export import HARD_CASES, SCALE, generate_cur2_export
from costlake.settings import Settings
from costlake.storage import StoredFile

AWS_SAMPLES = sorted((SAMPLES_DIR / "aws").glob("*.csv")) if (SAMPLES_DIR / "aws").is_dir() else []
NOW = current_month()
MONTH = date.fromisoformat(f"{NOW}-01")
PREVIOUS = add_months(NOW, -1)
UNUSED_ROWS_PER_MONTH = 2  # the generator's RIFee and SavingsPlanRecurringFee lines both have unused commitment


def convert(uri: str | Path, format_name: str = "aws-cur2") -> pa.Table:
    """select_files + read of every month, as a sync does."""
    settings = Settings()
    source_format = FORMATS[format_name]
    files = source_format.select_files(str(uri), settings, {})
    return pa.Table.from_batches(list(source_format.read(files, settings, MonthRange(), {})))


def rows_by_line_type(converted: pa.Table) -> dict[str, dict]:
    """Rows keyed by CUR line item type (`<type>/Unused` for the unused-commitment row made from a recurring fee),
    except the many Usage rows. Through pyarrow: DuckDB's TIMESTAMPTZ to Python needs pytz."""
    rows: dict[str, dict] = {}
    for row in converted.to_pylist():
        line_type = dict(row["x_Extensions"])["line_item_line_item_type"]
        if line_type != "Usage":
            rows[line_type + ("/Unused" if row["CommitmentDiscountStatus"] == "Unused" else "")] = row
    return rows


@pytest.fixture(scope="module")
def cur2_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_cur2_export(tmp_path_factory.mktemp("cur2"), MONTH, months=2, rows_per_month=300, mode="create-new", deliveries=2)


@pytest.fixture(scope="module")
def cur2_table(cur2_export: Path) -> pa.Table:
    return convert(cur2_export)


# -- the hard cases ----------------------------------------------------------------------------------------------

EXPECTED = {
    # line type: (BilledCost, EffectiveCost, ChargeCategory, ChargeClass, ChargeFrequency, PricingCategory,
    #             CommitmentDiscountType, CommitmentDiscountStatus, ContractedCost)
    "SavingsPlanCoveredUsage": ("1.00", "0.60", "Usage", None, "Usage-Based", "Committed", "Savings Plan", "Used", "1.00"),
    "SavingsPlanNegation": ("-1.00", "0", "Usage", None, "Usage-Based", "Committed", "Savings Plan", "Used", "0"),
    "SavingsPlanRecurringFee": ("0.80", "0", "Purchase", None, "Recurring", "Standard", "Savings Plan", None, "0.80"),
    "SavingsPlanRecurringFee/Unused": ("0", "0.20", "Usage", None, "Usage-Based", "Committed", "Savings Plan", "Unused", "0"),
    "SavingsPlanUpfrontFee": ("2.40", "0", "Purchase", None, "One-Time", "Standard", "Savings Plan", None, "2.40"),
    "DiscountedUsage": ("0", "0.45", "Usage", None, "Usage-Based", "Committed", "Reserved Instance", "Used", "0.96"),
    "RIFee": ("0.40", "0", "Purchase", None, "Recurring", "Standard", "Reserved Instance", None, "0.40"),
    "RIFee/Unused": ("0", "0.15", "Usage", None, "Usage-Based", "Committed", "Reserved Instance", "Unused", "0"),
    "Fee": ("1.20", "0", "Purchase", None, "One-Time", "Standard", "Reserved Instance", None, "1.20"),
    "Credit": ("-0.50", "-0.50", "Credit", None, "One-Time", None, None, None, "-0.50"),
    "Refund": ("-0.25", "-0.25", "Adjustment", "Correction", "One-Time", None, None, None, "-0.25"),
    "Tax": ("0.33", "0.33", "Tax", None, "One-Time", None, None, None, "0.33"),
    "EdpDiscount": ("-0.07", "-0.07", "Credit", None, "Usage-Based", None, None, None, "-0.07"),
}


def test_every_hard_case_gets_its_focus_values(cur2_table: pa.Table) -> None:
    this_month = cur2_table.filter(pa.compute.equal(cur2_table["x_BillingMonth"], NOW))
    rows = rows_by_line_type(this_month)
    assert {line_type.split("/")[0] for line_type in rows} == {line_type.split("/")[0] for line_type in EXPECTED}
    assert set(rows) == set(EXPECTED) and {case.line_type for case in HARD_CASES} == {key.split("/")[0] for key in EXPECTED}
    for line_type, (billed, effective, category, charge_class, frequency, pricing, cd_type, cd_status, contracted) in EXPECTED.items():
        row = rows[line_type]
        got = (
            row["BilledCost"], row["EffectiveCost"], row["ChargeCategory"], row["ChargeClass"], row["ChargeFrequency"],
            row["PricingCategory"], row["CommitmentDiscountType"], row["CommitmentDiscountStatus"], row["ContractedCost"],
        )
        want = (Decimal(billed), Decimal(effective), category, charge_class, frequency, pricing, cd_type, cd_status, Decimal(contracted))
        assert got == want, line_type
    # The generator's own EffectiveCost for each line (over the rows it becomes) agrees with the table above.
    effective_by_line: dict[str, Decimal] = defaultdict(Decimal)
    for key, values in EXPECTED.items():
        effective_by_line[key.split("/")[0]] += Decimal(values[1])
    assert {case.line_type: Decimal(case.effective) / SCALE for case in HARD_CASES} == effective_by_line
    # The unused rows carry no consumption and keep the RI's unused hours.
    assert rows["RIFee/Unused"]["ConsumedQuantity"] is None and rows["RIFee/Unused"]["ChargeDescription"].startswith("Unused commitment: ")
    # Commitment ids: the SP ARN on every SP line, the RI ARN on every RI line (not lost as in focus_converters).
    assert rows["SavingsPlanNegation"]["CommitmentDiscountId"].startswith("arn:aws:savingsplans::")
    assert rows["SavingsPlanCoveredUsage"]["CommitmentDiscountCategory"] == "Spend"
    assert rows["RIFee"]["CommitmentDiscountId"].startswith("arn:aws:ec2:")
    assert rows["DiscountedUsage"]["CommitmentDiscountCategory"] == "Usage"
    # Negation is not consumption: no ConsumedQuantity double count.
    assert rows["SavingsPlanNegation"]["ConsumedQuantity"] is None
    assert rows["SavingsPlanCoveredUsage"]["ConsumedQuantity"] == Decimal(10)
    assert rows["Tax"]["PricingQuantity"] is None and rows["Credit"]["ConsumedUnit"] is None


def test_savings_plan_and_reservation_lines_net_to_the_commitment(cur2_table: pa.Table) -> None:
    """Over a month, the SP lines bill the commitment and their EffectiveCost spreads it over use and non-use."""
    totals = duckdb.sql(
        "SELECT CommitmentDiscountType, sum(BilledCost), sum(EffectiveCost) FROM cur2_table "
        "WHERE x_BillingMonth = $month AND x_Extensions['line_item_line_item_type'] NOT IN ('SavingsPlanUpfrontFee', 'Fee') "
        "AND CommitmentDiscountType IS NOT NULL GROUP BY 1",
        params={"month": NOW},
    ).fetchall()
    assert {name: (billed, effective) for name, billed, effective in totals} == {
        "Savings Plan": (Decimal("0.80"), Decimal("0.80")),
        "Reserved Instance": (Decimal("0.40"), Decimal("0.60")),  # 0.45 used + 0.15 unused (upfront amortized in)
    }


def test_usage_is_billed_net_of_the_private_rate_discount(cur2_table: pa.Table) -> None:
    rows = duckdb.sql(
        "SELECT BilledCost, EffectiveCost, ListCost, x_Extensions['line_item_unblended_cost'], PricingCategory, Tags, "
        "x_TagOrigins, ServiceCategory, RegionId, x_BilledCostInUsd, x_ExchangeRateUsdToBilling "
        "FROM cur2_table WHERE x_Extensions['line_item_line_item_type'] = 'Usage'"
    ).fetchall()
    assert rows
    for billed, effective, list_cost, unblended, pricing, tags, origins, category, region, usd, rate in rows:
        assert billed == effective == usd and rate == 1
        assert billed <= Decimal(unblended) <= list_cost
        assert pricing in ("Standard", "Dynamic")
        assert tags["costCategory/Team"] == tags["user_team"] and origins["user_team"] == "resource_tag"
        assert origins["costCategory/Team"] == "cost_category"
        assert category != "Other" and region in ("us-east-1", "eu-west-1")


def test_cur2_totals_reconcile_per_month_with_net_unblended(cur2_export: Path, cur2_table: pa.Table) -> None:
    latest = sorted(cur2_export.glob("data/*/*/*.parquet"))[1::2]  # the later run of each month
    expected = _invoice_totals_parquet(latest)
    got = duckdb.sql("SELECT x_BillingMonth, sum(BilledCost), count(*) FROM cur2_table GROUP BY 1").fetchall()
    # Rows out = rows in + one unused-commitment row per recurring fee line with unused commitment (2 a month here).
    assert {month: (total, count - UNUSED_ROWS_PER_MONTH) for month, total, count in got} == expected
    assert set(expected) == {PREVIOUS, NOW}


def _invoice_totals_parquet(files: list[Path]) -> dict[str, tuple[Decimal, int]]:
    rows = duckdb.sql(
        "SELECT strftime(bill_billing_period_start_date, '%Y-%m'), "
        "sum(CAST(CAST(COALESCE(line_item_net_unblended_cost, line_item_unblended_cost) AS VARCHAR) AS DECIMAL(38,18))), count(*) "
        f"FROM read_parquet({[str(file) for file in files]}) GROUP BY 1"
    ).fetchall()
    return {month: (total, count) for month, total, count in rows}


# -- legacy CUR: slash names, per-key tags, Athena snake_case --------------------------------------------------------

LEGACY_HEADER = [
    "identity/LineItemId", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "bill/PayerAccountId",
    "lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate", "lineItem/UsageEndDate",
    "lineItem/ProductCode", "lineItem/CurrencyCode", "lineItem/UnblendedCost", "lineItem/NetUnblendedCost",
    "lineItem/UsageAmount", "pricing/unit", "pricing/term", "product/ProductName", "product/regionCode",
    "reservation/ReservationARN", "reservation/EffectiveCost", "reservation/NetEffectiveCost",
    "savingsPlan/SavingsPlanARN", "savingsPlan/SavingsPlanEffectiveCost",
    "resourceTags/user:Owner", "resourceTags/aws:createdBy", "costCategory/Team",
]


def _legacy_row(**values: str) -> list[str]:
    base = {
        "identity/LineItemId": "a1", "bill/BillingPeriodStartDate": "2023-06-01T00:00:00Z",
        "bill/BillingPeriodEndDate": "2023-07-01T00:00:00Z", "bill/PayerAccountId": "000123456789",
        "lineItem/UsageAccountId": "000987654321", "lineItem/LineItemType": "Usage",
        "lineItem/UsageStartDate": "2023-06-01 00:00:00", "lineItem/UsageEndDate": "2023-06-01 01:00:00",
        "lineItem/ProductCode": "AmazonEC2", "lineItem/CurrencyCode": "USD", "pricing/unit": "Hrs", "pricing/term": "OnDemand",
        "product/ProductName": "Amazon Elastic Compute Cloud", "product/regionCode": "us-east-1", "lineItem/UsageAmount": "1",
    }
    base.update(values)
    return [base.get(name, "") for name in LEGACY_HEADER]


def test_legacy_slash_names_tags_and_net_fallback(tmp_path: Path) -> None:
    path = tmp_path / "report-1.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LEGACY_HEADER)
        writer.writerow(_legacy_row(**{"lineItem/UnblendedCost": "0.10", "lineItem/NetUnblendedCost": "0.09",
                                       "resourceTags/user:Owner": "Alice", "costCategory/Team": "web"}))
        # Net column empty on this row: the gross value is billed.
        writer.writerow(_legacy_row(**{"identity/LineItemId": "a2", "lineItem/UnblendedCost": "0.20",
                                       "resourceTags/aws:createdBy": "AssumedRole:x"}))
        writer.writerow(_legacy_row(**{"identity/LineItemId": "a3", "lineItem/LineItemType": "DiscountedUsage",
                                       "lineItem/UnblendedCost": "0", "lineItem/NetUnblendedCost": "0",
                                       "reservation/ReservationARN": "arn:aws:ec2:us-east-1:000123456789:reserved-instances/r1",
                                       "reservation/EffectiveCost": "0.05", "reservation/NetEffectiveCost": "0.045"}))
    table = convert(path, "aws-cur-legacy")
    rows = {dict(row["x_Extensions"])["identity/LineItemId"]: row for row in table.to_pylist()}
    assert len(table) == 3
    first, second, third = (rows[key] for key in ("a1", "a2", "a3"))
    assert (first["BilledCost"], second["BilledCost"], third["BilledCost"]) == (Decimal("0.09"), Decimal("0.20"), 0)
    assert third["EffectiveCost"] == Decimal("0.045")  # the net twin of reservation/EffectiveCost
    assert dict(first["Tags"]) == {"costCategory/Team": "web", "user:Owner": "Alice"}  # keys exactly as AWS writes them
    assert dict(second["Tags"]) == {"aws:createdBy": "AssumedRole:x"}
    assert first["BillingAccountId"] == "000123456789"  # leading zeros kept
    assert first["ChargePeriodStart"].isoformat() == "2023-06-01T00:00:00+00:00"
    assert first["x_BillingMonth"] == "2023-06" and first["RegionId"] == "us-east-1"
    assert third["CommitmentDiscountType"] == "Reserved Instance" and third["PricingCategory"] == "Committed"


def test_legacy_athena_snake_case_parquet_with_per_key_tag_columns(tmp_path: Path) -> None:
    path = tmp_path / "athena.parquet"
    pq.write_table(
        pa.table({
            "bill_billing_period_start_date": pa.array([datetime(2024, 3, 1)], pa.timestamp("ms")),
            "line_item_line_item_type": ["SavingsPlanCoveredUsage"],
            "line_item_usage_start_date": pa.array([datetime(2024, 3, 2)], pa.timestamp("ms")),
            "line_item_currency_code": ["USD"],
            "line_item_unblended_cost": [0.1],
            "line_item_product_code": ["AmazonEC2"],
            "savings_plan_savings_plan_a_r_n": ["arn:aws:savingsplans::1:savingsplan/x"],
            "savings_plan_savings_plan_effective_cost": [0.07],
            "product_region": ["us-west-2"],
            "resource_tags_user_owner": ["bob"],
            "resource_tags_user_cost_center": [None],
            "cost_category_team": ["web"],
        }),
        path,
    )
    assert looks_like_legacy_cur(pq.read_schema(path).names) and not looks_like_cur2(pq.read_schema(path).names)
    row = convert(path, "aws-cur-legacy").to_pylist()[0]
    assert (row["BilledCost"], row["EffectiveCost"]) == (Decimal("0.1"), Decimal("0.07"))  # 0.1, not 0.1000000000000000055
    assert dict(row["Tags"]) == {"costCategory/team": "web", "user_owner": "bob"}
    assert row["CommitmentDiscountId"] == "arn:aws:savingsplans::1:savingsplan/x" and row["RegionId"] == "us-west-2"


def test_snake_names_follow_aws_rule() -> None:
    assert snake_name("lineItem/UnblendedCost") == "line_item_unblended_cost"
    assert snake_name("savingsPlan/SavingsPlanARN") == "savings_plan_savings_plan_a_r_n"
    assert snake_name("pricing/publicOnDemandCost") == "pricing_public_on_demand_cost"
    assert snake_name("Line_Item_Unblended_Cost") == "line_item_unblended_cost"


def test_detection_tells_the_formats_apart(cur2_export: Path) -> None:
    cur2 = pq.read_schema(next(cur2_export.glob("data/*/*/*.parquet"))).names
    legacy = LEGACY_HEADER
    focus = ["BilledCost", "ChargePeriodStart", "BillingCurrency", "EffectiveCost"]
    assert [name for name, source_format in FORMATS.items() if source_format.detect(cur2)] == ["aws-cur2"]
    assert [name for name, source_format in FORMATS.items() if source_format.detect(legacy)] == ["aws-cur-legacy"]
    assert not looks_like_cur2(focus) and not looks_like_legacy_cur(focus)


def test_missing_required_columns_fail_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "not-cur.csv"
    path.write_text("lineItem/LineItemType,lineItem/UnblendedCost\nUsage,1\n")
    with pytest.raises(ConversionError, match=r"not-cur\.csv.*missing column\(s\) line_item_usage_start_date, line_item_currency_code"):
        convert(path, "aws-cur-legacy")


# -- public samples: rows in = rows out, invoice totals to the cent ----------------------------------------------------


@pytest.mark.skipif(not AWS_SAMPLES, reason=f"public samples not found at {SAMPLES_DIR / 'aws'}")
@pytest.mark.parametrize("path", AWS_SAMPLES, ids=lambda path: path.stem)
def test_public_sample_rows_and_invoice_totals(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        cost = row.get("lineItem/NetUnblendedCost") or row["lineItem/UnblendedCost"]
        expected[row["bill/BillingPeriodStartDate"][:7]] += Decimal(cost)
    converted = convert(path, "aws-cur-legacy")
    assert len(converted) == len(rows)
    got = duckdb.sql("SELECT x_BillingMonth, sum(BilledCost) FROM converted GROUP BY 1").fetchall()
    assert {month: round(total, 2) for month, total in got} == {month: round(total, 2) for month, total in expected.items()}
    # Beyond the cent: exact up to DECIMAL(38,18), which rounds koku's 19-decimal costs at the 18th place.
    assert all(abs(total - expected[month]) <= Decimal("1e-18") * len(rows) for month, total in got)
    assert duckdb.sql("SELECT count(*) FROM converted WHERE ServiceCategory = 'Other'").fetchall()[0][0] == 0


# -- deliveries ---------------------------------------------------------------------------------------------------


def test_create_new_mode_reads_only_the_latest_run(cur2_export: Path) -> None:
    files = FORMATS["aws-cur2"].select_files(str(cur2_export), Settings(), {})
    runs = sorted({Path(file.uri).parent.name for file in files})
    assert len(files) == 2 and all(run.startswith(f"{month.replace('-', '')}03T") for run, month in zip(runs, [PREVIOUS, NOW], strict=True))


def test_overwrite_mode_ignores_stale_chunks_and_months_without_a_manifest(tmp_path: Path) -> None:
    root = generate_cur2_export(tmp_path, MONTH, months=2, rows_per_month=40, chunk_rows=20)
    period = root / "data" / f"BILLING_PERIOD={NOW}"
    shutil.copy(period / "costlake-cur2-00001.snappy.parquet", period / "costlake-cur2-00009.snappy.parquet")  # stale
    in_progress = root / "data" / "BILLING_PERIOD=2099-01"
    in_progress.mkdir()
    shutil.copy(period / "costlake-cur2-00001.snappy.parquet", in_progress / "costlake-cur2-00001.snappy.parquet")
    files = FORMATS["aws-cur2"].select_files(str(root), Settings(), {})
    names = [file.uri.removeprefix(str(root)) for file in files]
    assert len(names) == 6 and not any("00009" in name or "2099" in name for name in names)
    # A glob reads exactly what it matches, manifests or not.
    globbed = FORMATS["aws-cur2"].select_files(str(root / "data" / "*" / "*.parquet"), Settings(), {})
    assert len(globbed) == 8


def test_row_count_mismatch_fails_naming_the_files(tmp_path: Path) -> None:
    root = generate_cur2_export(tmp_path, MONTH, months=1, rows_per_month=10)
    manifest = next(root.glob("metadata/*/*-Manifest.json"))
    content = json.loads(manifest.read_text())
    content["totalRowCount"] += 1
    manifest.write_text(json.dumps(content))
    with pytest.raises(ConversionError, match=r"Manifest\.json says the .* delivery holds 22 rows, its files hold 21: .*costlake-cur2-00001"):
        FORMATS["aws-cur2"].select_files(str(root), Settings(), {})


def test_missing_listed_file_fails(tmp_path: Path) -> None:
    root = generate_cur2_export(tmp_path, MONTH, months=1, rows_per_month=10)
    next(root.glob("data/*/*.parquet")).unlink()
    (root / "data" / "other.parquet").write_bytes(b"")  # something else still there, so the folder lists
    with pytest.raises(ConversionError, match=r"lists s3://.*costlake-cur2-00001\.snappy\.parquet, which is not among"):
        FORMATS["aws-cur2"].select_files(str(root), Settings(), {})


def test_legacy_layout_reads_the_assembly_the_range_manifest_names(tmp_path: Path) -> None:
    report = tmp_path / "cur" / "daily"
    old, new = report / "20230601-20230701" / "assembly-old", report / "20230601-20230701" / "assembly-new"
    for folder, rows in ((old, 1), (new, 2)):
        folder.mkdir(parents=True)
        with (folder / "daily-1.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(LEGACY_HEADER)
            for index in range(rows):
                writer.writerow(_legacy_row(**{"identity/LineItemId": f"{folder.name}-{index}", "lineItem/UnblendedCost": "1"}))
        (folder / "daily-Manifest.json").write_text(json.dumps({"assemblyId": folder.name, "reportKeys": [f"cur/daily/20230601-20230701/{folder.name}/daily-1.csv"]}))
    (report / "20230601-20230701" / "daily-Manifest.json").write_text(
        json.dumps({"assemblyId": "assembly-new", "billingPeriod": {"start": "20230601T000000.000Z"},
                    "reportKeys": ["cur/daily/20230601-20230701/assembly-new/daily-1.csv"]})
    )
    files = FORMATS["aws-cur-legacy"].select_files(str(tmp_path / "cur"), Settings(), {})
    assert [Path(file.uri).parent.name for file in files] == ["assembly-new"]
    assert len(convert(tmp_path / "cur", "aws-cur-legacy")) == 2


def test_without_manifests_every_file_is_read(tmp_path: Path) -> None:
    root = generate_cur2_export(tmp_path, MONTH, months=2, rows_per_month=10)
    shutil.rmtree(root / "metadata")
    assert len(FORMATS["aws-cur2"].select_files(str(root), Settings(), {})) == 2


def test_files_of_months_outside_the_range_are_skipped_by_folder() -> None:
    inside = MonthRange(first="2026-01", last="2026-02")
    assert in_months(StoredFile("s3://b/x/data/BILLING_PERIOD=2026-02/x.parquet", 1), inside)
    assert not in_months(StoredFile("s3://b/x/data/BILLING_PERIOD=2025-12/x.parquet", 1), inside)
    assert not in_months(StoredFile("/r/daily/20260301-20260401/a/daily-1.csv.gz", 1), inside)
    assert in_months(StoredFile("/r/plain.csv", 1), inside)


# -- end to end through the API --------------------------------------------------------------------------------------


def _add(client, uri: Path, format_name: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(uri), "format": format_name}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_sync_of_a_cur2_export_root_reconciles(operator_client, make_tenant, cur2_export: Path) -> None:  # type: ignore[no-untyped-def]
    make_tenant("acme")
    source = _add(operator_client, cur2_export, "auto")
    assert source["format"] == "aws-cur2"
    run = sync_and_wait(operator_client, "acme", source["id"])
    assert run["status"] == "succeeded", run
    latest = sorted(cur2_export.glob("data/*/*/*.parquet"))[1::2]
    expected = _invoice_totals_parquet(latest)
    assert run["row_count"] == sum(count + UNUSED_ROWS_PER_MONTH for _, count in expected.values())
    assert {month: Decimal(totals["USD"]) for month, totals in run["billed_cost_by_month"].items()} == {
        month: total for month, (total, _) in expected.items()
    }


def test_manifest_row_count_mismatch_is_a_failed_run(operator_client, make_tenant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_tenant("acme")
    root = generate_cur2_export(tmp_path, MONTH, months=1, rows_per_month=10)
    manifest = next(root.glob("metadata/*/*-Manifest.json"))
    manifest.write_text(manifest.read_text().replace('"totalRowCount": 21', '"totalRowCount": 20'))
    run = sync_and_wait(operator_client, "acme", _add(operator_client, root, "aws-cur2")["id"])
    assert run["status"] == "failed" and "costlake-cur2-00001.snappy.parquet" in run["error"], run


@pytest.mark.skipif(not AWS_SAMPLES, reason=f"public samples not found at {SAMPLES_DIR / 'aws'}")
def test_sync_of_the_legacy_sample(operator_client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    make_tenant("acme")
    sample = SAMPLES_DIR / "aws" / "focus_converters__sample-anonymous-aws-export-dataset.csv"
    source = _add(operator_client, sample, "auto")
    assert source["format"] == "aws-cur-legacy"
    run = sync_and_wait(operator_client, "acme", source["id"], body={"from": "2023-01-01"})
    assert run["status"] == "succeeded", run
    assert run["row_count"] == 1281
    assert run["billed_cost_by_month"] == {"2023-11": {"USD": "1.6823086974"}}
