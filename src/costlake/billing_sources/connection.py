"""Connection checks at add/update time: the one listing or vendor call that makes a bad source fail now, with
the store's or the vendor's reason, instead of at its first sync hours later."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costlake.catalog.models import Tenant
from costlake.credentials import resolve_credential
from costlake.errors import InvalidInput
from costlake.formats.registry import format_owning
from costlake.formats.vendors import Connector, VendorError
from costlake.settings import Settings
from costlake.storage import Location, StorageError, StoredFile, list_files
from costlake.storage.access import (
    check_files_stay_local,
    check_uri_access,
    parse_source_uri,
)


def check_export(
    uri: str, tenant: Tenant, settings: Settings, *, operator: bool, probe: bool
) -> tuple[Location, list[StoredFile]]:
    """Parse, apply the access rules, and (when probing) list the URI once, as `settings.storage_identity` if set.

    A source with its own storage identity reads with the tenant's identity, not the server's: the operator's
    allowed prefixes then do not apply (local paths never open this way).
    """
    location = parse_source_uri(uri)
    identity = settings.storage_identity
    if identity is not None and identity.scheme != location.scheme:
        raise InvalidInput(
            "storage_credential", f"a {identity.kind} credential cannot read {location.uri}; it is for {identity.scheme}:// URIs"
        )
    if identity is None or location.scheme == "file":
        check_uri_access(location, operator=operator, allowed_prefixes=tenant.allowed_uri_prefixes, settings=settings)
    owner = format_owning(location.scheme)
    if owner is not None:
        # Not a file store: the format that reads it checks the URI's form (access is checked at the first sync).
        return location, owner.select_files(location.uri, settings, {})
    files: list[StoredFile] = []
    if probe:
        try:
            files = list_files(uri, settings)
        except StorageError as error:
            raise InvalidInput("source_uri" if identity is None else "storage_credential", str(error)) from None
        if location.scheme == "file" and not operator:
            check_files_stay_local([file.uri for file in files], settings)
    return location, files


def check_vendor(connector: Connector, settings: Settings, options: Mapping[str, str], credential: dict[str, Any], *, probe: bool) -> None:
    """Options always; with `probe`, one cheap authenticated call with the credential as it will be used."""
    secret = resolve_credential(credential, connector.credential_parts, settings)
    connector.validate_options(options)
    if not probe:
        return
    context = connector.open(settings, options, secret)
    try:
        with context.client:
            connector.check(context)
    except VendorError as error:
        field = "credential" if error.status in (401, 403) else "options" if error.status in (400, 404, 422) else "provider"
        raise InvalidInput(field, f"{error} (add the source with validate false to skip this check)") from None

