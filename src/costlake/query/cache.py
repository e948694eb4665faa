"""Answers kept per tenant table version, and a bound on how many queries of one tenant run at once.

Dashboards and digests ask the same questions again and again, and an answer can only change with a new version of
the tenant's Delta table: so answers are kept keyed by (query, table version), and a commit (a new version) makes
the older ones unreachable. Each tenant keeps at most a fixed number of answers (least recently used go first), so
one tenant cannot push the others' out. And at most a few queries of one tenant run at once: a tenant sending
heavy queries waits for its own, while other tenants' queries go ahead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from costlake.errors import CostlakeError

Answer = Any  # rows of a query, or what a caller built from them (e.g. the API's JSON)


class Busy(CostlakeError):
    """Too many queries of one tenant are running; the caller may retry shortly."""


def freeze(value: Any) -> Hashable:
    """A hashable form of bound parameters (lists, dicts, sets inside)."""
    if isinstance(value, dict):
        return tuple(sorted((key, freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    if isinstance(value, set | frozenset):
        return tuple(sorted((freeze(item) for item in value), key=repr))
    return value


class ResultCache:
    def __init__(self, entries_per_tenant: int) -> None:
        self._entries = entries_per_tenant
        self._by_tenant: dict[str, tuple[int, OrderedDict[Hashable, Answer]]] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str, version: int, key: Hashable) -> Answer | None:
        with self._lock:
            held = self._by_tenant.get(tenant_id)
            if held is None or held[0] != version or key not in held[1]:
                return None
            held[1].move_to_end(key)
            return held[1][key]

    def put(self, tenant_id: str, version: int, key: Hashable, rows: Answer) -> None:
        if self._entries <= 0:
            return
        with self._lock:
            held = self._by_tenant.get(tenant_id)
            if held is None or held[0] < version:
                held = self._by_tenant[tenant_id] = (version, OrderedDict())  # a commit: older answers go
            elif held[0] > version:
                return  # computed on a version already replaced
            held[1][key] = rows
            held[1].move_to_end(key)
            while len(held[1]) > self._entries:
                held[1].popitem(last=False)

    def size(self, tenant_id: str) -> int:
        with self._lock:
            held = self._by_tenant.get(tenant_id)
            return 0 if held is None else len(held[1])


class TenantGate:
    """At most `per_tenant` queries of one tenant at once; the next waits up to `wait`, then Busy."""

    def __init__(self, per_tenant: int, wait: timedelta) -> None:
        self._per_tenant, self._wait = per_tenant, wait
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def _gate(self, tenant_id: str) -> threading.BoundedSemaphore:
        with self._lock:
            gate = self._gates.get(tenant_id)
            if gate is None:
                gate = self._gates[tenant_id] = threading.BoundedSemaphore(self._per_tenant)
            return gate

    @contextmanager
    def admitted(self, tenant_id: str) -> Iterator[None]:
        gate = self._gate(tenant_id)
        if not gate.acquire(timeout=self._wait.total_seconds()):
            raise Busy(
                f"this tenant already has {self._per_tenant} cost queries running (COSTLAKE_QUERY_CONCURRENCY) and none "
                f"finished within {self._wait.total_seconds():g} s; retry in a moment"
            )
        try:
            yield
        finally:
            gate.release()


def cached(cache: ResultCache, gate: TenantGate, tenant_id: str, version: int | None, key: Hashable, compute: Callable[[], Answer]) -> Answer:
    """The kept answer for this table version, or compute it within the tenant's concurrency bound and keep it."""
    if version is not None and (hit := cache.get(tenant_id, version, key)) is not None:
        return hit
    with gate.admitted(tenant_id):
        rows = compute()
    if version is not None:
        cache.put(tenant_id, version, key, rows)
    return rows
