"""Format gcp-cud-metadata: Google's CUD metadata export read from BigQuery (through the REST fake), stored per tenant,
served by the API, and used to complete the commitment columns of GCP billing-export rows."""

from __future__ import annotations

import copy
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from conftest import auth, sync_and_wait
from costlake.catalog import open_catalog
from costlake.catalog.commitments import list_commitments, replace_commitments
from costlake.catalog.database import Catalog
from costlake.catalog.models import BillingSource, Commitment
from costlake.catalog.sources import insert_source
from costlake.duckdb_io import connect
from costlake.errors import InvalidInput, NotFound
from costlake.formats.conversion import ConversionError
from costlake.formats.gcp import bigquery as gcp_billing_bigquery
from costlake.formats.gcp.cud_enrichment import with_commitments
from costlake.formats.gcp.cud_metadata import NAME
from costlake.formats.gcp.source import NAME as BILLING_FORMAT
from costlake.formats.registry import FORMATS, METADATA_FORMATS
from costlake.months import MonthRange
from costlake.samples.gcp_export import (
    BILLING_ACCOUNT,
    DETAILED_FIELDS,
    Field,
    gcp_export_rows,
)
from costlake.settings import Settings
from costlake.storage import StorageError, StoredFile
from costlake.store import Lake
from fake_bigquery import FakeBigQuery, FakeTable
from focus_validation import TOOL, write_focus_csv

# -- the fake's data: a CUD metadata table (cud_subscriptions_export) and a billing table that references it --------

PROJECT = "shop-billing.billing"
CUD_TABLE = f"{PROJECT}.cud_subscriptions_export"
TYPO_FREE_TABLE = f"{PROJECT}.cud_export_commitment_amount"  # the amount column spelled right
HISTORY_TABLE = f"{PROJECT}.cud_export_with_history"  # several daily snapshots of one CUD
BILLING_TABLE = f"{PROJECT}.gcp_billing_export_resource_v1_X"

FLEX, FLEX_OLD, SPANNER = "769c55ea-c50f-4258-bcf5-04b6688fa5fa", "0b1c2d3e-1111-4222-8333-944455566677", "5f2e8a10-2222-4333-8444-a55566677788"
TWIN_A, TWIN_B = "a1a1a1a1-3333-4444-8555-b66677788899", "b2b2b2b2-4444-4555-8666-c777888999aa"
FLEX_MODEL, SPANNER_MODEL, SQL_MODEL, DEFAULT_MODEL = "5515-81A8-03A2", "7A3C-55D1-0E2B", "1C9E-4B7A-22F0", "D2C1-11AA-0001"
OTHER_ACCOUNT = "0F0F0F-0F0F0F-0F0F0F"


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _strings(*names: str) -> tuple[Field, ...]:
    return tuple(Field(name, "STRING") for name in names)


def cud_fields(amount_field: str) -> tuple[Field, ...]:
    """The columns Google documents for cud_subscriptions_export, plus one it may add later."""
    return (
        Field("billing_account_id", "STRING"),
        Field("cud_product", "RECORD", fields=_strings("id", "display_name", "type")),
        Field("consumption_model", "RECORD", fields=_strings("id", "description")),
        Field("subscription", "RECORD", fields=_strings("entitlement_scope", "instance_id", "display_name")),
        Field("region", "STRING"),
        Field(amount_field, "RECORD", fields=(Field("unit", "STRING"), Field("value", "NUMERIC"))),
        Field("term", "STRING"),
        Field("start_time", "TIMESTAMP"),
        Field("end_time", "TIMESTAMP"),
        Field("state", "STRING"),
        Field("renewal_plan", "STRING"),  # not documented: must be ignored
    )


