"""Run the FinOps Foundation's FOCUS 1.2 validator (../shared/tools/focus-validate) on converted rows.

Tests using it skip with a reason when the tool is not beside the project (a clean clone without shared/).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from costlake import schema

TOOL = Path(os.environ.get("COSTLAKE_FOCUS_VALIDATE", Path(__file__).resolve().parents[2] / "shared" / "tools" / "focus-validate"))
# Columns the 1.2 validator models (1.3 additions would be reported as unknown).
FOCUS_13_ONLY = {"AllocatedMethodDetails", "AllocatedMethodId", "AllocatedResourceId", "AllocatedResourceName", "AllocatedTags",
                 "ContractApplied", "ServiceProviderName", "HostProviderName"}


def _as_text(column: pa.ChunkedArray) -> list[str | None]:
    if pa.types.is_map(column.type):
        return [None if value is None else json.dumps(dict(value), sort_keys=True) for value in column.to_pylist()]
    if pa.types.is_timestamp(column.type):
        return [None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ") for value in column.to_pylist()]
    return [None if value is None else str(value) for value in column.to_pylist()]


def write_focus_csv(batches: Iterable[pa.RecordBatch], path: Path) -> Path:
    """The FOCUS 1.2 columns and the x_ columns, as the validator reads them (JSON Tags, Z timestamps)."""
    table = pa.Table.from_batches(list(batches), schema=schema.CONVERTED_SCHEMA)
    names = [name for name in table.column_names if name not in FOCUS_13_ONLY]
    text = pa.table({name: pa.array(_as_text(table.column(name)), pa.string()) for name in names})
    pacsv.write_csv(text, path)
    return path


def focus_validate(path: Path) -> subprocess.CompletedProcess[str]:
    if not TOOL.exists():
        pytest.skip(f"the FOCUS validator is not at {TOOL} (set COSTLAKE_FOCUS_VALIDATE)")
    return subprocess.run([str(TOOL), str(path)], capture_output=True, text=True, timeout=900)


def failing_rules(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The ids of the rules the validator reports as failed (lines like "❌ InvoiceId-C-005-C: FAIL (...)")."""
    return set(re.findall(r"([A-Za-z]+-[A-Z]-\d{3}-[A-Z]): FAIL", result.stdout))
