"""What a SaaS vendor connector is: how to call the vendor (host, auth), one cheap check, and a reader.

A vendor billing source has `provider` = the vendor and `format` = "api". Its reader yields canonical batches
for the billing months of a MonthRange, exactly like a file format's, so the sync engine treats both alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pyarrow as pa

from costlake.credentials import Secret
from costlake.errors import InvalidInput
from costlake.settings import Settings
from costlake.sources.conversion import MonthRange
from costlake.sources.vendors.http import VendorClient

API_FORMAT = "api"

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


@dataclass(frozen=True)
class Connector:
    provider: str  # also the billing source's provider, e.g. "anthropic"
    source_uri: str  # what the source's source_uri shows, e.g. "anthropic://organization"
    base_url: Callable[[Settings, Mapping[str, str]], str]  # from server settings (and e.g. the Datadog site)
    auth: Auth  # headers or an httpx.Auth built from the secret
    check: Callable[[VendorContext], None]  # one cheap authenticated call; raises VendorError
    read: Callable[[VendorContext, MonthRange], Iterator[pa.RecordBatch]]
    credential_parts: tuple[str, ...] = ("api_key",)
    credential_hint: str = "the API key"  # what to check when the vendor refuses it, in words
    options: tuple[str, ...] = ()  # option keys the connector understands
    check_options: Callable[[Mapping[str, str]], None] = lambda options: None  # raise InvalidInput("options", ...)
    history_months: int = 12  # how far back the vendor keeps data: a first sync backfills at most this

    def validate_options(self, options: Mapping[str, str]) -> None:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(self.options) or "none"
            raise InvalidInput("options", f"{self.provider} does not know option(s) {', '.join(unknown)}; it takes: {known}")
        self.check_options(options)

    def open(self, settings: Settings, options: Mapping[str, str], secret: Secret, *, now: datetime | None = None) -> VendorContext:
        self.validate_options(options)
        client = VendorClient(
            self.provider, self.base_url(settings, options), self.auth(secret), settings, secret=secret, hint=self.credential_hint
        )
        context = VendorContext(settings, options, client)
        if now is not None:
            context.now = now
        return context
