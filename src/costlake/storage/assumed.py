"""Credentials for a billing source's own storage identity, obtained through the server's ambient identity.

AWS: the server assumes the source's role (STS AssumeRole, with its external ID); GCP: the server impersonates
the source's service account. Both are cached per identity for the life of the process and renewed before
they expire, so a sync that runs for hours keeps working and a listing does not call STS or IAM every time.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import botocore.session
import google.auth
import google.auth.transport.requests
from aiobotocore.credentials import AioCredentialResolver, AioRefreshableCredentials
from aiobotocore.session import AioSession
from botocore.credentials import CredentialProvider
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from google.auth import impersonated_credentials
from google.auth.exceptions import (
    DefaultCredentialsError,
    GoogleAuthError,
    RefreshError,
)

from costlake.storage.ambient import aws_region
from costlake.storage.errors import StorageError
from costlake.storage.identity import StorageIdentity

ROLE_SESSION_NAME = "costlake"  # what the tenant sees in CloudTrail as assumed-role/ROLE/costlake
GCS_READ_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"  # sources only read exports
_CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_TOKEN_LIFETIME_S = 3600  # the longest Google grants without an organization policy

_lock = threading.Lock()
_role_sessions: dict[tuple[str, str | None, str | None], AioSession] = {}
_impersonated: dict[str, impersonated_credentials.Credentials] = {}


def role_session(identity: StorageIdentity, endpoint_url: str | None) -> AioSession:
    """An aiobotocore session (for s3fs) holding the role's temporary keys; botocore renews them before expiry.

    The first AssumeRole happens here, so a role that cannot be assumed fails now with STS's reason.
    """
    role_arn = _required(identity.role_arn, "role_arn")
    key = (role_arn, identity.external_id, endpoint_url)
    with _lock:
        session = _role_sessions.get(key)
    if session is not None:
        return session

    def assume() -> dict[str, str]:
        return _assume_role(role_arn, identity.external_id, endpoint_url)

    async def refresh() -> dict[str, str]:
        return await asyncio.to_thread(assume)  # botocore blocks; fsspec's event loop must not

    credentials = AioRefreshableCredentials.create_from_metadata(assume(), refresh, method="sts-assume-role")
    session = AioSession()
    session.register_component("credential_provider", AioCredentialResolver([_Fixed(credentials)]))
    with _lock:
        return _role_sessions.setdefault(key, session)


def impersonated(identity: StorageIdentity) -> impersonated_credentials.Credentials:
    """Google credentials of the source's service account (for gcsfs), valid now; gcsfs renews them later.

    The first token is fetched here, so a service account the server may not impersonate fails now with IAM's reason.
    """
    account = _required(identity.service_account, "service_account")
    with _lock:
        credentials = _impersonated.get(account)
    if credentials is None:
        try:
            source, _ = google.auth.default(scopes=[_CLOUD_PLATFORM_SCOPE])
        except DefaultCredentialsError as exc:
            raise StorageError(
                f"the service account {account} cannot be impersonated: the server has no Google application "
                "default credentials; give the server a Google identity (GOOGLE_APPLICATION_CREDENTIALS, workload "
                "identity or the VM's service account)"
            ) from exc
        credentials = impersonated_credentials.Credentials(
            source_credentials=source,
            target_principal=account,
            target_scopes=[GCS_READ_SCOPE],
            lifetime=_TOKEN_LIFETIME_S,
        )
        with _lock:
            credentials = _impersonated.setdefault(account, credentials)
    if not credentials.valid:
        try:
            credentials.refresh(google.auth.transport.requests.Request())
        except GoogleAuthError as exc:
            raise StorageError(
                f"the service account {account} could not be impersonated ({_google_reason(exc)}); check that the "
                "server's Google identity has roles/iam.serviceAccountTokenCreator on that service account and that "
                "the IAM Service Account Credentials API is enabled in the server's project"
            ) from exc
    return credentials


def _assume_role(role_arn: str, external_id: str | None, endpoint_url: str | None) -> dict[str, str]:
    """One STS AssumeRole with the ambient identity, as the metadata botocore's refreshable credentials take."""
    # An S3-compatible endpoint serves STS on the same URL (MinIO, moto); otherwise the region's STS endpoint.
    sts = botocore.session.get_session().create_client("sts", endpoint_url=endpoint_url, region_name=aws_region())
    request = {"RoleArn": role_arn, "RoleSessionName": ROLE_SESSION_NAME}
    if external_id:
        request["ExternalId"] = external_id
    try:
        issued = sts.assume_role(**request)["Credentials"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        external = "requires exactly this external ID" if external_id else "does not require an external ID"
        raise StorageError(
            f"the role {role_arn} could not be assumed ({error.get('Code')}: {error.get('Message')}); check that "
            f"its trust policy allows the server's AWS identity and {external}"
        ) from exc
    except NoCredentialsError as exc:
        raise StorageError(
            f"the role {role_arn} cannot be assumed: the server has no AWS identity to assume it with; give the "
            "server one (instance or pod role, AWS_PROFILE or AWS_ACCESS_KEY_ID)"
        ) from exc
    except BotoCoreError as exc:
        raise StorageError(
            f"the role {role_arn} could not be assumed ({type(exc).__name__}); check that AWS STS is reachable "
            "from the server"
        ) from exc
    return {
        "access_key": issued["AccessKeyId"],
        "secret_key": issued["SecretAccessKey"],
        "token": issued["SessionToken"],
        "expiry_time": issued["Expiration"].isoformat(),
    }


class _Fixed(CredentialProvider):
    """Hands aiobotocore the refreshable role credentials instead of searching the ambient chain."""

    METHOD = CANONICAL_NAME = "custom-costlake-assume-role"

    def __init__(self, credentials: AioRefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    async def load(self) -> AioRefreshableCredentials:
        return self._credentials


def _google_reason(exc: GoogleAuthError) -> str:
    """IAM's own status and message (its JSON error body never holds a token), else the error's summary."""
    details: Any = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(exc, RefreshError) and isinstance(details, str):
        try:
            error = json.loads(details)["error"]
            return f"{error['status']}: {error['message']}"
        except (ValueError, KeyError, TypeError):
            pass
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _required(value: str | None, name: str) -> str:
    if not value:
        raise StorageError(f"the source's storage credential has no {name}; update it with one")
    return value
