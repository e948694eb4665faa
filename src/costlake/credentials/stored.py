"""Credentials as the catalog keeps them, and back.

Catalog form: {"kind": "env", "name": VAR} (read from the server's environment when needed) or
{"kind": <kind>, "ciphertext": ...} (the secret, encrypted with the server's key). Nothing else is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

from costlake.credentials.cipher import SecretCipher
from costlake.credentials.secret import CredentialError, Secret
from costlake.settings import Settings
from costlake.storage.identity import StorageIdentity

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


def tenant_env_prefix(tenant_name: str) -> str:
    """The variables an operator exposes to one tenant: COSTLAKE_TENANT_<NAME>_*, NAME upper-cased, other chars '_'."""
    return f"COSTLAKE_TENANT_{re.sub(r'[^A-Z0-9]', '_', tenant_name.upper())}_"


def store_credential(
    spec: dict[str, Any], parts: tuple[str, ...], settings: Settings, *, tenant_name: str, operator: bool
) -> dict[str, str]:
    """Check an API `credential` object and turn it into its catalog form."""
    kind = spec.get("kind")
    if kind == "env":
        name = spec.get("name")
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
            raise CredentialError("credential.name must be an environment variable name, e.g. ANTHROPIC_ADMIN_KEY")
        prefix = tenant_env_prefix(tenant_name)
        if not operator and not name.startswith(prefix):
            raise CredentialError(
                f"over the API a tenant may only name environment variables the operator exposed to it: {prefix}*; "
                f"ask the operator to set {prefix}{name.upper()} on the server, or store the secret (kind 'stored')"
            )
        return {"kind": "env", "name": name}
    if kind == "stored":
        secret = Secret.parse(spec.get("value", ""), parts, origin="credential.value")
        return {"kind": "stored", "ciphertext": SecretCipher.for_settings(settings).encrypt(secret.as_json())}
    raise CredentialError(f"credential.kind must be 'env' or 'stored', not {kind!r}")


def resolve_credential(stored: dict[str, str], parts: tuple[str, ...], settings: Settings) -> Secret:
    if stored["kind"] == "env":
        name = stored["name"]
        raw = os.environ.get(name)
        if raw is None or not raw.strip():
            raise CredentialError(
                f"environment variable {name} is not set on the server; set it where costlake serve / worker runs, "
                "or update the billing source with a stored credential"
            )
        return Secret.parse(raw, parts, origin=f"environment variable {name}")
    plaintext = SecretCipher.for_settings(settings).decrypt(stored["ciphertext"])
    return Secret.parse(json.loads(plaintext), parts, origin="the stored credential")


def credential_view(stored: dict[str, str] | None) -> dict[str, Any] | None:
    """What the API shows: the kind, never the secret."""
    return None if not stored else {"kind": stored["kind"], "set": True}


def tenant_external_id(tenant_id: str) -> str:
    """The AWS external ID costlake issues to a tenant: its roles' trust policies require it, so no other tenant
    of this server can have the server assume them (the confused-deputy problem external IDs exist for)."""
    return f"costlake-{tenant_id}"


def storage_claim(identity: StorageIdentity) -> str | None:
    """A fingerprint of the principal the server would act as (role or service account), kept beside the
    ciphertext so one tenant cannot use a principal another tenant already connected."""
    principal = identity.role_arn or identity.service_account
    return None if principal is None else hashlib.sha256(f"{identity.kind}:{principal}".encode()).hexdigest()


def store_storage_identity(identity: StorageIdentity, settings: Settings) -> dict[str, str]:
    ciphertext = SecretCipher.for_settings(settings).encrypt(json.dumps(identity.as_spec()))
    stored = {"kind": identity.kind, "ciphertext": ciphertext}
    claim = storage_claim(identity)
    return stored if claim is None else {**stored, "claim": claim}


def resolve_storage_identity(stored: dict[str, str] | None, settings: Settings) -> StorageIdentity | None:
    if not stored:
        return None
    return StorageIdentity(**json.loads(SecretCipher.for_settings(settings).decrypt(stored["ciphertext"])))


def export_settings(settings: Settings, storage_credential: dict[str, Any] | None) -> Settings:
    """The server settings, reading as the source's own storage identity when it has one."""
    return settings.with_storage_identity(resolve_storage_identity(storage_credential, settings))
