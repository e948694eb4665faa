"""Vendor credentials end to end through the API: write-only, encrypted at rest, checked at add time, never in
logs or error messages, rotated in place. The vendor is the Anthropic fake (tests/fakes/anthropic.py)."""

from __future__ import annotations

import json
import logging
import stat
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from conftest import TenantTokens, auth, sync_and_wait
from costlake.catalog import open_catalog
from costlake.credentials import SecretCipher
from costlake.credentials.cipher import KEY_FILE
from costlake.settings import Settings
from fakes.anthropic import API_KEY, FakeAnthropic, generate

ROTATED_KEY = "sk-ant-admin01-rotated-fedcba9876543210"


@pytest.fixture
def fake(httpserver: Any, monkeypatch: pytest.MonkeyPatch) -> FakeAnthropic:
    monkeypatch.setenv("COSTLAKE_ANTHROPIC_BASE_URL", httpserver.url_for(""))
    monkeypatch.setenv("COSTLAKE_VENDOR_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("COSTLAKE_VENDOR_MAX_WAIT", "1s")
    today = datetime.now(UTC).date()
    return FakeAnthropic(generate(first_day=today - timedelta(days=70), last_day=today - timedelta(days=1))).install(httpserver)


@pytest.fixture
def settings(fake: FakeAnthropic, settings: Settings) -> Settings:  # the vendor host must be set before Settings()
    return Settings()


@pytest.fixture
def acme(make_tenant: Any) -> TenantTokens:
    return make_tenant("acme")


def sources_url(tenant: TenantTokens) -> str:
    return f"/api/v1/tenants/{tenant.id}/billing-sources"


def add(client: TestClient, tenant: TenantTokens, credential: dict[str, Any], **extra: Any) -> Any:
    body = {"provider": "anthropic", "credential": credential, **extra}
    return client.post(sources_url(tenant), json=body, headers=auth(tenant.admin))


def stored(value: Any) -> dict[str, Any]:
    return {"kind": "stored", "value": value}


def test_stored_credential_is_write_only_and_encrypted_at_rest(client: TestClient, acme: TenantTokens, settings: Settings) -> None:
    response = add(client, acme, stored(API_KEY))
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["credential"] == {"kind": "stored", "set": True}
    assert source["source_uri"] == "anthropic://organization" and source["format"] == "api"
    for answer in (client.get(sources_url(acme), headers=auth(acme.admin)), client.get(f"{sources_url(acme)}/{source['id']}", headers=auth(acme.admin))):
        assert answer.status_code == 200 and API_KEY not in answer.text
        assert "ciphertext" not in answer.text

    catalog = open_catalog(settings)
    with catalog.session() as session:
        raw = session.execute(text("SELECT credential FROM billing_sources")).scalar_one()
    catalog.close()
    at_rest = raw if isinstance(raw, dict) else json.loads(raw)
    assert API_KEY not in json.dumps(at_rest) and at_rest["kind"] == "stored"
    assert json.loads(SecretCipher.for_settings(settings).decrypt(at_rest["ciphertext"])) == {"api_key": API_KEY}
    key_file = settings.home / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_wrong_key_is_a_422_with_the_vendors_reason_and_nothing_is_created(client: TestClient, acme: TenantTokens, fake: FakeAnthropic) -> None:
    wrong = "sk-ant-admin01-wrong-0000000000000000"
    response = add(client, acme, stored(wrong))
    assert response.status_code == 422, response.text
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "credential"]
    assert "invalid x-api-key" in problem["msg"] and "401" in problem["msg"]
    assert wrong not in response.text
    assert client.get(sources_url(acme), headers=auth(acme.admin)).json() == []


def test_validate_false_saves_without_calling_the_vendor(client: TestClient, acme: TenantTokens, fake: FakeAnthropic) -> None:
    response = add(client, acme, stored("sk-ant-admin01-not-checked-00000000"), validate=False)
    assert response.status_code == 201, response.text
    assert fake.requests == []


