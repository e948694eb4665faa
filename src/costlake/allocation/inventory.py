"""The tag inventory: every tag key with its rows, cost, share of cost, values and where it comes from.

One statement reads every row's tag map once (`unnest(map_entries(Tags))`) and returns the facts the inventory and
the variant detection (suggestions.py) both use. Reading every tag map takes seconds on 10M rows and only
changes with a new table version, so the facts are kept per (tenant, table version).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costlake.allocation.compile import FLEXIBLE_SQL, flexible_key
from costlake.query.engine import CostReader
from costlake.query.scope import Scope
from costlake.query.sql import Params
from costlake.text import money_text

TOP_VALUES = 10
MAX_VALUES_FOR_VARIANTS = 500  # keys with more distinct values (ids, names) are not searched for value variants
# Key spellings that mean the same thing beyond case and separators, by their flexible form.
KEY_SYNONYMS = {"environment": "env", "application": "app", "costcentre": "costcenter"}


def key_group(key: str) -> str:
    """Keys of one group are spellings of one key: equal flexible forms, or built-in synonyms."""
    flexible = flexible_key(key)
    return KEY_SYNONYMS.get(flexible, flexible)


@dataclass
class KeyFacts:
    rows: int = 0
    cost: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    weight: Decimal = Decimal(0)
    distinct_values: int = 0
    sources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (source id, provider) -> facts
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # value -> {"cost": {...}, "weight", "rows"}


@dataclass
class TagFacts:
    keys: dict[str, KeyFacts]
    total_weight: Decimal  # absolute EffectiveCost of every row
    source_weight: dict[str, Decimal]
    groups: dict[str, dict[str, Any]]  # key group -> {"cost": {...}, "weight"}: rows carrying any key of the group

    def share(self, weight: Decimal) -> float:
        return round(float(weight / self.total_weight), 4) if self.total_weight else 0.0


def _facts_sql(scope: Scope, params: Params) -> str:
    where = " AND ".join(scope.conditions(params))
    synonyms = f"MAP({params.bind(list(KEY_SYNONYMS))}, {params.bind(list(KEY_SYNONYMS.values()))})"
    group = f"regexp_replace(lower(k), {FLEXIBLE_SQL}, '', 'g')"
    ranked = (
        "SELECT key, value, currency, sum(n) AS n, sum(cost) AS cost, sum(weight) AS weight, "
        "sum(sum(weight)) OVER (PARTITION BY key, value) AS value_weight FROM kv GROUP BY key, value, currency"
    )
    return (
        "SELECT 'source' AS part, key, NULL AS value, source, provider, currency, sum(n), sum(cost), sum(weight), NULL FROM kv GROUP BY ALL "
        "UNION ALL SELECT 'distinct', key, NULL, source, NULL, NULL, NULL, NULL, NULL, count(DISTINCT value) FROM kv "
        "GROUP BY GROUPING SETS ((key, source), (key)) "
        "UNION ALL SELECT 'value', key, value, NULL, NULL, currency, n, cost, weight, NULL FROM ("
        f"SELECT *, dense_rank() OVER (PARTITION BY key ORDER BY value_weight DESC, value) AS rank, "
        f"count(DISTINCT value) OVER (PARTITION BY key) AS distinct_values FROM ({ranked})) "
        f"WHERE rank <= {TOP_VALUES} OR distinct_values <= {MAX_VALUES_FOR_VARIANTS} "
        "UNION ALL SELECT 'total', NULL, NULL, x_SourceId, NULL, BillingCurrency, count(*), sum(EffectiveCost), sum(abs(EffectiveCost)), NULL "
        f"FROM costs WHERE {where} GROUP BY ALL "
        "UNION ALL SELECT 'group', key_group, NULL, NULL, NULL, currency, count(*), sum(cost), sum(abs(cost)), NULL FROM ("
        f"SELECT unnest(list_distinct(list_transform(map_keys(Tags), lambda k: coalesce({synonyms}[{group}], {group})))) AS key_group, "
        f"BillingCurrency AS currency, EffectiveCost AS cost FROM costs WHERE {where} AND cardinality(Tags) > 0) GROUP BY ALL"
    )


def _kv_cte(scope: Scope, params: Params) -> str:
    return (
        "kv AS MATERIALIZED (SELECT entry.key AS key, entry.value AS value, source, provider, currency, count(*) AS n, "
        "sum(cost) AS cost, sum(abs(cost)) AS weight FROM (SELECT unnest(map_entries(Tags)) AS entry, x_SourceId AS source, "
        f"ProviderName AS provider, BillingCurrency AS currency, EffectiveCost AS cost FROM costs WHERE {' AND '.join(scope.conditions(params))} "
        "AND cardinality(Tags) > 0) GROUP BY ALL)"
    )


def read_facts(reader: CostReader, scope: Scope) -> TagFacts:
    params = Params()
    ctes = [_kv_cte(scope, params)]
    facts = TagFacts({}, Decimal(0), defaultdict(Decimal), {})
    for part, key, value, source, provider, currency, n, cost, weight, distinct in reader.select(scope, _facts_sql(scope, params), params, ctes):
        currency = currency or "unknown"
        if part == "total":
            facts.total_weight += weight
            facts.source_weight[source] += weight
            continue
        if part == "group":
            group = facts.groups.setdefault(key, {"cost": defaultdict(Decimal), "weight": Decimal(0)})
            group["cost"][currency] += cost
            group["weight"] += weight
            continue
        entry = facts.keys.setdefault(key, KeyFacts())
        if part == "source":
            entry.rows += n
            entry.cost[currency] += cost
            entry.weight += weight
            by_source = entry.sources.setdefault((source, provider or ""), {"rows": 0, "cost": defaultdict(Decimal), "weight": Decimal(0)})
            by_source["rows"] += n
            by_source["cost"][currency] += cost
            by_source["weight"] += weight
        elif part == "distinct":
            if source is None:
                entry.distinct_values = distinct
            else:
                for (source_id, _), by_source in entry.sources.items():
                    if source_id == source:
                        by_source["distinct_values"] = distinct
        else:
            found = entry.values.setdefault(value, {"cost": defaultdict(Decimal), "weight": Decimal(0), "rows": 0})
            found["cost"][currency] += cost
            found["weight"] += weight
            found["rows"] += n
    return facts


def money(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: money_text(amount) for currency, amount in sorted(amounts.items())}


def inventory(facts: TagFacts, source_names: dict[str, str]) -> list[dict[str, Any]]:
    """The `GET .../tags` items: largest share of cost first."""
    items: list[dict[str, Any]] = []
    for key, entry in facts.keys.items():
        top = sorted(entry.values.items(), key=lambda item: (-item[1]["weight"], item[0]))[:TOP_VALUES]
        sources = [
            {
                "source_id": source_id,
                "source": source_names.get(source_id, source_id),
                "provider": provider,
                "rows": found["rows"],
                "cost": money(found["cost"]),
                "share": round(float(found["weight"] / facts.source_weight[source_id]), 4) if facts.source_weight.get(source_id) else 0.0,
                "distinct_values": found.get("distinct_values", 0),
            }
            for (source_id, provider), found in sorted(entry.sources.items())
        ]
        items.append(
            {
                "key": key,
                "providers": sorted({provider for _, provider in entry.sources if provider}),
                "rows": entry.rows,
                "cost": money(entry.cost),
                "share": facts.share(entry.weight),
                "distinct_values": entry.distinct_values,
                "top_values": [{"value": value, "cost": money(found["cost"])} for value, found in top],
                "sources": sources,
            }
        )
    items.sort(key=lambda item: (-item["share"], item["key"]))
    return items


class FactsCache:
    """Tag facts per (tenant scope, table version), per process."""

    def __init__(self, reader: CostReader) -> None:
        self.reader = reader
        self._facts: dict[Scope, tuple[int, TagFacts]] = {}
        self._lock = threading.Lock()

    def table_version(self, scope: Scope) -> int:
        """The table's current version (-1: no table yet)."""
        self.reader.files(scope.tenant_id)  # brings the cached table to its latest version
        version = self.reader.version(scope.tenant_id)
        return -1 if version is None else version

    def get(self, scope: Scope) -> tuple[int, TagFacts]:
        version = self.table_version(scope)
        with self._lock:
            cached = self._facts.get(scope)
        if cached is not None and cached[0] == version:
            return cached
        facts = read_facts(self.reader, scope)
        with self._lock:
            self._facts[scope] = (version, facts)
        return version, facts
