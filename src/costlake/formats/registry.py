"""Every billing-source kind costlake knows, listed once, and how a source finds its kind.

To add a source kind (an export format or a vendor API):
1. its folder: `formats/<family>/` with a `source.py` declaring an `ExportFormat`, `MetadataFormat` or
   `Connector` (see `formats/contract.py`), plus whatever modules its reading needs (pure: no catalog, no store);
2. its registration line: add it to `BUILTINS` below;
3. its docs page (the kind's `docs`), e.g. `docs/mappings/<family>.md` or `docs/connectors/<vendor>.md`;
4. its test, with a sample from `costlake.samples` or a fake vendor server under `tests/fakes/`.
`tests/test_source_kinds.py` checks that every registered kind has a label, a docs page and a test.
"""

from __future__ import annotations

from costlake.errors import InvalidInput
from costlake.formats.aws.source import AWS_CUR2, AWS_CUR_LEGACY
from costlake.formats.azure.source import AZURE_COST_DETAILS
from costlake.formats.contract import API_FORMAT, AUTO, EXPORT_PROVIDERS, MULTICLOUD, ExportFormat, MetadataFormat, SourceKind
from costlake.formats.focus.source import FOCUS
from costlake.formats.gcp.cud_metadata import GCP_CUD_METADATA
from costlake.formats.gcp.source import GCP_BILLING_EXPORT
from costlake.formats.vendors.aiven import AIVEN
from costlake.formats.vendors.anthropic import ANTHROPIC
from costlake.formats.vendors.confluent import CONFLUENT
from costlake.formats.vendors.connector import Connector
from costlake.formats.vendors.cursor import CURSOR
from costlake.formats.vendors.datadog import DATADOG

BUILTINS: tuple[SourceKind, ...] = (
    FOCUS,
    AWS_CUR2,
    AWS_CUR_LEGACY,
    AZURE_COST_DETAILS,
    GCP_BILLING_EXPORT,
    GCP_CUD_METADATA,
    ANTHROPIC,
    CURSOR,
    DATADOG,
    CONFLUENT,
    AIVEN,
)

FORMATS: dict[str, ExportFormat] = {kind.name: kind for kind in BUILTINS if isinstance(kind, ExportFormat)}
METADATA_FORMATS: dict[str, MetadataFormat] = {kind.name: kind for kind in BUILTINS if isinstance(kind, MetadataFormat)}
VENDORS: dict[str, Connector] = {kind.name: kind for kind in BUILTINS if isinstance(kind, Connector)}
PROVIDERS = (*EXPORT_PROVIDERS, MULTICLOUD)  # providers of exports; a vendor API source's provider is the vendor
KNOWN_PROVIDERS = (*PROVIDERS, *VENDORS)
KNOWN_FORMATS = (AUTO, *FORMATS, *METADATA_FORMATS, API_FORMAT)
PROVIDER_LABELS = {"aws": "AWS", "gcp": "Google Cloud", "azure": "Microsoft Azure", MULTICLOUD: "Several clouds"} | {
    vendor.name: vendor.label for vendor in VENDORS.values()
}
FORMAT_LABELS = {AUTO: "Detect from the files", API_FORMAT: "Billing API"} | {
    kind.name: kind.label for kind in (*FORMATS.values(), *METADATA_FORMATS.values())
}


def kind_of(provider: str, format_name: str) -> SourceKind:
    """The kind that reads a source: its vendor for `api`, else its (detected) format."""
    if format_name == API_FORMAT:
        return vendor(provider)
    kind = FORMATS.get(format_name) or METADATA_FORMATS.get(format_name)
    if kind is None:
        raise InvalidInput("format", f"unknown format {format_name!r}; formats: {', '.join(KNOWN_FORMATS)}")
    return kind


def vendor(provider: str) -> Connector:
    try:
        return VENDORS[provider]
    except KeyError:
        raise InvalidInput("provider", f"{provider!r} has no API connector; vendors: {', '.join(VENDORS)}") from None


def format_owning(scheme: str) -> ExportFormat | None:
    """The export format that alone reads URIs of this scheme (e.g. bq://), whose sources are not listed as files."""
    return next((kind for kind in FORMATS.values() if scheme in kind.schemes), None)
