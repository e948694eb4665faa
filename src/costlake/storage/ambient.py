"""Read the ambient cloud configuration (environment variables) that costlake relies on.

costlake stores no secret: every credential comes from the standard variables and chains of each
cloud's own SDK. This module only reads the few values the fsspec and delta-rs clients need spelled out.
"""

from __future__ import annotations

import os

from costlake.storage.errors import StorageError
from costlake.storage.uris import Location, azure_account

AZURE_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"


def aws_region() -> str:
    """The region S3-compatible endpoints sign for; MinIO and moto accept the AWS default."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def gcs_emulator_url() -> str | None:
    """The GCS emulator that STORAGE_EMULATOR_HOST names, as a URL (the variable may omit the scheme)."""
    host = os.environ.get("STORAGE_EMULATOR_HOST")
    if not host:
        return None
    return host if host.startswith(("http://", "https://")) else f"http://{host}"


def azure_connection() -> dict[str, str]:
    """The fields of AZURE_STORAGE_CONNECTION_STRING ({} when unset)."""
    raw = os.environ.get(AZURE_CONNECTION_STRING, "")
    return dict(part.split("=", 1) for part in raw.split(";") if "=" in part)


def azure_blob_endpoint(account: str) -> str:
    """The Blob endpoint of `account`: the one AZURE_STORAGE_CONNECTION_STRING gives for it (Azurite, sovereign
    clouds), else the public cloud's. Only the endpoint is taken from the variable, never its key."""
    connection = azure_connection()
    if connection.get("AccountName") == account and connection.get("BlobEndpoint"):
        return connection["BlobEndpoint"]
    return f"https://{account}.blob.core.windows.net"


def resolve_azure_account(location: Location) -> str:
    """The storage account for an Azure location; refuses to send one account's URI to another."""
    named = azure_account(location)
    configured = azure_connection().get("AccountName")
    if named and configured and named != configured:
        raise StorageError(
            f"{location.uri} names storage account {named!r}, but {AZURE_CONNECTION_STRING} is for "
            f"account {configured!r}; use a URI on {configured!r} or unset {AZURE_CONNECTION_STRING}"
        )
    account = named or configured or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise StorageError(
            f"{location.uri}: no storage account is known; set AZURE_STORAGE_ACCOUNT_NAME or "
            f"{AZURE_CONNECTION_STRING}, or write abfss://container@account.dfs.core.windows.net/path"
        )
    return account
