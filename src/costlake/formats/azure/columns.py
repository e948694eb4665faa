"""Which column of an Azure cost details file holds what, across EA, MCA, legacy and localized headers.

Cost Management has written the same facts under many names: EA PascalCase (`CostInBillingCurrency`), the EA
"c360" names (`Cost`, `BillingCurrency`), MCA camelCase (`costInBillingCurrency`), the legacy usage v1 / PAYG
names (`PreTaxCost`, `SubscriptionGuid`, `UsageDateTime`), and localized headers that carry the English name
in parentheses (`Abonnement-GUID (SubscriptionGuid)`). Each fact gets one key here; the first name of its list
that the file has wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# key -> header names (lower case) in order of preference.
ALIASES: dict[str, tuple[str, ...]] = {
    "cost": ("costinbillingcurrency", "cost", "pretaxcost", "extendedcost"),
    "date": ("date", "usagedatetime", "usagedate"),
    "billing_period_start": ("billingperiodstartdate",),
    "billing_period_end": ("billingperiodenddate",),
    "currency": ("billingcurrencycode", "billingcurrency", "currency"),
    "pricing_currency": ("pricingcurrencycode", "pricingcurrency"),
    "quantity": ("quantity", "usagequantity", "consumedquantity"),
    "unit_of_measure": ("unitofmeasure",),
    "charge_type": ("chargetype",),
    "pricing_model": ("pricingmodel",),
    "frequency": ("frequency",),
    "benefit_id": ("benefitid",),
    "benefit_name": ("benefitname",),
    "reservation_id": ("reservationid",),
    "reservation_name": ("reservationname",),
    "billing_account_id": ("billingaccountid",),
    "billing_account_name": ("billingaccountname",),
    "billing_profile_id": ("billingprofileid",),
    "billing_profile_name": ("billingprofilename",),
    "subscription_id": ("subscriptionid", "subscriptionguid"),
    "subscription_name": ("subscriptionname",),
    "resource_id": ("resourceid", "instanceid", "instancename"),
    "resource_name": ("resourcename",),
    "resource_type": ("resourcetype",),
    "location": ("resourcelocation", "location"),
    "availability_zone": ("availabilityzone",),
    "consumed_service": ("consumedservice",),
    "service_name": ("servicename",),
    "meter_category": ("metercategory",),
    "meter_name": ("metername",),
    "meter_id": ("meterid",),
    "product_name": ("productname", "product"),
    "product_id": ("productid",),
    "unit_price": ("unitprice", "resourcerate"),
    "effective_price": ("effectiveprice",),
    "payg_price": ("paygprice",),
    "payg_cost": ("paygcostinbillingcurrency",),
    "cost_in_usd": ("costinusd",),
    "cost_in_pricing_currency": ("costinpricingcurrency",),
    "exchange_rate_pricing_to_billing": ("exchangeratepricingtobilling",),
    "invoice_id": ("invoiceid",),
    "publisher_name": ("publishername",),
    "partner_name": ("partnername", "resellername"),
    "tags": ("tags",),
}

# Markers of an MCA file: its billing account is the billing profile, and it prices in a pricing currency.
MCA_MARKERS = ("costinusd", "pricingcurrency", "paygcostinbillingcurrency", "exchangeratepricingtobilling")

_LOCALIZED = re.compile(r".*\(\s*([A-Za-z0-9_]+)\s*\)\s*$")


def english_name(header_name: str) -> str:
    """`Abonnement-GUID (SubscriptionGuid)` -> `SubscriptionGuid`; a BOM and spaces around are dropped."""
    name = header_name.replace("\ufeff", "").strip()
    match = _LOCALIZED.fullmatch(name)
    return match[1] if match else name


@dataclass(frozen=True)
class Column:
    name: str  # as in the file (what SQL quotes)
    duck_type: str
    english: str  # the English name, as the export spells it (x_Extensions keys)


class AzureHeader:
    """A file's header resolved to keys: `get(key)` is the column holding that fact, or None."""

    def __init__(self, header: list[tuple[str, str]]) -> None:
        self.columns = [Column(name, duck_type, english_name(name)) for name, duck_type in header]
        by_lower: dict[str, Column] = {}
        for column in self.columns:
            by_lower.setdefault(column.english.lower(), column)
        self.by_lower = by_lower
        self.resolved: dict[str, Column] = {}
        for key, names in ALIASES.items():
            found = next((by_lower[name] for name in names if name in by_lower), None)
            if found is not None:
                self.resolved[key] = found

    def get(self, key: str) -> Column | None:
        return self.resolved.get(key)

    @property
    def is_mca(self) -> bool:
        return any(marker in self.by_lower for marker in MCA_MARKERS)

    def missing_required(self) -> list[str]:
        """What a file must have to be converted: a cost, a date and a currency (each under any known name)."""
        return [ALIASES[key][0] for key in ("cost", "date", "currency") if key not in self.resolved]


def looks_like_azure_cost_details(header: list[str]) -> bool:
    """A cost details file: a cost, a date, and Azure's meter or service columns; not a FOCUS file."""
    names = {english_name(name).lower() for name in header}
    if "billedcost" in names:
        return False
    has = lambda key: any(name in names for name in ALIASES[key])
    return has("cost") and has("date") and any(name in names for name in ("metercategory", "meterid", "consumedservice"))
