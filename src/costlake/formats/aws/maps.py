"""Tags, x_TagOrigins and x_Extensions of CUR rows: the query lists each row's entries, Arrow wraps them as maps.

DuckDB's MAP constructors (MAP(), map_concat, map_from_entries) check every row's keys for duplicates and cost
2-5 s per 500,000 rows here, more than everything else a CUR row needs. These keys are unique by construction
(each part's own keys, cost categories under a prefix tag keys cannot have; distinct column names), so the query
builds plain LISTs, which DuckDB makes quickly and on every core, and Arrow turns their buffers into MapArrays:
- Tags: one LIST of {key, value, origin} per row, every part's entries part by part. Tags and x_TagOrigins are its
  key/value and key/origin columns (no copy); a row without any entry is null.
- x_Extensions: one LIST of the kept columns' text per row (entry i belongs to extension key i); null values are
  left out, and a row whose kept columns are all null gets an empty map.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from costlake.duckdb_io import sql_string

TAG_ENTRIES = "STRUCT(key VARCHAR, value VARCHAR, origin VARCHAR)[]"


def map_part(map_sql: str, origin: str, prefix: str = "") -> str:
    """Every entry of a MAP(VARCHAR, VARCHAR) expression (the export's tag or cost category map), keys prefixed."""
    key = f"{sql_string(prefix)} || e.key" if prefix else "e.key"
    return f"list_transform(map_entries({map_sql}), lambda e: {{'key': {key}, 'value': e.value, 'origin': {sql_string(origin)}}})"


def per_key_part(columns: list[tuple[str, str]], origin: str, prefix: str = "") -> str:
    """Per-key columns (`resourceTags/user:Owner`) given as (key, text expression): the non-null ones."""
    entries = ", ".join(
        f"{{'key': {sql_string(prefix + key)}, 'value': {value}, 'origin': {sql_string(origin)}}}" for key, value in columns
    )
    return f"list_filter([{entries}], lambda e: e.value IS NOT NULL)"


def tag_entries(parts: list[str]) -> str:
    """The Tags column of the query: the parts' entries in order (list_concat reads a NULL part as empty)."""
    if not parts:
        return f"CAST(NULL AS {TAG_ENTRIES})"
    return parts[0] if len(parts) == 1 else f"list_concat({', '.join(parts)})"


def extension_values(texts: list[str]) -> str:
    """The x_Extensions column of the query: the kept columns' text, in extension key order."""
    return f"CAST([{', '.join(texts)}] AS VARCHAR[])"


def tag_maps(entries: pa.ListArray) -> tuple[pa.MapArray, pa.MapArray]:
    """(Tags, x_TagOrigins) from the query's LIST of {key, value, origin}; both share its offsets and keys."""
    offsets = entries.offsets  # absolute positions in entries.values, also for a sliced array
    empty = np.diff(np.asarray(offsets)) == 0
    if entries.null_count:
        empty |= ~np.asarray(entries.is_valid())
    mask = pa.array(empty)
    struct = entries.values
    keys = struct.field("key")
    return (
        pa.MapArray.from_arrays(offsets, keys, struct.field("value"), mask=mask),
        pa.MapArray.from_arrays(offsets, keys, struct.field("origin"), mask=mask),
    )


def extension_map(values: pa.ListArray, keys: tuple[str, ...]) -> pa.MapArray:
    """x_Extensions from the query's LIST of texts, `len(keys)` per row, nulls left out."""
    rows, width = len(values), len(keys)
    items = values.flatten()  # row-major: row r's text for key i at r * width + i
    present = np.asarray(items.is_valid()).reshape(rows, width)
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(present.sum(axis=1), out=offsets[1:])
    kept = present.ravel()
    key_index = np.nonzero(kept)[0] % max(width, 1)
    if items.null_count:
        items = items.filter(pa.array(kept))
    key_names = pa.array(keys, pa.string()).take(pa.array(key_index, pa.int32()))
    return pa.MapArray.from_arrays(pa.array(offsets), key_names, items)


def assemble(batch: pa.RecordBatch, extension_keys: tuple[str, ...]) -> pa.RecordBatch:
    """Replace the query's Tags / x_TagOrigins / x_Extensions columns with the finished maps."""
    tags, origins = tag_maps(batch.column("Tags"))
    replaced = {"Tags": tags, "x_TagOrigins": origins, "x_Extensions": extension_map(batch.column("x_Extensions"), extension_keys)}
    names = batch.schema.names
    return pa.RecordBatch.from_arrays([replaced.get(name, batch.column(name)) for name in names], names=names)
