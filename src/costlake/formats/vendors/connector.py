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
from costlake.errors import InvalidInput
from costlake.formats.contract import SourceKind
from costlake.formats.vendors.http import VendorClient
from costlake.months import MonthRange
from costlake.settings import Settings

Auth = Callable[[Secret], "httpx.Auth | dict[str, str]"]
BaseUrl = Callable[[Settings, Mapping[str, str]], str]
# The option of vendors billed per organization: which one, for keys that do not say (or rows that should say).
ORGANIZATION_ID = "organization_id"


def base_url_from(setting: str) -> BaseUrl:
    """A vendor host that is one server setting (the operator's, e.g. to point tests at a fake), never an option."""
    if setting not in Settings.model_fields:
        raise ValueError(f"no setting {setting!r}")
    return lambda settings, options: getattr(settings, setting)


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

    @property
    def organization_id(self) -> str | None:
        """The organization_id option, if set (blank values are refused when the source is added)."""
        return self.options.get(ORGANIZATION_ID, "").strip() or None


@dataclass(frozen=True, kw_only=True)
class Connector(SourceKind):
    """A vendor billing API as a source kind: `name` is the vendor, which is also its sources' provider."""

    kind: ClassVar[str] = "api"
    source_uri: str  # what the source's source_uri shows, e.g. "anthropic://organization"
    base_url: BaseUrl  # from server settings (and e.g. the Datadog site); usually base_url_from(a setting)
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

    def validate_options(self, options: Mapping[str, str]) -> None:
        """Also refuses a blank organization_id, for the vendors that take it: it would quietly mean "not set"."""
        super().validate_options(options)
        if ORGANIZATION_ID in options and not options[ORGANIZATION_ID].strip():
            raise InvalidInput("options", f"organization_id is empty; give the {self.label} organization ID or leave the option out")

    def open(self, settings: Settings, options: Mapping[str, str], secret: Secret, *, now: datetime | None = None) -> VendorContext:
        self.validate_options(options)
        client = VendorClient(
            self.provider, self.base_url(settings, options), self.auth(secret), settings, secret=secret, hint=self.credential_hint
        )
        context = VendorContext(settings, options, client)
        if now is not None:
            context.now = now
        return context
