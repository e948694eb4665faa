"""A deterministic Azure Cost Management export pair (actual + amortized) for one billing month, MCA camelCase.

Laid out as Cost Management writes it: `{root}/{export}/{YYYYMMDD-YYYYMMDD}/{run-time}/{run-guid}/part_0_0001.csv`
with `manifest.json` (exportConfig.type ActualCost / AmortizedCost) beside each run's data. The export names do
not say which dataset they hold, so only the manifest can tell. With `stale_runs`, the actual export also has an
older complete run (restated since) and a newer run still being written (no manifest): both must be ignored.

The month holds every hard case of Microsoft's actual/amortized rules, billed in EUR and priced in USD:
on-demand usage and a marketplace purchase (in both datasets), a reservation bought monthly (purchase in
actual; covered usage and unused reservation in amortized), the same for a savings plan, and a reservation
refund (actual only). Totals: actual 59.2002 EUR, amortized 69.2002 EUR (see AZURE_PAIR_TOTALS).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

RATE = Decimal("0.8")  # exchangeRatePricingToBilling: 1 USD = 0.8 EUR
NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-a0b1c2d3e4f5")
SUBSCRIPTION = "00000000-0000-0000-0000-00000000a2e1"
RESERVATION = "/providers/Microsoft.Capacity/reservationOrders/11111111-1111-1111-1111-111111111111/reservations/22222222-2222-2222-2222-222222222222"
RESERVATION_PURCHASE = "/providers/Microsoft.Capacity/reservationOrders/11111111-1111-1111-1111-111111111111/reservations/"
SAVINGS_PLAN = "/providers/Microsoft.BillingBenefits/savingsPlanOrders/33333333-3333-3333-3333-333333333333/savingsPlans/44444444-4444-4444-4444-444444444444"
VM = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/app/providers/Microsoft.Compute/virtualMachines/web-1"
STORAGE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/app/providers/Microsoft.Storage/storageAccounts/appdata"
AZURE_PAIR_TOTALS = {"actual": Decimal("59.2002"), "amortized": Decimal("69.2002")}

HEADER = (
    "invoiceId", "billingAccountId", "billingAccountName", "billingProfileId", "billingProfileName",
    "billingPeriodStartDate", "billingPeriodEndDate", "date", "serviceFamily", "consumedService", "meterId",
    "meterName", "meterCategory", "meterSubCategory", "ProductId", "product", "subscriptionId", "subscriptionName",
    "publisherType", "publisherName", "resourceGroupName", "ResourceId", "resourceLocation", "effectivePrice",
    "quantity", "unitOfMeasure", "chargeType", "billingCurrency", "pricingCurrency", "costInBillingCurrency",
    "costInPricingCurrency", "costInUsd", "paygCostInBillingCurrency", "exchangeRatePricingToBilling", "tags",
    "payGPrice", "frequency", "unitPrice", "pricingModel", "benefitId", "benefitName",
)  # fmt: skip


@dataclass(frozen=True)
class Charge:
    """One row: its cost in EUR in each dataset (None = absent from that dataset)."""

    day: int
    charge_type: str
    pricing_model: str
    frequency: str
    product: str
    consumed_service: str
    resource_id: str
    quantity: Decimal
    unit: str
    payg_price_usd: Decimal
    actual: Decimal | None
    amortized: Decimal | None
    benefit_id: str = ""
    benefit_name: str = ""
    tags: str = ""


CHARGES = (
    *(
        Charge(day, "Usage", "OnDemand", "UsageBased", "Virtual Machines D2s v5 - West Europe", "Microsoft.Compute", VM,
               Decimal(24), "1 Hour", Decimal("0.125"), Decimal("2.40"), Decimal("2.40"), tags='{"team":"web","env":"prod"}')
        for day in (1, 2, 3)
    ),
    Charge(2, "Usage", "OnDemand", "UsageBased", "Tables - Read Operations", "Microsoft.Storage", STORAGE,
           Decimal("0.0500"), "10K", Decimal("0.005"), Decimal("0.0002"), Decimal("0.0002"), tags='"team": "data"'),
    Charge(5, "Purchase", "OnDemand", "OneTime", "Contoso Firewall (Marketplace)", "Microsoft.SaaS", "",
           Decimal(1), "1 Month", Decimal(15), Decimal("12.00"), Decimal("12.00")),
    Charge(1, "Purchase", "Reservation", "Recurring", "Reserved VM Instance, Standard_D4s_v5, West Europe, 1 Year",
           "Microsoft.Capacity", RESERVATION_PURCHASE, Decimal(1), "1 Hour", Decimal(0), Decimal("30.00"), None,
           RESERVATION_PURCHASE, "vm-reservation"),
    *(
        Charge(day, "Usage", "Reservation", "UsageBased", "Virtual Machines D4s v5 - West Europe", "Microsoft.Compute",
               VM.replace("web-1", "db-1"), Decimal(24), "1 Hour", Decimal("0.25"), Decimal(0), Decimal("8.00"),
               RESERVATION, "vm-reservation")
        for day in (1, 2, 3)
    ),
    Charge(4, "UnusedReservation", "Reservation", "UsageBased", "Virtual Machines D4s v5 - West Europe",
           "Microsoft.Capacity", RESERVATION, Decimal(18), "1 Hour", Decimal(0), None, Decimal("6.00"),
           RESERVATION, "vm-reservation"),
    Charge(1, "Purchase", "SavingsPlan", "Recurring", "Compute savings plan, 1 Year", "Microsoft.BillingBenefits",
           SAVINGS_PLAN, Decimal(1), "1 Hour", Decimal(0), Decimal("20.00"), None, SAVINGS_PLAN, "compute-savings-plan"),
    *(
        Charge(day, "Usage", "SavingsPlan", "UsageBased", "Virtual Machines E2s v5 - West Europe", "Microsoft.Compute",
               VM.replace("web-1", "batch-1"), Decimal(24), "1 Hour", Decimal("0.50"), Decimal(0), Decimal("7.50"),
               SAVINGS_PLAN, "compute-savings-plan")
        for day in (1, 2)
    ),
    Charge(3, "UnusedSavingsPlan", "SavingsPlan", "UsageBased", "Compute savings plan, 1 Year",
           "Microsoft.BillingBenefits", SAVINGS_PLAN, Decimal(1), "1 Hour", Decimal(0), None, Decimal("5.00"),
           SAVINGS_PLAN, "compute-savings-plan"),
    Charge(6, "Refund", "Reservation", "OneTime", "Reserved VM Instance, Standard_B2s, West Europe, 1 Year",
           "Microsoft.Capacity", RESERVATION_PURCHASE, Decimal(-1), "1 Hour", Decimal(0), Decimal("-10.00"), None,
           RESERVATION_PURCHASE, "old-reservation"),
)  # fmt: skip


def _row(charge: Charge, cost: Decimal, month: date) -> dict[str, str]:
    last = monthrange(month.year, month.month)[1]
    us = lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}"
    price_eur = charge.payg_price_usd * RATE
    return {
        "invoiceId": f"G{month:%y%m}00001",  # the month is closed and invoiced
        "billingAccountId": "aaaa1111-2222-3333-4444-555566667777:88889999-aaaa-bbbb-cccc-ddddeeeeffff_2019-05-31",
        "billingAccountName": "Contoso Ltd",
        "billingProfileId": "AB12-CD34-EF5-GH6",
        "billingProfileName": "Contoso Europe",
        "billingPeriodStartDate": us(month),
        "billingPeriodEndDate": us(month.replace(day=last)),
        "date": us(month.replace(day=charge.day)),
        "serviceFamily": "Compute",
        "consumedService": charge.consumed_service,
        "meterId": str(uuid.uuid5(NAMESPACE, charge.product)),
        "meterName": charge.product.split(" - ")[0],
        "meterCategory": "Virtual Machines" if "Virtual Machines" in charge.product else "",
        "meterSubCategory": "",
        "ProductId": "DZH318Z0" + uuid.uuid5(NAMESPACE, charge.product).hex[:4].upper(),
        "product": charge.product,
        "subscriptionId": SUBSCRIPTION,
        "subscriptionName": "Contoso Production",
        "publisherType": "Marketplace" if "Marketplace" in charge.product else "Microsoft",
        "publisherName": "Contoso Security" if "Marketplace" in charge.product else "Microsoft",
        "resourceGroupName": "app" if charge.resource_id.startswith("/subscriptions/") else "",
        "ResourceId": charge.resource_id,
        "resourceLocation": "westeurope",
        "effectivePrice": str(cost / charge.quantity if charge.quantity else Decimal(0)),
        "quantity": str(charge.quantity),
        "unitOfMeasure": charge.unit,
        "chargeType": charge.charge_type,
        "billingCurrency": "EUR",
        "pricingCurrency": "USD",
        "costInBillingCurrency": str(cost),
        "costInPricingCurrency": str(cost / RATE),
        "costInUsd": str(cost / RATE),
        "paygCostInBillingCurrency": str(price_eur * charge.quantity),
        "exchangeRatePricingToBilling": str(RATE),
        "tags": charge.tags,
        "payGPrice": str(charge.payg_price_usd),
        "frequency": charge.frequency,
        "unitPrice": str(price_eur or (cost / charge.quantity if charge.quantity else Decimal(0))),
        "pricingModel": charge.pricing_model,
        "benefitId": charge.benefit_id,
        "benefitName": charge.benefit_name,
    }


def _csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")  # Cost Management writes a BOM


def _write_run(root: Path, export: str, export_type: str, month: date, run_time: str, rows: list[dict[str, str]], manifest: bool) -> Path:
    last = monthrange(month.year, month.month)[1]
    date_range = f"{month:%Y%m%d}-{month.replace(day=last):%Y%m%d}"
    run_id = str(uuid.uuid5(NAMESPACE, f"{export}/{date_range}/{run_time}"))
    folder = root / export / date_range / run_time / run_id
    folder.mkdir(parents=True, exist_ok=True)
    data = _csv(rows)
    (folder / "part_0_0001.csv").write_bytes(data)
    if manifest:
        blob = f"exports/{export}/{date_range}/{run_time}/{run_id}/part_0_0001.csv"
        document = {
            "manifestVersion": "2024-04-01",
            "byteCount": len(data),
            "blobCount": 1,
            "dataRowCount": len(rows),
            "exportConfig": {
                "exportName": export,
                "resourceId": "/providers/Microsoft.Billing/billingAccounts/contoso/billingProfiles/AB12-CD34-EF5-GH6",
                "dataVersion": "2023-12-01-preview",
                "apiVersion": "2023-07-01-preview",
                "type": export_type,
                "timeFrame": "MonthToDate",
                "granularity": "Daily",
            },
            "deliveryConfig": {"partitionData": True, "dataOverwriteBehavior": "CreateNewReport", "fileFormat": "Csv", "compressionMode": "None"},
            "runInfo": {
                "executionType": "Scheduled",
                "submittedTime": f"{run_time[:4]}-{run_time[4:6]}-{run_time[6:8]}T{run_time[8:10]}:{run_time[10:12]}:00Z",
                "runId": run_id,
                "startDate": f"{month:%Y-%m-%d}T00:00:00",
                "endDate": f"{month.replace(day=last):%Y-%m-%d}T00:00:00",
            },
            "blobs": [{"blobName": blob, "byteCount": len(data), "dataRowCount": len(rows)}],
        }
        (folder / "manifest.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    return folder


def write_azure_export(root: Path, month: date = date(2026, 1, 1), stale_runs: bool = True, through: date | None = None) -> Path:
    """Write the pair under `root` (export names `cost-export-a` = actual, `cost-export-b` = amortized).

    With `through` inside the month, only the charges dated before it are there, delivered by a run on that day."""
    month = month.replace(day=1)
    charges = [charge for charge in CHARGES if through is None or month.replace(day=charge.day) < through]
    actual = [_row(charge, charge.actual, month) for charge in charges if charge.actual is not None]
    amortized = [_row(charge, charge.amortized, month) for charge in charges if charge.amortized is not None]
    next_month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    closed = f"{min(next_month, through or next_month):%Y%m%d}0600"
    if stale_runs:
        _write_run(root, "cost-export-a", "ActualCost", month, f"{month:%Y%m}150600", actual[:2], manifest=True)
        _write_run(root, "cost-export-a", "ActualCost", month, f"{next_month:%Y%m%d}0700", actual[:1], manifest=False)
    _write_run(root, "cost-export-a", "ActualCost", month, closed, actual, manifest=True)
    _write_run(root, "cost-export-b", "AmortizedCost", month, closed, amortized, manifest=True)
    return root
