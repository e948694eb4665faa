"""Confluent Cloud connector against a local fake of the Billing API (tests/fakes/confluent.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pytest_httpserver import HTTPServer

from costlake import schema
from costlake.credentials import Secret
from costlake.errors import InvalidInput
from costlake.formats.registry import vendor
from costlake.formats.vendors import VendorContext, VendorError
from costlake.formats.vendors.confluent import CONFLUENT
from costlake.months import MonthRange
from costlake.settings import Settings
from fakes.confluent import API_SECRET, COSTS_PATH, FakeConfluent
from focus_validation import failing_rules, focus_validate, write_focus_csv

TODAY = date(2025, 3, 17)
NOW = datetime(2025, 3, 17, 9, 30, tzinfo=UTC)
# Rules the validator may fail on these rows, each with the reason (docs/connectors/confluent.md says the same).
ALLOWED_FAILURES = {
    "InvoiceId-C-005-C": "a branch of the OR rule InvoiceId-C-003-C (not null when invoiced); the Costs API names no invoice, "
    "so the other branch (C-004, null) holds and C-003 passes",
}


def _settings(tmp_path: Path, httpserver: HTTPServer, max_wait: float = 1.0) -> Settings:
    return Settings(
        home=tmp_path, confluent_base_url=httpserver.url_for(""), vendor_max_attempts=3, vendor_max_wait=timedelta(seconds=max_wait)
    )


def _open(settings: Settings, credential: dict[str, str] | None = None, options: dict[str, str] | None = None) -> VendorContext:
    secret = Secret.parse(credential or FakeConfluent.credential(), CONFLUENT.credential_parts)
    return CONFLUENT.open(settings, options or {}, secret, now=NOW)


def _table(context: VendorContext, months: MonthRange) -> pa.Table:
    return pa.Table.from_batches(list(CONFLUENT.read(context, months)), schema=schema.CONVERTED_SCHEMA)


def _billed_by_month(table: pa.Table) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for month, cost in zip(table.column("x_BillingMonth").to_pylist(), table.column("BilledCost").to_pylist(), strict=True):
        totals[month] += cost
    return dict(totals)


def test_registered_under_its_provider_name() -> None:
    assert vendor("confluent") is CONFLUENT


def test_months_total_what_the_fake_holds_over_several_pages(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeConfluent(TODAY, months=3, max_page_items=40).install(httpserver)
    context = _open(_settings(tmp_path, httpserver))

    table = _table(context, MonthRange(first="2025-01"))

    expected = fake.expected_billed_by_month()
    assert set(expected) == {"2025-01", "2025-02", "2025-03"}
    assert _billed_by_month(table) == expected
    assert table.num_rows == len(fake.lines)  # each line once, though it took many pages
    assert fake.windows == [("2025-01-01", "2025-02-01"), ("2025-02-01", "2025-03-01"), ("2025-03-01", "2025-03-17")]
    assert fake.pages > 3 * len(fake.windows)
    assert context.warnings == []


def test_a_sync_reads_only_the_months_asked_for(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeConfluent(TODAY, months=3).install(httpserver)

    table = _table(_open(_settings(tmp_path, httpserver)), MonthRange(first="2025-02", last="2025-02"))

    assert fake.windows == [("2025-02-01", "2025-03-01")]
    assert _billed_by_month(table) == {"2025-02": fake.expected_billed_by_month()["2025-02"]}


def test_one_line_maps_onto_focus(tmp_path: Path, httpserver: HTTPServer) -> None:
    usage = {
        "id": "dlz-f3a90de", "start_date": "2025-03-02", "end_date": "2025-03-03", "granularity": "DAILY", "product": "KAFKA",
        "line_type": "KAFKA_NUM_CKUS", "network_access_type": "PRIVATE_LINK", "price": Decimal("1.5"), "unit": "CKU-Hour",
        "quantity": 48, "original_amount": 72, "discount_amount": Decimal("14.4"), "amount": Decimal("57.6"),
        "resource": {"id": "lkc-12345", "display_name": "prod-kafka-cluster", "environment": {"id": "env-123"}},
    }
    no_amount = {"id": "dlz-2", "start_date": "2025-03-02", "end_date": "2025-03-03", "product": "CONNECT", "unit": "Task-Hour",
                 "line_type": "CONNECT_NUM_TASKS", "quantity": 10, "original_amount": Decimal("3.25"), "discount_amount": Decimal("0.25")}
    credit = {"id": "dlz-3", "start_date": "2025-03-03", "end_date": "2025-03-04", "product": "KAFKA", "line_type": "PROMO_CREDIT",
              "description": "KAFKA101", "unit": "USD", "quantity": 1, "original_amount": Decimal(20), "amount": Decimal(20)}
    FakeConfluent(TODAY, [usage, no_amount, credit]).install(httpserver)
    context = _open(_settings(tmp_path, httpserver), options={"organization_id": "b0b21724-4586-4a07-b787-d0bb5aacbf87"})

    rows = {dict(row["x_Extensions"])["x_CostLineId"]: row for row in _table(context, MonthRange("2025-03")).to_pylist()}

    first = rows["dlz-f3a90de"]
    assert (first["BilledCost"], first["EffectiveCost"], first["ContractedCost"], first["ListCost"]) == (Decimal("57.6"),) * 3 + (Decimal(72),)
    assert first["ListUnitPrice"] == Decimal("1.5") and first["PricingQuantity"] == first["ConsumedQuantity"] == 48
    assert first["PricingUnit"] == first["ConsumedUnit"] == "CKU-Hours"  # FOCUS Unit Format: plural time unit
    assert first["ChargePeriodStart"] == datetime(2025, 3, 2, tzinfo=UTC) and first["ChargePeriodEnd"] == datetime(2025, 3, 3, tzinfo=UTC)
    assert first["BillingPeriodStart"] == datetime(2025, 3, 1, tzinfo=UTC) and first["BillingPeriodEnd"] == datetime(2025, 4, 1, tzinfo=UTC)
    assert (first["ChargeCategory"], first["BillingCurrency"], first["SkuId"]) == ("Usage", "USD", "KAFKA_NUM_CKUS")
    assert (first["ResourceId"], first["ResourceName"], first["ResourceType"]) == ("lkc-12345", "prod-kafka-cluster", "Kafka Cluster")
    assert (first["SubAccountId"], first["SubAccountType"], first["BillingAccountType"]) == ("env-123", "Environment", "Organization")
    assert first["SkuMeter"] == "KAFKA_NUM_CKUS"
    assert first["BillingAccountId"] == "b0b21724-4586-4a07-b787-d0bb5aacbf87"
    assert (first["ServiceName"], first["ServiceCategory"]) == ("Confluent Kafka", "Integration")
    assert first["ProviderName"] == first["PublisherName"] == first["InvoiceIssuerName"] == first["ServiceProviderName"] == "Confluent"
    assert dict(first["x_Extensions"]) == {"x_Product": "KAFKA", "x_NetworkAccessType": "PRIVATE_LINK", "x_DiscountAmount": "14.4",
                                           "x_CostLineId": "dlz-f3a90de"}
    assert rows["dlz-2"]["BilledCost"] == Decimal(3)  # no amount: original_amount - discount_amount
    promo = rows["dlz-3"]
    assert (promo["ChargeCategory"], promo["BilledCost"], promo["ChargeDescription"]) == ("Credit", Decimal(-20), "PROMO_CREDIT - KAFKA101")
    assert promo["ConsumedQuantity"] is None and promo["ConsumedUnit"] is None


def test_check_is_one_small_authenticated_call(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeConfluent(TODAY).install(httpserver)

    CONFLUENT.check(_open(_settings(tmp_path, httpserver)))

    assert fake.windows == [("2025-03-13", "2025-03-14")] and fake.pages == 1
    assert httpserver.log[0][0].args["page_size"] == "1"


def test_a_wrong_key_is_refused_with_confluents_reason(tmp_path: Path, httpserver: HTTPServer) -> None:
    FakeConfluent(TODAY).install(httpserver)
    context = _open(_settings(tmp_path, httpserver), {"api_key": "CONFLUENTKEY1234", "api_secret": "wrong-secret-value"})

    with pytest.raises(VendorError) as raised:
        CONFLUENT.check(context)

    assert raised.value.status == 401
    assert "Valid authentication credentials must be provided" in str(raised.value)
    assert "Confluent Cloud API key" in str(raised.value)
    assert "wrong-secret-value" not in str(raised.value) and API_SECRET not in str(raised.value)


def test_a_429_is_waited_out(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeConfluent(TODAY, months=1).install(httpserver)
    too_many = {"errors": [{"status": "429", "title": "Too Many Requests", "detail": "rate limit exceeded"}]}
    httpserver.expect_oneshot_request(COSTS_PATH).respond_with_json(too_many, status=429, headers={"Retry-After": "1", "X-RateLimit-Reset": "1"})

    table = _table(_open(_settings(tmp_path, httpserver)), MonthRange("2025-03"))

    assert [response.status_code for _, response in httpserver.log[:2]] == [429, 200]
    assert _billed_by_month(table) == fake.expected_billed_by_month()


def test_a_5xx_then_success(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeConfluent(TODAY, months=1).install(httpserver)
    httpserver.expect_oneshot_request(COSTS_PATH).respond_with_json({"errors": [{"status": "503", "detail": "unavailable"}]}, status=503)

    table = _table(_open(_settings(tmp_path, httpserver, max_wait=0.05)), MonthRange("2025-03"))

    assert [response.status_code for _, response in httpserver.log[:2]] == [503, 200]
    assert _billed_by_month(table) == fake.expected_billed_by_month()


def test_a_5xx_that_never_ends_fails_the_read(tmp_path: Path, httpserver: HTTPServer) -> None:
    FakeConfluent(TODAY, months=1).install(httpserver)
    for _ in range(3):
        httpserver.expect_oneshot_request(COSTS_PATH).respond_with_json(
            {"errors": [{"status": "500", "code": "out_of_gas", "detail": "The DeLorean has run out of gas"}]}, status=500
        )

    with pytest.raises(VendorError, match=r"500 .* after 3 tries: The DeLorean has run out of gas.*try again later"):
        _table(_open(_settings(tmp_path, httpserver, max_wait=0.05)), MonthRange("2025-03"))


def test_months_beyond_one_year_are_skipped_with_a_warning(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeConfluent(TODAY, months=1).install(httpserver)
    context = _open(_settings(tmp_path, httpserver))

    _table(context, MonthRange("2023-11"))

    # 2024-03-17 is a year back: March 2024 could only be read in part, so April is the first month asked for.
    assert fake.windows[0] == ("2024-04-01", "2024-05-01") and len(fake.windows) == 12
    assert context.warnings == ["Confluent keeps costs for one year: months before 2024-04 were not read (rows stored for them are kept)"]


def test_an_empty_period_yields_no_rows(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeConfluent(TODAY, []).install(httpserver)

    assert list(CONFLUENT.read(_open(_settings(tmp_path, httpserver)), MonthRange("2025-02"))) == []
    assert len(fake.windows) == 2


def test_a_next_link_that_repeats_stops_the_read(tmp_path: Path, httpserver: HTTPServer) -> None:
    line = {"id": "dlz-1", "start_date": "2025-03-01", "end_date": "2025-03-02", "unit": "GB", "original_amount": 1, "amount": 1}
    looping: dict[str, Any] = {"api_version": "billing/v1", "kind": "CostList", "data": [line],
                               "metadata": {"next": httpserver.url_for(COSTS_PATH) + "?page_token=same"}}
    httpserver.expect_request(COSTS_PATH).respond_with_json(looping)

    with pytest.raises(VendorError, match="same next-page link twice"):
        _table(_open(_settings(tmp_path, httpserver)), MonthRange("2025-03"))


def test_unknown_options_and_an_empty_organization_are_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with pytest.raises(InvalidInput, match="does not know option"):
        _open(settings, options={"site": "eu"})
    with pytest.raises(InvalidInput, match="organization_id is empty"):
        _open(settings, options={"organization_id": " "})


def test_rows_pass_the_focus_validator(tmp_path: Path, httpserver: HTTPServer) -> None:
    FakeConfluent(TODAY, months=2).install(httpserver)
    batches = list(CONFLUENT.read(_open(_settings(tmp_path, httpserver)), MonthRange("2025-02")))

    result = focus_validate(write_focus_csv(batches, tmp_path / "confluent.csv"))

    assert "Total:" in result.stdout, result.stdout + result.stderr
    failed = failing_rules(result)
    assert failed - set(ALLOWED_FAILURES) == set(), result.stdout
