"""The access rules again, at every sync, on what the sync will actually open.

What a tenant may make the server read can change after its source was added: a folder or file inside an allowed
root swapped for a symlink to elsewhere, a root or prefix the operator took back. So a sync checks the source's
URI against the rules as they are now, and resolves every local file it will open, before it reads anything; the
reader then opens the resolved path, so a symlink swapped in afterwards is not followed either.
"""

from __future__ import annotations

import dataclasses
import os

from costlake.catalog import Catalog
from costlake.catalog.models import BillingSource
from costlake.catalog.tenants import resolve_tenant
from costlake.settings import Settings
from costlake.storage import StoredFile, parse_uri
from costlake.storage.access import check_files_stay_local, check_uri_access


def check_source_access(catalog: Catalog, source: BillingSource, settings: Settings) -> None:
    """The URI under the tenant's rules as they are now (the operator's own sources may name anything).

    `settings` reads as the source's storage identity, if it has one: then its object-store URI is read with the
    tenant's own rights, and the server's prefixes do not apply (as at add time).
    """
    if source.uri_by_operator:
        return
    location = parse_uri(source.source_uri)
    if settings.storage_identity is not None and location.scheme != "file":
        return
    tenant = resolve_tenant(catalog, source.tenant_id)
    check_uri_access(location, operator=False, allowed_prefixes=tenant.allowed_uri_prefixes, settings=settings)


def readable_files(source: BillingSource, settings: Settings, files: list[StoredFile]) -> list[StoredFile]:
    """The files (listed after check_source_access) a sync may open, local ones by their resolved path; raises
    Forbidden naming the rule otherwise."""
    if source.uri_by_operator or parse_uri(source.source_uri).scheme != "file":
        return files
    check_files_stay_local([file.uri for file in files], settings)
    resolved = [dataclasses.replace(file, uri=os.path.realpath(file.uri)) for file in files]
    check_files_stay_local([file.uri for file in resolved], settings)  # a swap between the two checks
    return resolved
