"""/api/v1/source-kinds: the billing-source kinds this server reads, so clients (the console's form, scripts)
offer exactly the registry's providers, formats, vendors and options instead of keeping their own copy."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from costlake.api.auth import get_principal
from costlake.api.responses import SIGNED_IN
from costlake.api.schemas import FormatKindOut, NamedOut, SourceKindsOut, VendorKindOut
from costlake.formats.contract import API_FORMAT, AUTO
from costlake.formats.registry import FORMAT_LABELS, FORMATS, METADATA_FORMATS, PROVIDER_LABELS, PROVIDERS, VENDORS

router = APIRouter(prefix="/api/v1", tags=["source kinds"], responses=SIGNED_IN)


# Any token may ask: the answer describes the server, not a tenant.
@router.get(
    "/source-kinds",
    response_model=SourceKindsOut,
    dependencies=[Depends(get_principal)],
    summary="The providers, formats and vendor APIs billing sources may name",
)
def source_kinds() -> SourceKindsOut:
    return SourceKindsOut(
        providers=[NamedOut(name=name, label=PROVIDER_LABELS[name]) for name in PROVIDERS],
        formats=[
            FormatKindOut(
                name=kind.name,
                kind="metadata" if kind in METADATA_FORMATS.values() else "export",
                label=kind.label,
                docs=kind.docs,
                options=list(kind.options),
                providers=list(kind.providers),
            )
            for kind in (*FORMATS.values(), *METADATA_FORMATS.values())
        ],
        vendors=[
            VendorKindOut(
                name=vendor.name,
                label=vendor.label,
                docs=vendor.docs,
                options=list(vendor.options),
                providers=list(vendor.providers),
                credential_parts=list(vendor.credential_parts),
                credential_hint=vendor.credential_hint,
                source_uri=vendor.source_uri,
            )
            for vendor in VENDORS.values()
        ],
        default_format=NamedOut(name=AUTO, label=FORMAT_LABELS[AUTO]),
        vendor_format=NamedOut(name=API_FORMAT, label=FORMAT_LABELS[API_FORMAT]),
    )
