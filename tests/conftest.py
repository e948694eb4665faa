"""Shared fixtures: a costlake home on SQLite and on PostgreSQL, API clients, tenants and tokens."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from costlake.app import create_app
from costlake.catalog import open_catalog
from costlake.catalog.models import Base
from costlake.catalog.tenants import create_tenant, create_token
from costlake.settings import Settings
from fixtures_browser import browser  # noqa: F401  (one Chromium per session, for every browser test module)
from fixtures_object_stores import azurite_env, azurite_server, gcs_env, gcs_server, s3_env, s3_server  # noqa: F401

POSTGRES_ADMIN_URL = os.environ.get("COSTLAKE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SAMPLES_DIR = Path(os.environ.get("COSTLAKE_SAMPLES_DIR", Path(__file__).resolve().parents[2] / "shared" / "samples"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway database for this test session; skipped when PostgreSQL is unreachable (fails under CI=true)."""
    name = f"costlake_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable under CI=true: {error}")
        pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {error}")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        if connection.execute(text("SELECT to_regclass('tenants')")).scalar() is not None:
            connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh costlake home; the catalog on SQLite, then the same test again on PostgreSQL. Its path has a space and
    a "%" (as "Application Support" has one): Delta percent-encodes such paths, and every reader must decode them."""
    home = tmp_path / "cost home 100%"
    monkeypatch.setenv("COSTLAKE_HOME", str(home))
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
        monkeypatch.setenv("COSTLAKE_DATABASE_URL", url)
    else:
        monkeypatch.delenv("COSTLAKE_DATABASE_URL", raising=False)
    monkeypatch.setenv("COSTLAKE_LEASE_DURATION", "30s")
    return Settings()


@dataclass
class TenantTokens:
    id: str
    name: str
    admin: str
    member: str


@pytest.fixture
def make_tenant(settings: Settings):  # type: ignore[no-untyped-def]
    catalog = open_catalog(settings)

    def make(name: str) -> TenantTokens:
        tenant = create_tenant(catalog, name)
        _, admin = create_token(catalog, tenant.id, "admin", "test admin")
        _, member = create_token(catalog, tenant.id, "member", "test member")
        return TenantTokens(tenant.id, tenant.name, admin, member)

    yield make
    catalog.close()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def operator_client(settings: Settings) -> Iterator[TestClient]:
    """The API as the in-process CLI sees it: every request is the operator's."""
    with TestClient(create_app(settings, operator=True)) as test_client:
        yield test_client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for_run(client: TestClient, tenant: str, source_id: str, run_id: str, token: str | None = None, timeout: float = 60) -> dict:
    """Poll a run until it is no longer running."""
    headers = auth(token) if token else {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/tenants/{tenant}/billing-sources/{source_id}/syncs/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        run = response.json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still running after {timeout}s")


def sync_and_wait(client: TestClient, tenant: str, source_id: str, token: str | None = None, body: dict | None = None) -> dict:
    headers = auth(token) if token else {}
    response = client.post(f"/api/v1/tenants/{tenant}/billing-sources/{source_id}/sync", headers=headers, json=body)
    assert response.status_code == 202, response.text
    return wait_for_run(client, tenant, source_id, response.json()["id"], token)
