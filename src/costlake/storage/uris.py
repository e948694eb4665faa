"""Parse the locations users type into one shape that the filesystem layer understands.

URIs are split by hand rather than with urllib: `?` and `[` are glob characters here, not a query.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from costlake.storage.errors import UnsupportedUriError

SUPPORTED_FORMS = (
    "a local path (/data/exports or a relative path), file:///abs/path, s3://bucket/key, "
    "gs://bucket/key (or gcs://), abfss://container@account.dfs.core.windows.net/path, az://container/path, "
    "bq://PROJECT.DATASET.TABLE (a BigQuery table)"
)

_SCHEME = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)", re.DOTALL)
# URI scheme as typed -> the store it names.
_STORES = {"s3": "s3", "gs": "gs", "gcs": "gs", "az": "az", "abfs": "az", "abfss": "az"}
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Location:
    scheme: str  # "file" | "s3" | "gs" | "az" | "bq" (a BigQuery table: not a file store; its format reads it)
    uri: str  # as the user gave it; local paths absolute, without file://
    path: str  # what the fsspec filesystem wants: bucket/key, container/path or an absolute path
    has_glob: bool


def parse_uri(uri: str) -> Location:
    """Recognize a local path or an object-store URI; raise UnsupportedUriError for anything else."""
    text = uri.strip()
    if not text:
        raise UnsupportedUriError(f"empty location; use one of: {SUPPORTED_FORMS}")
    match = _SCHEME.fullmatch(text)
    if match is None:
        return _local(os.path.abspath(os.path.expanduser(text)))
    typed, rest = match["scheme"].lower(), match["rest"]
    if typed == "file":
        if not rest.startswith("/"):
            raise UnsupportedUriError(f"{uri!r}: a file URI needs an absolute path, as in file:///data/exports")
        return _local(os.path.abspath(rest))
    rest = rest.rstrip("/")
    if typed == "bq":
        if not rest or "/" in rest or _has_glob(rest):
            raise UnsupportedUriError(f"{uri!r}: a BigQuery table is bq://PROJECT.DATASET.TABLE")
        return Location(scheme="bq", uri=f"bq://{rest}", path=rest, has_glob=False)
    scheme = _STORES.get(typed)
    if scheme is None:
        raise UnsupportedUriError(f"{uri!r}: {typed}:// is not supported; use one of: {SUPPORTED_FORMS}")
    bucket, _, key = rest.partition("/")
    if typed in ("abfs", "abfss"):
        container, at, host = bucket.partition("@")
        if not (at and container and host):
            raise UnsupportedUriError(
                f"{uri!r}: name the container and the account, as in "
                f"{typed}://container@account.dfs.core.windows.net/path"
            )
        bucket = container
    if not bucket:
        raise UnsupportedUriError(f"{uri!r}: name the bucket or container, as in {typed}://bucket/path")
    path = f"{bucket}/{key}" if key else bucket
    return Location(scheme=scheme, uri=f"{typed}://{rest}", path=path, has_glob=_has_glob(path))


def azure_account(location: Location) -> str | None:
    """The storage account an abfss:// URI names in its host; az:// URIs leave it to the environment."""
    typed, _, rest = location.uri.partition("://")
    if typed not in ("abfs", "abfss"):
        return None
    host = rest.partition("/")[0].partition("@")[2]
    return host.split(".", 1)[0]


def uri_for_path(location: Location, fs_path: str) -> str:
    """Turn a path returned by the location's filesystem back into a URI of the form the user typed."""
    if location.scheme == "file":
        return fs_path
    typed, _, rest = location.uri.partition("://")
    authority = rest.partition("/")[0]
    if "@" in authority:  # abfss://container@host: the filesystem path starts with the container
        key = fs_path.partition("/")[2]
        return f"{typed}://{authority}/{key}" if key else f"{typed}://{authority}"
    return f"{typed}://{fs_path}"


def join_uri(base: str, *parts: str) -> str:
    """Join path segments onto a local path or object-store URI, with exactly one slash between them."""
    segments = [part.strip("/") for part in parts if part.strip("/")]
    if not segments:
        return base
    return (base if base.endswith("/") else base + "/") + "/".join(segments)


def _local(path: str) -> Location:
    return Location(scheme="file", uri=path, path=path, has_glob=_has_glob(path))


def _has_glob(path: str) -> bool:
    return not _GLOB_CHARS.isdisjoint(path)
