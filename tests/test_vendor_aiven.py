"""Aiven connector against a local fake of its billing API (tests/fakes/aiven.py), on the deprecated billing-group
endpoints and on the organization endpoints that replace them."""

from __future__ import annotations

import re
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
from costlake.formats.vendors.aiven import AIVEN, BILLING_GROUPS
from costlake.months import MonthRange
from costlake.settings import Settings
from fakes.aiven import ORGANIZATION, TOKEN, FakeAiven
from focus_validation import failing_rules, focus_validate, write_focus_csv

TODAY = date(2025, 3, 17)
NOW = datetime(2025, 3, 17, 9, 30, tzinfo=UTC)
MONTHS = {"2025-01", "2025-02", "2025-03"}
# Rules the validator may fail on these rows, each with the reason (docs/connectors/aiven.md says the same).
ALLOWED_FAILURES = {
    "InvoiceId-C-004-C": "a branch of the OR rule InvoiceId-C-003-C (null when not invoiced); every line is invoiced, so the "
    "other branch (C-005, not null) holds and C-003 passes",
}


def _settings(tmp_path: Path, httpserver: HTTPServer, max_wait: float = 1.0) -> Settings:
    return Settings(home=tmp_path, aiven_base_url=httpserver.url_for(""), vendor_max_attempts=3, vendor_max_wait=timedelta(seconds=max_wait))


def _open(settings: Settings, token: str = TOKEN, options: dict[str, str] | None = None) -> VendorContext:
    return AIVEN.open(settings, options or {}, Secret.parse(token, AIVEN.credential_parts), now=NOW)


def _table(context: VendorContext, months: MonthRange) -> pa.Table:
    return pa.Table.from_batches(list(AIVEN.read(context, months)), schema=schema.CONVERTED_SCHEMA)


def _billed(table: pa.Table) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in table.select(["x_BillingMonth", "BillingCurrency", "BilledCost"]).to_pylist():
        totals[row["x_BillingMonth"], row["BillingCurrency"]] += row["BilledCost"]
    return dict(totals)


def _billed_by_month(table: pa.Table) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (month, _), total in _billed(table).items():
        totals[month] += total
    return dict(totals)


def test_registered_under_its_provider_name() -> None:
    assert vendor("aiven") is AIVEN


def test_months_total_what_the_invoices_say_through_billing_groups(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY).install(httpserver)
    context = _open(_settings(tmp_path, httpserver))

    table = _table(context, MonthRange(first="2025-01"))

    assert {month for month, _ in fake.expected_billed_by_month_and_currency()} == MONTHS
    assert _billed(table) == fake.expected_billed_by_month_and_currency()
    assert _billed_by_month(table) == fake.expected_billed_by_month()
    issued = [invoice for invoice in fake.invoices if invoice["state"] == "paid" and invoice["total_inc_vat"] != invoice["total_vat_zero"]]
    assert table.num_rows == sum(len(invoice["lines"]) for invoice in fake.invoices) + len(issued)  # lines once, plus VAT rows
    assert all(path.startswith(BILLING_GROUPS) for path in fake.calls)
    assert context.warnings == []


def test_the_organization_endpoints_take_over_once_billing_groups_are_retired(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY, sunset="all").install(httpserver)

    table = _table(_open(_settings(tmp_path, httpserver), options={"organization_id": ORGANIZATION}), MonthRange("2025-01"))

    assert _billed(table) == fake.expected_billed_by_month_and_currency()
    assert fake.calls[:2] == [BILLING_GROUPS, f"/v1/organization/{ORGANIZATION}/invoices"]
    assert sum(path.endswith("/lines") for path in fake.calls) == len(fake.invoices)
    # The organization lines' other spelling (begin_time, total, project_id, ...) maps the same way.
    late = next(row for row in table.to_pylist() if row["ChargeDescription"] == "pg-main: backup storage (late)" and row["x_BillingMonth"] == "2025-02")
    assert (late["ChargePeriodStart"], late["SubAccountId"], late["ResourceId"]) == (datetime(2025, 1, 29, tzinfo=UTC), "acme-prod", "acme-prod/pg-main")


def test_lines_come_from_the_organization_when_only_their_old_endpoint_is_retired(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY, sunset="lines").install(httpserver)

    table = _table(_open(_settings(tmp_path, httpserver), options={"organization_id": ORGANIZATION}), MonthRange("2025-01"))

    assert _billed(table) == fake.expected_billed_by_month_and_currency()
    assert sum(path.startswith("/v1/organization/") for path in fake.calls) == len(fake.invoices)


def test_retired_billing_groups_without_an_organization_id_say_what_to_set(tmp_path: Path, httpserver: HTTPServer) -> None:
    FakeAiven(TODAY, sunset="all").install(httpserver)

    with pytest.raises(VendorError, match="set the source option organization_id"):
        _table(_open(_settings(tmp_path, httpserver)), MonthRange("2025-01"))


