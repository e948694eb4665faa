"""Issue 14, finding 1 (and the OpenAPI contract): schemathesis against the whole REST API.

Every operation of the OpenAPI document gets generated requests, valid and invalid, as a tenant admin, against a
tenant that has a billing source (so paths reach real data, not only 404s). Any 5xx, any status the OpenAPI does not
declare, or a response that does not match its declared schema fails the test. Bounded: a fixed number of
examples per operation, so the whole run takes a few minutes on two cores (COSTLAKE_FUZZ_EXAMPLES raises it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from conftest import auth
from costlake.app import create_app
from focus_files import focus_row, write_csv

EXAMPLES = int(os.environ.get("COSTLAKE_FUZZ_EXAMPLES", "25"))


@pytest.fixture
def api(settings, make_tenant, tmp_path: Path) -> Iterator[tuple]:  # type: ignore[no-untyped-def, type-arg]
    """The app with its services open, a tenant admin's token and one of its sources."""
    export = tmp_path / "export"
    write_csv(export / "a.csv", [focus_row("2026-10", "1.00")])
    settings.allowed_local_roots = [tmp_path]
    acme = make_tenant("acme")
    app = create_app(settings)
    with TestClient(app) as client:
        created = client.post(f"/api/v1/tenants/{acme.id}/billing-sources", headers=auth(acme.admin),
                              json={"provider": "aws", "source_uri": str(export)})
        assert created.status_code == 201, created.text
        yield app, acme, created.json()["id"]


@pytest.fixture
def api_schema(api):  # type: ignore[no-untyped-def]
    app, _, _ = api
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_answers_5xx_or_an_undeclared_status(case, api) -> None:  # type: ignore[no-untyped-def]
    _, acme, source_id = api
    if "tenant_id" in (case.path_parameters or {}):
        case.path_parameters["tenant_id"] = acme.id
    if "source_id" in (case.path_parameters or {}) and case.method.upper() != "DELETE":
        case.path_parameters["source_id"] = source_id
    case.call_and_validate(
        headers=auth(acme.admin), checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
    )
