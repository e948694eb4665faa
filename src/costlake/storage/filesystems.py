"""Build the fsspec filesystem for a location from the server settings and ambient credentials."""

from __future__ import annotations

import os

import fsspec

from costlake.settings import Settings
from costlake.storage.ambient import (
    AZURE_CONNECTION_STRING,
    aws_region,
    gcs_emulator_url,
    resolve_azure_account,
)
from costlake.storage.uris import Location

# The server lives for weeks and new exports land all the time: fsspec's listing cache would hide them.
_FRESH_LISTINGS = {"use_listings_cache": False}


def filesystem_for(location: Location, settings: Settings) -> fsspec.AbstractFileSystem:
    """The filesystem that serves `location`.

    fsspec caches instances by constructor arguments (and per process, so forks are safe); the
    arguments here are the scheme plus the account or endpoint, so repeated calls share one client.
    """
    if location.scheme == "s3":
        return _s3(settings)
    if location.scheme == "gs":
        return _gcs()
    if location.scheme == "az":
        return _azure(location)
    return fsspec.filesystem("file", auto_mkdir=True)


def _s3(settings: Settings) -> fsspec.AbstractFileSystem:
    # Credentials: botocore's default chain (env, profiles, instance role, web identity).
    if settings.s3_endpoint_url is None:
        return fsspec.filesystem("s3", **_FRESH_LISTINGS)
    return fsspec.filesystem(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        client_kwargs={"region_name": aws_region()},
        **_FRESH_LISTINGS,
    )


def _gcs() -> fsspec.AbstractFileSystem:
    emulator = gcs_emulator_url()
    if emulator is None:
        return fsspec.filesystem("gcs", **_FRESH_LISTINGS)  # Google application default credentials
    # gcsfs picks its class when first imported: with the experimental default, every call against an
    # emulator first waits 60 s on a gRPC probe. Set the switch for anyone importing gcsfs later, and
    # use the plain class here in case gcsfs was imported before.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    from gcsfs.core import GCSFileSystem

    return GCSFileSystem(endpoint_url=emulator, token="anon", **_FRESH_LISTINGS)


def _azure(location: Location) -> fsspec.AbstractFileSystem:
    # adlfs speaks the Blob API even for abfss:// URIs, which is also what Azurite serves.
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
