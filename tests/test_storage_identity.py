"""A billing source's own storage identity reaching its exports: an assumed AWS role (moto with IAM checks on),
an Azure SAS token (Azurite), an impersonated Google service account (a fake IAM Credentials API)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import google.auth
import google.auth.iam
import google.oauth2.credentials
import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from fsspec.asyn import sync
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from costlake.settings import Settings
from costlake.storage import (
    StorageError,
    assumed,
    filesystem_for,
    list_files,
    parse_uri,
)
from costlake.storage.identity import StorageIdentity
from fixtures_object_stores import (  # noqa: F401
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    ObjectStoreServer,
    azurite_env,
    gcs_env,
    s3_env,
)

EXPORTS = {"exports/2026-01/costs.csv": b"service,cost\nCompute,1\n", "exports/2026-02/costs.csv": b"service,cost\n"}
IN_EXPORTS = sorted(key.removeprefix("exports/") for key in EXPORTS)  # as listed under .../exports
EXTERNAL_ID = "tenant-7-external-id"


def _settings(tmp_path: Path, identity: StorageIdentity | None) -> Settings:
    return Settings(home=tmp_path).with_storage_identity(identity)


def _seed(server: ObjectStoreServer) -> str:
    bucket = server.create_bucket()
    for key, data in EXPORTS.items():
        server.upload(bucket, key, data)
    return bucket


def _listed(uri: str, settings: Settings) -> list[str]:
    return [stored.uri.removeprefix(uri + "/") for stored in list_files(uri, settings)]


def test_identity_for_another_store_is_refused(tmp_path: Path) -> None:
    role = StorageIdentity.parse({"kind": "aws-role", "role_arn": "arn:aws:iam::123456789012:role/exports"})
    with pytest.raises(StorageError, match=r"is an AWS role, which reaches s3:// locations, not gs://b/exports"):
        list_files("gs://b/exports", _settings(tmp_path, role))
    sas = StorageIdentity.parse({"kind": "azure-sas", "sas_token": "sv=2024&sig=x"})
    with pytest.raises(StorageError, match=r"an Azure SAS token, which reaches az:// locations, not /"):
        list_files(str(tmp_path), _settings(tmp_path, sas))


# --- AWS: a role assumed through the server's own identity ---------------------------------------------------


# moto checks signatures, identity policies and role trust policies (with the external ID) once told to, but
# then rejects the signature of any ListObjects whose prefix or delimiter holds a "/" (getmoto/moto#5948): checks
# run with IAM enforced around AssumeRole and single-file reads (HeadObject), and folder listings run without.
# moto 5.2.6 authorizes S3 calls by operation name (s3:HeadObject, s3:ListObjectsV2) rather than by the IAM action
# AWS checks (s3:GetObject, s3:ListBucket), so these tests need moto < 5.2.6 (tests/constraints.txt).


@contextmanager
def enforced_iam(server: ObjectStoreServer) -> Iterator[None]:
    """moto's IAM enforcement for a block; it is server-wide, so it is always switched off again."""

    def switch(count: bytes) -> None:  # how many requests moto lets through unchecked
        request = urllib.request.Request(
            f"{server.endpoint}/moto-api/reset-auth",
            data=count,
            headers={"Content-Type": "text/plain"},  # moto reads the raw body, which a form type would hide
            method="POST",
        )
        urllib.request.urlopen(request, timeout=5).close()

    switch(b"0")
    try:
        yield
    finally:
        switch(b"inf")


