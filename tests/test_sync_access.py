"""Issue 14, finding 2: the access policy runs again at every sync, on the resolved path of every file opened.

A tenant's source that passed the checks when it was added must not reach further later: a folder or a file
inside an allowed root swapped for a symlink to elsewhere, or an allowed prefix the operator took back, fails the
run naming the rule, and nothing is read.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import auth, sync_and_wait
from costlake.catalog import open_catalog
from costlake.catalog.tenants import set_allowed_uri_prefixes
from costlake.months import current_month
from focus_files import focus_row, write_csv
from lake_reader import billed_by_month

MONTH = current_month()


def base(tenant: str) -> str:
    return f"/api/v1/tenants/{tenant}/billing-sources"


@pytest.fixture
def roots(tmp_path: Path, settings) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    write_csv(allowed / "export" / "ours.csv", [focus_row(MONTH, "1.00")])
    write_csv(outside / "secret" / "theirs.csv", [focus_row(MONTH, "777.00")])
    settings.allowed_local_roots = [allowed]
    return allowed, outside


def _added_and_synced(client, tenant, folder: Path) -> str:  # type: ignore[no-untyped-def]
    created = client.post(base(tenant.id), headers=auth(tenant.admin), json={"provider": "aws", "source_uri": str(folder)})
    assert created.status_code == 201, created.text
    first = sync_and_wait(client, tenant.id, created.json()["id"], tenant.admin)
    assert first["status"] == "succeeded", first
    return created.json()["id"]


def test_a_folder_swapped_for_a_symlink_after_add_is_not_read(client, make_tenant, roots, settings):  # type: ignore[no-untyped-def]
    allowed, outside = roots
    acme = make_tenant("acme")
    source_id = _added_and_synced(client, acme, allowed / "export")
    shutil.rmtree(allowed / "export")
    (allowed / "export").symlink_to(outside / "secret", target_is_directory=True)
    run = sync_and_wait(client, acme.id, source_id, acme.admin)
    assert run["status"] == "failed", run
    assert "COSTLAKE_ALLOWED_LOCAL_ROOTS" in run["error"] and str(outside / "secret") in run["error"], run["error"]
    assert billed_by_month(settings, acme.id) == {MONTH: Decimal("1.00")}


def test_a_file_swapped_for_a_symlink_after_add_is_not_read(client, make_tenant, roots, settings):  # type: ignore[no-untyped-def]
    allowed, outside = roots
    acme = make_tenant("acme")
    source_id = _added_and_synced(client, acme, allowed / "export" / "ours.csv")
    (allowed / "export" / "ours.csv").unlink()
    (allowed / "export" / "ours.csv").symlink_to(outside / "secret" / "theirs.csv")
    run = sync_and_wait(client, acme.id, source_id, acme.admin)
    assert run["status"] == "failed", run
    assert "COSTLAKE_ALLOWED_LOCAL_ROOTS" in run["error"], run["error"]
    assert billed_by_month(settings, acme.id) == {MONTH: Decimal("1.00")}


def test_a_root_the_operator_closed_is_not_read_any_more(client, make_tenant, roots, settings):  # type: ignore[no-untyped-def]
    allowed, _ = roots
    acme = make_tenant("acme")
    source_id = _added_and_synced(client, acme, allowed / "export")
    settings.allowed_local_roots = []
    run = sync_and_wait(client, acme.id, source_id, acme.admin)
    assert run["status"] == "failed" and "COSTLAKE_ALLOWED_LOCAL_ROOTS" in run["error"], run


def test_the_operators_own_sources_may_still_name_any_path(operator_client, make_tenant, roots, settings):  # type: ignore[no-untyped-def]
    _, outside = roots
    make_tenant("acme")
    created = operator_client.post(base("acme"), json={"provider": "aws", "source_uri": str(outside / "secret")})
    assert created.status_code == 201, created.text
    run = sync_and_wait(operator_client, "acme", created.json()["id"])
    assert run["status"] == "succeeded", run


def test_a_prefix_the_operator_took_back_is_not_read_any_more(client, make_tenant, settings, s3_env):  # type: ignore[no-untyped-def]
    settings.s3_endpoint_url = s3_env.env.get("COSTLAKE_S3_ENDPOINT_URL")
    bucket = s3_env.create_bucket()
    s3_env.upload(bucket, "focus/one.csv", (
        "BilledCost,ChargePeriodStart,BillingCurrency,BillingPeriodStart\n"
        f"5.00,{MONTH}-02T00:00:00Z,USD,{MONTH}-01T00:00:00Z\n"
    ).encode())
    acme = make_tenant("acme")
    catalog = open_catalog(settings)
    try:
        set_allowed_uri_prefixes(catalog, "acme", [f"s3://{bucket}/focus"])
        source_id = _added_and_synced(client, acme, f"s3://{bucket}/focus")  # type: ignore[arg-type]
        set_allowed_uri_prefixes(catalog, "acme", [])
    finally:
        catalog.close()
    run = sync_and_wait(client, acme.id, source_id, acme.admin)
    assert run["status"] == "failed", run
    assert "allow-uri-prefix" in run["error"] and run["files"] == 0, run
    assert billed_by_month(settings, acme.id) == {MONTH: Decimal("5.00")}
