"""Issue 14, finding 1 (and the OpenAPI contract): schemathesis against the whole REST API.

Every operation of the OpenAPI document gets generated requests, valid and invalid (examples, coverage and
fuzzing phases), as a tenant admin, against a tenant that has a billing source (so paths reach real data, not only
404s); then sequences of calls linked by the ids one call returns and the next takes (stateful). Any 5xx, any status the OpenAPI does not
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
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from conftest import auth
from costlake.app import create_app
from focus_files import focus_row, write_csv

EXAMPLES = int(os.environ.get("COSTLAKE_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


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
    case.call_and_validate(headers=auth(acme.admin), checks=CHECKS)


def test_sequences_of_calls_never_answer_5xx_or_an_undeclared_status(api) -> None:  # type: ignore[no-untyped-def]
    """Stateful: schemathesis chains calls by the links it infers (a created source's id into the calls that take
    one, a run's id into the run's page), so states only a sequence reaches are fuzzed too."""
    app, acme, _ = api
    machine = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/").as_state_machine()

    class AsTenantAdmin(machine):  # type: ignore[misc, valid-type]
        def before_call(self, case) -> None:  # type: ignore[no-untyped-def]
            if "tenant_id" in (case.path_parameters or {}):
                case.path_parameters["tenant_id"] = acme.id

        def get_call_kwargs(self, case) -> dict:  # type: ignore[no-untyped-def, type-arg]
            return {"headers": auth(acme.admin)}

        def validate_response(self, response, case, additional_checks=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
            case.validate_response(response, checks=CHECKS)

    run_state_machine_as_test(AsTenantAdmin, settings=settings(
        max_examples=max(EXAMPLES // 2, 5), stateful_step_count=8, deadline=None, suppress_health_check=list(HealthCheck)))
