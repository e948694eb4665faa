"""The Datadog connector against a local fake of the usage-metering cost API (tests/fakes/datadog.py)."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pytest_httpserver import HTTPServer

from costlake import schema
from costlake.credentials import Secret
from costlake.errors import InvalidInput
from costlake.formats.registry import vendor
from costlake.formats.vendors import VendorContext, VendorError
from costlake.months import MonthRange
from costlake.settings import Settings
from fakes.datadog import (
    ACCOUNT,
    API_KEY,
    APP_KEY,
    ESTIMATED,
    HISTORICAL,
    ORGS,
    FakeDatadog,
)
from focus_validation import failing_rules, focus_validate, write_focus_csv

DATADOG = vendor("datadog")
# Validator rules allowed to fail, with the reason (also in docs/connectors/datadog.md).
ALLOWED_FAILURES = {
    "InvoiceId-C-005-C",  # the cost endpoints name no invoice, so InvoiceId stays null
}


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeDatadog:
    return FakeDatadog().install(httpserver)


def _settings(tmp_path: Path, httpserver: HTTPServer, max_wait: float = 1) -> Settings:
    return Settings(
        home=tmp_path, datadog_base_url=httpserver.url_for(""), vendor_max_attempts=3, vendor_max_wait=timedelta(seconds=max_wait)
    )


def _open(settings: Settings, fake: FakeDatadog, options: dict[str, str] | None = None, keys: tuple[str, str] = (API_KEY, APP_KEY)) -> VendorContext:
    secret = Secret.parse({"api_key": keys[0], "app_key": keys[1]}, DATADOG.credential_parts)
    return DATADOG.open(settings, options or {}, secret, now=fake.now)


def _read(context: VendorContext, first: str | None = "2000-01", last: str | None = None) -> pa.Table:
    return pa.Table.from_batches(list(DATADOG.read(context, MonthRange(first=first, last=last))), schema=schema.CONVERTED_SCHEMA)


def _sum_by(table: pa.Table, *keys: str) -> dict[Any, Decimal]:
    totals: dict[Any, Decimal] = defaultdict(Decimal)
    columns = [table.column(key).to_pylist() for key in keys]
    for values, cost in zip(zip(*columns, strict=True), table.column("BilledCost").to_pylist(), strict=True):
        totals[values[0] if len(values) == 1 else values] += cost
    return dict(totals)


def _extension(table: pa.Table, key: str) -> list[str | None]:
    return [dict(pairs).get(key) for pairs in table.column("x_Extensions").to_pylist()]


# Sites, options and keys.


@pytest.mark.parametrize(
    ("site", "host"),
    [
        ("us1", "https://api.datadoghq.com"),
        ("us3", "https://api.us3.datadoghq.com"),
        ("us5", "https://api.us5.datadoghq.com"),
        ("eu", "https://api.datadoghq.eu"),
        ("ap1", "https://api.ap1.datadoghq.com"),
        ("ap2", "https://api.ap2.datadoghq.com"),
        ("uk1", "https://api.uk1.datadoghq.com"),
        ("gov", "https://api.ddog-gov.com"),
        ("us2-gov", "https://api.us2.ddog-gov.com"),
        ("us5.datadoghq.com", "https://api.us5.datadoghq.com"),  # as in DD_SITE
        ("app.datadoghq.eu", "https://api.datadoghq.eu"),  # as in the site's web address
    ],
)
def test_each_site_has_its_api_host(tmp_path: Path, site: str, host: str) -> None:
    assert DATADOG.base_url(Settings(home=tmp_path), {"site": site}) == host


def test_us1_is_the_default_site_and_the_base_url_setting_overrides_every_site(tmp_path: Path) -> None:
    assert DATADOG.base_url(Settings(home=tmp_path), {}) == "https://api.datadoghq.com"
    settings = Settings(home=tmp_path, datadog_base_url="http://127.0.0.1:9")
    assert DATADOG.base_url(settings, {"site": "eu"}) == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"site": "us4"}, ["'us4'", "us1", "us5", "eu", "ap2", "uk1", "us2-gov"]),
        ({"view": "by-team"}, ["'by-team'", "summary", "sub-org"]),
        ({"region": "us"}, ["region", "site", "view"]),
    ],
)
def test_bad_options_are_refused_saying_what_is_allowed(tmp_path: Path, fake: FakeDatadog, options: dict[str, str], says: list[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        _open(Settings(home=tmp_path), fake, options)
    assert refused.value.field == "options"
    for words in says:
        assert words in str(refused.value)


def test_check_passes_with_both_keys(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    DATADOG.check(_open(_settings(tmp_path, httpserver), fake))
    assert fake.requests == [(ESTIMATED, {"view": "summary", "start_month": "2025-03"})]


@pytest.mark.parametrize("keys", [("wrong-api-key-123", APP_KEY), (API_KEY, "wrong-app-key-456")])
def test_a_wrong_key_is_refused_with_datadogs_reason(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog, keys: tuple[str, str]) -> None:
    with pytest.raises(VendorError) as refused:
        DATADOG.check(_open(_settings(tmp_path, httpserver), fake, keys=keys))
    message = str(refused.value)
    assert refused.value.status == 403
    assert "Forbidden" in message and "application key" in message
    assert keys[0] not in message and keys[1] not in message


# What is read.


def test_every_month_adds_up_to_the_bill_without_double_counting(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    # The fake's answers also carry fields the reader does not know (meta, last_aggregation_function).
    table = _read(_open(_settings(tmp_path, httpserver), fake))

    expected = fake.expected_billed_by_month()
    assert len(expected) == 15
    assert _sum_by(table, "x_BillingMonth") == expected
    # A product's `total` is never kept beside its parts; only "siem", which has no parts, keeps it.
    kept = set(zip(table.column("ServiceName").to_pylist(), _extension(table, "x_ChargeType"), strict=True))
    assert kept == {
        ("infra_host", "committed"), ("infra_host", "on_demand"), ("apm_host", "committed"), ("apm_host", "on_demand"),
        ("logs_indexed_15day", "on_demand"), ("siem", "total"),
    }  # fmt: skip
    # Before the 16th, February is not closed yet: it and March are estimates, the rest is history.
    basis = dict(zip(table.column("x_BillingMonth").to_pylist(), _extension(table, "x_CostBasis"), strict=True))
    assert {month for month, source in basis.items() if source == "estimated"} == {"2025-02", "2025-03"}
    assert {table.column("BillingAccountId")[0].as_py(), table.column("BillingCurrency")[0].as_py()} == {ACCOUNT[0], "USD"}


def test_running_totals_are_differenced_into_daily_amounts(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    table = _read(_open(_settings(tmp_path, httpserver), fake), first="2025-02")

    starts, ends = table.column("ChargePeriodStart").to_pylist(), table.column("ChargePeriodEnd").to_pylist()
    assert all(end - start == timedelta(days=1) for start, end in zip(starts, ends, strict=True))
    by_day = {moment.date(): total for moment, total in _sum_by(table, "ChargePeriodStart").items()}
    expected = fake.expected_billed_by_day("2025-02") | fake.expected_billed_by_day("2025-03")
    assert by_day == expected
    assert max(by_day) == date(2025, 3, 9)  # up to yesterday; the fake keeps no usage for today
    # February was asked up to March 1st (in case Datadog's end_date is exclusive); that day counts once, in March.
    assert (ESTIMATED, {"view": "summary", "start_date": "2025-02-01", "end_date": "2025-03-01"}) in fake.requests


def test_a_month_closed_by_datadog_comes_from_history(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeDatadog(now=datetime(2025, 3, 20, 8, 0, tzinfo=UTC)).install(httpserver)
    table = _read(_open(_settings(tmp_path, httpserver), fake), first="2025-01")

    assert _sum_by(table, "x_BillingMonth") == {month: total for month, total in fake.expected_billed_by_month().items() if month >= "2025-01"}
    february = table.filter(pc.equal(table.column("x_BillingMonth"), "2025-02"))
    assert set(_extension(february, "x_CostBasis")) == {"historical"}
    assert set(february.column("ChargePeriodStart").to_pylist()) == {datetime(2025, 2, 1, tzinfo=UTC)}
    assert [params for path, params in fake.requests if path == ESTIMATED] == [{"view": "summary", "start_date": "2025-03-01", "end_date": "2025-03-20"}]


def test_sub_org_view_splits_the_bill_by_organization(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    table = _read(_open(_settings(tmp_path, httpserver), fake, {"view": "sub-org", "site": "eu"}))

    for org_id, org_name in ORGS:
        mine = table.filter(pc.equal(table.column("SubAccountId"), org_id))
        assert set(mine.column("SubAccountName").to_pylist()) == {org_name}
        assert _sum_by(mine, "x_BillingMonth") == fake.expected_billed_by_month(org_id)
    assert _sum_by(table, "x_BillingMonth") == fake.expected_billed_by_month()
    assert set(table.column("BillingAccountId").to_pylist()) == {ACCOUNT[0]}
    assert {params["view"] for _, params in fake.requests} == {"sub-org"}


def test_history_is_clamped_to_the_15_months_datadog_keeps(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    table = _read(_open(_settings(tmp_path, httpserver), fake), first="2021-06")

    assert min(table.column("x_BillingMonth").to_pylist()) == "2024-01"
    assert fake.requests[0] == (HISTORICAL, {"view": "summary", "start_month": "2024-01", "end_month": "2025-02"})


def test_a_closed_range_asks_only_for_its_months(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    table = _read(_open(_settings(tmp_path, httpserver), fake), first="2024-06", last="2024-08")

    expected = fake.expected_billed_by_month()
    assert _sum_by(table, "x_BillingMonth") == {month: expected[month] for month in ("2024-06", "2024-07", "2024-08")}
    assert fake.requests == [(HISTORICAL, {"view": "summary", "start_month": "2024-06", "end_month": "2024-08"})]


def test_an_account_without_charges_yields_no_rows(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeDatadog(empty=True).install(httpserver)
    context = _open(_settings(tmp_path, httpserver), fake)

    assert _read(context).num_rows == 0
    assert [path for path, _ in fake.requests] == [HISTORICAL, ESTIMATED, ESTIMATED]
    assert context.warnings == []


def test_charges_that_disagree_with_total_cost_are_kept_and_reported(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeDatadog(total_cost_off_by=Decimal(5)).install(httpserver)
    context = _open(_settings(tmp_path, httpserver), fake)

    assert _sum_by(_read(context, first="2025-01"), "x_BillingMonth") == {
        month: total for month, total in fake.expected_billed_by_month().items() if month >= "2025-01"
    }
    assert len(context.warnings) == 1 and "total_cost" in context.warnings[0]


# Retries.


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Limit": "10", "X-RateLimit-Period": "30", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "0",
         "X-RateLimit-Name": "usage_metering"},  # what Datadog documents
        {"Retry-After": "0"},
    ],
)  # fmt: skip
def test_a_rate_limit_is_waited_out_as_datadog_asks(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog, headers: dict[str, str]) -> None:
    fake.fail(HISTORICAL, 429, headers=headers)
    started = time.monotonic()
    table = _read(_open(_settings(tmp_path, httpserver), fake))

    # A reset (or Retry-After) of 0 means no wait; without it the client would back off for vendor_max_wait (1 s).
    assert time.monotonic() - started < 0.8
    assert [path for path, _ in fake.requests].count(HISTORICAL) == 2
    assert _sum_by(table, "x_BillingMonth") == fake.expected_billed_by_month()


def test_a_server_error_is_retried(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    fake.fail(ESTIMATED, 503, times=2)
    table = _read(_open(_settings(tmp_path, httpserver, max_wait=0.1), fake))

    assert _sum_by(table, "x_BillingMonth") == fake.expected_billed_by_month()


def test_a_server_error_that_does_not_end_fails_the_read(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    fake.fail(HISTORICAL, 500, times=5)
    with pytest.raises(VendorError) as failed:
        _read(_open(_settings(tmp_path, httpserver, max_wait=0.1), fake))
    assert failed.value.status == 500
    assert "after 3 tries" in str(failed.value) and "Internal Server Error" in str(failed.value)
    assert len(fake.requests) == 3


# FOCUS.


def test_rows_pass_the_focus_validator(tmp_path: Path, httpserver: HTTPServer, fake: FakeDatadog) -> None:
    table = _read(_open(_settings(tmp_path, httpserver), fake, {"view": "sub-org"}))
    assert table.num_rows > 0
    result = focus_validate(write_focus_csv(table.to_batches(), tmp_path / "datadog.csv"))

    assert re.search(r"Total: \d+ \| Pass: [1-9]", result.stdout), result.stdout + result.stderr
    failed = failing_rules(result)
    assert failed <= ALLOWED_FAILURES, result.stdout
