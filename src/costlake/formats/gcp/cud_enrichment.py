"""The commitment columns of canonical GCP billing rows, completed from the tenant's commitment metadata.

A row is tied to a commitment in one of two ways (docs/connectors/gcp-cud-metadata.md):
- by id: the billing mapping already set CommitmentDiscountId (from `subscription.instance_id` on CUD fee and CUD
  credit rows). The row gets the commitment's name, category and type; nothing else changes.
- by consumption model: in Google's newer spend-based CUD model, covered usage carries no CUD credit, only the CUD's
  consumption model (`x_Extensions["consumption_model.id"]`). A Usage row without a commitment whose consumption
  model, billing account, region and charge start fit exactly one commitment is attributed to it: the commitment's
  id, name, category and type, CommitmentDiscountStatus Used and PricingCategory Committed. A row that fits several
  (two CUDs of one product in one region share the usage) is left as it is: FOCUS has one id per row.
Costs are never touched. Only the few rows that can match are looked at in Python; other batches pass unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from costlake import schema

CONSUMPTION_MODEL = "consumption_model.id"  # its key in x_Extensions: the billing mapping keeps unmapped fields there
ID = "CommitmentDiscountId"
FILLED = ("CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountCategory", "CommitmentDiscountType",
          "CommitmentDiscountStatus", "PricingCategory")  # fmt: skip
READ = (*FILLED, "ChargeCategory", "BillingAccountId", "RegionId", "ChargePeriodStart")


class Commitment(Protocol):
    """A commitment as the tenant's catalog keeps it (costlake.catalog.models.Commitment)."""

    commitment_id: str
    name: str | None
    category: str | None
    type: str | None
    consumption_model: str | None
    billing_account_id: str | None
    region: str | None
    starts_at: datetime | None
    ends_at: datetime | None


class _Index:
    def __init__(self, commitments: Sequence[Commitment]) -> None:
        self.by_id = {commitment.commitment_id: commitment for commitment in commitments}
        self.by_model: dict[str, list[Commitment]] = defaultdict(list)
        for commitment in commitments:
            if commitment.consumption_model:
                self.by_model[commitment.consumption_model].append(commitment)
        self.ids = pa.array(list(self.by_id), pa.string())
        self.models = pa.array(list(self.by_model), pa.string())

    def covering(self, model: str, row: dict[str, Any]) -> Commitment | None:
        """The one commitment of this consumption model whose account, region and term hold the row, if exactly one."""
        fits = [c for c in self.by_model[model] if _fits(c, row["BillingAccountId"], row["RegionId"], row["ChargePeriodStart"])]
        return fits[0] if len(fits) == 1 else None


def _fits(commitment: Commitment, account: str | None, region: str | None, start: datetime | None) -> bool:
    if commitment.billing_account_id and commitment.billing_account_id != account:
        return False
    if commitment.region and commitment.region != region:
        return False
    if start is None:
        return False
    return (commitment.starts_at is None or commitment.starts_at <= start) and (commitment.ends_at is None or start < commitment.ends_at)


def _filled(row: dict[str, Any], commitment: Commitment, by_model: bool) -> dict[str, Any]:
    """The row's FILLED columns once tied to the commitment; a value the commitment lacks stays as the row had it."""
    return {
        "CommitmentDiscountId": commitment.commitment_id,
        "CommitmentDiscountName": commitment.name or row["CommitmentDiscountName"],
        "CommitmentDiscountCategory": commitment.category or row["CommitmentDiscountCategory"],
        "CommitmentDiscountType": commitment.type or row["CommitmentDiscountType"],
        "CommitmentDiscountStatus": "Used" if by_model else row["CommitmentDiscountStatus"],
        "PricingCategory": "Committed" if by_model else row["PricingCategory"],
    }


def _candidates(batch: pa.RecordBatch, index: _Index) -> tuple[pa.Array, pa.Array]:
    """(rows that may match, their consumption models): rows with a known id, or id-less Usage rows of a known model."""
    ids = batch.column(ID)
    models = pc.map_lookup(batch.column(schema.EXTENSIONS), CONSUMPTION_MODEL, "first")
    by_model = pc.and_kleene(
        pc.and_kleene(pc.is_null(ids), pc.equal(batch.column("ChargeCategory"), "Usage")), pc.is_in(models, value_set=index.models)
    )
    return pc.fill_null(pc.or_kleene(pc.is_in(ids, value_set=index.ids), by_model), False), models


def _enriched(batch: pa.RecordBatch, index: _Index) -> pa.RecordBatch:
    candidates, models = _candidates(batch, index)
    positions = pc.indices_nonzero(candidates)
    if len(positions) == 0:
        return batch
    rows = pa.RecordBatch.from_arrays([batch.column(name).take(positions) for name in READ], names=list(READ)).to_pylist()
    matched: list[int] = []
    values: dict[str, list[Any]] = {name: [] for name in FILLED}
    for position, model, row in zip(positions.to_pylist(), models.take(positions).to_pylist(), rows, strict=True):
        commitment = index.by_id.get(row[ID])
        by_model = commitment is None
        if by_model:
            commitment = index.covering(model, row)
        if commitment is None:
            continue
        matched.append(position)
        for name, value in _filled(row, commitment, by_model).items():
            values[name].append(value)
    if not matched:
        return batch
    mask = np.zeros(batch.num_rows, dtype=bool)
    mask[matched] = True
    for name in FILLED:
        column = batch.schema.get_field_index(name)
        replaced = pc.replace_with_mask(batch.column(column), pa.array(mask), pa.array(values[name], pa.string()))
        batch = batch.set_column(column, batch.schema.field(column), replaced)
    return batch


def with_commitments(batches: Iterable[pa.RecordBatch], commitments: Sequence[Commitment]) -> Iterator[pa.RecordBatch]:
    """Canonical batches (schema.CONVERTED_SCHEMA) with the commitment columns of covered rows filled in."""
    if not commitments:
        return iter(batches)
    index = _Index(commitments)
    return (_enriched(batch, index) for batch in batches)
