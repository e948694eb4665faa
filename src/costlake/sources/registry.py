"""Which providers and formats a billing source may name, and the reader behind each format."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa

from costlake.settings import Settings
from costlake.sources.focus import MonthRange, read_focus
from costlake.storage import StoredFile

Reader = Callable[[list[StoredFile], Settings, MonthRange], Iterator[pa.RecordBatch]]

PROVIDERS = ("aws", "gcp", "azure")
READERS: dict[str, Reader] = {"focus": read_focus}
FORMATS = tuple(READERS)
