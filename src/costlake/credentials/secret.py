"""A resolved secret: one value, or named parts (Datadog's API + application keys), that never prints itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from costlake.errors import InvalidInput

MASK = "***"


class CredentialError(InvalidInput):
    """A credential that is missing or has the wrong shape; reported on the `credential` field."""

    def __init__(self, message: str, field: str = "credential") -> None:
        super().__init__(field, message)


class Secret:
    """The parts of a credential. repr/str show only the part names, so a stray log line leaks nothing."""

    __slots__ = ("_parts",)

    def __init__(self, parts: Mapping[str, str]) -> None:
        self._parts = dict(parts)

    @classmethod
    def parse(cls, raw: str | Mapping[str, Any], parts: tuple[str, ...], *, origin: str = "the credential") -> Secret:
        """A secret with exactly `parts`. A single-part secret is a plain string; a multi-part one is a JSON
        object with those keys, or (in a plain string, e.g. an environment variable) the parts joined by ":"."""
        if isinstance(raw, str):
            text = raw.strip()
            if len(parts) == 1 and not text.startswith("{"):
                raw = {parts[0]: text}
            elif text.startswith("{"):
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError:
                    raise CredentialError(f"{origin} starts with '{{' but is not a JSON object") from None
            else:
                pieces = text.split(":", len(parts) - 1)
                raw = dict(zip(parts, pieces)) if len(pieces) == len(parts) else {}
        if not isinstance(raw, Mapping):
            raise CredentialError(f"{origin} must be a string or an object with {', '.join(parts)}")
        values = {key: raw.get(key) for key in parts}
        missing = [key for key, value in values.items() if not isinstance(value, str) or not value.strip()]
        unknown = sorted(set(raw) - set(parts))
        if missing or unknown:
            shape = parts[0] if len(parts) == 1 else "{" + ", ".join(f'"{key}": ...' for key in parts) + "} or " + ":".join(parts)
            problem = f"missing {', '.join(missing)}" if missing else f"unknown part(s) {', '.join(unknown)}"
            raise CredentialError(f"{origin}: {problem}; expected {shape}")
        return cls({key: str(value).strip() for key, value in values.items()})

    def __getitem__(self, part: str) -> str:
        return self._parts[part]

    @property
    def value(self) -> str:
        """The only part of a single-part secret."""
        (only,) = self._parts.values()
        return only

    def as_json(self) -> str:
        return json.dumps(self._parts, sort_keys=True)

    def redact(self, text: str) -> str:
        """`text` with every part of this secret masked (vendors sometimes echo a key back in an error)."""
        for value in sorted(self._parts.values(), key=len, reverse=True):
            if len(value) >= 4:
                text = text.replace(value, MASK)
        return text

    def __repr__(self) -> str:
        return f"Secret({', '.join(self._parts)}={MASK})"

    __str__ = __repr__
