"""Format `gcp-cud-metadata`: Google's commitment (CUD) metadata export, read from BigQuery as commitment records.

Google writes a daily snapshot of a billing account's spend-based CUDs into the table `cud_subscriptions_export`
(`bq://PROJECT.DATASET.cud_subscriptions_export`). Each row becomes one record of catalog Commitment fields, keyed
by `subscription.instance_id`: the id the billing export puts on a CUD's rows. The table is read whole through the
billing export's BigQuery path (same client, URI rules and error messages). Field choices and the assumptions
behind them: docs/connectors/gcp-cud-metadata.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costlake.errors import InvalidInput
from costlake.formats.contract import MetadataFormat
from costlake.formats.conversion import ConversionError
from costlake.formats.gcp.bigquery import read_pages
from costlake.months import MonthRange
from costlake.settings import Settings

NAME = "gcp-cud-metadata"
# The billing mapping writes this type on every CUD row; a commitment's enriched rows keep the same value.
COMMITMENT_TYPE = "Committed Use Discount"
# Google's docs spell the field `commitent_amount`; the real column may be spelled right. Either is read.
AMOUNT_FIELDS = ("commitment_amount", "commitent_amount")
ACTIVE = "active"
# A billing export has `subscription` too; `cud_product` is what tells this table apart.
REQUIRED_COLUMNS = ("subscription", "cud_product")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _decimal(value: Any) -> Decimal | None:
    """NUMERIC arrives as Decimal; a FLOAT (a copied table) is read from its shortest text, never its binary value."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(repr(value) if isinstance(value, float) else str(value))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _category(product_type: str | None) -> str:
    """FOCUS CommitmentDiscountCategory. The export lists spend-based CUDs ("Spend-Based"); a resource-based type,
    should one appear, commits to usage."""
    kind = (product_type or "").lower()
    return "Usage" if "resource" in kind or "usage" in kind else "Spend"


def _amount(row: Mapping[str, Any]) -> Mapping[str, Any]:
    return next((row[name] for name in AMOUNT_FIELDS if row.get(name)), {})


def commitment_record(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """Catalog Commitment fields of one export row; None for a row without an instance id (nothing can join it)."""
    subscription = row.get("subscription") or {}
    commitment_id = _text(subscription.get("instance_id"))
    if commitment_id is None:
        return None
    product = row.get("cud_product") or {}
    amount = _amount(row)
    return {
        "commitment_id": commitment_id,
        "name": _text(subscription.get("display_name")),
        "category": _category(_text(product.get("type"))),
        "type": COMMITMENT_TYPE,
        "product_name": _text(product.get("display_name")),
        "consumption_model": _text((row.get("consumption_model") or {}).get("id")),
        "billing_account_id": _text(row.get("billing_account_id")),
        "region": _text(row.get("region")),
        "term": _text(row.get("term")),
        "amount": _decimal(amount.get("value")),
        "amount_unit": _text(amount.get("unit")),
        "starts_at": _utc(row.get("start_time")),
        "ends_at": _utc(row.get("end_time")),
        "state": _text(row.get("state")),
    }


def _newer(record: dict[str, Any], seen: dict[str, Any]) -> bool:
    """Should a table keep several snapshots of one commitment, the later one wins: a state only moves on from
    Active (to Expired, ...), and a later end time is a later term."""

    def rank(item: dict[str, Any]) -> tuple[bool, datetime]:
        return (item["state"] or "").lower() != ACTIVE, item["ends_at"] or datetime.min.replace(tzinfo=UTC)

    return rank(record) > rank(seen)


def read_cud_metadata(uri: str, settings: Settings, options: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every commitment in the table, one record per instance id."""
    if options:
        raise InvalidInput("options", f"{NAME} takes no options; remove {', '.join(sorted(options))}")
    records: dict[str, dict[str, Any]] = {}
    for page in read_pages(uri, MonthRange(), {}):
        missing = [name for name in REQUIRED_COLUMNS if name not in page.schema.names]
        if missing:
            raise ConversionError(
                f"{uri}: no {' or '.join(missing)} column; expected Google's CUD metadata export (the table "
                "cud_subscriptions_export: subscription, cud_product, consumption_model, start_time, end_time, state)"
            )
        for row in page.to_pylist():
            record = commitment_record(row)
            if record is not None:
                seen = records.get(record["commitment_id"])
                if seen is None or _newer(record, seen):
                    records[record["commitment_id"]] = record
    return list(records.values())


GCP_CUD_METADATA = MetadataFormat(
    name=NAME,
    label="Google Cloud CUD metadata (BigQuery)",
    docs="docs/connectors/gcp-cud-metadata.md",
    providers=("gcp",),
    read_records=read_cud_metadata,
)
