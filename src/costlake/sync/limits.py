"""Limits on what one sync may store: a single text value over COSTLAKE_MAX_FIELD_BYTES fails the run.

A 50 MB cell is never a cost line: it is a broken export (an unclosed quote that swallowed the rest of a file, a
blob in a tag) and storing it would make every query over that month slow. Checked on the canonical batches, so it
holds for every source kind, before anything is committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from costlake.errors import CostlakeError


class FieldTooLarge(CostlakeError):
    pass


def _largest(values: pa.Array) -> int:
    if pa.types.is_map(values.type):
        return max(_largest(values.keys), _largest(values.items))
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type) or pa.types.is_binary(values.type)):
        return 0
    largest = pc.max(pc.binary_length(values)).as_py()
    return int(largest or 0)


def limit_field_sizes(batches: Iterable[pa.RecordBatch], max_bytes: int) -> Iterator[pa.RecordBatch]:
    """The batches unchanged, or FieldTooLarge naming the column as soon as one holds a bigger value."""
    for batch in batches:
        for name, column in zip(batch.schema.names, batch.columns):
            size = _largest(column)
            if size > max_bytes:
                raise FieldTooLarge(
                    f"column {name}: a value of {size:,} bytes is over the limit of {max_bytes:,} bytes "
                    "(COSTLAKE_MAX_FIELD_BYTES); nothing was stored. Such a value is usually a broken export (an "
                    "unclosed quote that swallowed the lines after it); fix the file, or raise the limit"
                )
        yield batch
