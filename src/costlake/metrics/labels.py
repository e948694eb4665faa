"""Metric labels name cost dimensions, so a value can be matched with the cost rows of the same group."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from costlake.errors import InvalidInput
from costlake.query.model import DIMENSIONS, TAG_PREFIX

ALLOCATION_PREFIX = "dim:"  # allocation dimensions (costlake.allocation), once they exist
MAX_LABELS = 10


def label_dimension(key: str) -> str:
    """The cost dimension a label key names: a built-in dimension, `tag:<key>` / `dim:<name>` as written, and a
    bare key (e.g. `team`) is the tag of that name."""
    if key in DIMENSIONS or key.startswith((TAG_PREFIX, ALLOCATION_PREFIX)):
        return key
    return TAG_PREFIX + key


class LabelChecker:
    """Checks label keys against the tenant's dimensions; the tag keys its costs carry are read once, when needed."""

    def __init__(self, tag_keys: Callable[[], list[str]]) -> None:
        self._read_tag_keys = tag_keys
        self._tag_keys: set[str] | None = None

    def check(self, labels: Mapping[str, object], where: str) -> dict[str, str]:
        if len(labels) > MAX_LABELS:
            raise InvalidInput(where, f"{where}: at most {MAX_LABELS} labels per value")
        checked = {}
        for key, value in labels.items():
            if not isinstance(value, str) or not value or len(value) > 500:
                raise InvalidInput(where, f"{where}: label {key!r} needs a text value of 1-500 characters")
            if not key or len(key) > 260:
                raise InvalidInput(where, f"{where}: a label key must have 1-260 characters")
            if key not in DIMENSIONS and not key.startswith((TAG_PREFIX, ALLOCATION_PREFIX)) and key not in self.tag_keys():
                known = ", ".join(sorted(self.tag_keys())[:20]) or "none yet"
                raise InvalidInput(
                    where,
                    f"{where}: label {key!r} matches no cost dimension; use a dimension ({', '.join(DIMENSIONS)}), "
                    f"tag:<key>, or a tag key the costs carry ({known})",
                )
            checked[key] = value
        return checked

    def tag_keys(self) -> set[str]:
        if self._tag_keys is None:
            self._tag_keys = set(self._read_tag_keys())
        return self._tag_keys
