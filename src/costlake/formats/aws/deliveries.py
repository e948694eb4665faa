"""Which CUR files a sync reads: each billing month from its latest complete delivery, per its manifest.

Layouts (docs/mappings/aws.md): AWS Data Exports `data/BILLING_PERIOD=YYYY-MM/[<time>-<execution>/]<chunks>` with
`metadata/BILLING_PERIOD=YYYY-MM/[...]<name>-Manifest.json` (overwrite and create-new modes), and legacy CUR
`<YYYYMMDD-YYYYMMDD>/[<assemblyId>/]<chunks>` with `<report>-Manifest.json` in the date-range folder. AWS writes
a manifest after all the data files it lists, so a month is read from the files its latest manifest lists:
stale chunks, older runs and deliveries still being written are left out. Without manifests (or with a glob
URI), every matching file is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from costlake.duckdb_io import connect
from costlake.formats.conversion import ConversionError, scan
from costlake.settings import Settings
from costlake.storage import (
    StorageError,
    StoredFile,
    join_uri,
    list_files,
    open_file,
    parse_uri,
)

MANIFEST_GLOB = "**/*Manifest.json"
_MONTH_IN_PATH = re.compile(r"/BILLING_PERIOD=(\d{4})-(\d{2})(?:/|$)|/(\d{4})(\d{2})\d{2}-\d{8}(?:/|$)")
_FILE_LIST_KEYS = ("dataFiles", "reportKeys", "files", "blobs")
_FILE_NAME_KEYS = ("key", "uri", "path", "name", "blobName", "file")
_ROW_COUNT_KEYS = ("totalRowCount", "rowCount", "dataRowCount", "recordCount")
_MATCHED_SEGMENTS = 3  # an entry matches a listed file on its last segments (month folder, run folder, chunk)


@dataclass(frozen=True)
class Delivery:
    """One manifest: the billing month it delivers, the files it lists and, where it says, their row count."""

    manifest: StoredFile
    month: str
    entries: list[str]
    row_count: int | None

    @property
    def rank(self) -> tuple[int, str]:
        """Later is better: the date-range-level legacy manifest beats per-assembly copies (shallower path);
        create-new deliveries sort by their `<timestamp>-<execution id>` folder names."""
        return (-self.manifest.uri.count("/"), self.manifest.uri)


def select_cur_files(uri: str, settings: Settings, options: Mapping[str, str]) -> list[StoredFile]:
    data_files = list_files(uri, settings)
    if parse_uri(uri).has_glob:
        return data_files
    deliveries = _deliveries(uri, settings)
    if not deliveries:
        return data_files
    latest: dict[str, Delivery] = {}
    for delivery in deliveries:
        if delivery.month not in latest or delivery.rank > latest[delivery.month].rank:
            latest[delivery.month] = delivery
    chosen: list[StoredFile] = []
    for month in sorted(latest):
        files = _resolve(latest[month], data_files, uri)
        _check_row_count(latest[month], files, settings)
        chosen += files
    return chosen


def _deliveries(uri: str, settings: Settings) -> list[Delivery]:
    try:
        manifests = list_files(join_uri(uri, MANIFEST_GLOB), settings)
    except StorageError:
        return []  # no manifest under the URI (or the URI is one file)
    return [_read_manifest(manifest, settings) for manifest in manifests]


def _read_manifest(manifest: StoredFile, settings: Settings) -> Delivery:
    try:
        with open_file(manifest.uri, settings) as handle:
            content = json.load(handle)
    except (ValueError, UnicodeDecodeError) as error:
        raise ConversionError(f"{manifest.uri}: not a readable CUR manifest ({error})") from None
    if not isinstance(content, dict):
        raise ConversionError(f"{manifest.uri}: not a CUR manifest (expected a JSON object)")
    entries, per_file_counts = _entries(content)
    month = _month(manifest, content)
    if month is None:
        raise ConversionError(
            f"{manifest.uri}: cannot tell which billing month this manifest delivers (no BILLING_PERIOD=YYYY-MM or "
            "YYYYMMDD-YYYYMMDD folder in its path, no billingPeriod.start in it)"
        )
    row_count = next((int(content[key]) for key in _ROW_COUNT_KEYS if isinstance(content.get(key), int)), None)
    if row_count is None and per_file_counts is not None:
        row_count = per_file_counts
    return Delivery(manifest, month, entries, row_count)


def _entries(content: dict[str, Any]) -> tuple[list[str], int | None]:
    """The data files a manifest lists (strings, or objects naming them), and the sum of per-file row counts
    when every file gives one."""
    listed: list[Any] = next((content[key] for key in _FILE_LIST_KEYS if isinstance(content.get(key), list)), [])
    entries: list[str] = []
    counts: list[int] = []
    for item in listed:
        if isinstance(item, str):
            entries.append(item)
        elif isinstance(item, dict):
            name = next((item[key] for key in _FILE_NAME_KEYS if isinstance(item.get(key), str)), None)
            if name is not None:
                entries.append(name)
            count = next((item[key] for key in _ROW_COUNT_KEYS if isinstance(item.get(key), int)), None)
            if count is not None:
                counts.append(count)
    return entries, (sum(counts) if entries and len(counts) == len(entries) else None)


def _month(manifest: StoredFile, content: dict[str, Any]) -> str | None:
    found = _MONTH_IN_PATH.search(manifest.uri.replace("\\", "/"))
    if found is not None:
        return "-".join(part for part in found.groups() if part)
    period = content.get("billingPeriod")
    start = period.get("start") if isinstance(period, dict) else None
    digits = re.sub(r"\D", "", start) if isinstance(start, str) else ""
    return f"{digits[:4]}-{digits[4:6]}" if len(digits) >= 6 else None


def _resolve(delivery: Delivery, data_files: list[StoredFile], uri: str) -> list[StoredFile]:
    """The listed files among those under the URI, matched on their last path segments."""
    by_suffix: dict[tuple[str, ...], list[StoredFile]] = {}
    for file in data_files:
        segments = _segments(file.uri)
        for length in range(1, _MATCHED_SEGMENTS + 1):
            by_suffix.setdefault(tuple(segments[-length:]), []).append(file)
    resolved: list[StoredFile] = []
    for entry in delivery.entries:
        if entry.lower().endswith(".zip"):
            raise ConversionError(
                f"{delivery.manifest.uri} lists {entry}: ZIP-compressed CUR files are not read; "
                "set the report's compression to GZIP or Parquet"
            )
        match = _match(_segments(entry), by_suffix)
        if match is None:
            raise ConversionError(
                f"{delivery.manifest.uri} lists {entry}, which is not among the export files under {uri}: "
                "the delivery is incomplete or was moved; the month is not read until its files are all there"
            )
        resolved.append(match)
    return resolved


def _match(segments: list[str], by_suffix: dict[tuple[str, ...], list[StoredFile]]) -> StoredFile | None:
    """The one listed file ending with the most of the entry's last segments."""
    for length in range(min(_MATCHED_SEGMENTS, len(segments)), 0, -1):
        candidates = by_suffix.get(tuple(segments[-length:]), [])
        if len(candidates) == 1:
            return candidates[0]
    return None


def _segments(path: str) -> list[str]:
    return [segment for segment in path.replace("\\", "/").split("/") if segment]


def _check_row_count(delivery: Delivery, files: list[StoredFile], settings: Settings) -> None:
    if delivery.row_count is None or not files:
        return
    connection = connect(settings, [file.uri for file in files])
    try:
        counts = {file.uri: int(connection.sql(f"SELECT count(*) FROM {scan(file)}").fetchall()[0][0]) for file in files}
    finally:
        connection.close()
    total = sum(counts.values())
    if total != delivery.row_count:
        named = ", ".join(f"{uri} ({count} rows)" for uri, count in counts.items())
        raise ConversionError(
            f"{delivery.manifest.uri} says the {delivery.month} delivery holds {delivery.row_count} rows, "
            f"its files hold {total}: {named}"
        )
