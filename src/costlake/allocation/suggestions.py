"""Detected variants: tag keys that are spellings of one key, and values of one key that are spellings of one value.

Keys collide when their flexible forms do (case, whitespace, '-', '_', '.': `CostCenter` = `cost-center` =
`cost_center`) or by a built-in synonym (env/environment); values of one key group collide when their forms do
(after trimming) or by a built-in synonym list (prod/prd/production, ...). Each suggestion carries the cost of each
variant and the share of all cost (absolute EffectiveCost) the canonical spelling covers before and all the
variants together after. Accepting one edits the draft (never the published rules): see `accept`.

Computed after each sync by the `tag-suggestions` hook handler (hooks/registry.py), stored per table version in
the catalog, and computed on demand when that cache is missing or stale (e.g. the local CLI runs no scheduler).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from costlake.allocation.compile import flexible_key
from costlake.allocation.inventory import MAX_VALUES_FOR_VARIANTS, FactsCache, TagFacts, key_group, money, read_facts
from costlake.allocation.rules import CoalesceRule, Dimension, RuleSet
from costlake.catalog import Catalog
from costlake.catalog import allocation as rows
from costlake.errors import InvalidInput, NotFound
from costlake.query.engine import CostReader
from costlake.query.scope import Scope
from costlake.settings import Settings
from costlake.store import Lake

VALUE_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("production", "prod", "prd", "live"),
    ("development", "dev", "develop"),
    ("staging", "stg", "stage"),
    ("test", "testing", "tst"),
    ("sandbox", "sbx"),
    ("preproduction", "preprod"),
    ("qa", "qualityassurance"),
)
_VALUE_GROUP = {spelling: group[0] for group in VALUE_SYNONYMS for spelling in group}
MAX_KEY, MAX_VALUE = 256, 200  # the rule model's limits on tag keys and map entries


def value_group(value: str) -> str:
    form = flexible_key(value.strip())
    return _VALUE_GROUP.get(form, form)


def dimension_name(key: str) -> str:
    """A dimension name for a tag key: `CostCenter` and `cost-center` both give cost_center."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    name = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return (name if name[:1].isalpha() else f"tag_{name}")[:63]


def _id(kind: str, key: str, variants: list[str]) -> str:
    digest = hashlib.sha256(json.dumps([kind, key, sorted(variants)]).encode()).hexdigest()[:12]
    return f"{'mk' if kind == 'merge_keys' else 'mv'}-{digest}"


def detect(facts: TagFacts) -> list[dict[str, Any]]:
    """Every merge_keys and merge_values suggestion, largest cost first."""
    by_group: dict[str, list[str]] = defaultdict(list)
    for key in facts.keys:
        if 0 < len(key) <= MAX_KEY:  # what a coalesce rule can name
            by_group[key_group(key)].append(key)
    items = []
    for group, keys in by_group.items():
        keys.sort(key=lambda k: (-facts.keys[k].weight, k))
        canonical = keys[0]
        if len(keys) > 1:
            totals = facts.groups.get(group, {"cost": {}, "weight": Decimal(0)})
            items.append(
                {
                    "id": _id("merge_keys", group, keys),
                    "kind": "merge_keys",
                    "variants": keys,
                    "canonical": canonical,
                    "cost": money(totals["cost"]),
                    "variant_costs": [{"variant": k, "rows": facts.keys[k].rows, "cost": money(facts.keys[k].cost)} for k in keys],
                    "coverage_before": facts.share(facts.keys[canonical].weight),
                    "coverage_after": facts.share(totals["weight"]),
                    "_weight": totals["weight"],
                }
            )
        items += _value_variants(facts, canonical, keys)
    items.sort(key=lambda item: (-item["_weight"], item["kind"], item["id"]))
    for item in items:
        del item["_weight"]
    return items