def test_env_credentials_over_http_only_name_the_tenants_variables(
    client: TestClient, acme: TenantTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", API_KEY)
    refused = add(client, acme, {"kind": "env", "name": "ANTHROPIC_ADMIN_KEY"})
    assert refused.status_code == 422
    assert "COSTLAKE_TENANT_ACME_" in refused.json()["detail"][0]["msg"]

    monkeypatch.setenv("COSTLAKE_TENANT_ACME_ANTHROPIC", API_KEY)
    response = add(client, acme, {"kind": "env", "name": "COSTLAKE_TENANT_ACME_ANTHROPIC"})
    assert response.status_code == 201, response.text
    assert response.json()["credential"] == {"kind": "env", "set": True}


def test_the_operator_may_name_any_variable_and_an_unset_one_is_a_clear_error(
    operator_client: TestClient, acme: TenantTokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_ADMIN_KEY", raising=False)
    body = {"provider": "anthropic", "credential": {"kind": "env", "name": "ANTHROPIC_ADMIN_KEY"}}
    missing = operator_client.post(sources_url(acme), json=body)
    assert missing.status_code == 422
    assert "ANTHROPIC_ADMIN_KEY is not set on the server" in missing.json()["detail"][0]["msg"]
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", API_KEY)
    assert operator_client.post(sources_url(acme), json=body).status_code == 201


def test_a_malformed_credential_is_a_422_that_does_not_echo_it(client: TestClient, acme: TenantTokens) -> None:
    response = add(client, acme, {"kind": "stored", "value": [API_KEY]})
    assert response.status_code == 422
    assert API_KEY not in response.text
    two_parts = add(client, acme, stored({"api_key": API_KEY, "app_key": "extra-part-1234"}))
    assert two_parts.status_code == 422 and API_KEY not in two_parts.text
    assert "unknown part(s) app_key" in two_parts.json()["detail"][0]["msg"]


def test_vendor_sources_take_no_uri_or_storage_identity(client: TestClient, acme: TenantTokens) -> None:
    assert add(client, acme, stored(API_KEY), source_uri="http://169.254.169.254/latest").status_code == 422
    no_credential = client.post(sources_url(acme), json={"provider": "anthropic"}, headers=auth(acme.admin))
    assert no_credential.status_code == 422 and "need a credential" in no_credential.text
    storage = add(client, acme, stored(API_KEY), storage_credential={"kind": "azure-sas", "sas_token": "sv=1"})
    assert storage.status_code == 422


def _billed(run: dict[str, Any]) -> dict[str, Decimal]:
    return {month: Decimal(by_currency["USD"]) for month, by_currency in run["billed_cost_by_month"].items()}


def test_sync_loads_the_vendors_months_and_rotation_keeps_them(
    client: TestClient, acme: TenantTokens, fake: FakeAnthropic
) -> None:
    source = add(client, acme, stored(API_KEY)).json()
    first = sync_and_wait(client, acme.id, source["id"], acme.admin)
    assert first["status"] in ("succeeded", "warning"), first
    expected = {month: total for month, total in fake.expected_billed_by_month().items()}
    assert _billed(first) == expected and sum(expected.values()) > 0

    fake.api_key = ROTATED_KEY  # the vendor revoked the old key
    failed = sync_and_wait(client, acme.id, source["id"], acme.admin)
    assert failed["status"] == "failed" and "401" in failed["error"] and API_KEY not in failed["error"]

    rotated = client.put(f"{sources_url(acme)}/{source['id']}", json={"credential": stored(ROTATED_KEY)}, headers=auth(acme.admin))
    assert rotated.status_code == 200, rotated.text
    again = sync_and_wait(client, acme.id, source["id"], acme.admin)
    assert again["status"] in ("succeeded", "warning") and again["trigger"] != "backfill"
    assert _billed(again) == {month: expected[month] for month in again["months"]}  # the window, not a backfill
    query = {"metric": "BilledCost", "granularity": "none", "start": (date.today() - timedelta(days=120)).isoformat(),
             "end": (date.today() + timedelta(days=1)).isoformat()}
    costs = client.post(f"/api/v1/tenants/{acme.id}/costs/query", json=query, headers=auth(acme.member))
    assert costs.status_code == 200, costs.text
    assert Decimal(costs.json()["totals"]["USD"]) == sum(expected.values())


def test_secrets_never_reach_logs_or_errors(
    client: TestClient, acme: TenantTokens, fake: FakeAnthropic, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = add(client, acme, stored(API_KEY)).json()
    fake.fail("/v1/organizations/cost_report", 503, times=None)
    failed = sync_and_wait(client, acme.id, source["id"], acme.admin)
    assert failed["status"] == "failed" and "503" in failed["error"]
    wrong = add(client, acme, stored("sk-ant-admin01-wrong-1111111111111111"), name="second")
    assert wrong.status_code == 422
    assert caplog.records, "the sync logged its retries"
    assert API_KEY not in caplog.text and "sk-ant-admin01-wrong-1111111111111111" not in caplog.text
