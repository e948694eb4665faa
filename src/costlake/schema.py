"""The canonical cost-row schema: every FOCUS 1.2 column, the 1.3 additions, and costlake's own `x_` columns.

The lake schema never varies by source: whatever an export holds is mapped onto these columns, and anything
else lands in the `x_Extensions` map. Money is DECIMAL(38,18) everywhere.
"""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(38, 18)
TIMESTAMP = pa.timestamp("us", tz="UTC")
TAG_MAP = pa.map_(pa.string(), pa.string())

DECIMAL_COLUMNS = (
    "BilledCost",
    "CommitmentDiscountQuantity",
    "ConsumedQuantity",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
)
TIMESTAMP_COLUMNS = ("BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart")
# JSON columns other than Tags are kept as their JSON text, unparsed (1.3's shapes are still settling).
JSON_TEXT_COLUMNS = ("AllocatedMethodDetails", "AllocatedTags", "ContractApplied", "SkuPriceDetails")
MAP_COLUMNS = ("Tags",)
STRING_COLUMNS = (
    "AllocatedMethodId",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AvailabilityZone",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedUnit",
    "HostProviderName",
    "InvoiceId",
    "InvoiceIssuerName",
    "PricingCategory",
    "PricingCurrency",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
)

FOCUS_COLUMNS: dict[str, pa.DataType] = dict(
    sorted(
        [(name, MONEY) for name in DECIMAL_COLUMNS]
        + [(name, TIMESTAMP) for name in TIMESTAMP_COLUMNS]
        + [(name, pa.string()) for name in JSON_TEXT_COLUMNS + STRING_COLUMNS]
        + [(name, TAG_MAP) for name in MAP_COLUMNS]
    )
)

# Columns costlake adds. The last two partition the table: one folder per (source, billing month).
EXTENSIONS = "x_Extensions"
# Fixed extension columns that converters fill where an export gives them, so later features (a display
# currency, tag lineage) need no re-sync: the exchange rate from USD to BillingCurrency, costs in USD, and the
# origin of each tag (e.g. GCP "label", "project_label", "system_label", "tag").
EXCHANGE_RATE = "x_ExchangeRateUsdToBilling"
BILLED_COST_USD = "x_BilledCostInUsd"
EFFECTIVE_COST_USD = "x_EffectiveCostInUsd"
TAG_ORIGINS = "x_TagOrigins"
SYNC_RUN_ID = "x_SyncRunId"
SOURCE_ID = "x_SourceId"
BILLING_MONTH = "x_BillingMonth"
PARTITION_COLUMNS = [SOURCE_ID, BILLING_MONTH]

CONVERTED_EXTENSIONS: dict[str, pa.DataType] = {
    EXTENSIONS: TAG_MAP,
    EXCHANGE_RATE: MONEY,
    BILLED_COST_USD: MONEY,
    EFFECTIVE_COST_USD: MONEY,
    TAG_ORIGINS: TAG_MAP,
}
COSTLAKE_COLUMNS: dict[str, pa.DataType] = {
    **CONVERTED_EXTENSIONS,
    SYNC_RUN_ID: pa.string(),
    SOURCE_ID: pa.string(),
    BILLING_MONTH: pa.string(),
}

# What a source reader yields: FOCUS columns, extensions and the billing month (lineage is added by the sync).
CONVERTED_SCHEMA = pa.schema([*FOCUS_COLUMNS.items(), *CONVERTED_EXTENSIONS.items(), (BILLING_MONTH, pa.string())])
TABLE_SCHEMA = pa.schema([*FOCUS_COLUMNS.items(), *COSTLAKE_COLUMNS.items()])
# Data files hold every column but the partition columns, whose values live in the folder names and the log.
DATA_FILE_SCHEMA = pa.schema([field for field in TABLE_SCHEMA if field.name not in PARTITION_COLUMNS])

REQUIRED_COLUMNS = ("BilledCost", "ChargePeriodStart", "BillingCurrency")

# Names from FOCUS 1.0-preview and earlier, used only when the file lacks the current name.
LEGACY_NAMES = {
    "amortizedcost": "EffectiveCost",
    "chargetype": "ChargeCategory",
    "invoiceissuer": "InvoiceIssuerName",
    "provider": "ProviderName",
    "publisher": "PublisherName",
    "region": "RegionId",
    "usagequantity": "ConsumedQuantity",
    "usageunit": "ConsumedUnit",
}
