"""What handlers hear about. Events are plain data, stored as JSON in the outbox and rebuilt for the handler."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class SyncCommitted:
    """A sync replaced these billing months of a source in one commit (its rows are readable now)."""

    kind: ClassVar[str] = "sync-committed"
    tenant_id: str
    source_id: str
    run_id: str
    months: tuple[str, ...]


@dataclass(frozen=True)
class SourceRemoved:
    """A source and every row it loaded are gone."""

    kind: ClassVar[str] = "source-removed"
    tenant_id: str
    source_id: str


Event = SyncCommitted | SourceRemoved
EVENT_TYPES: dict[str, type[SyncCommitted] | type[SourceRemoved]] = {SyncCommitted.kind: SyncCommitted, SourceRemoved.kind: SourceRemoved}


def to_payload(event: Event) -> dict[str, Any]:
    payload = asdict(event)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in payload.items()}


def from_payload(kind: str, payload: dict[str, Any]) -> Event:
    fields: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value for key, value in payload.items()}
    return EVENT_TYPES[kind](**fields)
