"""Storage identities through the API: a tenant's admin connects an export outside the operator's allowed prefixes
with its own identity (a real Azurite SAS token); the identity is write-only and replaceable in place; AWS roles
must trust the external ID costlake issued to the tenant; one tenant cannot reuse another's role."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from fastapi.testclient import TestClient

from conftest import TenantTokens, auth, sync_and_wait
from costlake.catalog import open_catalog
from costlake.catalog.sources import list_sources
from costlake.credentials import resolve_storage_identity
from costlake.months import current_month
from costlake.settings import Settings
from fixtures_object_stores import AZURITE_ACCOUNT, AZURITE_KEY, ObjectStoreServer, azurite_env  # noqa: F401
from focus_files import focus_row
from test_object_store_sync import csv_gz_bytes

ROLE = "arn:aws:iam::123456789012:role/costlake-exports"


def sas(container: str, permission: str) -> str:
    return generate_container_sas(
        AZURITE_ACCOUNT, container, account_key=AZURITE_KEY, permission=ContainerSasPermissions.from_string(permission),
        start=datetime.now(UTC) - timedelta(hours=1), expiry=datetime.now(UTC) + timedelta(hours=1),
    )


def add(client: TestClient, tenant: TenantTokens, **body: Any) -> Any:
    return client.post(f"/api/v1/tenants/{tenant.id}/billing-sources", json=body, headers=auth(tenant.admin))


def test_an_azure_export_connected_with_a_sas_token(client: TestClient, make_tenant: Any, azurite_env: ObjectStoreServer) -> None:
    acme = make_tenant("acme")  # the operator opened no prefix to acme
    container = azurite_env.create_bucket()
    month = current_month()
    azurite_env.upload(container, f"focus/{month}.csv.gz", csv_gz_bytes([focus_row(month, "12.34"), focus_row(month, "0.66")]))
    uri = f"abfss://{container}@{AZURITE_ACCOUNT}.dfs.core.windows.net/focus"

    assert add(client, acme, provider="azure", source_uri=uri).status_code == 403
    no_list = add(client, acme, provider="azure", source_uri=uri, storage_credential={"kind": "azure-sas", "sas_token": sas(container, "r")})
    assert no_list.status_code == 422, no_list.text
    assert no_list.json()["detail"][0]["loc"] == ["body", "storage_credential"]
    assert "sig=" not in no_list.text

    token = sas(container, "rl")
    response = add(client, acme, provider="azure", source_uri=uri, storage_credential={"kind": "azure-sas", "sas_token": token})
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["storage_credential"] == {"kind": "azure-sas", "set": True}
    listed = client.get(f"/api/v1/tenants/{acme.id}/billing-sources", headers=auth(acme.admin)).text
    assert token not in response.text and token not in listed and "sig=" not in listed

    run = sync_and_wait(client, acme.id, source["id"], acme.admin)
    assert run["status"] == "succeeded", run
    assert Decimal(run["billed_cost_by_month"][month]["USD"]) == Decimal("13.00")

    replaced = client.put(
        f"/api/v1/tenants/{acme.id}/billing-sources/{source['id']}",
        json={"storage_credential": {"kind": "azure-sas", "sas_token": sas(container, "rl")}}, headers=auth(acme.admin),
    )
    assert replaced.status_code == 200, replaced.text
    assert sync_and_wait(client, acme.id, source["id"], acme.admin)["status"] == "succeeded"


def test_aws_roles_trust_the_external_id_costlake_issued(client: TestClient, make_tenant: Any, settings: Settings) -> None:
    acme, globex = make_tenant("acme"), make_tenant("globex")
    role = {"kind": "aws-role", "role_arn": ROLE}
    chosen = add(client, acme, provider="aws", source_uri="s3://acme-cur/exports", validate=False,
                 storage_credential={**role, "external_id": "guessable"})
    assert chosen.status_code == 422
    assert f"costlake-{acme.id}" in chosen.json()["detail"][0]["msg"]

    created = add(client, acme, provider="aws", source_uri="s3://acme-cur/exports", validate=False, storage_credential=role)
    assert created.status_code == 201, created.text
    assert created.json()["storage_credential"] == {"kind": "aws-role", "set": True}
    catalog = open_catalog(settings)
    (stored,) = list_sources(catalog, acme.id)
    catalog.close()
    assert ROLE not in json.dumps(stored.storage_credential)
    assert resolve_storage_identity(stored.storage_credential, settings).external_id == f"costlake-{acme.id}"

    taken = add(client, globex, provider="aws", source_uri="s3://acme-cur/exports", validate=False, storage_credential=role)
    assert taken.status_code == 422 and "another tenant" in taken.text


@pytest.mark.parametrize("spec", [
    {"kind": "aws-role", "role_arn": "not-an-arn"},
    {"kind": "gcp-service-account"},
    {"kind": "azure-sas", "sas_token": "sv=1", "role_arn": ROLE},
])
def test_malformed_storage_credentials_are_422(client: TestClient, make_tenant: Any, spec: dict[str, Any]) -> None:
    acme = make_tenant("acme")
    response = add(client, acme, provider="aws", source_uri="s3://b/x", validate=False, storage_credential=spec)
    assert response.status_code == 422, response.text
