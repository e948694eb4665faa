"""Creating, changing and removing billing sources, with the checks a person gets at add time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from costlake.catalog import Catalog
from costlake.catalog import sources as source_rows
from costlake.catalog.locks import lake_commit_lock
from costlake.catalog.models import BillingSource, Tenant
from costlake.catalog.runs import running_run
from costlake.errors import Conflict, InvalidInput
from costlake.settings import Settings
from costlake.sources.access import (
    check_files_stay_local,
    check_uri_access,
    parse_source_uri,
)
from costlake.sources.detection import AUTO, detect_format
from costlake.sources.registry import format_owning
from costlake.storage import Location, StorageError, StoredFile, list_files
from costlake.store import Lake

_GLOB_SEGMENT = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Caller:
    """Who asks: the operator (in-process CLI) may name any URI; tenants only what the operator opened."""

    operator: bool
    owner: str = "api"


def default_name(provider: str, location: Location) -> str:
    """Something a person recognizes: provider and the fixed part of the URI, e.g. "aws my-bucket/focus/data"."""
    segments = [s for s in location.path.split("/") if s and not _GLOB_SEGMENT.search(s)]
    if location.scheme == "file":
        segments = segments[-2:]
    elif len(segments) > 3:
        segments = [segments[0], "…", *segments[-2:]]
    return f"{provider} {'/'.join(segments) or location.uri}"[:200]


def _unique_name(catalog: Catalog, tenant_id: str, wanted: str) -> str:
    name, number = wanted, 2
    while source_rows.find_source_by_name(catalog, tenant_id, name) is not None:
        name, number = f"{wanted} ({number})", number + 1
    return name


def check_source_uri(
    uri: str, tenant: Tenant, caller: Caller, settings: Settings, *, probe: bool
) -> tuple[Location, list[StoredFile]]:
    """Parse, apply the access rules, and (when probing) list the URI once so a bad one fails now, not hours later."""
    location = parse_source_uri(uri)
    check_uri_access(location, operator=caller.operator, allowed_prefixes=tenant.allowed_uri_prefixes, settings=settings)
    files: list[StoredFile] = []
    owner = format_owning(location.scheme)
    if owner is not None:
        # Not a file store: the format that reads it checks the URI's form (access is checked at the first sync).
        return location, owner.select_files(location.uri, settings, {})
    if probe:
        try:
            files = list_files(uri, settings)
        except StorageError as error:
            raise InvalidInput("source_uri", str(error)) from None
        if location.scheme == "file" and not caller.operator:
            check_files_stay_local([file.uri for file in files], settings)
    return location, files


def _resolve_format(wanted: str, files: list[StoredFile], settings: Settings) -> str:
    """`auto` becomes the detected format when the export could be listed; otherwise the first sync detects it."""
    return detect_format(files, settings) if wanted == AUTO and files else wanted


def create_source(
    catalog: Catalog, settings: Settings, tenant: Tenant, caller: Caller, fields: dict[str, Any], *, validate: bool
) -> BillingSource:
    location, files = check_source_uri(fields["source_uri"], tenant, caller, settings, probe=validate)
    name = fields.get("name") or _unique_name(catalog, tenant.id, default_name(fields["provider"], location))
    source_format = _resolve_format(fields["format"], files, settings)
    source = BillingSource(
        tenant_id=tenant.id, **{**fields, "name": name, "source_uri": location.uri, "format": source_format}
    )
    return source_rows.insert_source(catalog, source)


def update_source(
    catalog: Catalog,
    settings: Settings,
    tenant: Tenant,
    caller: Caller,
    source_id: str,
    changes: dict[str, Any],
    *,
    validate: bool,
) -> BillingSource:
    source = source_rows.get_source(catalog, tenant.id, source_id)
    if "provider" in changes and changes.pop("provider") != source.provider:
        raise InvalidInput("provider", "provider cannot change; add a new billing source for the other provider")
    files: list[StoredFile] = []
    if "source_uri" in changes and changes["source_uri"] != source.source_uri:
        location, files = check_source_uri(changes["source_uri"], tenant, caller, settings, probe=validate)
        changes["source_uri"] = location.uri
        changes["needs_backfill"] = True
    if changes.get("format") == AUTO:
        if not files:
            files = check_source_uri(changes.get("source_uri", source.source_uri), tenant, caller, settings, probe=validate)[1]
        changes["format"] = _resolve_format(AUTO, files, settings)
    if "format" in changes and changes["format"] != source.format:
        changes["needs_backfill"] = True
    if changes.get("name") is None:
        changes.pop("name", None)
    return source_rows.update_source(catalog, tenant.id, source_id, changes)


def remove_source(catalog: Catalog, lake: Lake, settings: Settings, tenant: Tenant, caller: Caller, source_id: str) -> None:
    """Delete the source, its runs and every row it loaded; refused while one of its syncs runs."""
    source = source_rows.get_source(catalog, tenant.id, source_id)
    running = running_run(catalog, source.id)
    if running is not None:
        raise Conflict(
            f"a sync of this source is running (run {running.id}); wait for it to finish, then remove the source",
            run_id=running.id,
        )
    with lake_commit_lock(catalog, tenant.id, caller.owner, lease=settings.lease_duration, timeout=settings.lease_duration * 5):
        lake.delete_source(tenant.id, source.id)
        source_rows.delete_source(catalog, tenant.id, source.id)
