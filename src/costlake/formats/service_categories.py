"""FOCUS ServiceCategory and ServiceSubcategory per provider service, from data files shipped with costlake.

The facts come from the FinOps Foundation's focus_converters mapping files and Microsoft's FinOps toolkit open
data (attribution in data/README.md), rewritten in costlake's own format: one CSV per provider with columns
service_key, ServiceCategory, ServiceSubcategory. Every key maps to exactly one category.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources


@cache
def service_categories(provider: str) -> dict[str, tuple[str, str]]:
    """{service key (lower case): (ServiceCategory, ServiceSubcategory)} for "aws", "azure" or "gcp"."""
    path = resources.files("costlake.formats") / "data" / f"service_categories_{provider}.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {row["service_key"].lower(): (row["ServiceCategory"], row["ServiceSubcategory"]) for row in csv.DictReader(handle)}
