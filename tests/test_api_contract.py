"""The REST contract of billing sources: paths, field names, status codes, and who may do what."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import auth, sync_and_wait
from focus_files import focus_row, write_csv

SOURCE_FIELDS = {
    "notices",
    "id", "name", "provider", "format", "source_uri", "region", "window_months", "enabled", "options", "credential", "storage_credential",
    "created_at", "updated_at", "last_status", "last_synced_at", "last_row_count", "last_error",
}
RUN_FIELDS = {
    "id", "source_id", "status", "trigger", "started_at", "finished_at", "from", "months", "row_count",
    "billed_cost_by_month", "files", "error",
}
UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    write_csv(folder / "2026-10.csv", [focus_row("2026-10", "10.50"), focus_row("2026-10", "0.25")])
    return folder


@pytest.fixture
def open_roots(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    """Let tenants name local paths under tmp_path over HTTP (an operator setting)."""
    settings.allowed_local_roots = [tmp_path]


def base(tenant: str) -> str:
    return f"/api/v1/tenants/{tenant}/billing-sources"


def create(client, tenant, token, **fields):  # type: ignore[no-untyped-def]
    return client.post(base(tenant), headers=auth(token), json={"provider": "aws", **fields})


def test_no_token_or_a_bad_one_is_401(client, make_tenant):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    assert client.get(base(acme.id)).status_code == 401
    assert client.get(base(acme.id), headers=auth("clk_not-a-token")).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_me_tells_the_token_its_tenant_and_role(client, make_tenant):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    body = client.get("/api/v1/me", headers=auth(acme.member)).json()
    assert body["tenant_id"] == acme.id and body["tenant_name"] == "acme" and body["role"] == "member"


def test_another_tenants_token_gets_404_like_a_missing_tenant(client, make_tenant, export_dir, open_roots):  # type: ignore[no-untyped-def]
    acme, globex = make_tenant("acme"), make_tenant("globex")
    created = create(client, acme.id, acme.admin, source_uri=str(export_dir)).json()
    for path in (base(acme.id), base("acme"), f"{base(acme.id)}/{created['id']}"):
        foreign = client.get(path, headers=auth(globex.admin))
        missing = client.get(base("no-such-tenant"), headers=auth(globex.admin))
        assert foreign.status_code == missing.status_code == 404
    # and a source id of another tenant under one's own tenant is not found either
    assert client.get(f"{base(globex.id)}/{created['id']}", headers=auth(globex.admin)).status_code == 404


def test_member_gets_403_on_every_billing_source_endpoint(client, make_tenant, export_dir, open_roots):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    source_id = create(client, acme.id, acme.admin, source_uri=str(export_dir)).json()["id"]
    member = auth(acme.member)
    calls = [
        client.get(base(acme.id), headers=member),
        client.post(base(acme.id), headers=member, json={"provider": "aws", "source_uri": str(export_dir)}),
        client.get(f"{base(acme.id)}/{source_id}", headers=member),
        client.put(f"{base(acme.id)}/{source_id}", headers=member, json={"window_months": 3}),
        client.post(f"{base(acme.id)}/{source_id}/sync", headers=member),
        client.get(f"{base(acme.id)}/{source_id}/syncs", headers=member),
        client.delete(f"{base(acme.id)}/{source_id}", headers=member),
    ]
    assert [call.status_code for call in calls] == [403] * len(calls)
    assert "admin" in calls[0].json()["detail"]


def test_create_returns_the_source_with_exact_fields(client, make_tenant, export_dir, open_roots):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    response = create(client, "acme", acme.admin, source_uri=str(export_dir))
    assert response.status_code == 201, response.text
    source = response.json()
    assert set(source) == SOURCE_FIELDS
    assert source["provider"] == "aws" and source["format"] == "focus"
    assert source["region"] is None and source["window_months"] == 2 and source["enabled"] is True
    assert source["last_status"] is None and source["last_synced_at"] is None and source["last_error"] is None
    assert UTC_Z.match(source["created_at"]) and UTC_Z.match(source["updated_at"])
    assert source["name"] == "aws tmp/export" or "export" in source["name"]
    listed = client.get(base(acme.id), headers=auth(acme.admin)).json()
    assert [item["id"] for item in listed] == [source["id"]]


def test_default_names_stay_unique_and_explicit_duplicates_are_refused(client, make_tenant, export_dir, open_roots):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    first = create(client, acme.id, acme.admin, source_uri=str(export_dir)).json()
    second = create(client, acme.id, acme.admin, source_uri=str(export_dir)).json()
    assert first["name"] != second["name"]
    duplicate = create(client, acme.id, acme.admin, source_uri=str(export_dir), name=first["name"])
    assert duplicate.status_code == 422
    assert duplicate.json()["detail"][0]["loc"] == ["body", "name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "oracle", "source_uri": "s3://b/x"}, "provider"),
        ({"provider": "aws", "source_uri": "s3://b/x", "format": "csv-magic"}, "format"),
        ({"provider": "aws", "source_uri": "ftp://host/x.csv"}, "source_uri"),
        ({"provider": "aws", "source_uri": "http://169.254.169.254/latest"}, "source_uri"),
        ({"provider": "aws", "source_uri": "s3://b/x", "window_months": 0}, "window_months"),
        ({"provider": "aws", "source_uri": "s3://b/x", "window_months": 37}, "window_months"),
        ({"source_uri": "s3://b/x"}, "provider"),
        ({"provider": "aws"}, "source_uri"),
        ({"provider": "aws", "source_uri": "s3://b/x", "format": "focus", "options": {"dataset": "actual"}}, "options"),
        ({"provider": "gcp", "source_uri": "bq://p.d.t", "format": "gcp-cud-metadata", "options": {"x": "1"}}, "options"),
        ({"provider": "aws", "source_uri": "s3://b/x", "format": "api"}, "format"),
        ({"provider": "aws", "source_uri": "s3://b/x", "credential": {"kind": "env", "name": "X"}}, "credential"),
        ({"provider": "datadog", "credential": {"kind": "stored", "value": {"api_key": "k1", "app_key": "k2"}}, "options": {"site": "mars"}}, "options"),
    ],
)
def test_bad_requests_are_422_naming_the_field(client, make_tenant, body, field):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    response = client.post(base(acme.id), headers=auth(acme.admin), json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"][0]["loc"]
    assert client.get(base(acme.id), headers=auth(acme.admin)).json() == []


def test_malformed_json_is_422_not_500(client, make_tenant):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    response = client.post(
        base(acme.id), headers={**auth(acme.admin), "Content-Type": "application/json"}, content=b'{"provider": "aws",'
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_values_the_catalog_cannot_hold_are_422_not_500(client, make_tenant):  # type: ignore[no-untyped-def]
    """What the fuzzer found on PostgreSQL and SQLite: a NUL character reaching a lookup or a row, and a version
    number past the integer column. Refused where the schema knows the field, and by one net everywhere else."""
    acme = make_tenant("acme")
    tenant, admin = f"/api/v1/tenants/{acme.id}", auth(acme.admin)
    answers = [
        client.get(f"{tenant}/allocation/versions/2147483648", headers=admin),
        client.post(f"{tenant}/allocation/versions/9223372036854775808/restore", headers=admin),
        client.post(f"{tenant}/digests", headers=admin, json={"name": "x", "frequency": "weekly", "dashboard_id": "\u0000", "email_to": ["a@example.com"]}),
        client.post(f"{tenant}/budgets", headers=admin, json={"name": "a\u0000b", "filters": [], "period": "month", "amount": "1", "currency": "USD"}),
    ]
    assert [answer.status_code for answer in answers] == [422] * len(answers), [answer.text for answer in answers]
    assert client.get(f"{tenant}/views/%00", headers=admin).status_code in (404, 422)


def test_a_uri_with_no_file_is_422_and_nothing_is_created_unless_validate_is_false(client, make_tenant, tmp_path, open_roots):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    missing = tmp_path / "not-yet" / "*.parquet"
    response = create(client, acme.id, acme.admin, source_uri=str(missing))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "source_uri"]
    assert "not-yet" in response.json()["detail"][0]["msg"]
    assert client.get(base(acme.id), headers=auth(acme.admin)).json() == []
    later = create(client, acme.id, acme.admin, source_uri=str(missing), validate=False)
    assert later.status_code == 201


def test_local_paths_over_http_need_an_allowed_root(client, make_tenant, export_dir):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    response = create(client, acme.id, acme.admin, source_uri=str(export_dir))
    assert response.status_code == 403
    assert "COSTLAKE_ALLOWED_LOCAL_ROOTS" in response.json()["detail"]
    for sneaky in ("/etc/passwd", "file:///etc/*", f"{export_dir}/../../../../etc/passwd"):
        assert create(client, acme.id, acme.admin, source_uri=sneaky).status_code == 403


def test_symlinks_may_not_lead_out_of_an_allowed_root(client, make_tenant, tmp_path, settings):  # type: ignore[no-untyped-def]
    root = tmp_path / "allowed"
    root.mkdir()
    outside = write_csv(tmp_path / "secret" / "data.csv", [focus_row("2026-10", "1")])
    (root / "link.csv").symlink_to(outside)
    settings.allowed_local_roots = [root]
    acme = make_tenant("acme")
    response = create(client, acme.id, acme.admin, source_uri=str(root / "link.csv"))
    assert response.status_code == 403 and "symlink" in response.json()["detail"]
    # globs do not follow symlinks at all
    assert create(client, acme.id, acme.admin, source_uri=str(root / "*.csv")).status_code == 422


def test_cloud_uris_over_http_need_an_allowed_prefix(client, make_tenant, settings):  # type: ignore[no-untyped-def]
    from costlake.catalog import open_catalog
    from costlake.catalog.tenants import set_allowed_uri_prefixes

    acme = make_tenant("acme")
    refused = create(client, acme.id, acme.admin, source_uri="s3://other-bucket/focus/*.parquet", validate=False)
    assert refused.status_code == 403 and "--allow-uri-prefix" in refused.json()["detail"]
    catalog = open_catalog(settings)
    set_allowed_uri_prefixes(catalog, "acme", ["s3://acme-billing/focus"])
    catalog.close()
    allowed = create(client, acme.id, acme.admin, source_uri="s3://acme-billing/focus/**/*.parquet", validate=False)
    assert allowed.status_code == 201, allowed.text
    lookalike = create(client, acme.id, acme.admin, source_uri="s3://acme-billing/focus-other/x.parquet", validate=False)
    assert lookalike.status_code == 403


def test_update_changes_only_given_fields_and_never_the_provider(client, make_tenant, export_dir, open_roots):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    source = create(client, acme.id, acme.admin, source_uri=str(export_dir), region="eu-west-1").json()
    path = f"{base(acme.id)}/{source['id']}"
    updated = client.put(path, headers=auth(acme.admin), json={"window_months": 6}).json()
    assert updated["window_months"] == 6 and updated["region"] == "eu-west-1" and updated["name"] == source["name"]
    assert updated["updated_at"] >= source["updated_at"]
    disabled = client.put(path, headers=auth(acme.admin), json={"enabled": False}).json()
    assert disabled["enabled"] is False and disabled["window_months"] == 6
    provider = client.put(path, headers=auth(acme.admin), json={"provider": "gcp"})
    assert provider.status_code == 422 and provider.json()["detail"][0]["loc"] == ["body", "provider"]
    bad_uri = client.put(path, headers=auth(acme.admin), json={"source_uri": str(export_dir / "nothing-*.csv")})
    assert bad_uri.status_code == 422
    assert client.get(path, headers=auth(acme.admin)).json()["source_uri"] == source["source_uri"]
    assert client.put(f"{base(acme.id)}/no-such-id", headers=auth(acme.admin), json={}).status_code == 404


def test_sync_returns_202_with_the_run_and_runs_page_newest_first(client, make_tenant, export_dir, open_roots):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    source = create(client, acme.id, acme.admin, source_uri=str(export_dir)).json()
    first = sync_and_wait(client, acme.id, source["id"], acme.admin)
    assert RUN_FIELDS <= set(first)
    assert first["status"] == "succeeded", first
    assert first["trigger"] == "backfill" and first["from"] is None
    assert first["months"] == ["2026-10"] and first["row_count"] == 2 and first["files"] == 1
    assert first["billed_cost_by_month"] == {"2026-10": {"USD": "10.75"}}
    second = sync_and_wait(client, acme.id, source["id"], acme.admin)
    assert second["trigger"] == "manual"
    third = sync_and_wait(client, acme.id, source["id"], acme.admin, body={"from": "2026-01-01"})
    assert third["trigger"] == "backfill" and third["from"] == "2026-01-01"

    runs_path = f"{base(acme.id)}/{source['id']}/syncs"
    page = client.get(runs_path, headers=auth(acme.admin), params={"limit": 2}).json()
    assert [run["id"] for run in page["items"]] == [third["id"], second["id"]]
    rest = client.get(runs_path, headers=auth(acme.admin), params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [run["id"] for run in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    assert client.get(runs_path, headers=auth(acme.admin), params={"cursor": "garbage"}).status_code == 422

    shown = client.get(f"{base(acme.id)}/{source['id']}", headers=auth(acme.admin)).json()
    assert shown["last_status"] == "succeeded" and shown["last_row_count"] == 2 and UTC_Z.match(shown["last_synced_at"])


def test_a_future_from_date_or_a_bad_one_is_422(client, make_tenant, export_dir, open_roots):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    source = create(client, acme.id, acme.admin, source_uri=str(export_dir)).json()
    path = f"{base(acme.id)}/{source['id']}/sync"
    assert client.post(path, headers=auth(acme.admin), json={"from": "2999-01-01"}).status_code == 422
    assert client.post(path, headers=auth(acme.admin), json={"from": "yesterday"}).status_code == 422


def test_a_second_sync_while_one_runs_is_409_naming_the_run(client, make_tenant, export_dir, open_roots, settings):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from costlake.catalog import open_catalog
    from costlake.catalog.runs import start_run

    acme = make_tenant("acme")
    source = create(client, acme.id, acme.admin, source_uri=str(export_dir)).json()
    catalog = open_catalog(settings)
    holder = start_run(
        catalog, catalog_source(catalog, source["id"]), trigger="manual", from_date=None, owner="elsewhere", lease=timedelta(minutes=5)
    )
    catalog.close()
    response = client.post(f"{base(acme.id)}/{source['id']}/sync", headers=auth(acme.admin))
    assert response.status_code == 409
    assert response.json()["run_id"] == holder.id and holder.id in response.json()["detail"]
    removal = client.delete(f"{base(acme.id)}/{source['id']}", headers=auth(acme.admin))
    assert removal.status_code == 409


def catalog_source(catalog, source_id):  # type: ignore[no-untyped-def]
    from costlake.catalog.models import BillingSource

    with catalog.session() as session:
        return session.get(BillingSource, source_id)


def test_delete_removes_the_source_and_its_runs(client, make_tenant, export_dir, open_roots):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    source = create(client, acme.id, acme.admin, source_uri=str(export_dir)).json()
    sync_and_wait(client, acme.id, source["id"], acme.admin)
    response = client.delete(f"{base(acme.id)}/{source['id']}", headers=auth(acme.admin))
    assert response.status_code == 204 and response.content == b""
    assert client.get(f"{base(acme.id)}/{source['id']}", headers=auth(acme.admin)).status_code == 404
    assert client.get(f"{base(acme.id)}/{source['id']}/syncs", headers=auth(acme.admin)).status_code == 404
    assert client.delete(f"{base(acme.id)}/{source['id']}", headers=auth(acme.admin)).status_code == 404


def test_openapi_documents_the_paths(client):  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    assert "/api/v1/tenants/{tenant_id}/billing-sources/{source_id}/sync" in spec["paths"]
    assert "/api/v1/me" in spec["paths"]
