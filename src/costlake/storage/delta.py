"""storage_options for delta-rs (deltalake), which talks to object stores through Rust's object_store.

object_store reads the standard credential variables itself (AWS chain, Google ADC, AZURE_STORAGE_*),
so these options only add what it cannot find alone: endpoints, emulators and connection strings.
"""

from __future__ import annotations

import json

from costlake.settings import Settings
from costlake.storage.ambient import aws_region, azure_connection, gcs_emulator_url, resolve_azure_account
from costlake.storage.errors import UnsupportedUriError
from costlake.storage.uris import Location, parse_uri


def delta_storage_options(lake_uri: str, settings: Settings) -> dict[str, str]:
    """Options for DeltaTable / write_deltalake on `lake_uri`; {} for local paths."""
    location = parse_uri(lake_uri)
    if location.scheme == "s3":
        return _s3(settings)
    if location.scheme == "gs":
        if location.uri.startswith("gcs://"):
            # delta-rs hands gcs:// to a different backend (OpenDAL) that ignores these options.
            raise UnsupportedUriError(f"{lake_uri!r}: write Delta lake URIs on GCS as gs://{location.path}")
        return _gcs()
    if location.scheme == "az":
        return _azure(location)
    return {}


def _s3(settings: Settings) -> dict[str, str]:
    # Concurrent commits need no locking provider: delta-rs >= 1.0 writes each commit with
    # If-None-Match: * (S3 conditional writes), which AWS S3, MinIO and moto enforce.
    options = {"AWS_REGION": aws_region()}
    endpoint = settings.s3_endpoint_url
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    return options


def _gcs() -> dict[str, str]:
    emulator = gcs_emulator_url()
    if emulator is None:
        return {}
    # object_store has no emulator switch; a service-account "key" may carry the base URL and skip OAuth.
    key = {"gcs_base_url": emulator, "disable_oauth": True, "client_email": "", "private_key": "", "private_key_id": ""}
    return {"google_service_account_key": json.dumps(key)}


def _azure(location: Location) -> dict[str, str]:
    options = {"azure_storage_account_name": resolve_azure_account(location)}
    connection = azure_connection()
    if "AccountKey" in connection:
        options["azure_storage_account_key"] = connection["AccountKey"]
    if "SharedAccessSignature" in connection:
        options["azure_storage_sas_token"] = connection["SharedAccessSignature"]
    endpoint = connection.get("BlobEndpoint")  # Azurite, sovereign clouds, private endpoints
    if endpoint:
        options["azure_storage_endpoint"] = endpoint
        if endpoint.startswith("http://"):
            options["azure_allow_http"] = "true"
    return options
