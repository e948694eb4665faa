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


@dataclass(frozen=True)
class IdentityKind:
    """One kind of storage identity, declared once: its fields, the store it reaches and how to talk about it."""

    name: Kind
    scheme: str  # the URI scheme (as parse_uri normalizes it) it reaches
    required: tuple[str, ...]
    optional: tuple[str, ...]
    noun: str  # "an AWS role", for messages
    label: str  # "AWS role ARN", for forms
    access_hint: str  # what to check when the store refuses it; {field} names are filled from the identity


IDENTITY_KINDS: dict[str, IdentityKind] = {
    kind.name: kind
    for kind in (
        IdentityKind(
            "aws-role", "s3", ("role_arn",), ("external_id",), "an AWS role", "AWS role ARN",
            "that role {role_arn} may list and read it (s3:ListBucket, s3:GetObject) and that the bucket policy allows it",
        ),
        IdentityKind(
            "gcp-service-account", "gs", ("service_account",), (), "a Google service account", "GCP service account",
            "that service account {service_account} may list and read it (roles/storage.objectViewer)",
        ),
        IdentityKind(
            "azure-sas", "az", ("sas_token",), (), "an Azure SAS token", "Azure SAS token",
            "the source's SAS token: issued for this account and container, not expired, with read and list (rl) permissions",
        ),
    )
}
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
        if kind not in IDENTITY_KINDS:
            raise InvalidInput("storage_credential", f"kind must be one of {', '.join(IDENTITY_KINDS)}, not {kind!r}")
        required, optional = IDENTITY_KINDS[kind].required, IDENTITY_KINDS[kind].optional
        unknown = sorted(set(spec) - {"kind", *required, *optional})
        if unknown:
            raise InvalidInput("storage_credential", f"{kind} takes {', '.join((*required, *optional))}; unknown: {', '.join(unknown)}")
        values = {name: spec.get(name) for name in (*required, *optional)}
        for name in required:
            value = values[name]
            if not isinstance(value, str) or not value.strip():
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
    def declared(self) -> IdentityKind:
        return IDENTITY_KINDS[self.kind]

    @property
    def scheme(self) -> str:
        """The URI scheme (as parse_uri normalizes it) this identity reaches."""
        return self.declared.scheme
