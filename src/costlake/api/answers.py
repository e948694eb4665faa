"""The status codes a route may answer besides its success, declared in its OpenAPI `responses`."""

from __future__ import annotations

from typing import Any

_WHY = {
    400: "The request cannot be read (e.g. a body that is not the declared type)",
    403: "The token's role may not do this",
    404: "No such tenant (or not the caller's), or no such object in it",
    409: "Conflicts with what is running or stored",
    413: "The body is too large",
    422: "Invalid input; `detail` names the field or line",
}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"description": _WHY[code]} for code in codes}