def test_invoice_lines_map_onto_focus(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY).install(httpserver)

    rows = _table(_open(_settings(tmp_path, httpserver)), MonthRange("2025-02", "2025-02")).to_pylist()

    eur = next(invoice for invoice in fake.invoices if invoice["currency"] == "EUR" and invoice["period_begin"].startswith("2025-02"))
    line = next(line for line in eur["lines"] if line.get("service_type") == "pg" and line["line_type"] == "service_charge")
    pg = next(row for row in rows if row["InvoiceId"] == eur["invoice_number"] and row["SkuId"] == "pg:business-4")
    assert (pg["BilledCost"], pg["BillingCurrency"], pg["ListCost"]) == (Decimal(line["line_total_local"]), "EUR", Decimal(line["line_pre_discount_local"]))
    assert pg["EffectiveCost"] == pg["ContractedCost"] == pg["BilledCost"]
    assert pg["x_BilledCostInUsd"] == Decimal(line["line_total_usd"])
    assert (pg["BillingAccountId"], pg["BillingAccountName"]) == (eur["billing_group_id"], "Production")
    assert (pg["BillingPeriodStart"], pg["BillingPeriodEnd"]) == (datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))
    assert (pg["ChargeCategory"], pg["ChargeFrequency"], pg["ChargeDescription"]) == ("Usage", "Usage-Based", "pg-main: business-4")
    assert (pg["ServiceName"], pg["ServiceCategory"], pg["ServiceSubcategory"]) == ("Aiven for PostgreSQL", "Databases", "Relational Databases")
    assert (pg["ResourceId"], pg["ResourceName"], pg["SubAccountId"]) == ("acme-prod/pg-main", "pg-main", "acme-prod")
    assert (pg["RegionId"], pg["RegionName"], pg["HostProviderName"]) == ("google-europe-west1", "europe-west1", "Google Cloud")
    assert (pg["BillingAccountType"], pg["SubAccountType"]) == ("Billing Group", "Project")
    assert dict(pg["Tags"]) == {"team": "payments"}
    assert dict(pg["x_Extensions"]) == {"x_LineType": "service_charge", "x_InvoiceState": "paid"}
    assert pg["ProviderName"] == pg["PublisherName"] == pg["InvoiceIssuerName"] == pg["ServiceProviderName"] == "Aiven"
    by_type = {dict(row["x_Extensions"]).get("x_LineType"): row for row in rows if row["InvoiceId"] == eur["invoice_number"]}
    assert by_type["credit_consumption"]["ChargeCategory"] == "Credit" and by_type["credit_consumption"]["BilledCost"] < 0
    assert (by_type["rounding"]["ChargeCategory"], by_type["support_charge"]["ServiceName"]) == ("Adjustment", "Aiven Support")
    # A charge stamped in January belongs to the February invoice, so to February.
    assert by_type["extra_charge"]["ChargePeriodStart"] == datetime(2025, 1, 29, tzinfo=UTC) and by_type["extra_charge"]["x_BillingMonth"] == "2025-02"
    tax = by_type[None]
    assert (tax["ChargeCategory"], tax["BillingCurrency"]) == ("Tax", "EUR")
    assert tax["BilledCost"] == Decimal(eur["total_inc_vat"]) - Decimal(eur["total_vat_zero"])
    usd = next(row for row in rows if row["BillingAccountName"] == "Research" and row["SkuId"] == "pg:business-4")
    assert usd["BillingCurrency"] == "USD" and usd["BilledCost"] == usd["x_BilledCostInUsd"]  # lines with no local total


def test_the_running_months_estimate_is_loaded_and_follows_its_invoice(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY).install(httpserver)
    settings = _settings(tmp_path, httpserver)

    before = _billed_by_month(_table(_open(settings), MonthRange("2025-03")))
    estimate = next(invoice for invoice in fake.invoices if invoice["state"] == "estimate" and invoice["currency"] == "USD")
    estimate["lines"].append({"line_type": "service_charge", "description": "new service", "line_total_usd": "12.34"})
    after = _table(_open(settings), MonthRange("2025-03"))

    assert set(before) == {"2025-03"}
    assert _billed_by_month(after)["2025-03"] == before["2025-03"] + Decimal("12.34")
    assert {dict(extensions)["x_InvoiceState"] for extensions in after.column("x_Extensions").to_pylist()} == {"estimate"}


def test_only_invoices_of_the_months_asked_for_have_their_lines_fetched(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY).install(httpserver)

    _table(_open(_settings(tmp_path, httpserver)), MonthRange("2025-03"))

    assert sorted(path for path in fake.calls if path.endswith("/lines")) == sorted(
        f"{BILLING_GROUPS}/{invoice['billing_group_id']}/invoice/{invoice['invoice_number']}/lines"
        for invoice in fake.invoices if invoice["period_begin"].startswith("2025-03")
    )


