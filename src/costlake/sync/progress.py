"""A running sync's progress, written to its run at most once a second, and the cancel request read back with it.

The phases: `reading` (listing and converting, before the first rows arrive), `writing` (rows converted and
staged as they come), `committing` (the Delta commit). Readers say when they start a file through
`formats.contract.file_started`, so `files_read` counts without a parameter on every reader.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from costlake import schema
from costlake.catalog import Catalog
from costlake.catalog.run_control import record_progress
from costlake.errors import CostlakeError

FLUSH_SECONDS = 1.0


class SyncCancelled(CostlakeError):
    """Someone asked the run to stop; it stops before its commit, so the store stays as it was."""


class RunWatch:
    def __init__(self, catalog: Catalog, run_id: str, files: int | None = None) -> None:
        self._catalog, self._run_id = catalog, run_id
        self.phase, self.files, self.files_read, self.rows = "reading", files, 0, 0
        self.months: set[str] = set()
        self._lock = threading.Lock()  # the reader's thread counts files, the writer's rows
        self._flushed = 0.0
        self._cancelled = False

    def progress(self) -> dict[str, Any]:
        with self._lock:
            return {"phase": self.phase, "files": self.files, "files_read": self.files_read, "rows": self.rows,
                    "months": sorted(self.months)}

    def file_started(self, uri: str) -> None:
        with self._lock:
            self.files_read += 1

    def batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """The batches, counted; checks for a cancel request as they pass."""
        for batch in batches:
            with self._lock:
                self.phase = "writing"
                self.rows += batch.num_rows
                self.months.update(month for month in pc.unique(batch.column(schema.BILLING_MONTH)).to_pylist() if month)
            self.flush()
            yield batch

    def enter(self, phase: str) -> None:
        with self._lock:
            self.phase = phase
        self.flush(force=True)

    def flush(self, *, force: bool = False) -> None:
        """Write the progress (at most once a second unless forced); raise SyncCancelled when cancel was asked."""
        if force or time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self._flushed = time.monotonic()
            self._cancelled = record_progress(self._catalog, self._run_id, self.progress())
        if self._cancelled:
            raise SyncCancelled("the sync was cancelled on request before it committed; nothing changed in the store")
