"""Keeping a run's lease alive while it works, from a background thread."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import TracebackType

from costlake.catalog import Catalog
from costlake.catalog.runs import renew_lease
from costlake.errors import CostlakeError


class LeaseLost(CostlakeError):
    pass


class LeaseKeeper:
    """Renews the lease every third of its duration; a lost lease stops the run before it commits."""

    def __init__(self, catalog: Catalog, run_id: str, owner: str, lease: timedelta) -> None:
        self._catalog, self._run_id, self._owner, self._lease = catalog, run_id, owner, lease
        self._stop = threading.Event()
        self._lost = False
        self._thread = threading.Thread(target=self._renew, name=f"lease-{run_id[:8]}", daemon=True)

    def _renew(self) -> None:
        while not self._stop.wait(self._lease.total_seconds() / 3):
            if not renew_lease(self._catalog, self._run_id, self._owner, self._lease):
                self._lost = True
                return

    def check(self) -> None:
        if self._lost:
            raise LeaseLost("this sync lost its lease (another worker declared it dead); nothing was committed")

    def confirm(self) -> None:
        """Renew now and raise if the run is no longer ours: the last word before a commit."""
        if not renew_lease(self._catalog, self._run_id, self._owner, self._lease):
            self._lost = True
        self.check()

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
