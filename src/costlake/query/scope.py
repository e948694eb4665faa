"""The one place a caller's visibility becomes SQL. Every cost query starts from a Scope.

Today a scope is a tenant (its own table); a later role limited to some sources, accounts or tags adds
conditions here, and every query follows without change.
"""

from __future__ import annotations

from dataclasses import dataclass

from costlake.query.sql import Params


@dataclass(frozen=True)
class Scope:
    tenant_id: str
    source_ids: frozenset[str] | None = None  # None: every source of the tenant

    def conditions(self, params: Params) -> list[str]:
        if self.source_ids is None:
            return ["true"]
        return [f"list_contains({params.bind(sorted(self.source_ids))}, x_SourceId)"]
