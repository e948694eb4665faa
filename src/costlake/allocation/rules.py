"""The rule model: virtual dimensions, their ordered rules and shared-cost splits, and the checks made at save.

The shape is the public contract of `/allocation/draft` and of rules files (`costlake allocation apply -f`).
Pydantic checks each part (unknown fields, unknown columns, bad regular expressions); `check_rules` checks what
needs the whole set (duplicate names, unknown or cyclic dimension references) and names the field that is wrong.
"""

from __future__ import annotations

import threading
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from costlake.errors import InvalidInput
from costlake.query.model import DIM_NAME, DIM_PREFIX, DIMENSIONS, TAG_PREFIX, Filter
from costlake.schema import STRING_COLUMNS

DEFAULT_FALLBACK = "Unallocated"
WEIGHT_SCALE = 10**6  # fixed weights are kept as integers of 1e-6 (see splits.py)

# What a rule's filter may name, and the table column it reads: the explorer's dimensions (e.g. `source`) and
# every FOCUS text column, besides tag:<key> and dim:<name>.
RULE_COLUMNS: dict[str, str] = {name: name for name in STRING_COLUMNS} | {name: column for name, (column, _) in DIMENSIONS.items()}

Text = Annotated[str, Field(min_length=1, max_length=200)]
TagKey = Annotated[str, Field(min_length=1, max_length=256)]

_regex_lock = threading.Lock()
_regex_connection = duckdb.connect()


def check_regex(pattern: str) -> str:
    """Patterns run in DuckDB (RE2 syntax: no look-around, no back-references), so DuckDB judges them."""
    with _regex_lock:
        try:
            _regex_connection.execute("SELECT regexp_matches('', $p)", {"p": pattern})
        except duckdb.Error as error:
            raise ValueError(f"bad regular expression {pattern!r}: {str(error).splitlines()[0]} (RE2 syntax)") from None
    return pattern


Regex = Annotated[str, Field(min_length=1, max_length=1000)]


class RuleFilter(Filter):
    """A filter exactly as in `costs/query`, over any FOCUS text column as well as the explorer's dimensions."""

    @field_validator("dimension")
    @classmethod
    def _known_dimension(cls, name: str) -> str:
        if name in RULE_COLUMNS or (name.startswith(TAG_PREFIX) and len(name) > len(TAG_PREFIX)):
            return name
        if name.startswith(DIM_PREFIX) and DIM_NAME.fullmatch(name[len(DIM_PREFIX) :]):
            return name
        raise ValueError(f"unknown column {name!r}; use a FOCUS column (e.g. ServiceName, SubAccountId), source, tag:<key> or dim:<name>")


Filters = Annotated[list[RuleFilter], Field(min_length=1, max_length=50)]


class RegexExtract(BaseModel):
    """Keep what the pattern matches (group 0) or one of its groups; no match leaves no value."""

    model_config = ConfigDict(extra="forbid")

    regex_extract: Regex
    group: Annotated[int, Field(ge=0, le=9)] = 0

    @field_validator("regex_extract")
    @classmethod
    def _valid(cls, pattern: str) -> str:
        return check_regex(pattern)


class RegexReplace(BaseModel):
    """Replace every match (`with` may use \\1 for groups)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    regex_replace: Regex
    with_: Annotated[str, Field(alias="with", max_length=200)] = ""

    @field_validator("regex_replace")
    @classmethod
    def _valid(cls, pattern: str) -> str:
        return check_regex(pattern)


def _transform_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "name"
    if isinstance(value, RegexExtract | RegexReplace):
        return type(value).__name__
    if isinstance(value, dict):
        return next((kind for key, kind in (("regex_extract", "RegexExtract"), ("regex_replace", "RegexReplace")) if key in value), None)
    return None


# trim, lower, upper; normalize = trim, lower, and every run of other than letters and digits becomes "-".
Transform = Annotated[
    Annotated[Literal["trim", "lower", "upper", "normalize"], Tag("name")]
    | Annotated[RegexExtract, Tag("RegexExtract")]
    | Annotated[RegexReplace, Tag("RegexReplace")],
    Discriminator(
        _transform_kind,
        custom_error_type="transform_kind",
        custom_error_message="a transform is trim, lower, upper, normalize, {regex_extract, group} or {regex_replace, with}",
    ),
]
Mapping = Annotated[dict[Text, Text], Field(max_length=5000)]


class CoalesceRule(BaseModel):
    """The first non-empty of these tag keys (after transforms), mapped; `flexible` also matches each key's
    spellings that differ only in case, spaces, '-', '_' or '.'."""

    model_config = ConfigDict(extra="forbid")

    coalesce: Annotated[list[TagKey], Field(min_length=1, max_length=100)]
    flexible: bool = False
    transform: Annotated[list[Transform], Field(max_length=20)] = Field(default_factory=list)
    map: Mapping = Field(default_factory=dict)


class WhenRule(BaseModel):
    """`value` for every row that matches all the filters."""

    model_config = ConfigDict(extra="forbid")

    when: Filters
    value: Text


class InheritRule(BaseModel):
    """The value another dimension's rules gave the row (its fallback does not count as a match), mapped."""

    model_config = ConfigDict(extra="forbid")

    from_dimension: Annotated[str, Field(min_length=1, max_length=63)]
    transform: Annotated[list[Transform], Field(max_length=20)] = Field(default_factory=list)
    map: Mapping = Field(default_factory=dict)


def _rule_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {CoalesceRule: "coalesce", WhenRule: "when", InheritRule: "from_dimension"}.get(type(value))
    if isinstance(value, dict):
        return next((kind for kind in ("coalesce", "when", "from_dimension") if kind in value), None)
    return None


