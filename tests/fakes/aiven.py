"""A local Aiven billing API, after the official generated Go client (aiven/go-client-codegen: BillingGroupOut,
InvoiceOut, LineOut) and, for the organization endpoints whose shapes Aiven has not published, a public client
that calls them (nais/aiven-cost: `/v1/organization/{id}/invoices` and `/invoices/{number}/lines`, lines spelled
begin_time / total / currency / project_id ...).

`Authorization: aivenv1 <token>`; lists come back whole; money is decimal strings. `sunset` retires the deprecated
billing-group endpoints ("all") or only their lines endpoint ("lines"): they then answer 410, as a sunset API does.
Invoices are generated deterministically per billing group and month, the current month's as an `estimate`.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "aiven-token-0123456789abcdefABCDEF"
ORGANIZATION = "org4f6a3b2c1d0"
CENT = Decimal("0.01")
# (billing_group_id, name, currency, VAT rate): an EUR group whose lines carry local totals, a USD one whose lines
# carry only line_total_usd.
GROUPS = [("588a8e63-fda7-4ff7-9bff-577debfee604", "Production", "EUR", Decimal("0.24")),
          ("9d2bd0b5-1c5e-4b4e-8a51-2c6f1b7f0c21", "Research", "USD", Decimal(0))]
SERVICES = [("acme-prod", "pg-main", "pg", "business-4", "google-europe-west1", {"team": "payments"}),
            ("acme-prod", "kafka-events", "kafka", "startup-2", "aws-eu-west-1", {"team": "platform", "env": "prod"}),
            ("acme-dev", "os-logs", "opensearch", "hobbyist", "azure-westeurope", {})]
EUR_PER_USD = Decimal("0.92")


def _months(today: date, count: int) -> list[date]:
    first = today.replace(day=1)
    months = [first]
    for _ in range(count - 1):
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    return months


def _next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _lines(rng: random.Random, month: date, currency: str) -> list[dict[str, Any]]:
    """LineOut records: service charges, one late charge stamped in the previous month, support, a credit, rounding."""
    end = _next_month(month)
    records: list[tuple[str, Decimal, dict[str, Any]]] = []
    for project, service, service_type, plan, cloud, tags in SERVICES:
        records.append(("service_charge", Decimal(rng.randint(1000, 60000)) / 100, {
            "description": f"{service}: {plan}", "project_name": project, "service_name": service, "service_type": service_type,
            "service_plan": plan, "cloud_name": cloud, "tags": tags, "timestamp_begin": _stamp(month), "timestamp_end": _stamp(end)}))
    late = month - timedelta(days=3)
    records.append(("extra_charge", Decimal(rng.randint(100, 900)) / 100, {
        "description": "pg-main: backup storage (late)", "project_name": "acme-prod", "service_name": "pg-main", "service_type": "pg",
        "timestamp_begin": _stamp(late), "timestamp_end": _stamp(late + timedelta(days=1))}))
    records.append(("support_charge", Decimal("150.00"), {"description": "Business support"}))
    records.append(("credit_consumption", -Decimal(rng.randint(500, 5000)) / 100, {"description": "Credit: STARTUP-2024"}))
    records.append(("rounding", Decimal("0.01"), {"description": "Rounding", "unknown_future_field": [1, 2, 3]}))
    lines = []
    for line_type, amount, extra in records:
        line = {"line_type": line_type, **extra}
        if currency == "USD":
            line["line_total_usd"] = str(amount)
        else:
            discount = Decimal(rng.choice([0, 0, 5, 10])) / 100 * amount if amount > 0 else Decimal(0)
            line.update(line_total_local=str(amount), local_currency=currency, line_pre_discount_local=str((amount + discount).quantize(CENT)),
                        line_total_usd=str((amount / EUR_PER_USD).quantize(CENT)))
        lines.append(line)
    return lines


def generate(today: date, months: int = 3, seed: int = 11) -> list[dict[str, Any]]:
    """Invoices (InvoiceOut, with their LineOut lines under "lines") per billing group and month up to today's."""
    rng = random.Random(seed)
    invoices = []
    for group_id, group_name, currency, vat in GROUPS:
        for month in _months(today, months):
            lines = _lines(rng, month, currency)
            before_vat = sum((Decimal(line.get("line_total_local") or line["line_total_usd"]) for line in lines), Decimal(0))
            running = month == today.replace(day=1)
            last_second = f"{(_next_month(month) - timedelta(days=1)).isoformat()}T23:59:59Z"
            invoices.append({
                "invoice_number": f"{group_id[:6]}-{month:%Y%m}", "billing_group_id": group_id, "billing_group_name": group_name,
                "billing_group_state": "active", "currency": currency, "period_begin": _stamp(month), "period_end": last_second,
                "state": "estimate" if running else "paid", "total_vat_zero": str(before_vat),
                # An estimate has no VAT computed yet; an issued invoice adds it.
                "total_inc_vat": str(before_vat if running else (before_vat * (1 + vat)).quantize(CENT)),
                "download_cookie": "c00k1e", "generated_at": _stamp(_next_month(month)), "lines": lines,
            })
    return invoices


