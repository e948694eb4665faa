"""Secrets of billing sources: vendor API keys and storage identities.

They are write-only: stored encrypted (or named as a server environment variable), resolved only when a sync or
a connection check needs them, never returned by the API and never written to logs or error messages.
"""

from costlake.credentials.cipher import SecretCipher
from costlake.credentials.secret import CredentialError, Secret
from costlake.credentials.stored import (
    credential_view,
    export_settings,
    resolve_credential,
    resolve_storage_identity,
    store_credential,
    store_storage_identity,
)

__all__ = [
    "CredentialError",
    "Secret",
    "SecretCipher",
    "credential_view",
    "export_settings",
    "resolve_credential",
    "resolve_storage_identity",
    "store_credential",
    "store_storage_identity",
]
