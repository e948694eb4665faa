"""Tags, x_TagOrigins and x_Extensions of CUR rows, assembled in Arrow rather than in SQL.

DuckDB builds MAP values slowly (MAP(), map_concat and map_from_entries cost 2-5 s per 500,000 rows here, more
than everything else a CUR row needs), so the query hands over the raw parts (the export's own maps, or a
STRUCT of per-key columns with positional field names) and these vectorized Arrow/numpy steps make the maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

STRING_MAP = pa.map_(pa.string(), pa.string())


@dataclass(frozen=True)
class MapPart:
    """One source of tags: a map column (keys None) or per-key columns (their keys, in struct field order)."""

    origin: str  # x_TagOrigins value for its keys
    prefix: str = ""  # put before each key (cost categories)
    keys: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Entries:
    lengths: np.ndarray  # entries per row
    keys: pa.Array
    items: pa.Array


def struct_entries(array: pa.Array, keys: tuple[str, ...]) -> Entries:
    """A STRUCT of per-key text columns (field i = keys[i]) as row-major entries, nulls left out."""
    rows = len(array)
    fields = [field.cast(pa.string()) for field in array.flatten()] if keys else []
    if not fields:
        return Entries(np.zeros(rows, dtype=np.int64), pa.array([], pa.string()), pa.array([], pa.string()))
    valid = np.stack([np.asarray(field.is_valid()) for field in fields], axis=1)
    row_index, field_index = np.nonzero(valid)  # row-major: each row's entries in field order
    items = pa.concat_arrays(fields).take(pa.array(field_index * rows + row_index))
    return Entries(valid.sum(axis=1), _labels(field_index, keys), items)


def _labels(index: np.ndarray, labels: tuple[str, ...] | list[str]) -> pa.Array:
    """labels[index] as a string array, decoded in C++ (a numpy object array would cost a Python object each)."""
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), pa.array(labels, pa.string())).cast(pa.string())


def map_entries(array: pa.MapArray) -> Entries:
    """A map column's entries, null maps having none. `offsets` of a (sliced) MapArray index its whole `keys` and
    `items` children, so the entries are taken by absolute position."""
    offsets = np.asarray(array.offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    if array.null_count:
        lengths = np.where(np.asarray(array.is_valid()), lengths, 0)
    index = np.arange(lengths.sum()) + np.repeat(offsets[:-1] - (np.cumsum(lengths) - lengths), lengths)
    taken = pa.array(index)
    return Entries(lengths, array.keys.take(taken).cast(pa.string()), array.items.take(taken).cast(pa.string()))


def to_map(entries: Entries, empty_as_null: bool) -> pa.MapArray:
    offsets = pa.array(np.concatenate([[0], np.cumsum(entries.lengths)]).astype(np.int32))
    mask = pa.array(entries.lengths == 0) if empty_as_null else None
    return pa.MapArray.from_arrays(offsets, entries.keys, entries.items, type=STRING_MAP, mask=mask)


def merge(parts: list[tuple[Entries, str]], rows: int) -> tuple[pa.MapArray, pa.MapArray]:
    """(Tags, x_TagOrigins): each row's entries of every part, part by part; a row without any is null."""
    if not parts:
        empty = Entries(np.zeros(rows, dtype=np.int64), pa.array([], pa.string()), pa.array([], pa.string()))
        return to_map(empty, True), to_map(empty, True)
    lengths = sum((entries.lengths for entries, _ in parts), np.zeros(rows, dtype=np.int64))
    keys = pa.concat_arrays([entries.keys for entries, _ in parts])
    items = pa.concat_arrays([entries.items for entries, _ in parts])
    origins = _labels(np.repeat(np.arange(len(parts)), [len(entries.keys) for entries, _ in parts]), [origin for _, origin in parts])
    if len(parts) > 1:
        order = pa.array(_interleaving([entries.lengths for entries, _ in parts], lengths))
        keys, items, origins = keys.take(order), items.take(order), origins.take(order)
    return to_map(Entries(lengths, keys, items), True), to_map(Entries(lengths, keys, origins), True)


def _interleaving(part_lengths: list[np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """Positions, in the parts' concatenated entries, of each row's entries part by part (linear time)."""
    order = np.empty(int(lengths.sum()), dtype=np.int64)
    row_start = np.cumsum(lengths) - lengths  # where each row's entries begin in the result
    before = np.zeros_like(lengths)  # entries the earlier parts put in each row
    source = 0
    for part in part_lengths:
        count = int(part.sum())
        part_start = np.cumsum(part) - part
        destination = np.repeat(row_start + before - part_start, part) + np.arange(count)
        order[destination] = np.arange(source, source + count)
        before += part
        source += count
    return order


def assemble(batch: pa.RecordBatch, parts: tuple[MapPart, ...], extension_keys: tuple[str, ...]) -> pa.RecordBatch:
    """Replace the raw Tags / x_Extensions columns the query produced with the finished maps."""
    rows = batch.num_rows
    tag_parts: list[tuple[Entries, str]] = []
    if parts:
        raw = batch.column("Tags").flatten()
        for part, array in zip(parts, raw, strict=True):
            entries = struct_entries(array, part.keys) if part.keys is not None else map_entries(array)
            if part.prefix:
                entries = Entries(entries.lengths, pc.binary_join_element_wise(part.prefix, entries.keys, ""), entries.items)
            tag_parts.append((entries, part.origin))
    tags, origins = merge(tag_parts, rows)
    extensions = to_map(struct_entries(batch.column("x_Extensions"), extension_keys), False)
    replaced = {"Tags": tags, "x_TagOrigins": origins, "x_Extensions": extensions}
    names = batch.schema.names
    return pa.RecordBatch.from_arrays([replaced.get(name, batch.column(name)) for name in names], names=names)