def organization_line(line: dict[str, Any], currency: str) -> dict[str, Any]:
    """A LineOut in the spelling a public client reads from the organization lines endpoint."""
    renamed = {"begin_time": "timestamp_begin", "end_time": "timestamp_end", "cloud": "cloud_name", "plan": "service_plan",
               "project_id": "project_name", "service_id": "service_name", "total_usd": "line_total_usd"}
    record = {new: line[old] for new, old in renamed.items() if old in line}
    record.update({key: line[key] for key in ("description", "line_type", "service_type", "tags") if key in line})
    record["total"] = line.get("line_total_local") or line["line_total_usd"]
    record["currency"] = line.get("local_currency") or currency
    return record


def _error(status: int, message: str) -> Response:
    body = {"message": message, "errors": [{"message": message, "status": status, "error_code": "error"}]}
    return Response(json.dumps(body), status=status, content_type="application/json")


class FakeAiven:
    """The billing endpoints over `invoices` (generate()'s shape). `calls` records every path asked for."""

    def __init__(self, today: date, invoices: list[dict[str, Any]] | None = None, *, months: int = 3,
                 sunset: Literal["none", "lines", "all"] = "none", organization_id: str = ORGANIZATION) -> None:
        self.invoices = generate(today, months) if invoices is None else invoices
        self.sunset = sunset
        self.organization_id = organization_id
        self.calls: list[str] = []

    def install(self, httpserver: HTTPServer) -> FakeAiven:
        httpserver.expect_request(re.compile(r"^/v1/.*"), method="GET").respond_with_handler(self._handle)
        return self

    @staticmethod
    def credential() -> str:
        return TOKEN

    def expected_billed_by_month(self) -> dict[str, Decimal]:
        """Sum of the invoices' total_inc_vat per month of period_begin (currencies added up, as a sync's totals are)."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for (month, _), total in self.expected_billed_by_month_and_currency().items():
            totals[month] += total
        return dict(totals)

    def expected_billed_by_month_and_currency(self) -> dict[tuple[str, str], Decimal]:
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for invoice in self.invoices:
            totals[invoice["period_begin"][:7], invoice["currency"]] += Decimal(invoice["total_inc_vat"])
        return dict(totals)

    def _handle(self, request: Request) -> Response:
        self.calls.append(request.path)
        if request.headers.get("Authorization") != f"aivenv1 {TOKEN}":
            return _error(403, "Invalid token")
        path = request.path
        if path.startswith("/v1/billing-group"):
            gone = self.sunset == "all" or (self.sunset == "lines" and path.endswith("/lines"))
            return _error(410, "This endpoint has been removed; use the organization billing endpoints") if gone else self._deprecated(path)
        if match := re.fullmatch(r"/v1/organization/([^/]+)/invoices(?:/([^/]+)/lines)?", path):
            if match[1] != self.organization_id:
                return _error(404, "Organization not found")
            return self._organization(match[2])
        return _error(404, "Not found")

    def _json(self, body: dict[str, Any]) -> Response:
        return Response(json.dumps(body), status=200, content_type="application/json")

    def _listed(self, invoice: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in invoice.items() if key != "lines"}

    def _deprecated(self, path: str) -> Response:
        if path == "/v1/billing-group":
            groups = {invoice["billing_group_id"]: invoice for invoice in self.invoices}
            return self._json({"billing_groups": [
                {"billing_group_id": group_id, "billing_group_name": invoice["billing_group_name"], "billing_currency": invoice["currency"],
                 "account_id": "a1b2c3", "account_name": "Acme", "estimated_balance_local": "0.00", "payment_method": "card"}
                for group_id, invoice in groups.items()]})
        match = re.fullmatch(r"/v1/billing-group/([^/]+)/invoice(?:/([^/]+)/lines)?", path)
        if not match:
            return _error(404, "Not found")
        mine = [invoice for invoice in self.invoices if invoice["billing_group_id"] == match[1]]
        if match[2] is None:
            return self._json({"invoices": [self._listed(invoice) for invoice in mine]})
        found = [invoice for invoice in mine if invoice["invoice_number"] == match[2]]
        return self._json({"lines": found[0]["lines"]}) if found else _error(404, "Invoice not found")

    def _organization(self, number: str | None) -> Response:
        if number is None:
            return self._json({"invoices": [self._listed(invoice) for invoice in self.invoices]})
        found = [invoice for invoice in self.invoices if invoice["invoice_number"] == number]
        if not found:
            return _error(404, "Invoice not found")
        return self._json({"lines": [organization_line(line, found[0]["currency"]) for line in found[0]["lines"]]})
