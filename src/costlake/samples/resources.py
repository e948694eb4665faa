"""Expand the catalog into concrete resources and a weighted pick table for the SQL row generator.

Done in Python because it is small (under a thousand resources) and needs per-resource consistency: the same
ResourceId must always come with the same region, zone, name and tags, whichever row or SKU bills it.
"""

from __future__ import annotations

import bisect
import json
import random
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from costlake.samples import catalog as cat

SLOTS = 65_536  # resolution of the weighted resource pick
MONEY_SCALE = 10**10  # money and unit prices are integers of 1e-10 in SQL, exact until written as DECIMAL(38,10)
KEEP_SCALE = 10_000  # commitment discount "keep" ratio in basis points
SPOT_SHARE, SPOT_FACTOR = 0.15, Decimal("0.35")
COVERED_SHARE = 0.55  # committable resources covered by one of their billing account's commitments


@dataclass(frozen=True)
class Resource:
    """One billed thing (instance, bucket, function, ...) and everything its rows repeat about it."""

    sub: cat.SubAccount
    account: cat.BillingAccount
    sku: cat.Sku
    region: str | None
    zone: str | None
    resource_id: str
    name: str
    tags: str | None
    commitment: cat.Commitment | None
    spot: bool
    weight: float  # relative number of rows


def build_resources(seed: int) -> list[Resource]:
    accounts = {a.id: a for a in cat.BILLING_ACCOUNTS}
    providers = {s.name: s.provider for s in cat.SERVICES}
    out: list[Resource] = []
    for sub in cat.SUB_ACCOUNTS:
        account = accounts[sub.billing_account]
        for sku in (k for k in cat.SKUS if providers[k.service] == account.provider):
            commitments = [c for c in cat.COMMITMENTS
                           if sku.committable and c.billing_account == account.id and c.service == sku.service]
            # Rows per SKU follow its spend share divided by the cost of one row, so hourly compute dominates the
            # row count (as in real exports) without dominating the spend.
            mean_row_cost = (sku.qty_range[0] + sku.qty_range[1]) / 2 * float(sku.list_price_usd)
            sku_weight = sub.weight * sku.spend_share / mean_row_cost
            skew = [1 / (r + 1) ** 0.7 for r in range(sku.resources_per_sub_account)]  # a few big resources
            for r, w in enumerate(skew):
                # Seeded per resource, not per SKU, so SKUs sharing a pool describe the same resource identically.
                rng = random.Random(f"{seed}|{sub.id}|{sku.resource_pool or sku.id}|{r}")
                out.append(_resource(rng, sub, account, sku, commitments, sku_weight * w / sum(skew)))
    return out


def _resource(rng: random.Random, sub: cat.SubAccount, account: cat.BillingAccount, sku: cat.Sku,
              commitments: list[cat.Commitment], weight: float) -> Resource:
    provider = cat.PROVIDERS[account.provider]
    app = rng.choice(sorted(cat.APPS))
    team = cat.APPS[app]
    region = None
    if sku.regional:
        region = sub.regions[0] if rng.random() < 0.75 else rng.choice(sorted(provider.regions))
    zone = region + rng.choice(provider.zone_suffixes) if region and sku.zonal and provider.zone_suffixes else None
    name = f"{app}-{sub.env}-{rng.getrandbits(24):06x}"
    resource_id = sku.resource_id.format(sub=sub.id, region=region or "global", zone=zone, name=name, app=app,
                                         env=sub.env, hex=f"{rng.getrandbits(68):017x}")
    tags = None if rng.random() < cat.UNTAGGED_SHARE else json.dumps(_tags(rng, app, team, sub.env))
    commitment = rng.choice(commitments) if commitments and rng.random() < COVERED_SHARE else None
    spot = sku.spot and commitment is None and rng.random() < SPOT_SHARE
    return Resource(sub, account, sku, region, zone, resource_id, name, tags, commitment, spot, weight)


def _pick_key(rng: random.Random, variants: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in variants], weights=[w for _, w in variants])[0]


