"""The one contract every billing-source kind fulfils, whatever it reads.

A source kind is what a billing source's `format` (or, for a vendor API, its `provider`) names. There are three:

- `ExportFormat` ("export"): files under a URI (or a BigQuery table) in, canonical FOCUS batches out;
- `Connector` ("api", in `formats/vendors/connector.py`): a vendor's billing API in, canonical batches out;
- `MetadataFormat` ("metadata"): records kept per tenant in the catalog (e.g. GCP commitments) that enrich the
  rows of other sources; no cost rows of its own.

Each declares what people see (label, docs page), which providers may name it, which options it takes (checked
once, at add time, by `validate_options`), and its steps. The sync engine and the billing-source service call
these steps without naming any kind. Kinds are pure: no catalog, no store; what they need from the tenant comes in
as `TenantFacts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import pyarrow as pa

from costlake.errors import InvalidInput
from costlake.months import MonthRange
from costlake.settings import Settings
from costlake.storage import StoredFile, list_files

AUTO = "auto"  # a format detected from the export's first file at add time
API_FORMAT = "api"  # the format of every vendor API source (its provider names the vendor)
EXPORT_PROVIDERS = ("aws", "gcp", "azure")  # providers whose exports are read; vendors add their own names
MULTICLOUD = "multicloud"  # a FOCUS export holding several providers' costs (each row names its own ProviderName)


# Who listens when a reader starts a file (the sync engine's progress); a context variable, so no reader needs a
# parameter for it. prefetch() runs readers in a copy of the caller's context.
_FILE_LISTENER: ContextVar[Callable[[str], None] | None] = ContextVar("costlake_file_listener", default=None)


def file_started(uri: str) -> None:
    """Readers call this as they start reading each file (progress: files read)."""
    listener = _FILE_LISTENER.get()
    if listener is not None:
        listener(uri)


@contextmanager
def files_reported_to(listener: Callable[[str], None]) -> Iterator[None]:
    token = _FILE_LISTENER.set(listener)
    try:
        yield
    finally:
        _FILE_LISTENER.reset(token)


class TenantFacts(Protocol):
    """What an enrichment step may know about the tenant, loaded only when asked."""

    def commitments(self) -> Sequence[Any]: ...


FileSelector = Callable[[str, Settings, Mapping[str, str]], list[StoredFile]]
Reader = Callable[[list[StoredFile], Settings, MonthRange, Mapping[str, str]], Iterator[pa.RecordBatch]]
Enrichment = Callable[[Iterator[pa.RecordBatch], TenantFacts], Iterator[pa.RecordBatch]]
RecordReader = Callable[[str, Settings, Mapping[str, str]], Iterable[dict[str, Any]]]


@dataclass(frozen=True)
class FilesChecked:
    """What an add-time look at an export's files decided: the options to store, and what to tell the person."""

    options: dict[str, str]
    notes: list[str] = field(default_factory=list)


# Looks at the listed files when a source is added (raise InvalidInput for what would fail its first sync).
FilesCheck = Callable[[list[StoredFile], Settings, Mapping[str, str]], FilesChecked]


def every_matching_file(uri: str, settings: Settings, options: Mapping[str, str]) -> list[StoredFile]:
    return list_files(uri, settings)


def _no_check(options: Mapping[str, str]) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class SourceKind:
    kind: ClassVar[str]
    name: str  # what a source's `format` names; for a vendor API, its provider name
    label: str  # how the console and help name it
    docs: str  # its documentation page, relative to the repository root
    options: tuple[str, ...] = ()  # option keys it understands
    check_options: Callable[[Mapping[str, str]], None] = _no_check  # raise InvalidInput("options", ...)

    @property
    def providers(self) -> tuple[str, ...]:
        """Which providers' sources may name this kind."""
        raise NotImplementedError

    def validate_options(self, options: Mapping[str, str]) -> None:
        """Unknown keys fail at add time, naming what the kind takes; then the kind's own value checks."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            takes = ", ".join(self.options) or "no options"
            raise InvalidInput("options", f"{self._subject} does not know option(s) {', '.join(unknown)}; it takes: {takes}")
        self.check_options(options)

    @property
    def _subject(self) -> str:
        return f"format {self.name}"


@dataclass(frozen=True, kw_only=True)
class ExportFormat(SourceKind):
    kind: ClassVar[str] = "export"
    providers: tuple[str, ...] = EXPORT_PROVIDERS
    read: Reader
    detect: Callable[[list[str]], bool]  # does a file with this header belong to the format?
    signature: str  # the columns `detect` looks for, in words, for error messages
    select_files: FileSelector = every_matching_file  # manifests, latest deliveries, ...
    schemes: tuple[str, ...] = ()  # URI schemes only this format reads (e.g. "bq"): its sources need no listing
    enrich: Enrichment | None = None  # runs over the read batches with what the tenant's catalog knows
    check_files: FilesCheck | None = None  # at add time, over the listed files (e.g. which Azure dataset a file is)


@dataclass(frozen=True, kw_only=True)
class MetadataFormat(SourceKind):
    kind: ClassVar[str] = "metadata"
    providers: tuple[str, ...] = EXPORT_PROVIDERS
    read_records: RecordReader
