"""The error answers each route declares in the OpenAPI, so that a client (and the schemathesis test) knows every
status the API can give. Validation errors (422) are declared by FastAPI itself for routes that take input."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    detail: str


class ConflictOut(BaseModel):
    detail: str
    run_id: str | None


Responses = dict[int | str, dict[str, Any]]

# Any route behind a token: none, or not a valid one (declared on every router by api/app.py). Inbound hooks take a
# signature instead of a token.
SIGNED_IN: Responses = {401: {"model": ErrorOut, "description": "No API token, or not a valid one (inbound hooks: a missing or wrong signature)"}}
# A route under /tenants/{tenant_id}: a tenant the caller may not see answers exactly like one that does not exist.
TENANT: Responses = {**SIGNED_IN, 404: {"model": ErrorOut, "description": "No such tenant, or not the caller's"}}
# Admin-only routes; also a console session that changes data without the console's header.
ADMIN: Responses = {**TENANT, 403: {"model": ErrorOut, "description": "The token has the member role"}}
CONFLICT: Responses = {409: {"model": ConflictOut, "description": "A sync of this source is queued or running"}}
# A POST from a console session without the console's header (costlake.api.auth).
CHANGE: Responses = {403: {"model": ErrorOut, "description": "A console session that changes data must send the console's header"}}
# Cost queries: the tenant already has COSTLAKE_QUERY_CONCURRENCY queries running and none finished in time.
BUSY: Responses = {503: {"model": ErrorOut, "description": "Too many of this tenant's queries are running; retry shortly"}}
