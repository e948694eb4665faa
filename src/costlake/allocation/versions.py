"""Drafts, versions and the compiled plans queries use.

Admins edit one draft per tenant; publishing freezes it as the next version number, and the highest number is
what `dim:<name>` means by default. Every version is kept: restoring one makes it the draft again (publish it to
use it), and a query may pin `allocation_version` to reproduce an old report. A version never changes once
written, so its compiled plan is cached per (tenant, number) for the life of the process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from costlake.allocation.compile import CompiledRules
from costlake.allocation.rules import RuleSet
from costlake.catalog import Catalog
from costlake.catalog import allocation as rows
from costlake.catalog.models import AllocationVersion
from costlake.errors import Conflict, InvalidInput, NotFound


@dataclass
class Draft:
    rules: RuleSet
    base_version: int | None
    updated_at: datetime | None  # None: never edited (the rules are the published ones, or none)


def compile_rules(rules: RuleSet) -> CompiledRules:
    """Check a rule set as a whole (names, references, cycles): a draft is only saved when this passes."""
    return CompiledRules(rules, 0)


def get_draft(catalog: Catalog, tenant_id: str) -> Draft:
    draft = rows.get_draft(catalog, tenant_id)
    if draft is not None:
        return Draft(RuleSet.model_validate(draft.rules), draft.base_version, draft.updated_at)
    latest = rows.latest_version(catalog, tenant_id)
    if latest is None:
        return Draft(RuleSet(), None, None)
    return Draft(RuleSet.model_validate(latest.rules), latest.number, None)


def save_draft(catalog: Catalog, tenant_id: str, rules: RuleSet, by: str | None, base_version: int | None = None) -> Draft:
    compile_rules(rules)
    if base_version is None:
        base_version = get_draft(catalog, tenant_id).base_version
    saved = rows.save_draft(catalog, tenant_id, rules.document(), base_version, by)
    return Draft(rules, saved.base_version, saved.updated_at)


def publish(catalog: Catalog, tenant_id: str, by: str | None) -> AllocationVersion:
    draft = get_draft(catalog, tenant_id)
    compile_rules(draft.rules)
    latest = rows.latest_version(catalog, tenant_id)
    if latest is not None and RuleSet.model_validate(latest.rules) == draft.rules:
        raise Conflict(f"the draft is the same as the published version {latest.number}: nothing to publish")
    if latest is None and not draft.rules.dimensions:
        raise Conflict("the draft has no dimensions yet: define one (PUT .../allocation/draft) before publishing")
    return rows.add_version(catalog, tenant_id, draft.rules.document(), by)


def version(catalog: Catalog, tenant_id: str, number: int) -> AllocationVersion:
    found = rows.get_version(catalog, tenant_id, number)
    if found is None:
        raise NotFound(f"no allocation version {number} in this tenant; list them with GET .../allocation/versions")
    return found


def restore(catalog: Catalog, tenant_id: str, number: int, by: str | None) -> Draft:
    """Make version `number` the draft again (the current draft is replaced)."""
    rules = RuleSet.model_validate(version(catalog, tenant_id, number).rules)
    return save_draft(catalog, tenant_id, rules, by, base_version=number)


class Plans:
    """Compiled versions, per process. A version is immutable, so a cached plan is never stale."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._plans: dict[tuple[str, int], CompiledRules] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, number: int | None = None) -> CompiledRules | None:
        """Version `number`, or the published one; None when the tenant has published none."""
        if number is None:
            number = rows.latest_number(self._catalog, tenant_id)
            if number is None:
                return None
        with self._lock:
            plan = self._plans.get((tenant_id, number))
        if plan is None:
            found = rows.get_version(self._catalog, tenant_id, number)
            if found is None:
                raise InvalidInput("allocation_version", f"no allocation version {number} in this tenant; list them with GET .../allocation/versions")
            plan = CompiledRules(RuleSet.model_validate(found.rules), number)
            with self._lock:
                self._plans[(tenant_id, number)] = plan
        return plan

    def for_query(self, tenant_id: str, names: list[str], number: int | None, field: str = "group_by") -> CompiledRules | None:
        """The plan a query naming dim:<names> needs; a 422 naming the dimensions a version does not define."""
        if not names and number is None:
            return None
        plan = self.get(tenant_id, number)
        if not names:
            return plan
        known = set(plan.dimension_names()) if plan else set()
        unknown = [name for name in names if name not in known]
        if unknown:
            listed = ", ".join(f"dim:{name}" for name in unknown)
            if plan is None:
                raise InvalidInput(field, f"unknown dimension(s) {listed}: this tenant has published no allocation rules yet")
            defined = ", ".join(plan.dimension_names()) or "none"
            raise InvalidInput(field, f"unknown dimension(s) {listed} in allocation version {plan.version} (it defines: {defined})")
        return plan