def _cud(instance_id: str, name: str, product: str, model: tuple[str, str], region: str, amount: tuple[str, str],
         term: str, start: datetime, end: datetime, state: str, amount_field: str = "commitent_amount") -> dict[str, Any]:  # fmt: skip
    return {
        "billing_account_id": BILLING_ACCOUNT,
        "cud_product": {"id": "344fffc1-17f9-4e34-abf2-cfffff409fa2", "display_name": product, "type": "Spend-Based"},
        "consumption_model": {"id": model[0], "description": model[1]},
        "subscription": {"entitlement_scope": f"billingAccounts/{BILLING_ACCOUNT}", "instance_id": instance_id, "display_name": name},
        "region": region,
        amount_field: {"unit": amount[0], "value": Decimal(amount[1])},
        "term": term,
        "start_time": start,
        "end_time": end,
        "state": state,
        "renewal_plan": "NONE",
    }


def cud_rows(amount_field: str = "commitent_amount") -> list[dict[str, Any]]:
    flex = (FLEX_MODEL, "Compute Flexible CUD - 1 Year")
    sql = (SQL_MODEL, "Cloud SQL CUD - 1 Year")
    return [
        _cud(FLEX, "Recommended Compute flexible CUD in us-central1 on Sep 27, 2025", "Flexible CUD", flex, "us-central1",
             ("$/hr", "12.5"), "P1Y", _utc(2025, 9, 27, 18, 8, 20), _utc(2026, 9, 27, 18, 8, 20), "Active", amount_field),
        # The same consumption model and region, an earlier term: rows are told apart by their charge time.
        _cud(FLEX_OLD, "Compute flexible CUD 2024", "Flexible CUD", flex, "us-central1", ("$/hr", "10"), "P1Y",
             _utc(2024, 6, 1), _utc(2025, 6, 1), "Expired", amount_field),
        _cud(SPANNER, "Spanner CUD", "Cloud Spanner CUD", (SPANNER_MODEL, "Cloud Spanner CUD - 3 Years"), "us-central1",
             ("$/hr", "0.05"), "P3Y", _utc(2025, 1, 1), _utc(2028, 1, 1), "Active", amount_field),
        # Two live CUDs of one model in one region share its usage: no row can name one of them.
        _cud(TWIN_A, "SQL CUD A", "Cloud SQL CUD", sql, "europe-west1", ("$/hr", "3"), "P1Y", _utc(2025, 7, 1), _utc(2026, 7, 1),
             "Active", amount_field),
        _cud(TWIN_B, "SQL CUD B", "Cloud SQL CUD", sql, "europe-west1", ("$/hr", "4"), "P1Y", _utc(2025, 8, 1), _utc(2026, 8, 1),
             "Active", amount_field),
        # A row without an instance id: nothing can join it.
        {**_cud("x", "orphan", "Flexible CUD", flex, "us-east1", ("$/hr", "1"), "P1Y", _utc(2025, 1, 1), _utc(2026, 1, 1), "Active",
                amount_field), "subscription": None},
    ]  # fmt: skip


def history_rows() -> list[dict[str, Any]]:
    """Two snapshots of one CUD (the later one Expired), in either order."""
    flex = (FLEX_MODEL, "Compute Flexible CUD - 1 Year")
    active = _cud(FLEX_OLD, "Compute flexible CUD 2024", "Flexible CUD", flex, "us-central1", ("$/hr", "10"), "P1Y",
                  _utc(2024, 6, 1), _utc(2025, 6, 1), "Active")  # fmt: skip
    return [active, {**active, "state": "Expired"}, copy.deepcopy(active)]


BILLING_FIELDS = (*DETAILED_FIELDS, Field("consumption_model", "RECORD", fields=_strings("id", "description")))


