"""Which files of an Azure Cost Management export to read, and what each one is (actual or amortized).

Exports land as `{root}/{export-name}/{YYYYMMDD-YYYYMMDD}/{run-time}/{run-guid}/{files}`, and each run writes
its `manifest.json` last. A daily month-to-date export re-emits the whole month at every run, so for each
export and date range only the latest complete run (manifest present, every blob it lists present) is read;
older runs and folders without a manifest (a run still writing) are ignored. Without any manifest under the
root every export file is read; a glob reads exactly what it matches.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from costlake.formats.conversion import ConversionError
from costlake.settings import Settings
from costlake.storage import (
    StoredFile,
    filesystem_for,
    list_files,
    open_file,
    parse_uri,
)
from costlake.storage.files import EXPORT_SUFFIXES
from costlake.storage.uris import uri_for_path

MANIFEST = "manifest.json"
DATASETS = ("actual", "amortized")
# exportConfig.type -> dataset; "Usage" is the legacy name of the actual cost dataset.
EXPORT_TYPES = {"actualcost": "actual", "usage": "actual", "amortizedcost": "amortized"}
_DATE_RANGE = re.compile(r"\d{8}-\d{8}")


@dataclass(frozen=True)
class Manifest:
    uri: str
    dataset: str | None  # from exportConfig.type; None when the manifest does not say
    export_type: str | None
    blob_rows: dict[str, int | None] = field(default_factory=dict)  # file name -> dataRowCount
    submitted: str = ""  # runInfo.submittedTime, when given

    @property
    def folder(self) -> str:
        return self.uri.rsplit("/", 1)[0]


def parse_manifest(uri: str, document: Mapping[str, Any]) -> Manifest:
    """Both manifest shapes: 2021-01-01 (blobs with dataRowCount) and 2023-07-01+ (exportConfig, runInfo)."""
    export_type = (document.get("exportConfig") or {}).get("type")
    blobs = document.get("blobs") or []
    rows = {posixpath.basename(str(blob.get("blobName", ""))): _row_count(blob) for blob in blobs}
    return Manifest(
        uri=uri,
        dataset=EXPORT_TYPES.get(str(export_type).lower()) if export_type else None,
        export_type=str(export_type) if export_type else None,
        blob_rows=rows,
        submitted=str((document.get("runInfo") or {}).get("submittedTime") or ""),
    )


def _row_count(blob: Mapping[str, Any]) -> int | None:
    value = blob.get("dataRowCount")
    return int(value) if value is not None else None


def read_manifest(uri: str, settings: Settings) -> Manifest:
    with open_file(uri, settings) as handle:
        try:
            return parse_manifest(uri, json.loads(handle.read().decode("utf-8-sig")))
        except (ValueError, AttributeError, TypeError) as error:
            raise ConversionError(f"{uri}: not a valid Cost Management manifest ({error})") from None


def sibling_manifest(file: StoredFile, settings: Settings) -> Manifest | None:
    """The manifest of the run folder a data file sits in, if that folder has one."""
    uri = file.uri.rsplit("/", 1)[0] + "/" + MANIFEST
    location = parse_uri(uri)
    if not filesystem_for(location, settings).exists(location.path):
        return None
    return read_manifest(uri, settings)


def classify(file: StoredFile, manifest: Manifest | None, options: Mapping[str, str]) -> str:
    """actual or amortized: from the manifest's exportConfig.type, else the path, else options["dataset"]."""
    dataset = told_dataset(file, manifest, options)
    if dataset is None:
        raise ConversionError(
            f"{file.uri}: cannot tell whether this is the actual or the amortized cost dataset (no manifest with "
            "exportConfig.type, and neither word in its path); set --option dataset=actual or --option dataset=amortized"
        )
    return dataset


def told_dataset(file: StoredFile, manifest: Manifest | None, options: Mapping[str, str]) -> str | None:
    """The dataset the manifest, the path or the option says; None when nothing says."""
    if manifest is not None and manifest.export_type is not None:
        if manifest.dataset is None:
            hint = " (a FOCUS export: use format focus)" if manifest.export_type.lower().startswith("focus") else ""
            raise ConversionError(
                f"{file.uri}: its manifest says exportConfig.type {manifest.export_type!r}{hint}; "
                "azure-cost-details reads the ActualCost and AmortizedCost datasets"
            )
        return manifest.dataset
    for segment in reversed(file.uri.lower().split("/")):
        if "amortized" in segment:
            return "amortized"
        if "actual" in segment:
            return "actual"
    dataset = options.get("dataset", "").strip().lower()
    if dataset in DATASETS:
        return dataset
    if dataset:
        raise ConversionError(f"option dataset={options['dataset']!r}: use dataset=actual or dataset=amortized")
    return None


def select_files(uri: str, settings: Settings, options: Mapping[str, str]) -> list[StoredFile]:
    """A glob or a file: exactly that. A folder: the latest complete run per export and date range."""
    location = parse_uri(uri)
    fs = filesystem_for(location, settings)
    if location.has_glob or fs.info(location.path)["type"] == "file":
        return list_files(uri, settings)
    found = fs.find(location.path, detail=True)
    manifests = [path for path, entry in found.items() if entry["type"] == "file" and posixpath.basename(path) == MANIFEST]
    if not manifests:
        return list_files(uri, settings)
    sizes = {uri_for_path(location, path): int(entry["size"]) for path, entry in found.items() if entry["type"] == "file"}
    runs: dict[tuple[str, str], list[Manifest]] = {}
    for path in manifests:
        manifest = read_manifest(uri_for_path(location, path), settings)
        runs.setdefault(_delivery_key(manifest), []).append(manifest)
    selected: list[StoredFile] = []
    for key, candidates in sorted(runs.items()):
        selected += _latest_complete_run(key, candidates, sizes)
    return sorted(selected, key=lambda stored: stored.uri)


def _delivery_key(manifest: Manifest) -> tuple[str, str]:
    """(export folder up to its date-range folder, export type): the runs that restate one another."""
    segments = manifest.folder.split("/")
    for index in range(len(segments) - 1, -1, -1):
        if _DATE_RANGE.fullmatch(segments[index]):
            return "/".join(segments[: index + 1]), manifest.export_type or ""
    return manifest.folder, manifest.export_type or ""


def _run_order(manifest: Manifest) -> tuple[str, str]:
    # runInfo.submittedTime when given, else the run folders' names ({run-time}/{run-guid}) in path order.
    return manifest.submitted, manifest.folder


def _latest_complete_run(key: tuple[str, str], candidates: list[Manifest], sizes: dict[str, int]) -> list[StoredFile]:
    missing: list[str] = []
    for manifest in sorted(candidates, key=_run_order, reverse=True):
        files = [f"{manifest.folder}/{name}" for name in manifest.blob_rows]
        absent = [file for file in files if file not in sizes]
        if not absent and files:
            return [StoredFile(uri=file, size=sizes[file]) for file in files if file.lower().endswith(EXPORT_SUFFIXES)]
        missing += absent
    raise ConversionError(
        f"{key[0]}: no complete run; every manifest there lists files that are missing "
        f"({', '.join(missing[:3]) or 'no files listed'})"
    )
