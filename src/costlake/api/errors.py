"""Domain errors to HTTP answers. Bad input is a 4xx naming what was wrong, never a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException

from costlake.errors import Conflict, Forbidden, InvalidInput, NotFound
from costlake.query.cache import Busy

log = logging.getLogger(__name__)

UNSTORABLE = (
    "a value in the request cannot be stored or looked up (a NUL character in text, or a number out of range); "
    "send text without NUL characters and numbers within the documented range"
)


def install_error_handlers(app: FastAPI) -> None:
    # The schemas refuse NUL characters and huge numbers where they know the field; this is the net under the rest:
    # such a value reaches the catalog database only as bad input, so it is a 422, not a 500.
    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def unstorable(request: Request, error: Exception) -> JSONResponse:
        log.warning("refused %s %s: %s", request.method, request.url.path, type(error).__name__)
        return JSONResponse({"detail": [{"loc": ["body"], "msg": UNSTORABLE, "type": "value_error"}]}, status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, error: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, error: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=403)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, error: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(error), "run_id": error.run_id}, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the submitted value ("input"): a request body may carry a secret.
        detail = [{key: value for key, value in item.items() if key not in ("input", "ctx")} for item in error.errors()]
        return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)

    @app.exception_handler(Busy)
    async def busy(_: Request, error: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        # A body that is not text (FastAPI's 400) is malformed input like any other: the same 422 as invalid JSON.
        if error.status_code == 400 and error.detail == "There was an error parsing the body":
            detail = [{"loc": ["body"], "msg": "the request body is not UTF-8 JSON; send a JSON object", "type": "json_invalid"}]
            return JSONResponse({"detail": detail}, status_code=422)
        return await http_exception_handler(request, error)

    @app.exception_handler(InvalidInput)
    async def invalid(_: Request, error: InvalidInput) -> JSONResponse:
        # The same shape FastAPI uses for its own validation errors, so clients parse one format; a dotted field
        # ("dimensions.2.rules.0.map") is a path, like pydantic's.
        path = [int(part) if part.isdigit() else part for part in error.field.split(".")]
        detail = [{"loc": ["body", *path], "msg": str(error), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)
