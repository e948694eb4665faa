"""GET /api/v1/source-kinds describes the registry to clients (the console's form among them), and /me gives
the tenant's own names those clients show as hints."""

from __future__ import annotations

from conftest import auth
from costlake.formats.contract import API_FORMAT, AUTO
from costlake.formats.registry import FORMATS, METADATA_FORMATS, PROVIDER_LABELS, PROVIDERS, VENDORS

PATH = "/api/v1/source-kinds"


def test_every_registered_kind_appears_with_its_label_and_options(client, make_tenant):  # type: ignore[no-untyped-def]
    body = client.get(PATH, headers=auth(make_tenant("acme").member)).json()

    assert body["providers"] == [{"name": name, "label": PROVIDER_LABELS[name]} for name in PROVIDERS]
    formats = {entry["name"]: entry for entry in body["formats"]}
    assert list(formats) == [*FORMATS, *METADATA_FORMATS]
    for kind in (*FORMATS.values(), *METADATA_FORMATS.values()):
        assert formats[kind.name] == {
            "name": kind.name,
            "kind": kind.kind,
            "label": kind.label,
            "docs": kind.docs,
            "options": list(kind.options),
            "providers": list(kind.providers),
        }
    vendors = {entry["name"]: entry for entry in body["vendors"]}
    assert list(vendors) == list(VENDORS)
    for vendor in VENDORS.values():
        assert vendors[vendor.name] == {
            "name": vendor.name,
            "label": vendor.label,
            "docs": vendor.docs,
            "options": list(vendor.options),
            "providers": [vendor.name],
            "credential_parts": list(vendor.credential_parts),
            "credential_hint": vendor.credential_hint,
            "source_uri": vendor.source_uri,
        }
    assert body["default_format"] == {"name": AUTO, "label": "Detect from the files"}
    assert body["vendor_format"] == {"name": API_FORMAT, "label": "Billing API"}
    # a few facts spelled out, so a registry that lost them would fail here too
    assert formats["aws-cur2"]["kind"] == "export" and formats["gcp-cud-metadata"]["kind"] == "metadata"
    assert vendors["datadog"]["credential_parts"] == ["api_key", "app_key"] and "site" in vendors["datadog"]["options"]


def test_source_kinds_need_a_valid_token(client, make_tenant):  # type: ignore[no-untyped-def]
    assert client.get(PATH).status_code == 401
    assert client.get(PATH, headers=auth("clk_not-a-token")).status_code == 401
    assert client.get(PATH, headers=auth(make_tenant("acme").admin)).status_code == 200


def test_me_gives_the_tenants_env_prefix_and_external_id(client, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant("Vendors-Co")
    body = client.get("/api/v1/me", headers=auth(tenant.admin)).json()
    assert body["tenant_name"] == "Vendors-Co" and body["role"] == "admin"
    assert body["env_prefix"] == "COSTLAKE_TENANT_VENDORS_CO_"
    assert body["external_id"] == f"costlake-{tenant.id}"


def test_openapi_documents_source_kinds(client):  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    answer = spec["paths"][PATH]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/SourceKindsOut"}
    assert {"env_prefix", "external_id"} <= set(spec["components"]["schemas"]["Me"]["properties"])
