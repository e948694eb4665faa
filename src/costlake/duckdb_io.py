"""A DuckDB connection set up to read export files wherever they live.

DuckDB 2.0 has no offline httpfs, so object stores are reached through fsspec filesystems registered on the
connection; local files are read natively (fastest).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from costlake.settings import Settings
from costlake.storage import filesystem_for, parse_uri


def connect(settings: Settings, uris: Iterable[str] = ()) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    connection.execute("LOAD icu")
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("SET preserve_insertion_order = false")
    registered: set[str] = set()
    for uri in uris:
        location = parse_uri(uri)
        if location.scheme in ("file", "bq") or location.scheme in registered:
            continue
        connection.register_filesystem(filesystem_for(location, settings))
        registered.add(location.scheme)
    return connection


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
