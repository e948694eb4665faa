"""SaaS vendor connectors: billing sources whose provider is the vendor and whose format is "api".

The connectors themselves are listed in `costlake.formats.registry`; this package holds them and their shared
plumbing (HTTP client, paginators, vendor rows to canonical batches).
"""

from costlake.formats.vendors.connector import Connector, VendorContext
from costlake.formats.vendors.http import VendorClient, VendorError

__all__ = ["Connector", "VendorClient", "VendorContext", "VendorError"]
