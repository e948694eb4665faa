"""The sample FOCUS export: deterministic, laid out like a provider's, spec-shaped and internally consistent."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costlake.samples import generate_focus_export

# FOCUS 1.2 Cost and Usage columns (focus-spec.md §2), written out here rather than imported from the generator.
SPEC_COLUMNS = """AvailabilityZone BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency
BillingPeriodEnd BillingPeriodStart CapacityReservationId CapacityReservationStatus ChargeCategory ChargeClass
ChargeDescription ChargeFrequency ChargePeriodEnd ChargePeriodStart CommitmentDiscountCategory CommitmentDiscountId
CommitmentDiscountName CommitmentDiscountQuantity CommitmentDiscountStatus CommitmentDiscountType
CommitmentDiscountUnit ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice EffectiveCost InvoiceId
InvoiceIssuerName ListCost ListUnitPrice PricingCategory PricingCurrency PricingCurrencyContractedUnitPrice
PricingCurrencyEffectiveCost PricingCurrencyListUnitPrice PricingQuantity PricingUnit ProviderName PublisherName
RegionId RegionName ResourceId ResourceName ResourceType ServiceCategory ServiceName ServiceSubcategory SkuId SkuMeter
SkuPriceDetails SkuPriceId SubAccountId SubAccountName SubAccountType Tags""".split()
DECIMAL_COLUMNS = """BilledCost CommitmentDiscountQuantity ConsumedQuantity ContractedCost ContractedUnitPrice
EffectiveCost ListCost ListUnitPrice PricingCurrencyContractedUnitPrice PricingCurrencyEffectiveCost
PricingCurrencyListUnitPrice PricingQuantity""".split()
TIMESTAMP_COLUMNS = ["BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart"]
SERVICE_CATEGORIES = {
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media", "Migration",
    "Mobile", "Networking", "Security", "Storage", "Web", "Other",
}
END = date(2026, 2, 1)
ROWS = 3000  # per month: more than one Adjustment position (every 2000 rows) and several files of 1000


@pytest.fixture(scope="module")
def parquet_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("parquet")
    return generate_focus_export(out, end_month=END, months=3, rows_per_month=ROWS, rows_per_file=1000)


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("csv")
    return generate_focus_export(out, end_month=END, months=3, rows_per_month=ROWS, rows_per_file=1000,
                                 file_format="csv")


@pytest.fixture(scope="module")
def con(parquet_files: list[Path]) -> duckdb.DuckDBPyConnection:
    """DuckDB over the Parquet sample as view `f`; timestamps are read back as UTC text (fetching them needs pytz)."""
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    files = ", ".join(f"'{p}'" for p in parquet_files)
    c.execute(f"CREATE VIEW f AS SELECT * FROM read_parquet([{files}], hive_partitioning = false)")
    return c


def digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_same_inputs_give_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    kwargs = {"end_month": END, "months": 2, "rows_per_month": 700, "rows_per_file": 300}
    for file_format in ("parquet", "csv"):
        a = generate_focus_export(tmp_path / "a", file_format=file_format, **kwargs)
        b = generate_focus_export(tmp_path / "b", file_format=file_format, **kwargs)
        c = generate_focus_export(tmp_path / "c", file_format=file_format, seed=7, **kwargs)
        assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
        assert digest(a) == digest(b)
        assert all(x != y for x, y in zip(digest(a), digest(c)))


def test_layout_months_end_at_end_month_and_files_split(parquet_files: list[Path]) -> None:
    assert parquet_files == sorted(parquet_files)
    layout = [f"{p.parent.name}/{p.name}" for p in parquet_files]
    assert layout == [f"billing_period={m}/part-0000{k}.parquet" for m in ("2025-12", "2026-01", "2026-02")
                      for k in range(3)]
    assert all(pq.ParquetFile(p).metadata.num_rows == 1000 for p in parquet_files)


def test_billing_and_charge_periods(con: duckdb.DuckDBPyConnection, parquet_files: list[Path]) -> None:
    for p in parquet_files:
        month = p.parent.name.removeprefix("billing_period=")
        periods = rows(con, f"""SELECT DISTINCT BillingPeriodStart::VARCHAR, BillingPeriodEnd::VARCHAR
                                FROM read_parquet('{p}')""")
        start = f"{month}-01 00:00:00+00"
        assert len(periods) == 1 and periods[0][0] == start
    bad = rows(con, """SELECT count(*) FROM f WHERE ChargePeriodStart < BillingPeriodStart
                       OR ChargePeriodEnd > BillingPeriodEnd OR ChargePeriodEnd <= ChargePeriodStart""")
    assert bad == [(0,)]
    lengths = {r[0] for r in rows(con, "SELECT DISTINCT (ChargePeriodEnd - ChargePeriodStart)::VARCHAR FROM f")}
    assert {"01:00:00", "1 day"} <= lengths  # hourly and daily usage, plus whole-month tax
    # Rows come in charge-period order within each file, as a provider writes them.
    unordered = rows(con, f"""SELECT count(*) FROM (
        SELECT ChargePeriodStart::DATE AS d, lag(ChargePeriodStart::DATE) OVER (ORDER BY file_row_number) AS prev
        FROM read_parquet('{parquet_files[4]}', file_row_number = true) WHERE ChargeCategory = 'Usage')
        WHERE d < prev""")
    assert unordered == [(0,)]


def test_rerun_replaces_own_output_only(tmp_path: Path) -> None:
    generate_focus_export(tmp_path, end_month=END, months=3, rows_per_month=10)
    (tmp_path / "README.txt").write_text("not ours")
    again = generate_focus_export(tmp_path, end_month=END, months=1, rows_per_month=10, file_format="csv")
    assert [p.relative_to(tmp_path).as_posix() for p in again] == ["billing_period=2026-02/part-00000.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.txt", "billing_period=2026-02"]


def test_rejects_end_month_not_first_of_month(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_focus_export(tmp_path, end_month=date(2026, 2, 15))


def test_parquet_schema_has_spec_columns_and_exact_types(parquet_files: list[Path]) -> None:
    schema = pq.read_schema(parquet_files[0])
    assert schema.names == SPEC_COLUMNS
    for name in DECIMAL_COLUMNS:
        assert schema.field(name).type == pa.decimal128(38, 10), name
    for name in TIMESTAMP_COLUMNS:
        assert schema.field(name).type == pa.timestamp("us", tz="UTC"), name
    assert schema.field("Tags").type == pa.string()


def test_csv_is_readable_with_focus_text_formats(csv_files: list[Path]) -> None:
    c = duckdb.connect()
    describe = f"DESCRIBE SELECT * FROM read_csv('{csv_files[0]}', hive_partitioning = false)"
    names = [r[0] for r in c.execute(describe).fetchall()]
    assert names == SPEC_COLUMNS
    with csv_files[0].open(newline="") as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == 1000
    iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
    plain = re.compile(r"^-?\d+\.\d{10}$")
    for r in records:
        assert all(iso.match(r[c]) for c in TIMESTAMP_COLUMNS)
        assert all(plain.match(r[c]) for c in DECIMAL_COLUMNS if r[c] != "")


def test_money_is_exact_across_formats(con: duckdb.DuckDBPyConnection, csv_files: list[Path]) -> None:
    """The CSV text and the Parquet decimals are the same numbers, so sums agree to the last digit."""
    text_sums = {c: Decimal(0) for c in DECIMAL_COLUMNS}
    for path in csv_files:
        with path.open(newline="") as fh:
            for r in csv.DictReader(fh):
                for c in DECIMAL_COLUMNS:
                    if r[c]:
                        text_sums[c] += Decimal(r[c])
    parquet_sums = rows(con, "SELECT " + ", ".join(f"coalesce(sum({c}), 0)" for c in DECIMAL_COLUMNS) + " FROM f")[0]
    assert dict(zip(DECIMAL_COLUMNS, parquet_sums)) == text_sums
    # Costs are exact products of the unit price and the quantity, rounded once to 10 decimals.
    off = rows(con, """SELECT count(*) FROM f WHERE ChargeCategory = 'Usage' AND
                       ListCost <> round(PricingQuantity::DECIMAL(38, 10) * ListUnitPrice, 10)""")
    assert off == [(0,)]


def test_providers_accounts_and_currencies(con: duckdb.DuckDBPyConnection) -> None:
    providers = {r[0] for r in rows(con, "SELECT DISTINCT ProviderName FROM f")}
    assert {"AWS", "Microsoft", "Google Cloud"} <= providers
    currencies = dict(rows(con, "SELECT BillingCurrency, count(DISTINCT BillingAccountId) FROM f GROUP BY ALL"))
    assert currencies == {"USD": 4, "EUR": 1}
    assert rows(con, "SELECT count(DISTINCT SubAccountId), count(DISTINCT RegionId) FROM f")[0] >= (10, 10)
    one_currency = rows(con, "SELECT max(n) FROM (SELECT count(DISTINCT BillingCurrency) n FROM f GROUP BY "
                             "BillingAccountId)")
    assert one_currency == [(1,)]


def test_services_have_one_category_from_the_spec(con: duckdb.DuckDBPyConnection) -> None:
    per_service = rows(con, "SELECT ServiceName, count(DISTINCT ServiceCategory), count(DISTINCT ServiceSubcategory), "
                            "any_value(ServiceCategory) FROM f GROUP BY ALL")
    assert len(per_service) >= 20
    assert all(n_cat == 1 and n_sub == 1 and cat in SERVICE_CATEGORIES for _, n_cat, n_sub, cat in per_service)


def test_charge_categories_and_their_costs(con: duckdb.DuckDBPyConnection) -> None:
    stats = {r[0]: r[1:] for r in rows(con, """SELECT ChargeCategory, count(*), min(BilledCost), max(BilledCost)
                                               FROM f GROUP BY ALL""")}
    assert set(stats) == {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
    assert stats["Usage"][0] > 0.9 * 3 * ROWS
    assert stats["Credit"][2] < 0 and stats["Adjustment"][2] < 0  # credits and refunds are negative
    assert rows(con, "SELECT count(*) FROM f WHERE ChargeClass IS NOT NULL") == [(0,)]
    frequencies = dict(rows(con, "SELECT ChargeCategory, list(DISTINCT ChargeFrequency) FROM f GROUP BY ALL"))
    assert frequencies["Usage"] == ["Usage-Based"] and frequencies["Purchase"] == ["Recurring"]
    ordered = rows(con, """SELECT count(*) FROM f WHERE ChargeCategory = 'Usage'
                           AND NOT (ListCost >= ContractedCost AND ContractedCost >= EffectiveCost)""")
    assert ordered == [(0,)]


def test_commitment_discount_rows(con: duckdb.DuckDBPyConnection) -> None:
    committed = rows(con, """SELECT CommitmentDiscountStatus, count(*), count(*) FILTER (WHERE BilledCost = 0
                                 AND EffectiveCost > 0 AND CommitmentDiscountId IS NOT NULL
                                 AND CommitmentDiscountType IS NOT NULL
                                 AND CommitmentDiscountCategory IN ('Spend', 'Usage'))
                             FROM f WHERE PricingCategory = 'Committed' GROUP BY ALL""")
    assert {status for status, _, _ in committed} == {"Used", "Unused"}
    assert all(n == ok for _, n, ok in committed)
    purchases = rows(con, """SELECT count(*), count(*) FILTER (WHERE BilledCost > 0 AND EffectiveCost = 0
                                 AND CommitmentDiscountId = ResourceId AND CommitmentDiscountStatus IS NULL)
                             FROM f WHERE ChargeCategory = 'Purchase'""")[0]
    assert purchases[0] > 0 and purchases[0] == purchases[1]
    stray = rows(con, "SELECT count(*) FROM f WHERE CommitmentDiscountStatus IS NOT NULL AND "
                      "(ChargeCategory <> 'Usage' OR PricingCategory <> 'Committed')")
    assert stray == [(0,)]


def test_tags_are_json_text_with_messy_keys(con: duckdb.DuckDBPyConnection) -> None:
    values = [r[0] for r in rows(con, "SELECT Tags FROM f WHERE ChargeCategory = 'Usage'")]
    tagged = [json.loads(v) for v in values if v is not None]
    assert 0 < len(tagged) < len(values)  # some usage has no tags
    assert all(2 <= len(t) <= 5 and all(isinstance(v, str) for v in t.values()) for t in tagged)
    keys = {k for t in tagged for k in t}
    assert {"team", "Team", "env", "environment", "Env", "cost-center", "costcenter", "app"} <= keys
    # A resource always carries the same tags, whatever row bills it.
    assert rows(con, "SELECT max(n) FROM (SELECT count(DISTINCT Tags) n FROM f WHERE ChargeCategory = 'Usage' "
                     "AND CommitmentDiscountStatus IS DISTINCT FROM 'Unused' GROUP BY ResourceId)") == [(1,)]


def test_resources_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    worst = rows(con, """SELECT max(a), max(b), max(c) FROM (SELECT count(DISTINCT RegionId) a,
                             count(DISTINCT SubAccountId) b, count(DISTINCT ServiceName) c
                         FROM f WHERE ResourceId IS NOT NULL GROUP BY ResourceId)""")
    assert worst == [(1, 1, 1)]


def test_100k_rows_are_fast(tmp_path: Path) -> None:
    start = time.perf_counter()
    files = generate_focus_export(tmp_path, end_month=END, months=2, rows_per_month=50_000)
    elapsed = time.perf_counter() - start
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in files) == 100_000
    assert elapsed < 20, f"100k rows took {elapsed:.1f}s"
