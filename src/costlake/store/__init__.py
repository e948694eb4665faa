"""The cost store: one Delta Lake table per tenant, partitioned by source and billing month."""

from costlake.store.lake import Lake, StagedWrite, current_files

__all__ = ["Lake", "StagedWrite", "current_files"]
