"""Which URIs a caller may make the server read.

The server reads with its own identity (its local disk, its cloud role), so a tenant reaching it over HTTP may
only name what the operator opened to that tenant: local paths under COSTLAKE_ALLOWED_LOCAL_ROOTS, and cloud
URIs under the tenant's allowed prefixes. The operator (the in-process CLI) may name anything.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from costlake.errors import Forbidden, InvalidInput
from costlake.settings import Settings
from costlake.storage.errors import UnsupportedUriError
from costlake.storage.uris import Location, parse_uri

_GLOB = re.compile(r"[*?\[]")


def parse_source_uri(uri: str) -> Location:
    try:
        return parse_uri(uri)
    except UnsupportedUriError as error:
        raise InvalidInput("source_uri", str(error)) from None


def _fixed_part(path: str) -> str:
    """The path up to the first segment with a glob character: what the URI can reach at most."""
    match = _GLOB.search(path)
    return path if match is None else path[: match.start()].rsplit("/", 1)[0]


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/")
    return path == root or path.startswith(root + "/")


def check_local_path(location: Location, settings: Settings) -> None:
    reachable = os.path.realpath(_fixed_part(location.path))
    roots = [os.path.realpath(root) for root in settings.allowed_local_roots]
    if not any(_under(reachable, root) for root in roots):
        opened = ", ".join(str(Path(root)) for root in settings.allowed_local_roots) or "none"
        fixed = _fixed_part(location.path)
        resolves = f" (it resolves to {reachable})" if os.path.abspath(fixed) != reachable else ""
        raise Forbidden(
            f"source_uri {location.uri!r}{resolves} is a local path on the server; over the API a tenant may only name local "
            f"paths under COSTLAKE_ALLOWED_LOCAL_ROOTS (open now: {opened}). Ask the operator, or use an object-store URI"
        )


def check_files_stay_local(paths: list[str], settings: Settings) -> None:
    """Symlinks inside an allowed root must not lead out of it."""
    roots = [os.path.realpath(root) for root in settings.allowed_local_roots]
    for path in paths:
        if not any(_under(os.path.realpath(path), root) for root in roots):
            opened = ", ".join(str(Path(root)) for root in settings.allowed_local_roots) or "none"
            raise Forbidden(
                f"{path} resolves outside COSTLAKE_ALLOWED_LOCAL_ROOTS (open now: {opened}); symlinks may not leave an "
                "allowed root, and nothing was read"
            )


def _under_prefix(location: Location, prefix: str) -> bool:
    # BigQuery names nest with dots (project.dataset.table), object stores with slashes.
    return _under(location.uri, prefix) or (location.scheme == "bq" and location.uri.startswith(prefix.rstrip(".") + "."))


def check_cloud_uri(location: Location, allowed_prefixes: list[str]) -> None:
    if not any(_under_prefix(location, prefix) for prefix in allowed_prefixes):
        opened = ", ".join(allowed_prefixes) or "none"
        raise Forbidden(
            f"source_uri {location.uri!r} is not under a prefix the operator allowed for this tenant (allowed: {opened}); "
            "the operator opens prefixes with `costlake tenant update TENANT --allow-uri-prefix URI`"
        )


def check_uri_access(location: Location, *, operator: bool, allowed_prefixes: list[str], settings: Settings) -> None:
    if operator:
        return
    if location.scheme == "file":
        check_local_path(location, settings)
    else:
        check_cloud_uri(location, allowed_prefixes)
