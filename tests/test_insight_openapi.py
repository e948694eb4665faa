"""Every route of metrics, events, webhooks, views, dashboards and digests declares the errors it can answer."""

from __future__ import annotations

PREFIXES = ("/api/v1/tenants/{tenant_id}/metrics", "/api/v1/tenants/{tenant_id}/events", "/api/v1/tenants/{tenant_id}/webhooks",
            "/api/v1/tenants/{tenant_id}/views", "/api/v1/tenants/{tenant_id}/dashboards", "/api/v1/tenants/{tenant_id}/digests",
            "/api/v1/hooks")


def test_declared_status_codes(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/openapi.json").json()["paths"]
    checked = 0
    for path, operations in paths.items():
        if not path.startswith(PREFIXES):
            continue
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "404"} <= codes, (method, path, codes)
            if method in ("post", "put") and "requestBody" in operation:
                assert "422" in codes, (method, path, codes)
            checked += 1
    assert checked >= 30
