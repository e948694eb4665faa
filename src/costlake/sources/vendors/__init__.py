"""SaaS vendor connectors (billing sources with format "api"), by provider name."""

from __future__ import annotations

import importlib

from costlake.errors import InvalidInput
from costlake.sources.vendors.connector import API_FORMAT, Connector, VendorContext
from costlake.sources.vendors.http import VendorClient, VendorError

VENDORS: dict[str, Connector] = {}
# One module per vendor; each calls register_vendor() on import.
VENDOR_MODULES: tuple[str, ...] = ("anthropic", "datadog", "confluent", "cursor", "aiven")


def register_vendor(connector: Connector) -> None:
    VENDORS[connector.provider] = connector


def vendor(provider: str) -> Connector:
    try:
        return VENDORS[provider]
    except KeyError:
        raise InvalidInput("provider", f"{provider!r} has no API connector; vendors: {', '.join(VENDORS)}") from None


for _module in VENDOR_MODULES:
    importlib.import_module(f"costlake.sources.vendors.{_module}")

__all__ = ["API_FORMAT", "VENDORS", "Connector", "VendorClient", "VendorContext", "VendorError", "register_vendor", "vendor"]
