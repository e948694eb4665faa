"""What a SaaS vendor connector is: how to call the vendor (host, auth), one cheap check, and a reader.

A vendor billing source has `provider` = the vendor and `format` = "api". Its reader yields canonical batches
for the billing months of a MonthRange, exactly like a file format's, so the sync engine treats both alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import httpx
import pyarrow as pa

from costlake.credentials import Secret
from costlake.formats.contract import SourceKind
from costlake.formats.vendors.http import VendorClient
from costlake.months import MonthRange
from costlake.settings import Settings

Auth = Callable[[Secret], "httpx.Auth | dict[str, str]"]


@dataclass
class VendorContext:
    """Everything a reader or check may use. `warn` adds a warning to the sync run (e.g. a failed cross-check)."""

    settings: Settings
    options: Mapping[str, str]
    client: VendorClient
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@dataclass(frozen=True, kw_only=True)
class Connector(SourceKind):
    """A vendor billing API as a source kind: `name` is the vendor, which is also its sources' provider."""

    kind: ClassVar[str] = "api"
    source_uri: str  # what the source's source_uri shows, e.g. "anthropic://organization"
    base_url: Callable[[Settings, Mapping[str, str]], str]  # from server settings (and e.g. the Datadog site)
    auth: Auth  # headers or an httpx.Auth built from the secret
    check: Callable[[VendorContext], None]  # one cheap authenticated call; raises VendorError
    read: Callable[[VendorContext, MonthRange], Iterator[pa.RecordBatch]]
    credential_parts: tuple[str, ...] = ("api_key",)
    credential_hint: str = "the API key"  # what to check when the vendor refuses it, in words
    history_months: int = 12  # how far back the vendor keeps data: a first sync backfills at most this

    @property
    def provider(self) -> str:
        return self.name

    @property
    def providers(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def _subject(self) -> str:
        return self.name

    def open(self, settings: Settings, options: Mapping[str, str], secret: Secret, *, now: datetime | None = None) -> VendorContext:
        self.validate_options(options)
        client = VendorClient(
            self.provider, self.base_url(settings, options), self.auth(secret), settings, secret=secret, hint=self.credential_hint
        )
        context = VendorContext(settings, options, client)
        if now is not None:
            context.now = now
        return context