def _value_variants(facts: TagFacts, canonical_key: str, keys: list[str]) -> list[dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    for key in keys:
        if facts.keys[key].distinct_values > MAX_VALUES_FOR_VARIANTS:
            continue
        for value, found in facts.keys[key].values.items():
            entry = values.setdefault(value, {"cost": defaultdict(Decimal), "weight": Decimal(0), "rows": 0})
            for currency, amount in found["cost"].items():
                entry["cost"][currency] += amount
            entry["weight"] += found["weight"]
            entry["rows"] += found["rows"]
    by_form: dict[str, list[str]] = defaultdict(list)
    for value in values:
        if 0 < len(value.strip()) and len(value) <= MAX_VALUE:  # what a rule's map can hold
            by_form[value_group(value)].append(value)
    items = []
    for variants in by_form.values():
        if len(variants) < 2:
            continue
        variants.sort(key=lambda v: (-values[v]["weight"], v))
        cost: dict[str, Decimal] = defaultdict(Decimal)
        for variant in variants:
            for currency, amount in values[variant]["cost"].items():
                cost[currency] += amount
        weight = sum((values[v]["weight"] for v in variants), Decimal(0))
        items.append(
            {
                "id": _id("merge_values", key_group(canonical_key), variants),
                "kind": "merge_values",
                "key": canonical_key,
                "keys": keys,
                "variants": variants,
                "canonical": variants[0].strip(),
                "cost": money(cost),
                "variant_costs": [{"variant": v, "rows": values[v]["rows"], "cost": money(values[v]["cost"])} for v in variants],
                "coverage_before": facts.share(values[variants[0]]["weight"]),
                "coverage_after": facts.share(weight),
                "_weight": weight,
            }
        )
    return items


def current(catalog: Catalog, cache: FactsCache, scope: Scope) -> list[dict[str, Any]]:
    """The stored suggestions when they match the table's version; else computed now and stored."""
    version = cache.table_version(scope)
    stored = rows.get_suggestions(catalog, scope.tenant_id)
    if stored is not None and stored.table_version == version:
        return stored.items
    _, facts = cache.get(scope)
    items = detect(facts)
    rows.save_suggestions(catalog, scope.tenant_id, version, items)
    return items


def refresh(tenant_id: str, settings: Settings, catalog: Catalog, lake: Lake) -> None:
    """After a commit (the `tag-suggestions` hook handler): detect variants on the tenant's new table version."""
    reader = CostReader(settings, lake)
    reader.files(tenant_id)
    version = reader.version(tenant_id)
    items = detect(read_facts(reader, Scope(tenant_id)))
    rows.save_suggestions(catalog, tenant_id, -1 if version is None else version, items)


# --- accepting ----------------------------------------------------------------------------------------------------


def _simple_transform(value: str, rule: CoalesceRule) -> str:
    """The value as the rule's trim/lower/upper/normalize steps leave it (regex steps are left to the map's raw keys)."""
    for step in rule.transform:
        if step == "trim":
            value = value.strip()
        elif step == "lower":
            value = value.lower()
        elif step == "upper":
            value = value.upper()
        elif step == "normalize":
            value = re.sub(r"[\W_]+", "-", value.strip().lower()).strip("-")
    return value


def _reader_of(rules: RuleSet, keys: list[str]) -> tuple[Dimension, CoalesceRule] | None:
    """The first dimension with a coalesce rule reading any of `keys` (or a spelling of one, when flexible)."""
    forms = {flexible_key(key) for key in keys}
    for dimension in rules.dimensions:
        for rule in dimension.rules:
            if isinstance(rule, CoalesceRule) and (set(rule.coalesce) & set(keys) or (rule.flexible and {flexible_key(k) for k in rule.coalesce} & forms)):
                return dimension, rule
    return None


def accept(rules: RuleSet, suggestion: dict[str, Any]) -> tuple[RuleSet, str]:
    """The rules with the suggestion applied, and the dimension it changed. merge_keys adds the key spellings to the
    coalesce rule that reads one of them (or a new dimension named after the key); merge_values maps each spelling
    to the canonical one in that rule."""
    rules = rules.model_copy(deep=True)
    keys = suggestion["variants"] if suggestion["kind"] == "merge_keys" else suggestion["keys"]
    found = _reader_of(rules, keys)
    if found is None:
        name = dimension_name(suggestion["canonical"] if suggestion["kind"] == "merge_keys" else suggestion["key"])
        dimension = next((d for d in rules.dimensions if d.name == name), None)
        if dimension is None:
            dimension = Dimension(name=name)
            rules.dimensions.append(dimension)
        rule = CoalesceRule(coalesce=list(keys))
        dimension.rules.append(rule)
    else:
        dimension, rule = found
        rule.coalesce += [key for key in keys if key not in rule.coalesce]
    if suggestion["kind"] == "merge_values":
        target = _simple_transform(suggestion["canonical"], rule)
        for variant in suggestion["variants"]:
            spelled = _simple_transform(variant, rule)
            if spelled != target:
                rule.map[spelled] = target
    # Model copies skip validation: round-trip so the defaults and the checks hold for what is saved.
    try:
        return RuleSet.model_validate(rules.model_dump(mode="json", by_alias=True, exclude_unset=False)), dimension.name
    except ValidationError as error:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise InvalidInput("dimensions", f"accepting {suggestion['id']} would make the draft invalid ({problem}); edit the draft instead") from None


def with_accepted(items: list[dict[str, Any]], draft: RuleSet) -> list[dict[str, Any]]:
    """Each suggestion with `accepted`: whether the draft already does what accepting it would (so it changes nothing)."""
    def accepted(item: dict[str, Any]) -> bool:
        try:
            return accept(draft, item)[0] == draft
        except InvalidInput:
            return False

    return [{**item, "accepted": accepted(item)} for item in items]


def find(items: list[dict[str, Any]], suggestion_id: str) -> dict[str, Any]:
    for item in items:
        if item["id"] == suggestion_id:
            return item
    raise NotFound(f"no suggestion {suggestion_id!r}; the data may have changed since: list them again with GET .../tags/suggestions")
