"""List, read and write files at user-given locations, with errors that say what to fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import fsspec

from costlake.settings import Settings
from costlake.storage.errors import StorageError
from costlake.storage.filesystems import filesystem_for
from costlake.storage.uris import Location, parse_uri, uri_for_path

# What a folder of billing exports holds; a glob picks its own files.
EXPORT_SUFFIXES = (".parquet", ".csv", ".csv.gz")

_CREDENTIAL_HINTS = {
    "file": "the file permissions of the costlake process",
    "s3": "the AWS credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID, instance or pod role) and the bucket policy",
    "gs": "the Google application default credentials (GOOGLE_APPLICATION_CREDENTIALS) and the bucket IAM roles",
    "az": "AZURE_STORAGE_CONNECTION_STRING / AZURE_STORAGE_ACCOUNT_KEY, or the identity's Storage Blob Data role",
}
# Raised by the SDKs when credentials are missing or rejected, and not always with an HTTP status.
_AUTH_ERROR_NAMES = {"ClientAuthenticationError", "NoCredentialsError", "DefaultCredentialsError", "RefreshError"}


@dataclass(frozen=True)
class StoredFile:
    uri: str  # in the form the user typed (s3://..., abfss://c@account.../..., or an absolute local path)
    size: int


def list_files(uri: str, settings: Settings) -> list[StoredFile]:
    """The files a location names, sorted by URI: a glob's matches, one file, or a folder's exports."""
    location = parse_uri(uri)
    fs = filesystem_for(location, settings)
    hint = _credential_hint(location, settings)
    with _storage_errors(location, fs, "list", hint):
        entries = _matching_entries(location, fs)
        if not entries:
            raise _nothing_at(location, fs, hint)
    files = (StoredFile(uri=uri_for_path(location, entry["name"]), size=int(entry["size"])) for entry in entries)
    return sorted(files, key=lambda stored: stored.uri)


def open_file(uri: str, settings: Settings) -> BinaryIO:
    """A seekable binary file for reading (pyarrow.parquet reads it); use it as a context manager."""
    location = _one_file(uri)
    fs = filesystem_for(location, settings)
    with _storage_errors(location, fs, "read", _credential_hint(location, settings)):
        return cast(BinaryIO, fs.open(location.path, "rb"))


def open_output(uri: str, settings: Settings) -> BinaryIO:
    """A binary file for writing; local parent folders are created.

    Object stores upload on close, so a missing bucket or a denied write surfaces there, as the client's own error.
    """
    location = _one_file(uri)
    fs = filesystem_for(location, settings)
    with _storage_errors(location, fs, "write", _credential_hint(location, settings)):
        return cast(BinaryIO, fs.open(location.path, "wb"))


def remove_tree(uri: str, settings: Settings) -> None:
    """Delete a file or folder and everything under it; a missing one is already removed."""
    location = _one_file(uri)
    if location.scheme != "file" and "/" not in location.path:
        raise StorageError(f"refusing to remove the whole bucket or container {location.uri}; name a folder in it")
    fs = filesystem_for(location, settings)
    with _storage_errors(location, fs, "remove", _credential_hint(location, settings)), suppress(FileNotFoundError):
        fs.rm(location.path, recursive=True)


def _matching_entries(location: Location, fs: fsspec.AbstractFileSystem) -> list[dict[str, Any]]:
    if location.has_glob:
        matches = fs.glob(location.path, detail=True).values()
        return [entry for entry in matches if entry["type"] == "file"]
    entry = fs.info(location.path)
    if entry["type"] == "file":
        return [entry]
    return [
        entry
        for entry in fs.find(location.path, detail=True).values()
        if entry["type"] == "file" and entry["name"].lower().endswith(EXPORT_SUFFIXES)
    ]


def _one_file(uri: str) -> Location:
    location = parse_uri(uri)
    if location.has_glob:
        raise StorageError(f"{location.uri} is a glob; name one file (list_files expands globs)")
    return location


def _credential_hint(location: Location, settings: Settings) -> str:
    """What to check when access fails: the source's own storage identity when it has one, else the server's."""
    identity = settings.storage_identity
    if identity is None:
        return _CREDENTIAL_HINTS[location.scheme]
    return identity.declared.access_hint.format_map(vars(identity))


def _nothing_at(location: Location, fs: fsspec.AbstractFileSystem, hint: str) -> StorageError:
    if location.scheme != "file":
        bucket = location.path.split("/", 1)[0]
        if not fs.exists(bucket):
            kind = "container" if location.scheme == "az" else "bucket"
            return StorageError(
                f"{kind} {bucket!r} does not exist ({location.uri}); check its name, and that the credentials "
                f"and endpoint in use point at the right account: {hint}"
            )
    return StorageError(f"no file matches {location.uri}; check the path and glob")


@contextmanager
def _storage_errors(location: Location, fs: fsspec.AbstractFileSystem, action: str, hint: str) -> Iterator[None]:
    """Turn whatever a storage client raises into a StorageError naming the URI.

    Messages carry the exception's type and the store's error code, never the exception's text,
    which may quote signed URLs or keys; the original stays chained for the logs.
    """
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as exc:
        raise _nothing_at(location, fs, hint) from exc
    except Exception as exc:
        if _is_access_denied(exc):
            raise StorageError(
                f"access denied: cannot {action} {location.uri}; check {hint}{_store_code(exc)}"
            ) from exc
        raise StorageError(
            f"cannot {action} {location.uri} ({type(exc).__name__}); check that the storage service is reachable"
            f"{_store_code(exc)}"
        ) from exc


def _is_access_denied(exc: Exception) -> bool:
    if isinstance(exc, PermissionError):  # s3fs and adlfs map AccessDenied and friends to it
        return True
    if any(cls.__name__ in _AUTH_ERROR_NAMES for cls in type(exc).__mro__):
        return True
    status = getattr(exc, "status_code", None) or getattr(exc, "code", None)  # azure-core, gcsfs HttpError
    return status in (401, 403) or str(exc).startswith("Forbidden")  # gcsfs: OSError("Forbidden: ...")


def _store_code(exc: BaseException) -> str:
    """The store's own error code (AccessDenied, AuthenticationFailed...) found along the cause chain, as
    " (code)"; codes are fixed names, unlike messages, which may quote a signature's string-to-sign."""
    cause: BaseException | None = exc
    while cause is not None:
        code = getattr(cause, "error_code", None)  # azure-core's HttpResponseError
        response = getattr(cause, "response", None)
        if code is None and isinstance(response, dict):  # botocore's ClientError
            code = response.get("Error", {}).get("Code")
        if code:
            return f" ({getattr(code, 'value', code)})"
        cause = cause.__cause__ or cause.__context__
    return ""