def test_lines_that_miss_their_invoice_total_are_reported(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY, months=1)
    paid = next(invoice for invoice in fake.invoices if invoice["currency"] == "EUR")
    paid.update(state="paid", total_vat_zero=str(Decimal(paid["total_vat_zero"]) + 100))
    fake.install(httpserver)
    context = _open(_settings(tmp_path, httpserver))

    _table(context, MonthRange("2025-03"))

    assert len(context.warnings) == 1 and f"aiven invoice {paid['invoice_number']} (2025-03): its lines add up to" in context.warnings[0]


def test_an_invoice_without_a_period_is_reported(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY, months=1)
    fake.invoices[0]["period_begin"] = "March 2025"
    fake.install(httpserver)

    with pytest.raises(VendorError, match="aiven sent 'March 2025' where an ISO 8601 time was expected"):
        _table(_open(_settings(tmp_path, httpserver)), MonthRange("2025-03"))


def test_check_is_one_call(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY).install(httpserver)

    AIVEN.check(_open(_settings(tmp_path, httpserver)))

    assert fake.calls == [BILLING_GROUPS]


def test_check_uses_the_organization_once_billing_groups_are_retired(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY, sunset="all").install(httpserver)

    AIVEN.check(_open(_settings(tmp_path, httpserver), options={"organization_id": ORGANIZATION}))

    assert fake.calls == [BILLING_GROUPS, f"/v1/organization/{ORGANIZATION}/invoices"]


def test_a_wrong_token_is_refused_with_aivens_reason(tmp_path: Path, httpserver: HTTPServer) -> None:
    FakeAiven(TODAY).install(httpserver)

    with pytest.raises(VendorError) as raised:
        AIVEN.check(_open(_settings(tmp_path, httpserver), token="not-the-right-token"))

    assert raised.value.status == 403
    assert "Invalid token" in str(raised.value) and "Aiven token" in str(raised.value)
    assert "not-the-right-token" not in str(raised.value)


def test_a_wrong_organization_is_refused_with_aivens_reason(tmp_path: Path, httpserver: HTTPServer) -> None:
    FakeAiven(TODAY, sunset="all").install(httpserver)

    with pytest.raises(VendorError, match="404 .*Organization not found"):
        AIVEN.check(_open(_settings(tmp_path, httpserver), options={"organization_id": "org000000000"}))


def test_a_429_is_waited_out(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY, months=1).install(httpserver)
    httpserver.expect_oneshot_request(BILLING_GROUPS).respond_with_json({"message": "Too many requests"}, status=429, headers={"Retry-After": "1"})

    table = _table(_open(_settings(tmp_path, httpserver)), MonthRange("2025-03"))

    assert [response.status_code for _, response in httpserver.log[:2]] == [429, 200]
    assert _billed(table) == fake.expected_billed_by_month_and_currency()


def test_a_5xx_then_success(tmp_path: Path, httpserver: HTTPServer) -> None:
    fake = FakeAiven(TODAY, months=1).install(httpserver)
    lines = re.compile(r"^/v1/billing-group/.+/lines$")
    httpserver.expect_oneshot_request(lines).respond_with_json({"message": "Service Unavailable"}, status=503)

    table = _table(_open(_settings(tmp_path, httpserver, max_wait=0.05)), MonthRange("2025-03"))

    assert 503 in [response.status_code for _, response in httpserver.log]
    assert _billed(table) == fake.expected_billed_by_month_and_currency()


def test_a_5xx_that_never_ends_fails_the_read(tmp_path: Path, httpserver: HTTPServer) -> None:
    FakeAiven(TODAY, months=1).install(httpserver)
    for _ in range(3):
        httpserver.expect_oneshot_request(BILLING_GROUPS).respond_with_json({"message": "Internal server error"}, status=500)

    with pytest.raises(VendorError, match=r"500 .* after 3 tries: Internal server error.*try again later"):
        _table(_open(_settings(tmp_path, httpserver, max_wait=0.05)), MonthRange("2025-03"))


@pytest.mark.parametrize("invoices", [[], "no lines"])
def test_empty_billing_yields_no_rows(tmp_path: Path, httpserver: HTTPServer, invoices: Any) -> None:
    fake = FakeAiven(TODAY, months=1)
    if invoices == "no lines":
        for invoice in fake.invoices:
            invoice.update(lines=[], total_vat_zero="0.00", total_inc_vat="0.00")
    else:
        fake.invoices = invoices
    fake.install(httpserver)

    assert list(AIVEN.read(_open(_settings(tmp_path, httpserver)), MonthRange("2025-03"))) == []


def test_an_empty_organization_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="organization_id is empty"):
        _open(Settings(home=tmp_path), options={"organization_id": ""})


def test_rows_pass_the_focus_validator(tmp_path: Path, httpserver: HTTPServer) -> None:
    FakeAiven(TODAY).install(httpserver)
    batches = list(AIVEN.read(_open(_settings(tmp_path, httpserver)), MonthRange("2025-01")))

    result = focus_validate(write_focus_csv(batches, tmp_path / "aiven.csv"))

    assert "Total:" in result.stdout, result.stdout + result.stderr
    failed = failing_rules(result)
    assert failed - set(ALLOWED_FAILURES) == set(), result.stdout
