"""Creating, changing and removing billing sources, with the checks a person gets at add time."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from costlake.billing_sources.connection import check_export, check_vendor
from costlake.catalog import Catalog
from costlake.catalog import sources as source_rows
from costlake.catalog.locks import lake_commit_lock
from costlake.catalog.models import BillingSource, Tenant
from costlake.catalog.runs import running_run
from costlake.credentials import export_settings, store_credential, store_storage_identity
from costlake.credentials.secret import CredentialError
from costlake.credentials.stored import tenant_external_id
from costlake.errors import Conflict, InvalidInput
from costlake.formats.contract import API_FORMAT, AUTO, ExportFormat
from costlake.formats.detection import check_format, detect_format
from costlake.formats.registry import VENDORS, kind_of
from costlake.formats.vendors import Connector
from costlake.hooks import DEFAULT_HANDLERS, Handler, SourceRemoved, publish
from costlake.settings import Settings
from costlake.storage import Location, StoredFile
from costlake.storage.identity import StorageIdentity
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


def _resolve_format(wanted: str, files: list[StoredFile], settings: Settings) -> str:
    """`auto` becomes the detected format when the export could be listed; otherwise the first sync detects it."""
    return detect_format(files, settings) if wanted == AUTO and files else wanted


@dataclass(frozen=True)
class Added:
    """A new source, and what the add-time checks decided for it in words (e.g. an Azure file read as actual)."""

    source: BillingSource
    notices: list[str]


def _check_files(wanted: str, source_format: str, files: list[StoredFile], settings: Settings, options: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """What would fail the first sync fails now: a named format that the files are not, or what the format's own
    look at the files finds. Returns the options to store and the notices."""
    if not files or source_format == AUTO:
        return options, []
    if wanted != AUTO:
        check_format(files, settings, source_format)
    kind = kind_of("", source_format)
    if not isinstance(kind, ExportFormat) or kind.check_files is None:
        return options, []
    checked = kind.check_files(files, settings, options)
    return checked.options, checked.notes


def _check_provider(provider: str, source_format: str) -> None:
    """A format names the providers whose exports it is (e.g. only FOCUS exports hold several clouds)."""
    if source_format == AUTO:
        return
    kind = kind_of(provider, source_format)
    if provider not in kind.providers:
        raise InvalidInput(
            "provider", f"format {source_format} is read for provider {', '.join(kind.providers)}, not {provider}"
        )


def _check_format_options(source_format: str, options: dict[str, str]) -> None:
    """Unknown option keys fail at add time, not at the first sync (an `auto` format is checked once detected)."""
    if source_format == AUTO:
        return
    kind_of("", source_format).validate_options(options)


# Every source has these; the API's response model (and every reader of the catalog) relies on it.
_REQUIRED = ("name", "provider", "format", "source_uri", "window_months", "enabled", "options")


def _refuse_nulls(fields: dict[str, Any]) -> None:
    for name in _REQUIRED:
        if name in fields and fields[name] is None:
            raise InvalidInput(name, f"{name} cannot be null; leave it out to keep the current value")


def check_whole_source(source: BillingSource, changes: dict[str, Any]) -> None:
    """The source as it will be stored, all of it, before anything commits: a write must never leave a source that
    cannot be read back (one such row made a tenant's whole source list unreadable)."""
    merged = {name: changes.get(name, getattr(source, name)) for name in _REQUIRED}
    _refuse_nulls(merged)
    options = merged["options"]
    if not isinstance(options, dict) or not all(isinstance(key, str) and isinstance(value, str) for key, value in options.items()):
        raise InvalidInput("options", 'options is an object of text values, e.g. {"dataset": "amortized"}')
    if isinstance(merged["window_months"], bool) or not isinstance(merged["window_months"], int) or merged["window_months"] < 1:
        raise InvalidInput("window_months", "window_months is a whole number of months, at least 1")
    connector = VENDORS.get(merged["provider"])
    if connector is not None:
        connector.validate_options(options)
    else:
        _check_format_options(merged["format"], options)


def _stored_storage_credential(
    catalog: Catalog, settings: Settings, tenant: Tenant, caller: Caller, spec: dict[str, Any] | None
) -> dict[str, str] | None:
    """Check and encrypt a storage identity. Over HTTP an AWS role must trust the external ID costlake issued to
    this tenant, and a role or service account already connected by another tenant is refused."""
    if spec is None:
        return None
    identity = StorageIdentity.parse(spec)
    if identity.kind == "aws-role" and not caller.operator:
        issued = tenant_external_id(tenant.id)
        if identity.external_id not in (None, issued):
            raise InvalidInput(
                "storage_credential",
                f"the external ID for this tenant's roles is {issued!r} (issued by costlake, one per tenant); require "
                "exactly that in the role's trust policy (sts:ExternalId) and omit external_id or send that value",
            )
        identity = dataclasses.replace(identity, external_id=issued)
    stored = store_storage_identity(identity, settings)
    if "claim" in stored and source_rows.storage_claim_elsewhere(catalog, tenant.id, stored["claim"]):
        raise InvalidInput(
            "storage_credential", "this role or service account is already connected by another tenant; use one of your own"
        )
    return stored


def _vendor_fields(connector: Connector, fields: dict[str, Any]) -> dict[str, Any]:
    """A vendor API source: its fixed URI and format, options and a credential, checked with one vendor call."""
    if fields.get("format") not in (None, AUTO, API_FORMAT):
        raise InvalidInput("format", f"{connector.provider} sources read the vendor's API: format is {API_FORMAT!r}")
    if fields.get("source_uri") not in (None, connector.source_uri):
        raise InvalidInput(
            "source_uri",
            f"{connector.provider} sources take no source_uri (it is {connector.source_uri}); the vendor's host is a "
            "server setting, vendor settings go in options",
        )
    if fields.get("storage_credential") is not None:
        raise InvalidInput("storage_credential", "a storage credential is for object-store exports; vendor sources use credential")
    return {**fields, "source_uri": connector.source_uri, "format": API_FORMAT}


def _credential(connector: Connector, spec: dict[str, Any] | None, settings: Settings, tenant: Tenant, caller: Caller) -> dict[str, str]:
    if spec is None:
        raise CredentialError(
            f"{connector.provider} sources need a credential ({connector.credential_hint}): "
            '{"kind": "env", "name": "VAR"} or {"kind": "stored", "value": ...}'
        )
    return store_credential(spec, connector.credential_parts, settings, tenant_name=tenant.name, operator=caller.operator)


def create_source(
    catalog: Catalog, settings: Settings, tenant: Tenant, caller: Caller, fields: dict[str, Any], *, validate: bool
) -> Added:
    notices: list[str] = []
    connector = VENDORS.get(fields["provider"])
    if connector is not None:
        fields = _vendor_fields(connector, fields)
        fields["credential"] = _credential(connector, fields.get("credential"), settings, tenant, caller)
        check_vendor(connector, settings, fields["options"], fields["credential"], probe=validate)
        name = fields.get("name") or _unique_name(catalog, tenant.id, connector.provider)
    else:
        if fields.get("credential") is not None:
            raise InvalidInput("credential", "a credential is for vendor API sources; object-store exports use storage_credential")
        if not fields.get("source_uri"):
            raise InvalidInput("source_uri", f"{fields['provider']} sources need a source_uri: where the export lives")
        if fields.get("format") == API_FORMAT:
            raise InvalidInput("format", f"format {API_FORMAT!r} is for vendor providers: {', '.join(VENDORS)}")
        _check_format_options(fields.get("format") or AUTO, fields.get("options") or {})
        fields["storage_credential"] = _stored_storage_credential(catalog, settings, tenant, caller, fields.get("storage_credential"))
        reading = export_settings(settings, fields["storage_credential"])
        location, files = check_export(fields["source_uri"], tenant, reading, operator=caller.operator, probe=validate)
        source_format = _resolve_format(fields.get("format") or AUTO, files, reading)
        _check_provider(fields["provider"], source_format)
        _check_format_options(source_format, fields.get("options") or {})
        options, notices = _check_files(fields.get("format") or AUTO, source_format, files, reading, fields.get("options") or {})
        name = fields.get("name") or _unique_name(catalog, tenant.id, default_name(fields["provider"], location))
        fields = {**fields, "source_uri": location.uri, "format": source_format, "options": options}
    source = BillingSource(tenant_id=tenant.id, uri_by_operator=caller.operator, **{**fields, "name": name})
    check_whole_source(source, {"window_months": fields.get("window_months", 2), "enabled": fields.get("enabled", True),
                                "options": fields.get("options", {})})
    return Added(source_rows.insert_source(catalog, source), notices)


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
    """What changed is checked against the store or vendor, then the whole resulting source; a new credential
    replaces the old in place (no re-sync, no data gap)."""
    source = source_rows.get_source(catalog, tenant.id, source_id)
    _refuse_nulls(changes)
    if "provider" in changes and changes.pop("provider") != source.provider:
        raise InvalidInput("provider", "provider cannot change; add a new billing source for the other provider")
    connector = VENDORS.get(source.provider)
    if connector is not None:
        merged = {"source_uri": source.source_uri, "format": source.format, **changes}
        _vendor_fields(connector, merged)
        changes.pop("source_uri", None)
        changes.pop("format", None)
        if "credential" in changes:
            changes["credential"] = _credential(connector, changes["credential"], settings, tenant, caller)
        if "credential" in changes or "options" in changes:
            options = changes.get("options", source.options)
            credential = changes.get("credential", source.credential)
            if credential is None:
                raise CredentialError(f"this {connector.provider} source has no credential; update it with one")
            check_vendor(connector, settings, options, credential, probe=validate)
        check_whole_source(source, changes)
        return source_rows.update_source(catalog, tenant.id, source_id, changes)
    if changes.get("credential") is not None:
        raise InvalidInput("credential", "a credential is for vendor API sources; object-store exports use storage_credential")
    changes.pop("credential", None)
    if "source_uri" in changes or "storage_credential" in changes:
        changes["uri_by_operator"] = caller.operator
    if "storage_credential" in changes:
        changes["storage_credential"] = _stored_storage_credential(catalog, settings, tenant, caller, changes["storage_credential"])
    reading = export_settings(settings, changes.get("storage_credential", source.storage_credential))
    uri = changes.get("source_uri", source.source_uri)
    files: list[StoredFile] = []
    new_format = "format" in changes and changes["format"] != source.format
    if "source_uri" in changes or "storage_credential" in changes or changes.get("format") == AUTO or (new_format and validate):
        location, files = check_export(uri, tenant, reading, operator=caller.operator, probe=validate)
        if location.uri != source.source_uri:
            changes["source_uri"] = location.uri
            changes["needs_backfill"] = True
        else:
            changes.pop("source_uri", None)
    if changes.get("format") == AUTO:
        changes["format"] = _resolve_format(AUTO, files, reading)
    if "format" in changes and changes["format"] != source.format:
        changes["needs_backfill"] = True
    if "format" in changes or "options" in changes:
        _check_format_options(changes.get("format", source.format), changes.get("options", source.options))
    if "format" in changes and changes["format"] != AUTO:
        _check_provider(source.provider, changes["format"])
        check_format(files, reading, changes["format"])
    check_whole_source(source, changes)
    return source_rows.update_source(catalog, tenant.id, source_id, changes)


def remove_source(
    catalog: Catalog,
    lake: Lake,
    settings: Settings,
    tenant: Tenant,
    caller: Caller,
    source_id: str,
    handlers: Sequence[Handler] = DEFAULT_HANDLERS,
) -> None:
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
    publish(catalog, SourceRemoved(tenant.id, source.id), handlers)