def _tags(rng: random.Random, app: str, team: str, env: str) -> dict[str, str]:
    """2-5 keys, with the inconsistent key spellings real tagging ends up with."""
    tags = {_pick_key(rng, cat.TEAM_KEYS): team, _pick_key(rng, cat.ENV_KEYS): env}
    if rng.random() < 0.6:
        tags[_pick_key(rng, cat.COST_CENTER_KEYS)] = cat.COST_CENTERS[team]
    if rng.random() < 0.6:
        tags["app"] = app
    if rng.random() < 0.3:
        tags["owner"] = f"{team}@acme.example"
    return tags


def _units(value: Decimal) -> int:
    """Decimal -> integer count of 1e-10, rounded half up like the SQL side."""
    return int((value * MONEY_SCALE).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def resource_table(resources: list[Resource]) -> pa.Table:
    """One row per resource with the columns the row SQL reads (prices in integer units of 1e-10)."""
    services = {s.name: s for s in cat.SERVICES}
    subs = {s.id: s for s in cat.SUB_ACCOUNTS}
    rows = []
    for idx, r in enumerate(resources):
        sku, account, c = r.sku, r.account, r.commitment
        provider = cat.PROVIDERS[account.provider]
        service = services[sku.service]
        owner = subs[c.sub_account] if c else None
        contracted_usd = sku.list_price_usd * (SPOT_FACTOR if r.spot else 1 - account.negotiated_discount)
        rows.append({
            "res": idx,
            "provider": provider.name, "publisher": provider.publisher, "invoice_issuer": provider.invoice_issuer,
            "ba_id": account.id, "ba_name": account.name, "ba_type": account.type, "currency": account.currency,
            "invoice_prefix": account.invoice_prefix, "tax_description": account.tax_description,
            "credit_description": provider.credit_description,
            "sub_id": r.sub.id, "sub_name": r.sub.name, "sub_type": r.sub.type,
            "service": service.name, "category": service.category, "subcategory": service.subcategory,
            "sku_id": sku.id, "sku_meter": sku.meter, "sku_description": sku.description,
            "sku_price_details": json.dumps(dict(sku.price_details)) if sku.price_details else None,
            "pricing_unit": sku.pricing_unit, "consumed_unit": sku.consumed_unit,
            "consumed_per_pricing": int(sku.consumed_per_pricing_unit),
            "qty_lo": sku.qty_range[0], "qty_hi": sku.qty_range[1], "hourly": sku.hourly, "spot": r.spot,
            "list_p": _units(sku.list_price_usd * account.fx_from_usd),
            "contracted_p": _units(contracted_usd * account.fx_from_usd),
            "list_p_usd": _units(sku.list_price_usd), "contracted_p_usd": _units(contracted_usd),
            "region_id": r.region, "region_name": provider.regions[r.region] if r.region else None, "zone": r.zone,
            "resource_id": r.resource_id, "resource_name": r.name, "resource_type": sku.resource_type, "tags": r.tags,
            "cd_id": c.id if c else None, "cd_name": c.name if c else None, "cd_type": c.type if c else None,
            "cd_category": c.category if c else None,
            "cd_sub_id": owner.id if owner else None, "cd_sub_name": owner.name if owner else None,
            "cd_sub_type": owner.type if owner else None, "cd_region_id": c.region if c else None,
            "cd_region_name": provider.regions[c.region] if c and c.region else None,
            "cd_keep": int((1 - c.discount) * KEEP_SCALE) if c else None,
        })
    ints = {"res", "consumed_per_pricing", "list_p", "contracted_p", "list_p_usd", "contracted_p_usd", "cd_keep"}
    schema = pa.schema([
        pa.field(k, pa.int64() if k in ints else pa.float64() if k.startswith("qty_")
                 else pa.bool_() if k in ("hourly", "spot") else pa.string())
        for k in rows[0]
    ])
    return pa.Table.from_pylist(rows, schema=schema)


def slot_table(resources: list[Resource]) -> pa.Table:
    """Map SLOTS equal slots onto resources in proportion to their weight (deterministic, no sampling noise)."""
    total = sum(r.weight for r in resources)
    cumulative, acc = [], 0.0
    for r in resources:
        acc += r.weight / total
        cumulative.append(acc)
    picks = [min(bisect.bisect_right(cumulative, (s + 0.5) / SLOTS), len(resources) - 1) for s in range(SLOTS)]
    return pa.table({"slot": pa.array(range(SLOTS), pa.int64()), "res": pa.array(picks, pa.int64())})
