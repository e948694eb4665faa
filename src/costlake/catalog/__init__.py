"""The SQL catalog: tenants, API tokens, billing sources, sync runs and commit locks."""

from costlake.catalog.database import Catalog, open_catalog

__all__ = ["Catalog", "open_catalog"]
