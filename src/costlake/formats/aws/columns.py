"""The columns of an AWS Cost and Usage Report file, whatever naming it uses, under one set of names.

Three namings exist for the same columns: CUR 2.0 snake_case with map columns (`line_item_unblended_cost`,
`resource_tags`), legacy CUR CSV slash names (`lineItem/UnblendedCost`, one `resourceTags/user:Owner` column per
tag) and legacy CUR's Athena/Parquet snake_case (`line_item_unblended_cost`, `resource_tags_user_owner`). AWS
derives the snake names from the slash names by putting `_` before every capital (`savingsPlan/SavingsPlanARN` ->
`savings_plan_savings_plan_a_r_n`); costlake does the same, so one rule set reads all three.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from costlake.duckdb_io import sql_identifier
from costlake.formats.conversion import Header

# Map columns of CUR 2.0 (MAP in Parquet, JSON text in CSV).
MAP_COLUMNS = ("product", "resource_tags", "tags", "cost_category", "discount")
REQUIRED = ("line_item_line_item_type", "line_item_unblended_cost", "line_item_usage_start_date", "line_item_currency_code")
# Prefixes of legacy per-key columns: slash form, Athena snake form.
_TAG_PREFIXES = ("resourcetags/", "resource_tags_")
_COST_CATEGORY_PREFIXES = ("costcategory/", "cost_category_")
_CAPITAL = re.compile(r"(?<!^)(?=[A-Z])")


def snake_name(column: str) -> str:
    """`lineItem/UnblendedCost` -> `line_item_unblended_cost`; snake_case names are only lower-cased."""
    name = column.strip()
    if "/" not in name:
        return name.lower()
    category, _, attribute = name.partition("/")
    return f"{_CAPITAL.sub('_', category).lower()}_{_CAPITAL.sub('_', attribute).lower()}"


@dataclass(frozen=True)
class Column:
    name: str  # as the file spells it
    duck_type: str

    @property
    def sql(self) -> str:
        return sql_identifier(self.name)


@dataclass
class CurHeader:
    """A file's columns by snake name, plus its per-key tag and cost-category columns (legacy CUR)."""

    columns: dict[str, Column] = field(default_factory=dict)
    tag_columns: list[tuple[str, Column]] = field(default_factory=list)  # (tag key as AWS names it, column)
    cost_category_columns: list[tuple[str, Column]] = field(default_factory=list)

    def get(self, name: str) -> Column | None:
        return self.columns.get(name)

    def missing(self) -> list[str]:
        return [name for name in REQUIRED if name not in self.columns]


def read_header(header: Header) -> CurHeader:
    """Sort a file's header into plain columns and per-key tag / cost-category columns; the first spelling wins."""
    result = CurHeader()
    for name, duck_type in header:
        column = Column(name, duck_type)
        lowered = name.strip().lower()
        tag = _per_key(name, lowered, _TAG_PREFIXES)
        if tag is not None:
            result.tag_columns.append((tag, column))
            continue
        category = _per_key(name, lowered, _COST_CATEGORY_PREFIXES)
        if category is not None:
            result.cost_category_columns.append((category, column))
            continue
        result.columns.setdefault(snake_name(name), column)
    return result


def _per_key(name: str, lowered: str, prefixes: tuple[str, ...]) -> str | None:
    """The key of a per-key column (`resourceTags/user:Owner` -> `user:Owner`), key spelling untouched."""
    for prefix in prefixes:
        if lowered.startswith(prefix) and len(lowered) > len(prefix):
            return name.strip()[len(prefix) :]
    return None


def looks_like_cur2(header: list[str]) -> bool:
    """CUR 2.0: snake_case CUR columns and its map columns (`product` is always there; tags maps when chosen)."""
    names = {name.strip().lower() for name in header}
    return all(name in names for name in REQUIRED) and any(name in names for name in MAP_COLUMNS)


def looks_like_legacy_cur(header: list[str]) -> bool:
    """Legacy CUR: slash names (`lineItem/UnblendedCost`), or Athena snake_case without CUR 2.0's map columns."""
    names = {snake_name(name) for name in header}
    if not all(name in names for name in REQUIRED):
        return False
    slash_named = any("/" in name for name in header)
    return slash_named or not any(name.strip().lower() in MAP_COLUMNS for name in header)