def _variant(template: dict[str, Any], description: str, model: str | None, **changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(template)
    row["sku"] = {"id": "CP-COMPUTEENGINE-VMIMAGE", "description": description}
    row["credits"] = []
    row["consumption_model"] = None if model is None else {"id": model, "description": description}
    row.update(changes)
    return row


def billing_rows() -> list[dict[str, Any]]:
    """The generated detailed export (all on the Default consumption model) plus rows of the newer spend-based CUD
    model, a CUD fee row naming FLEX, and rows that must stay as they are."""
    rows = gcp_export_rows(first_month="2026-01", months=2)
    for row in rows:
        row["consumption_model"] = {"id": DEFAULT_MODEL, "description": "Default"}
    vm = next(row for row in rows if row["sku"]["description"].startswith("N2 Instance Core") and row["credits"])
    location = {"location": "europe-west1-b", "country": "BE", "region": "europe-west1", "zone": "europe-west1-b"}
    extra = []
    for month in ("2026-01", "2026-02"):
        invoice = {"month": month.replace("-", ""), "publisher_type": "GOOGLE"}
        start = _utc(int(month[:4]), int(month[5:]), 12, 9)
        at = {"invoice": invoice, "usage_start_time": start, "usage_end_time": start.replace(hour=10), "cost": 6.25}
        extra += [
            _variant(vm, "N2 core covered by flexible CUD", FLEX_MODEL, **at),
            _variant(vm, "Spanner node covered by CUD", SPANNER_MODEL, **at),
            _variant(vm, "Cloud SQL vCPU covered by CUD", SQL_MODEL, **{**at, "location": location}),
            _variant(vm, "N2 core in a region without a CUD", FLEX_MODEL, **{**at, "location": {**vm["location"], "region": "us-east1"}}),
            _variant(vm, "N2 core of another billing account", FLEX_MODEL, **{**at, "billing_account_id": OTHER_ACCOUNT}),
            _variant(vm, "Correction of covered usage", FLEX_MODEL, **{**at, "cost_type": "adjustment", "cost": -1.5}),
            _variant(vm, "Commitment - dollar based v1: GCE for 1 Year", None,
                     **{**at, "subscription": {"instance_id": FLEX}, "cost": 12.5}),
        ]  # fmt: skip
    # Usage of May 2025 falls in the earlier CUD's term.
    start = _utc(2025, 5, 20, 9)
    extra.append(_variant(vm, "N2 core covered by the 2024 CUD", FLEX_MODEL, invoice={"month": "202505", "publisher_type": "GOOGLE"},
                          usage_start_time=start, usage_end_time=start.replace(hour=10), cost=4.0))  # fmt: skip
    return rows + extra


@pytest.fixture
def bigquery(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBigQuery]:
    tables = {
        CUD_TABLE: FakeTable(cud_fields("commitent_amount"), cud_rows(), ingestion_partitioned=False),
        TYPO_FREE_TABLE: FakeTable(cud_fields("commitment_amount"), cud_rows("commitment_amount"), ingestion_partitioned=False),
        HISTORY_TABLE: FakeTable(cud_fields("commitent_amount"), history_rows(), ingestion_partitioned=False),
        BILLING_TABLE: FakeTable(BILLING_FIELDS, billing_rows()),
    }
    with FakeBigQuery(tables) as fake:
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", fake.url)
        yield fake


def read_commitments(table: str) -> list[dict[str, Any]]:
    return list(METADATA_FORMATS[NAME].read_records(f"bq://{table}", None, {}))  # type: ignore[arg-type]


def read_billing() -> list[pa.RecordBatch]:
    files = [StoredFile(uri=f"bq://{BILLING_TABLE}", size=0)]
    return list(FORMATS[BILLING_FORMAT].read(files, None, MonthRange(), {}))  # type: ignore[arg-type]


# -- reading the metadata ----------------------------------------------------------------------------------------


def test_reads_every_commitment_page_by_page_with_its_documented_fields(bigquery: FakeBigQuery, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gcp_billing_bigquery, "PAGE_ROWS", 2)
    records = {record["commitment_id"]: record for record in read_commitments(CUD_TABLE)}
    assert set(records) == {FLEX, FLEX_OLD, SPANNER, TWIN_A, TWIN_B}  # the row without an instance id is left out
    assert records[FLEX] == {
        "commitment_id": FLEX,
        "name": "Recommended Compute flexible CUD in us-central1 on Sep 27, 2025",
        "category": "Spend",
        "type": "Committed Use Discount",
        "product_name": "Flexible CUD",
        "consumption_model": FLEX_MODEL,
        "billing_account_id": BILLING_ACCOUNT,
        "region": "us-central1",
        "term": "P1Y",
        "amount": Decimal("12.5"),
        "amount_unit": "$/hr",
        "starts_at": _utc(2025, 9, 27, 18, 8, 20),
        "ends_at": _utc(2026, 9, 27, 18, 8, 20),
        "state": "Active",
    }
    assert records[SPANNER]["amount"] == Decimal("0.05") and isinstance(records[SPANNER]["amount"], Decimal)
    assert bigquery.queries[-1] == (f"SELECT * FROM `{CUD_TABLE}`", {})  # the whole snapshot, no month filter
    assert len(bigquery.page_requests()) == 3  # six rows, two per page


def test_the_amount_column_is_read_under_either_spelling(bigquery: FakeBigQuery) -> None:
    def amounts(table: str) -> dict[str, tuple[Decimal, str]]:
        return {r["commitment_id"]: (r["amount"], r["amount_unit"]) for r in read_commitments(table)}

    typo = amounts(CUD_TABLE)
    assert typo == amounts(TYPO_FREE_TABLE)
    assert typo[TWIN_B] == (Decimal(4), "$/hr")


def test_several_snapshots_of_one_commitment_keep_the_latest_state(bigquery: FakeBigQuery) -> None:
    records = read_commitments(HISTORY_TABLE)
    assert [(r["commitment_id"], r["state"]) for r in records] == [(FLEX_OLD, "Expired")]


def test_errors_name_the_table_and_what_to_fix(bigquery: FakeBigQuery) -> None:
    read = METADATA_FORMATS[NAME].read_records
    with pytest.raises(StorageError, match=rf"bq://{PROJECT}.missing: BigQuery refused the read \(NotFound"):
        read(f"bq://{PROJECT}.missing", None, {})  # type: ignore[arg-type]
    with pytest.raises(ConversionError, match=r"no cud_product column; expected Google's CUD metadata export"):
        read(f"bq://{BILLING_TABLE}", None, {})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="bq://PROJECT.DATASET.TABLE"):
        read("bq://only-two.parts", None, {})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="takes no options; remove partition_lookback_days"):
        read(f"bq://{CUD_TABLE}", None, {"partition_lookback_days": "3"})  # type: ignore[arg-type]


