"""What the API reads from the catalog on every request, kept a few seconds in the process.

Dashboards repeat requests many times a second; each resolves its token, its tenant and the tenant's source
names. Those are kept for RECENT_SECONDS, so a repeated request reads nothing from the catalog. A change made
through this process (revoking a token, changing a tenant, adding, renaming or deleting a source) forgets them at
once; another process (a second server, the CLI on the same home) sees such a change within RECENT_SECONDS.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from cachetools import TTLCache

RECENT_SECONDS = 5.0
_kept: TTLCache[Hashable, Any] = TTLCache(maxsize=10_000, ttl=RECENT_SECONDS)
_lock = threading.Lock()


def recalled(key: Hashable) -> Any:
    """The value kept under `key`, or None."""
    with _lock:
        return _kept.get(key)


def remember(key: Hashable, value: Any) -> None:
    with _lock:
        _kept[key] = value


def forget() -> None:
    """After a change through this process: every kept value goes (changes are rare, requests are many)."""
    with _lock:
        _kept.clear()
