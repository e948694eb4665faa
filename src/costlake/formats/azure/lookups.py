"""Microsoft's open data (FinOps toolkit) as small DuckDB tables for the Azure reader to join.

- `azure_pricing_units`: UnitOfMeasure -> pricing block size and distinct unit ("10K" -> 10000, "Units").
- `azure_regions`: ResourceLocation spellings -> RegionId and RegionName ("EastUS" -> eastus, "East US").
- `azure_service_names`: (ConsumedService, ARM resource type) -> ServiceName, plus the unique matches on one
  of the two alone; `azure_service_categories`: ServiceName -> ServiceCategory, ServiceSubcategory.
Keys are lower case and trimmed. Attribution: data/README.md.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from functools import cache
from importlib import resources

import duckdb
import pyarrow as pa

from costlake.formats.service_categories import service_categories

PRICING_UNITS = "azure_pricing_units"
REGIONS = "azure_regions"
SERVICE_NAMES = "azure_service_names"
SERVICE_CATEGORIES = "azure_service_categories"


def _rows(file_name: str) -> list[dict[str, str]]:
    path = resources.files("costlake.formats") / "data" / file_name
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def _tables() -> dict[str, pa.Table]:
    units = _rows("azure_pricing_units.csv")
    regions = _rows("azure_regions.csv")
    services = _rows("azure_services.csv")
    by_type: dict[str, set[str]] = defaultdict(set)
    by_consumed: dict[str, set[str]] = defaultdict(set)
    for row in services:
        by_type[row["resource_type"]].add(row["ServiceName"])
        by_consumed[row["consumed_service"]].add(row["ServiceName"])
    # One table, three kinds of key: the pair, the resource type alone, the consumed service alone (unique only).
    names = [("pair", row["consumed_service"] + "|" + row["resource_type"], row["ServiceName"]) for row in services]
    names += [("type", key, next(iter(found))) for key, found in by_type.items() if key and len(found) == 1]
    names += [("consumed", key, next(iter(found))) for key, found in by_consumed.items() if key and len(found) == 1]
    categories = service_categories("azure")
    return {
        PRICING_UNITS: pa.table(
            {
                "unit_key": [row["unit_of_measure"] for row in units],
                "block_size": pa.array([int(row["block_size"]) for row in units], pa.int64()),
                "distinct_unit": [row["distinct_unit"] for row in units],
            }
        ),
        REGIONS: pa.table(
            {
                "location_key": [row["location"] for row in regions],
                "region_id": [row["RegionId"] for row in regions],
                "region_name": [row["RegionName"] for row in regions],
            }
        ),
        SERVICE_NAMES: pa.table(
            {"match_kind": [kind for kind, _, _ in names], "match_key": [key for _, key, _ in names], "service_name": [n for _, _, n in names]}
        ),
        SERVICE_CATEGORIES: pa.table(
            {
                "name_key": list(categories),
                "category": [category for category, _ in categories.values()],
                "subcategory": [subcategory for _, subcategory in categories.values()],
            }
        ),
    }


def register_lookups(connection: duckdb.DuckDBPyConnection) -> None:
    for name, table in _tables().items():
        connection.register(name, table)
