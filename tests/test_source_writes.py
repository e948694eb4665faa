"""Issue 14, finding 1: a write never leaves a billing source the API cannot show.

Null for a field that cannot be empty is a 422 naming it, before anything is stored; an integrity error is
reported as what it is; and every state the API can store reads back through the response model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import auth
from costlake.api.schemas import SourceOut
from costlake.catalog import open_catalog
from costlake.catalog import sources as source_rows
from costlake.errors import InvalidInput
from focus_files import focus_row, write_csv

NOT_NULL = ["provider", "source_uri", "format", "name", "window_months", "enabled", "options"]


def base(tenant: str) -> str:
    return f"/api/v1/tenants/{tenant}/billing-sources"


@pytest.fixture
def export_dir(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    write_csv(folder / "2026-10.csv", [focus_row("2026-10", "10.50")])
    settings.allowed_local_roots = [tmp_path]
    return folder


@pytest.fixture
def sources(client, make_tenant, export_dir):  # type: ignore[no-untyped-def]
    """An `auto` source added before its export existed (validate false), and a detected FOCUS one."""
    acme = make_tenant("acme")
    headers = auth(acme.admin)
    later = client.post(base(acme.id), headers=headers, json={"provider": "aws", "source_uri": str(export_dir / "later" / "*.csv"), "validate": False})
    focus = client.post(base(acme.id), headers=headers, json={"provider": "aws", "source_uri": str(export_dir)})
    assert later.status_code == focus.status_code == 201, (later.text, focus.text)
    assert later.json()["format"] == "auto" and focus.json()["format"] == "focus"
    return acme, [later.json(), focus.json()]


@pytest.mark.parametrize("field", NOT_NULL)
def test_null_for_a_field_that_cannot_be_empty_is_422_naming_it_and_stores_nothing(client, sources, field):  # type: ignore[no-untyped-def]
    acme, created = sources
    headers = auth(acme.admin)
    for source in created:
        path = f"{base(acme.id)}/{source['id']}"
        before = client.get(path, headers=headers).json()
        response = client.put(path, headers=headers, json={field: None})
        assert response.status_code == 422, response.text
        problem = response.json()["detail"][0]
        assert problem["loc"] == ["body", field] and "null" in problem["msg"], problem
        assert client.get(path, headers=headers).json() == before
    listed = client.get(base(acme.id), headers=headers)
    assert listed.status_code == 200 and len(listed.json()) == 2


def test_nullable_fields_may_be_cleared(client, sources):  # type: ignore[no-untyped-def]
    acme, created = sources
    path = f"{base(acme.id)}/{created[1]['id']}"
    cleared = client.put(path, headers=auth(acme.admin), json={"region": None, "storage_credential": None, "credential": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["region"] is None


def test_an_integrity_error_is_reported_as_its_cause_not_as_a_name_clash(settings, sources):  # type: ignore[no-untyped-def]
    acme, created = sources
    catalog = open_catalog(settings)
    try:
        with pytest.raises(InvalidInput) as missing:
            source_rows.update_source(catalog, acme.id, created[1]["id"], {"window_months": None})
        assert missing.value.field == "window_months" and "already exists" not in str(missing.value)
        with pytest.raises(InvalidInput) as taken:
            source_rows.update_source(catalog, acme.id, created[1]["id"], {"name": created[0]["name"]})
        assert taken.value.field == "name" and "already exists" in str(taken.value)
    finally:
        catalog.close()


# What a client may send in a PUT: valid values, nulls, wrong types and out-of-range values, for every field.
_VALUES = {
    "name": st.sampled_from([None, "", "renamed", "x" * 201, 7]),
    "region": st.sampled_from([None, "eu-west-1", "", "r" * 101]),
    "window_months": st.sampled_from([None, 1, 3, 0, 37, "2"]),
    "enabled": st.sampled_from([None, True, False, "no"]),
    "format": st.sampled_from([None, "auto", "focus", "aws-cur-2", "nonsense", "api"]),
    "options": st.sampled_from([None, {}, {"dataset": "amortized"}, {"nonsense": "1"}, {"a": 1}, []]),
    "source_uri": st.sampled_from([None, "", "s3://outside/x", "relative/path", "later"]),
    "credential": st.sampled_from([None, {"kind": "env", "name": "X"}]),
    "storage_credential": st.sampled_from([None, {"kind": "azure-sas", "sas_token": "sv=1"}]),
    "provider": st.sampled_from([None, "aws", "gcp"]),
    "validate": st.sampled_from([True, False]),
}
_BODIES = st.fixed_dictionaries({}, optional=_VALUES)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODIES, which=st.sampled_from([0, 1]))
def test_every_stored_state_reads_back_through_the_response_model(client, settings, sources, export_dir, body, which):  # type: ignore[no-untyped-def]
    acme, created = sources
    headers = auth(acme.admin)
    if body.get("source_uri") == "later":
        body["source_uri"] = str(export_dir / "later" / "*.csv")
    response = client.put(f"{base(acme.id)}/{created[which]['id']}", headers=headers, json=body)
    assert response.status_code in (200, 403, 422), (body, response.status_code, response.text)
    catalog = open_catalog(settings)
    try:
        for stored in source_rows.list_sources(catalog, acme.id):
            SourceOut.of(stored)  # raises on a state the API could not show
    finally:
        catalog.close()
    listed = client.get(base(acme.id), headers=headers)
    assert listed.status_code == 200, (body, listed.text)


def test_the_migration_repairs_a_source_an_earlier_write_left_with_options_null(settings, make_tenant):  # type: ignore[no-untyped-def]
    """Catalogs written before the fix may hold `options` JSON null; upgrading gives them back `{}`."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from costlake.catalog.database import MIGRATIONS_DIR

    acme = make_tenant("acme")
    catalog = open_catalog(settings)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with catalog.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
        with catalog.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO billing_sources (id, tenant_id, name, provider, format, source_uri, window_months, options, enabled, "
                "needs_backfill, created_at, updated_at) VALUES ('s1', :tenant, 'broken', 'aws', 'auto', '/x', 2, 'null', true, true, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"tenant": acme.id})
        catalog.migrate()
        (stored,) = source_rows.list_sources(catalog, acme.id)
        assert stored.options == {} and SourceOut.of(stored).options == {}
    finally:
        catalog.close()
