"""Which providers and formats a billing source may name, and the reader behind each format.

A format is a plug-in: how to find its files under a URI (manifests, deliveries), how to read them into
canonical batches, and how to recognize a file of it from its header (for `auto`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from costlake.settings import Settings
from costlake.sources.conversion import MonthRange
from costlake.sources.focus import looks_like_focus, read_focus
from costlake.storage import StoredFile, list_files

FileSelector = Callable[[str, Settings, Mapping[str, str]], list[StoredFile]]
# A metadata format yields commitment records (costlake.catalog.models.Commitment fields) instead of cost rows.
CommitmentReader = Callable[[str, Settings, Mapping[str, str]], Iterable[dict[str, Any]]]
Reader = Callable[[list[StoredFile], Settings, MonthRange, Mapping[str, str]], Iterator[pa.RecordBatch]]


def every_matching_file(uri: str, settings: Settings, options: Mapping[str, str]) -> list[StoredFile]:
    return list_files(uri, settings)


@dataclass(frozen=True)
class SourceFormat:
    name: str
    read: Reader
    detect: Callable[[list[str]], bool]
    select_files: FileSelector = every_matching_file
    options: tuple[str, ...] = field(default=())  # option keys the format understands
    signature: str = ""  # the columns `detect` looks for, in words, for error messages
    schemes: tuple[str, ...] = ()  # URI schemes only this format reads (e.g. "bq"): its sources need no listing


PROVIDERS = ("aws", "gcp", "azure")
METADATA_FORMATS: dict[str, CommitmentReader] = {}
FORMATS: dict[str, SourceFormat] = {
    "focus": SourceFormat(
        "focus",
        lambda files, settings, months, options: read_focus(files, settings, months),
        looks_like_focus,
        signature="BilledCost, ChargePeriodStart, BillingCurrency (FOCUS 1.0-1.3)",
    ),
}


def register(source_format: SourceFormat) -> None:
    FORMATS[source_format.name] = source_format


def register_metadata_format(name: str, reader: CommitmentReader) -> None:
    METADATA_FORMATS[name] = reader


def format_owning(scheme: str) -> SourceFormat | None:
    return next((f for f in FORMATS.values() if scheme in f.schemes), None)


def _register_native_formats() -> None:
    # Each module registers its formats on import (issue 3: AWS CUR, Azure cost details, GCP billing export).
    from costlake.sources import aws_cur, azure_cost, gcp_billing, gcp_cud_metadata  # noqa: F401


_register_native_formats()
