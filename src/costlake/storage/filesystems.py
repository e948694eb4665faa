"""Build the fsspec filesystem for a location from the server settings and ambient credentials.

When the settings carry a billing source's own storage identity (Settings.with_storage_identity), that
identity reaches the location instead of the server's: an assumed AWS role, an impersonated Google service
account, or an Azure SAS token.
"""

from __future__ import annotations

import os

import fsspec

from costlake.settings import Settings
from costlake.storage.ambient import (
    AZURE_CONNECTION_STRING,
    aws_region,
    azure_blob_endpoint,
    gcs_emulator_url,
    resolve_azure_account,
)
from costlake.storage.errors import StorageError
from costlake.storage.identity import StorageIdentity
from costlake.storage.uris import Location, azure_account

# The server lives for weeks and new exports land all the time: fsspec's listing cache would hide them.
_FRESH_LISTINGS = {"use_listings_cache": False}


def filesystem_for(location: Location, settings: Settings) -> fsspec.AbstractFileSystem:
    """The filesystem that serves `location`, as the source's storage identity when the settings carry one.

    fsspec caches instances by constructor arguments (and per process, so forks are safe); the
    arguments here are the scheme plus the account or endpoint (and one cached credential object per
    identity), so repeated calls share one client.
    """
    identity = settings.storage_identity
    if identity is not None and identity.scheme != location.scheme:
        raise StorageError(
            f"this source's storage credential is {identity.declared.noun}, which reaches {identity.scheme}:// "
            f"locations, not {location.uri}; use a {identity.scheme}:// location or change the storage credential"
        )
    if location.scheme == "s3":
        return _s3(settings, identity)
    if location.scheme == "gs":
        return _gcs(identity)
    if location.scheme == "az":
        return _azure(location, identity)
    return fsspec.filesystem("file", auto_mkdir=True)


def _s3(settings: Settings, identity: StorageIdentity | None) -> fsspec.AbstractFileSystem:
    options: dict[str, object] = dict(_FRESH_LISTINGS)
    if settings.s3_endpoint_url is not None:
        options.update(endpoint_url=settings.s3_endpoint_url, client_kwargs={"region_name": aws_region()})
    if identity is not None:
        # Imported here: boto3 and aiobotocore take half a second to load, and most commands never need them.
        from costlake.storage.assumed import role_session

        options["session"] = role_session(identity, settings.s3_endpoint_url)
    # Otherwise credentials come from botocore's default chain (env, profiles, instance role, web identity).
    return fsspec.filesystem("s3", **options)


def _gcs(identity: StorageIdentity | None) -> fsspec.AbstractFileSystem:
    emulator = gcs_emulator_url()
    token = None  # gcsfs then uses the application default credentials
    if identity is not None:
        from costlake.storage.assumed import impersonated  # see _s3

        token = impersonated(identity)
    if emulator is None:
        return fsspec.filesystem("gcs", token=token, **_FRESH_LISTINGS)
    # gcsfs picks its class when first imported: with the experimental default, every call against an
    # emulator first waits 60 s on a gRPC probe. Set the switch for anyone importing gcsfs later, and
    # use the plain class here in case gcsfs was imported before.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    from gcsfs.core import GCSFileSystem

    return GCSFileSystem(endpoint_url=emulator, token=token or "anon", **_FRESH_LISTINGS)


def _azure(location: Location, identity: StorageIdentity | None) -> fsspec.AbstractFileSystem:
    # adlfs speaks the Blob API even for abfss:// URIs, which is also what Azurite serves.
    if identity is not None:
        return _azure_sas(location, identity)
    account = resolve_azure_account(location)
    connection_string = os.environ.get(AZURE_CONNECTION_STRING)
    if connection_string:
        return fsspec.filesystem("abfs", connection_string=connection_string, **_FRESH_LISTINGS)
    # Without a key, adlfs falls back to DefaultAzureCredential (managed identity, CLI, workload identity...).
    return fsspec.filesystem(
        "abfs",
        account_name=account,
        account_key=os.environ.get("AZURE_STORAGE_ACCOUNT_KEY"),
        anon=False,
        **_FRESH_LISTINGS,
    )


def _azure_sas(location: Location, identity: StorageIdentity) -> fsspec.AbstractFileSystem:
    """The source's SAS token alone: our own connection string keeps adlfs from reaching for the ambient
    AZURE_STORAGE_CONNECTION_STRING / account key (it reads them when given only an account and a token)."""
    account = azure_account(location)
    if account is None:
        raise StorageError(
            f"{location.uri}: a SAS token is issued for one storage account; write the location with it, as in "
            "abfss://container@ACCOUNT.dfs.core.windows.net/path"
        )
    sas = (identity.sas_token or "").lstrip("?")
    connection_string = f"BlobEndpoint={azure_blob_endpoint(account)};SharedAccessSignature={sas}"
    return fsspec.filesystem("abfs", connection_string=connection_string, **_FRESH_LISTINGS)