@dataclass(frozen=True)
class AwsAccount:
    server: ObjectStoreServer
    readable: str  # the bucket the role may read
    other: str  # a bucket only the moto admin may read
    server_user_arn: str

    def role(self, external_id: str | None = EXTERNAL_ID, trusted: str | None = None) -> StorageIdentity:
        """A new role (so no cached session is reused) trusting `trusted` (the server's user) with EXTERNAL_ID."""
        name = f"exports-{uuid.uuid4().hex[:8]}"
        trust = _policy(
            {"Principal": {"AWS": trusted or self.server_user_arn}, "Action": "sts:AssumeRole"}
            | {"Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}
        )
        read = _policy(
            {"Action": ["s3:ListBucket", "s3:GetObject"]}
            | {"Resource": [f"arn:aws:s3:::{self.readable}", f"arn:aws:s3:::{self.readable}/*"]}
        )
        iam = _admin(self.server, "iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="read-exports", PolicyDocument=read)
        spec = {"kind": "aws-role", "role_arn": arn} | ({"external_id": external_id} if external_id else {})
        return StorageIdentity.parse(spec)


@pytest.fixture
def aws(s3_env: ObjectStoreServer, monkeypatch: pytest.MonkeyPatch) -> AwsAccount:
    """The server runs as an IAM user allowed only sts:AssumeRole."""
    readable, other = _seed(s3_env), _seed(s3_env)
    iam = _admin(s3_env, "iam")
    user = iam.create_user(UserName=f"costlake-{uuid.uuid4().hex[:8]}")["User"]
    assume_any = _policy({"Action": "sts:AssumeRole", "Resource": "*"})
    iam.put_user_policy(UserName=user["UserName"], PolicyName="assume", PolicyDocument=assume_any)
    key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    return AwsAccount(s3_env, readable, other, user["Arn"])


def _policy(statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"} | statement]})


def _admin(server: ObjectStoreServer, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _caller_arn(settings: Settings, uri: str) -> str:
    """Who the filesystem's keys are, as STS says (GetCallerIdentity needs no permission)."""
    fs = filesystem_for(parse_uri(uri), settings)
    keys = sync(fs.loop, fs.session.get_credentials)
    frozen = sync(fs.loop, keys.get_frozen_credentials)
    sts = boto3.client(
        "sts",
        endpoint_url=settings.s3_endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
    )
    return sts.get_caller_identity()["Arn"]


def test_aws_role_reads_what_the_server_itself_may_not(aws: AwsAccount, tmp_path: Path) -> None:
    one_file = f"s3://{aws.readable}/{next(iter(EXPORTS))}"
    role = aws.role()
    with enforced_iam(aws.server):
        with pytest.raises(StorageError, match=r"access denied: cannot list s3://.*; check the AWS credentials in use"):
            list_files(one_file, _settings(tmp_path, None))  # the server's user may only assume roles
        assert [stored.uri for stored in list_files(one_file, _settings(tmp_path, role))] == [one_file]
    folder = f"s3://{aws.readable}/exports"
    assert _listed(folder, _settings(tmp_path, role)) == IN_EXPORTS
    role_name = (role.role_arn or "").rsplit("/", 1)[1]
    assert _caller_arn(_settings(tmp_path, role), folder) == f"arn:aws:sts::123456789012:assumed-role/{role_name}/costlake"


def test_aws_untrusted_role_says_what_to_check(aws: AwsAccount, tmp_path: Path) -> None:
    # moto lets a request without ExternalId through a trust policy that requires one: not tested here.
    someone_else = "arn:aws:iam::123456789012:user/someone-else"
    for role in (aws.role(external_id="not-the-one"), aws.role(external_id=None, trusted=someone_else)):
        with enforced_iam(aws.server), pytest.raises(StorageError) as error:
            list_files(f"s3://{aws.readable}/exports", _settings(tmp_path, role))
        message = str(error.value)
        assert message.startswith(f"the role {role.role_arn} could not be assumed (AccessDenied: ")
        assert "its trust policy allows the server's AWS identity and" in message
        assert ("requires exactly this external ID" if role.external_id else "does not require an external ID") in message


def test_aws_role_without_permission_names_the_role(aws: AwsAccount, tmp_path: Path) -> None:
    role = aws.role()
    one_file = f"s3://{aws.other}/{next(iter(EXPORTS))}"
    with enforced_iam(aws.server), pytest.raises(StorageError) as error:
        list_files(one_file, _settings(tmp_path, role))
    assert str(error.value) == (
        f"access denied: cannot list {one_file}; check that role {role.role_arn} may list and read it "
        "(s3:ListBucket, s3:GetObject) and that the bucket policy allows it (403)"  # HEAD answers carry no code
    )


def test_aws_server_without_identity(aws: AwsAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    role = aws.role()
    with pytest.raises(StorageError, match=r"cannot be assumed: the server has no AWS identity to assume it with"):
        list_files(f"s3://{aws.readable}/exports", _settings(tmp_path, role))


def test_aws_keys_are_renewed_before_they_expire(aws: AwsAccount, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """STS grants sessions that end in 5 minutes: botocore must assume the role again before each use."""
    issued: list[str] = []
    real_assume = assumed._assume_role

    def short_session(*args: Any) -> dict[str, str]:
        metadata = real_assume(*args)
        issued.append(metadata["access_key"])
        return metadata | {"expiry_time": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}

    monkeypatch.setattr(assumed, "_assume_role", short_session)
    uri = f"s3://{aws.readable}/exports"
    settings = _settings(tmp_path, aws.role())
    assert _listed(uri, settings) == IN_EXPORTS
    assert _listed(uri, settings) == IN_EXPORTS
    assert len(issued) >= 3 and len(set(issued)) == len(issued)  # one AssumeRole up front, then one per use


def test_aws_session_is_shared_across_threads(aws: AwsAccount, tmp_path: Path) -> None:
    settings = _settings(tmp_path, aws.role())
    location = parse_uri(f"s3://{aws.readable}/exports")
    with ThreadPoolExecutor(8) as pool:
        sessions = list(pool.map(lambda _: filesystem_for(location, settings).session, range(16)))
    assert all(session is sessions[0] for session in sessions)


# --- Azure: a SAS token the tenant issued ------------------------------------------------------------------


def _sas(container: str, permission: str, expiry: timedelta = timedelta(hours=1)) -> StorageIdentity:
    token = generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions.from_string(permission),
        expiry=datetime.now(UTC) + expiry,
        start=datetime.now(UTC) - timedelta(hours=2),
    )
    return StorageIdentity.parse({"kind": "azure-sas", "sas_token": token})


def _abfss(container: str) -> str:
    return f"abfss://{container}@{AZURITE_ACCOUNT}.dfs.core.windows.net/exports"


def test_azure_sas_lists_and_reads(azurite_env: ObjectStoreServer, tmp_path: Path) -> None:
    container = _seed(azurite_env)
    settings = _settings(tmp_path, _sas(container, "rl"))
    assert _listed(_abfss(container), settings) == IN_EXPORTS
    fs = filesystem_for(parse_uri(_abfss(container)), settings)
    assert fs.cat(f"{container}/exports/2026-01/costs.csv") == EXPORTS["exports/2026-01/costs.csv"]


def test_azure_sas_is_used_instead_of_the_ambient_key(azurite_env: ObjectStoreServer, tmp_path: Path) -> None:
    """The ambient connection string may read everything: SAS tokens that may not must still fail."""
    container = _seed(azurite_env)
    uri = _abfss(container)
    assert _listed(uri, _settings(tmp_path, None)) == IN_EXPORTS
    refused = [
        (_sas(container, "r"), "AuthorizationPermissionMismatch"),  # may read, not list
        (_sas(container, "l"), "AuthorizationPermissionMismatch"),  # may list, not read (a folder's properties)
        (_sas(_seed(azurite_env), "rl"), "AuthorizationFailure"),  # another container's token
    ]
    for identity, code in refused:
        with pytest.raises(StorageError) as error:
            list_files(uri, _settings(tmp_path, identity))
        assert str(error.value) == (
            f"access denied: cannot list {uri}; check the source's SAS token: issued for this account and container, "
            f"not expired, with read and list (rl) permissions ({code})"
        )


def test_azure_expired_sas(azurite_env: ObjectStoreServer, tmp_path: Path) -> None:
    container = _seed(azurite_env)
    with pytest.raises(StorageError) as error:
        list_files(_abfss(container), _settings(tmp_path, _sas(container, "rl", expiry=-timedelta(minutes=1))))
    message = str(error.value)
    assert message.startswith(f"access denied: cannot list {_abfss(container)}; check the source's SAS token")
    assert message.endswith("(AuthorizationFailure)")  # Azure itself answers AuthenticationFailed


def test_azure_sas_needs_the_account_in_the_uri(tmp_path: Path) -> None:
    identity = StorageIdentity.parse({"kind": "azure-sas", "sas_token": "sv=2024-01-01&sig=abc"})
    with pytest.raises(StorageError, match=r"az://c/exports: a SAS token is issued for one storage account"):
        list_files("az://c/exports", _settings(tmp_path, identity))


# --- GCP: a service account impersonated by the server --------------------------------------------------------
# No emulator serves Google IAM: a fake of the IAM Credentials API's generateAccessToken (documented shapes:
# https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken)
# stands in; fake-gcs-server ignores the token, so the real IAM call and GCS's check of the token stay untested.


@pytest.fixture
def google_iam(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    """The server's application default credentials are a fixed user token; IAM is the fake."""
    source = google.oauth2.credentials.Credentials(token="server-adc-token")
    monkeypatch.setattr(google.auth, "default", lambda scopes=None, **_: (source, "server-project"))
    base = httpserver.url_for("/v1/projects/-/serviceAccounts/{}:generateAccessToken")
    monkeypatch.setattr(google.auth.iam, "_IAM_ENDPOINT", base)
    return httpserver


def _service_account() -> str:
    return f"reader-{uuid.uuid4().hex[:8]}@tenant-project.iam.gserviceaccount.com"


def _grant(request: Request) -> Response:
    """generateAccessToken for callers presenting the server's token."""
    if request.headers.get("Authorization") != "Bearer server-adc-token":
        body = {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}
        return Response(json.dumps(body), status=401, content_type="application/json")
    account = request.path.split("/serviceAccounts/")[1].removesuffix(":generateAccessToken")
    asked = json.loads(request.data)
    expiry = (datetime.now(UTC) + timedelta(seconds=int(asked["lifetime"].removesuffix("s")))).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = {"accessToken": f"token-for-{account}-{','.join(asked['scope'])}", "expireTime": expiry}
    return Response(json.dumps(token), content_type="application/json")


def test_gcs_impersonates_the_service_account(google_iam: HTTPServer, gcs_env: ObjectStoreServer, tmp_path: Path) -> None:
    account = _service_account()
    google_iam.expect_request(f"/v1/projects/-/serviceAccounts/{account}:generateAccessToken", method="POST").respond_with_handler(_grant)
    bucket = _seed(gcs_env)
    settings = _settings(tmp_path, StorageIdentity.parse({"kind": "gcp-service-account", "service_account": account}))
    assert _listed(f"gs://{bucket}/exports", settings) == IN_EXPORTS
    assert _listed(f"gs://{bucket}/exports", settings) == IN_EXPORTS
    credentials = filesystem_for(parse_uri(f"gs://{bucket}/exports"), settings).credentials.credentials
    assert credentials.service_account_email == account
    assert credentials.token == f"token-for-{account}-https://www.googleapis.com/auth/devstorage.read_only"
    assert len(google_iam.log) == 1  # one token, reused until it nears expiry
    asked = json.loads(google_iam.log[0][0].data)
    assert (asked["scope"], asked["lifetime"]) == (["https://www.googleapis.com/auth/devstorage.read_only"], "3600s")


def test_gcs_impersonation_denied_says_what_to_grant(google_iam: HTTPServer, tmp_path: Path) -> None:
    account = _service_account()
    denied = {
        "error": {
            "code": 403,
            "message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
            "status": "PERMISSION_DENIED",
        }
    }
    google_iam.expect_request(f"/v1/projects/-/serviceAccounts/{account}:generateAccessToken").respond_with_json(denied, status=403)
    identity = StorageIdentity.parse({"kind": "gcp-service-account", "service_account": account})
    with pytest.raises(StorageError) as error:
        list_files("gs://bucket/exports", _settings(tmp_path, identity))
    assert str(error.value) == (
        f"the service account {account} could not be impersonated (PERMISSION_DENIED: Permission "
        "'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).); check that the server's "
        "Google identity has roles/iam.serviceAccountTokenCreator on that service account and that the IAM Service "
        "Account Credentials API is enabled in the server's project"
    )


def test_gcs_requests_carry_the_impersonated_token(
    google_iam: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GCS itself (here the same fake, serving one object's metadata in the JSON API's shape) sees the token IAM gave."""
    account = _service_account()
    google_iam.expect_request(f"/v1/projects/-/serviceAccounts/{account}:generateAccessToken").respond_with_handler(_grant)
    token = f"token-for-{account}-https://www.googleapis.com/auth/devstorage.read_only"
    metadata = {"kind": "storage#object", "name": "exports/costs.csv", "bucket": "tenant-bucket", "size": "23"}
    metadata |= {"contentType": "text/csv", "updated": "2026-02-01T00:00:00.000Z", "generation": "1"}
    google_iam.expect_request(
        "/storage/v1/b/tenant-bucket/o/exports/costs.csv", headers={"Authorization": f"Bearer {token}"}
    ).respond_with_json(metadata)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", google_iam.url_for("").rstrip("/"))
    identity = StorageIdentity.parse({"kind": "gcp-service-account", "service_account": account})
    stored = list_files("gs://tenant-bucket/exports/costs.csv", _settings(tmp_path, identity))
    assert [(file.uri, file.size) for file in stored] == [("gs://tenant-bucket/exports/costs.csv", 23)]