Rule = Annotated[
    Annotated[CoalesceRule, Tag("coalesce")] | Annotated[WhenRule, Tag("when")] | Annotated[InheritRule, Tag("from_dimension")],
    Discriminator(
        _rule_kind,
        custom_error_type="rule_kind",
        custom_error_message="a rule needs one of: coalesce (tag keys), when (filters) with value, from_dimension",
    ),
]


class Split(BaseModel):
    """Spreads the cost of the rows matching `when` over the dimension's values (see splits.py)."""

    model_config = ConfigDict(extra="forbid")

    when: Filters
    method: Literal["even", "proportional", "fixed"]
    name: Text | None = None  # shown by dim:<dimension>.split on the rows it moved (default: "split N (method)")
    granularity: Literal["day", "month"] = "month"
    weights: Annotated[dict[Text, str], Field(max_length=1000)] | None = None
    over: Annotated[list[RuleFilter], Field(max_length=50)] = Field(default_factory=list)

    @field_validator("weights")
    @classmethod
    def _positive_weights(cls, weights: dict[str, str] | None) -> dict[str, str] | None:
        for value, weight in (weights or {}).items():
            try:
                number = Decimal(weight)
            except InvalidOperation:
                raise ValueError(f"weight of {value!r} is {weight!r}: use a decimal number such as \"60\" or \"12.5\"") from None
            # The bound first: quantizing a number past the decimal context's 28 digits raises instead of answering.
            if not number.is_finite() or number <= 0 or number > 10**12 or number != number.quantize(Decimal(1) / WEIGHT_SCALE):
                raise ValueError(f"weight of {value!r} must be a positive number with at most 6 decimals, got {weight!r}")
        return weights

    @model_validator(mode="after")
    def _method_fits(self) -> Split:
        if self.method == "fixed" and not self.weights:
            raise ValueError("method fixed needs weights, e.g. {\"payments\": \"60\", \"search\": \"40\"}")
        if self.method != "fixed" and self.weights is not None:
            raise ValueError(f"weights are only for method fixed; method {self.method} computes its own")
        if self.method == "fixed" and self.over:
            raise ValueError("over is for methods even and proportional: fixed weights do not depend on costs")
        return self

    def label(self, number: int) -> str:
        return self.name or f"split {number} ({self.method})"

    def unit_weights(self) -> dict[str, int]:
        """Fixed weights as integers of 1e-6, exactly."""
        return {value: int(Decimal(weight) * WEIGHT_SCALE) for value, weight in (self.weights or {}).items()}


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=63)]
    fallback: Text = DEFAULT_FALLBACK
    rules: Annotated[list[Rule], Field(max_length=1000)] = Field(default_factory=list)
    splits: Annotated[list[Split], Field(max_length=20)] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _usable_name(cls, name: str) -> str:
        if not DIM_NAME.fullmatch(name):
            raise ValueError(f"dimension name {name!r}: start with a letter, then letters, digits, '_' or '-' (at most 63)")
        return name


class RuleSet(BaseModel):
    """A tenant's allocation rules: what a draft holds and what a version freezes."""

    model_config = ConfigDict(extra="forbid")

    dimensions: Annotated[list[Dimension], Field(max_length=50)] = Field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The JSON form, without defaults left unset, as a rules file would hold it."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def rule_filters(rule: CoalesceRule | WhenRule | InheritRule) -> list[RuleFilter]:
    return list(rule.when) if isinstance(rule, WhenRule) else []


def dimension_references(dimension: Dimension) -> list[tuple[str, str]]:
    """(field path inside the dimension, dimension named) for each place its rules read another dimension."""
    found = []
    for r, rule in enumerate(dimension.rules):
        if isinstance(rule, InheritRule):
            found.append((f"rules.{r}.from_dimension", rule.from_dimension))
        for f, condition in enumerate(rule_filters(rule)):
            if condition.dimension.startswith(DIM_PREFIX):
                found.append((f"rules.{r}.when.{f}.dimension", condition.dimension[len(DIM_PREFIX) :]))
    return found


def split_references(dimension: Dimension) -> list[tuple[str, str]]:
    """The same for its splits, whose filters read the labels the rules gave (before any split moved cost)."""
    found = []
    for s, split in enumerate(dimension.splits):
        for part in ("when", "over"):
            for f, condition in enumerate(getattr(split, part)):
                if condition.dimension.startswith(DIM_PREFIX):
                    found.append((f"splits.{s}.{part}.{f}.dimension", condition.dimension[len(DIM_PREFIX) :]))
    return found


def check_rules(rules: RuleSet) -> list[str]:
    """Raise InvalidInput naming the field when names repeat, a reference is unknown or rules form a cycle; return
    the dimension names in an order where each comes after those its rules read."""
    index: dict[str, int] = {}
    for i, dimension in enumerate(rules.dimensions):
        if dimension.name in index:
            raise InvalidInput(f"dimensions.{i}.name", f"dimension {dimension.name!r} is defined twice (also dimensions.{index[dimension.name]})")
        index[dimension.name] = i
    for i, dimension in enumerate(rules.dimensions):
        for path, name in dimension_references(dimension) + split_references(dimension):
            if name not in index:
                raise InvalidInput(f"dimensions.{i}.{path}", f"no dimension named {name!r} in these rules; define it or fix the name")
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == "done":
            return
        i = index[name]
        if state.get(name) == "visiting":
            cycle = " -> ".join([*trail[trail.index(name) :], name])
            raise InvalidInput(f"dimensions.{i}.rules", f"dimension rules form a cycle: {cycle}; a dimension cannot depend on itself")
        state[name] = "visiting"
        for _, other in dimension_references(rules.dimensions[i]):
            visit(other, [*trail, name])
        state[name] = "done"
        order.append(name)

    for dimension in rules.dimensions:
        visit(dimension.name, [])
    return order
