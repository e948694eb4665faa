"""Syncing exports that live in S3, GCS and Azure (real emulators), and keeping the lake itself in an object store."""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import sync_and_wait
from costlake.months import add_months, current_month
from focus_files import focus_row, write_csv
from lake_reader import billed_by_month

NOW = current_month()
PREVIOUS = add_months(NOW, -1)


def parquet_bytes(rows: list[dict[str, str]]) -> bytes:
    columns = list(rows[0])
    table = pa.table({name: pa.array([row[name] for row in rows], pa.string()) for name in columns})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def csv_gz_bytes(rows: list[dict[str, str]]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return gzip.compress(text.getvalue().encode())


def seed_export(server, bucket: str) -> None:  # type: ignore[no-untyped-def]
    server.upload(bucket, f"focus/data/BILLING_PERIOD={PREVIOUS}/part-1.parquet", parquet_bytes([focus_row(PREVIOUS, "1.10")]))
    server.upload(bucket, f"focus/data/BILLING_PERIOD={NOW}/part-1.parquet", parquet_bytes([focus_row(NOW, "2.20")]))
    server.upload(bucket, f"focus/data/BILLING_PERIOD={NOW}/part-2.csv.gz", csv_gz_bytes([focus_row(NOW, "3.30")]))
    server.upload(bucket, "focus/metadata/manifest.json", b"{}")


STORES = {
    "s3": ("s3_env", lambda bucket: f"s3://{bucket}"),
    "gs": ("gcs_env", lambda bucket: f"gs://{bucket}"),
    "gcs": ("gcs_env", lambda bucket: f"gcs://{bucket}"),
    "abfss": ("azurite_env", lambda bucket: f"abfss://{bucket}@devstoreaccount1.dfs.core.windows.net"),
    "az": ("azurite_env", lambda bucket: f"az://{bucket}"),
}


@pytest.fixture(params=sorted(STORES))
def store(request, settings):  # type: ignore[no-untyped-def]
    fixture, root_of = STORES[request.param]
    server = request.getfixturevalue(fixture)
    settings.s3_endpoint_url = server.env.get("COSTLAKE_S3_ENDPOINT_URL")
    bucket = server.create_bucket()
    seed_export(server, bucket)
    return server, root_of(bucket)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("focus/data/**/*.parquet", {PREVIOUS: Decimal("1.10"), NOW: Decimal("2.20")}),
        ("focus/data/*/part-?.*", {PREVIOUS: Decimal("1.10"), NOW: Decimal("5.50")}),
        ("focus/data", {PREVIOUS: Decimal("1.10"), NOW: Decimal("5.50")}),
    ],
)
def test_sync_reads_object_store_exports_with_globs(store, pattern, expected, operator_client, make_tenant, settings):  # type: ignore[no-untyped-def]
    _server, root = store
    acme = make_tenant("acme")
    response = operator_client.post(
        "/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": f"{root}/{pattern}"}
    )
    assert response.status_code == 201, response.text
    run = sync_and_wait(operator_client, "acme", response.json()["id"])
    assert run["status"] == "succeeded", run
    assert billed_by_month(settings, acme.id) == expected


def test_a_missing_bucket_is_refused_at_add_time_and_fails_a_later_sync(s3_env, operator_client, make_tenant, settings):  # type: ignore[no-untyped-def]
    settings.s3_endpoint_url = s3_env.env["COSTLAKE_S3_ENDPOINT_URL"]
    make_tenant("acme")
    uri = "s3://no-such-bucket-here/focus/*.parquet"
    refused = operator_client.post("/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": uri})
    assert refused.status_code == 422
    assert "no-such-bucket-here" in refused.json()["detail"][0]["msg"]
    later = operator_client.post(
        "/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": uri, "validate": False}
    ).json()
    run = sync_and_wait(operator_client, "acme", later["id"])
    assert run["status"] == "failed" and "no-such-bucket-here" in run["error"]


def test_unreadable_bucket_fails_with_an_access_message(s3_env, operator_client, make_tenant, settings, monkeypatch):  # type: ignore[no-untyped-def]
    settings.s3_endpoint_url = s3_env.env["COSTLAKE_S3_ENDPOINT_URL"]
    bucket = s3_env.create_bucket()
    seed_export(s3_env, bucket)
    make_tenant("acme")
    source = operator_client.post(
        "/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": f"s3://{bucket}/focus/data"}
    ).json()
    # A bucket policy that denies everything to everyone.
    s3 = boto3.client("s3", endpoint_url=s3_env.endpoint, region_name="us-east-1")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    run = sync_and_wait(operator_client, "acme", source["id"])
    s3.delete_bucket_policy(Bucket=bucket)
    assert run["status"] == "failed"
    assert bucket in run["error"] and "access denied" in run["error"], run["error"]


@pytest.mark.parametrize("lake_env", ["s3_env", "azurite_env"])
def test_the_lake_itself_can_live_in_an_object_store(lake_env, request, make_tenant, settings, tmp_path):  # type: ignore[no-untyped-def]
    server = request.getfixturevalue(lake_env)
    settings.s3_endpoint_url = server.env.get("COSTLAKE_S3_ENDPOINT_URL")
    bucket = server.create_bucket()
    settings.lake_uri = f"s3://{bucket}/lake" if lake_env == "s3_env" else f"az://{bucket}/lake"
    settings.__dict__.pop("lake_root", None)
    acme = make_tenant("acme")
    operator_client = request.getfixturevalue("operator_client")  # an app started with the lake in the object store
    write_csv(tmp_path / "export" / "a.csv", [focus_row(PREVIOUS, "1", Tags="{}"), focus_row(NOW, "2", Tags="{}")])
    source = operator_client.post(
        "/api/v1/tenants/acme/billing-sources", json={"provider": "aws", "source_uri": str(tmp_path / "export")}
    ).json()
    assert sync_and_wait(operator_client, "acme", source["id"])["status"] == "succeeded"
    assert operator_client.get("/api/v1/tenants/acme/costs/dimensions").json()["tag_keys"] == []
    write_csv(tmp_path / "export" / "a.csv", [focus_row(PREVIOUS, "1", Tags="{}"), focus_row(NOW, "3", Tags='{"team": "payments"}')])
    assert sync_and_wait(operator_client, "acme", source["id"])["status"] == "succeeded"
    assert billed_by_month(settings, acme.id) == {PREVIOUS: Decimal(1), NOW: Decimal(3)}
    tag_keys = operator_client.get("/api/v1/tenants/acme/costs/dimensions").json()["tag_keys"]
    assert tag_keys == [{"key": "team", "coverage": 0.75}]  # read per file of the lake (query/tag_coverage.py)
    assert server.client.find(f"{bucket}/lake/{acme.id}/_delta_log")
    assert operator_client.delete(f"/api/v1/tenants/acme/billing-sources/{source['id']}").status_code == 204
    assert billed_by_month(settings, acme.id) == {}
