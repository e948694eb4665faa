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

_WHY = {
    400: "The request cannot be read (e.g. a body that is not the declared type)",
    403: "The token's role may not do this",
    404: "No such tenant (or not the caller's), or no such object in it",
    409: "Conflicts with what is running or stored",
    413: "The body is too large",
    422: "Invalid input; `detail` names the field or line",
}


def answers(*codes: int, why: dict[int, str] | None = None) -> Responses:
    """The statuses a route may answer besides its success; `why` words some of them for a router's objects."""
    return {code: {"description": (why or {}).get(code, _WHY[code])} for code in codes}