# -- storing them per tenant -------------------------------------------------------------------------------------


@pytest.fixture
def catalog(settings: Settings) -> Iterator[Catalog]:
    catalog = open_catalog(settings)
    yield catalog
    catalog.close()


def _source(catalog: Catalog, tenant_id: str, name: str) -> str:
    source = BillingSource(tenant_id=tenant_id, name=name, provider="gcp", format=NAME, source_uri=f"bq://{CUD_TABLE}")
    return insert_source(catalog, source).id


def test_a_sync_replaces_the_sources_commitments_and_keeps_unchanged_rows(bigquery, catalog, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, other = make_tenant("acme"), make_tenant("other")
    source = _source(catalog, acme.id, "cuds")
    records = read_commitments(CUD_TABLE)
    assert replace_commitments(catalog, acme.id, source, records) == 5
    first = {c.commitment_id: c for c in list_commitments(catalog, acme.id)}
    assert set(first) == {FLEX, FLEX_OLD, SPANNER, TWIN_A, TWIN_B} and list_commitments(catalog, other.id) == []
    assert {c.source_id for c in first.values()} == {source}
    assert first[FLEX].starts_at == _utc(2025, 9, 27, 18, 8, 20) and first[FLEX].consumption_model == FLEX_MODEL

    # The next snapshot: FLEX_OLD gone, SPANNER changed state, the rest as before.
    changed = [{**r, "state": "Expired"} if r["commitment_id"] == SPANNER else r for r in records if r["commitment_id"] != FLEX_OLD]
    assert replace_commitments(catalog, acme.id, source, changed) == 4
    second = {c.commitment_id: c for c in list_commitments(catalog, acme.id)}
    assert set(second) == {FLEX, SPANNER, TWIN_A, TWIN_B}
    assert second[SPANNER].state == "Expired" and second[SPANNER].updated_at > first[SPANNER].updated_at
    assert second[FLEX].updated_at == first[FLEX].updated_at and second[FLEX].id == first[FLEX].id

    assert replace_commitments(catalog, acme.id, source, []) == 0  # an empty snapshot: the source has none left
    assert list_commitments(catalog, acme.id) == []


def test_a_commitment_delivered_by_two_sources_belongs_to_the_latest_sync(bigquery, catalog, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    first, second = _source(catalog, acme.id, "cuds"), _source(catalog, acme.id, "cuds-copy")
    records = read_commitments(CUD_TABLE)
    replace_commitments(catalog, acme.id, first, records)
    replace_commitments(catalog, acme.id, second, [r for r in records if r["commitment_id"] == FLEX])
    owners = {c.commitment_id: c.source_id for c in list_commitments(catalog, acme.id)}
    assert owners == {FLEX: second, FLEX_OLD: first, SPANNER: first, TWIN_A: first, TWIN_B: first}
    replace_commitments(catalog, acme.id, second, [])  # the second source no longer has it: gone until `first` syncs
    assert FLEX not in {c.commitment_id for c in list_commitments(catalog, acme.id)}


def test_bad_records_and_foreign_sources_are_refused_before_anything_changes(catalog, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, other = make_tenant("acme"), make_tenant("other")
    source = _source(catalog, acme.id, "cuds")
    replace_commitments(catalog, acme.id, source, [{"commitment_id": FLEX, "state": "Active"}])
    with pytest.raises(NotFound, match="no billing source"):
        replace_commitments(catalog, other.id, source, [])
    with pytest.raises(ValueError, match="without a commitment_id"):
        replace_commitments(catalog, acme.id, source, [{"name": "nameless"}])
    with pytest.raises(ValueError, match="unknown field.*colour"):
        replace_commitments(catalog, acme.id, source, [{"commitment_id": "x", "colour": "red"}])
    assert [(c.commitment_id, c.state) for c in list_commitments(catalog, acme.id)] == [(FLEX, "Active")]


def test_amounts_come_back_exact(catalog, make_tenant, settings, request) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    source = _source(catalog, acme.id, "cuds")
    amounts = {"a": Decimal("0.05"), "b": Decimal("12345678901234.123456789")}
    replace_commitments(catalog, acme.id, source, [{"commitment_id": key, "amount": value} for key, value in amounts.items()])
    assert {c.commitment_id: c.amount for c in list_commitments(catalog, acme.id)} == amounts


# -- the API -----------------------------------------------------------------------------------------------------


def test_any_member_of_the_tenant_reads_its_commitments_and_no_one_else(bigquery, client, catalog, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, other = make_tenant("acme"), make_tenant("other")
    source = _source(catalog, acme.id, "cuds")
    replace_commitments(catalog, acme.id, source, read_commitments(CUD_TABLE))
    response = client.get("/api/v1/tenants/acme/commitments", headers=auth(acme.member))
    assert response.status_code == 200, response.text
    body = {item["commitment_id"]: item for item in response.json()}
    assert set(body) == {FLEX, FLEX_OLD, SPANNER, TWIN_A, TWIN_B}
    flex = body[FLEX]
    assert (flex["source_id"], flex["name"], flex["category"], flex["region"], flex["term"]) == (
        source, "Recommended Compute flexible CUD in us-central1 on Sep 27, 2025", "Spend", "us-central1", "P1Y")  # fmt: skip
    assert (flex["amount"], flex["amount_unit"], flex["state"]) == ("12.5", "$/hr", "Active")
    assert datetime.fromisoformat(flex["starts_at"]) == _utc(2025, 9, 27, 18, 8, 20)
    assert body[TWIN_B]["amount"] == "4"
    assert client.get("/api/v1/tenants/acme/commitments", headers=auth(acme.admin)).status_code == 200
    assert client.get("/api/v1/tenants/acme/commitments", headers=auth(other.member)).status_code == 404
    assert client.get("/api/v1/tenants/acme/commitments").status_code == 401
    assert client.get("/api/v1/tenants/other/commitments", headers=auth(other.member)).json() == []


# -- enriching billing rows --------------------------------------------------------------------------------------


@pytest.fixture
def stored_commitments(bigquery, catalog, make_tenant) -> list[Any]:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    replace_commitments(catalog, acme.id, _source(catalog, acme.id, "cuds"), read_commitments(CUD_TABLE))
    return list_commitments(catalog, acme.id)


@pytest.fixture
def unsaved_commitments(bigquery: FakeBigQuery) -> list[Commitment]:
    """The same commitments without a catalog, for tests that do not depend on how they were stored."""
    return [Commitment(**record) for record in read_commitments(CUD_TABLE)]


COMMITMENT_COLUMNS = ("CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountCategory", "CommitmentDiscountType",
                      "CommitmentDiscountStatus", "PricingCategory")  # fmt: skip


def test_covered_rows_get_their_commitment_and_nothing_else_changes(stored_commitments: list[Any]) -> None:
    before = pa.Table.from_batches(read_billing()).to_pylist()
    after = pa.Table.from_batches(list(with_commitments(read_billing(), stored_commitments))).to_pylist()
    assert len(after) == len(before)
    changed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for old, new in zip(before, after, strict=True):
        assert {k: v for k, v in old.items() if k not in COMMITMENT_COLUMNS} == {k: v for k, v in new.items() if k not in COMMITMENT_COLUMNS}
        if old != new:
            changed[new["ChargeDescription"]].append({column: new[column] for column in COMMITMENT_COLUMNS})

    flex_name = "Recommended Compute flexible CUD in us-central1 on Sep 27, 2025"
    covered = {"CommitmentDiscountCategory": "Spend", "CommitmentDiscountType": "Committed Use Discount",
               "CommitmentDiscountStatus": "Used", "PricingCategory": "Committed"}  # fmt: skip
    assert changed == {
        # the newer CUD model: covered usage names only the consumption model
        "N2 core covered by flexible CUD": 2 * [{**covered, "CommitmentDiscountId": FLEX, "CommitmentDiscountName": flex_name}],
        "Spanner node covered by CUD": 2 * [{**covered, "CommitmentDiscountId": SPANNER, "CommitmentDiscountName": "Spanner CUD"}],
        "N2 core covered by the 2024 CUD": [{**covered, "CommitmentDiscountId": FLEX_OLD, "CommitmentDiscountName": "Compute flexible CUD 2024"}],
        # the fee row already carried FLEX's id (subscription.instance_id): it gains the name only
        "Commitment - dollar based v1: GCE for 1 Year": 2 * [{**covered, "CommitmentDiscountId": FLEX, "CommitmentDiscountName": flex_name,
                                                             "CommitmentDiscountStatus": None}],
    }  # fmt: skip
    # Left alone: a model shared by two live CUDs (europe-west1), a region or account no CUD covers, a correction,
    # the resource-based CUD rows (their id is not in the metadata) and everything on the Default model.
    untouched = {row["ChargeDescription"] for row in after if row["ChargeDescription"] not in changed}
    assert {"Cloud SQL vCPU covered by CUD", "N2 core in a region without a CUD", "N2 core of another billing account",
            "Correction of covered usage", "N2 Instance Core running in Americas"} <= untouched  # fmt: skip


def test_costs_are_never_touched(unsaved_commitments: list[Commitment]) -> None:
    def billed(batches: list[pa.RecordBatch]) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in pa.Table.from_batches(batches).to_pylist():
            totals[row["x_BillingMonth"]] += row["BilledCost"]
        return dict(totals)

    # Sum(cost + credits) per invoice month, from the fake's own rows.
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in billing_rows():
        month = row["invoice"]["month"]
        expected[f"{month[:4]}-{month[4:]}"] += Decimal(repr(row["cost"])) + sum((Decimal(repr(c["amount"])) for c in row["credits"]), Decimal(0))
    assert billed(list(with_commitments(read_billing(), unsaved_commitments))) == dict(expected)


def test_without_commitments_batches_pass_through_as_they_are(bigquery: FakeBigQuery) -> None:
    batches = read_billing()
    assert all(out is batch for out, batch in zip(with_commitments(batches, []), batches, strict=True))


def _failures(output: str) -> dict[str, int]:
    return {rule: int(count) for rule, count in re.findall(r"❌ (\S+): FAIL\s+\(violations=(\d+)", output)}


def test_enriched_rows_add_no_focus_validator_failure(unsaved_commitments: list[Commitment], tmp_path: Path) -> None:
    """With every conditional rule on (the default run skips every CommitmentDiscount* rule), enrichment may only
    lower violation counts; the unenriched output's own failures are explained in docs/mappings/gcp.md."""
    if not TOOL.exists():
        pytest.skip(f"the FOCUS validator is not at {TOOL} (set COSTLAKE_FOCUS_VALIDATE)")

    def run(batches: list[pa.RecordBatch], name: str) -> dict[str, int]:
        path = write_focus_csv(batches, tmp_path / name)
        result = subprocess.run([str(TOOL), str(path), "--all"], check=False, capture_output=True, text=True, timeout=900)
        assert result.returncode in (0, 1), result.stderr
        return _failures(result.stdout)

    before = run(read_billing(), "before.csv")
    after = run(list(with_commitments(read_billing(), unsaved_commitments)), "after.csv")
    assert set(after) <= set(before), set(after) - set(before)
    assert all(after[rule] <= before[rule] for rule in after), {rule: (before[rule], after[rule]) for rule in after}
    assert not [rule for rule in after if rule.startswith(("CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
                                                           "CommitmentDiscountType", "PricingCategory"))]  # fmt: skip


# -- end to end: a metadata source and a billing source of one tenant, synced through the API ------------------------


def _lake_commitment_rows(settings: Settings, tenant_id: str) -> dict[str, set[str | None]]:
    """{ChargeDescription: its CommitmentDiscountIds} for rows with a commitment, read back with DuckDB."""
    files = Lake(settings).data_files(tenant_id)
    connection = connect(settings, files)
    query = ("SELECT DISTINCT ChargeDescription, CommitmentDiscountId FROM read_parquet($files, hive_partitioning = true) "
             "WHERE CommitmentDiscountId IS NOT NULL")  # fmt: skip
    found: dict[str, set[str | None]] = defaultdict(set)
    for description, commitment_id in connection.execute(query, {"files": files}).fetchall():
        found[description].add(commitment_id)
    return dict(found)


def test_a_metadata_source_stores_commitments_that_the_billing_sync_uses(bigquery, operator_client, client, make_tenant, settings) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")

    def add(body: dict[str, str]) -> str:
        response = operator_client.post("/api/v1/tenants/acme/billing-sources", json={"provider": "gcp", **body})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    metadata = add({"name": "cuds", "format": NAME, "source_uri": f"bq://{CUD_TABLE}"})
    run = sync_and_wait(operator_client, "acme", metadata)
    assert (run["status"], run["row_count"]) == ("succeeded", 5), run
    listed = client.get("/api/v1/tenants/acme/commitments", headers=auth(acme.member)).json()
    assert {(item["commitment_id"], item["source_id"]) for item in listed} == {(c, metadata) for c in (FLEX, FLEX_OLD, SPANNER, TWIN_A, TWIN_B)}

    billing = add({"name": "billing", "source_uri": f"bq://{BILLING_TABLE}"})
    run = sync_and_wait(operator_client, "acme", billing, body={"from": "2025-01-01"})
    assert (run["status"], run["row_count"]) == ("succeeded", len(billing_rows())), run
    found = _lake_commitment_rows(settings, acme.id)
    assert found["N2 core covered by flexible CUD"] == {FLEX}
    assert found["Spanner node covered by CUD"] == {SPANNER}
    assert found["N2 core covered by the 2024 CUD"] == {FLEX_OLD}
    assert "Cloud SQL vCPU covered by CUD" not in found  # two CUDs share that usage
