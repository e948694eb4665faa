"""A billing source's own storage identity, for exports outside what the server's ambient identity may read.

AWS: a role the server's ambient identity assumes (with the external ID the role's trust policy requires);
GCP: a service account the server's identity impersonates; Azure: a SAS token the tenant's admin issued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from costlake.errors import InvalidInput

Kind = Literal["aws-role", "gcp-service-account", "azure-sas"]
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required fields, optional fields)
    "aws-role": (("role_arn",), ("external_id",)),
    "gcp-service-account": (("service_account",), ()),
    "azure-sas": (("sas_token",), ()),
}
SCHEME_OF_KIND = {"aws-role": "s3", "gcp-service-account": "gs", "azure-sas": "az"}
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_SERVICE_ACCOUNT = re.compile(r"[a-z][a-z0-9-]{4,61}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com|[\w.+-]+@[\w.-]+")


@dataclass(frozen=True)
class StorageIdentity:
    kind: Kind
    role_arn: str | None = None
    external_id: str | None = field(default=None, repr=False)
    service_account: str | None = None
    sas_token: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> StorageIdentity:
        """Check the shape of an API `storage_credential` object; every message names the field to fix."""
        kind = spec.get("kind")
        if kind not in KINDS:
            raise InvalidInput("storage_credential", f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        required, optional = KINDS[kind]
        unknown = sorted(set(spec) - {"kind", *required, *optional})
        if unknown:
            raise InvalidInput("storage_credential", f"{kind} takes {', '.join((*required, *optional))}; unknown: {', '.join(unknown)}")
        values = {name: spec.get(name) for name in (*required, *optional)}
        for name in required:
            if not isinstance(values[name], str) or not values[name].strip():
                raise InvalidInput("storage_credential", f"{kind} needs {name}")
        identity = cls(kind=kind, **{name: value.strip() if isinstance(value, str) else None for name, value in values.items()})
        if identity.role_arn is not None and not _ROLE_ARN.fullmatch(identity.role_arn):
            raise InvalidInput("storage_credential", f"role_arn {identity.role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
        if identity.service_account is not None and not _SERVICE_ACCOUNT.fullmatch(identity.service_account):
            raise InvalidInput("storage_credential", f"service_account {identity.service_account!r} is not a service account email")
        return identity

    def as_spec(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value is not None}

    @property
    def scheme(self) -> str:
        """The URI scheme (as parse_uri normalizes it) this identity reaches."""
        return SCHEME_OF_KIND[self.kind]
