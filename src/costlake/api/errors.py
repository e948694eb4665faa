"""Domain errors to HTTP answers. Bad input is a 4xx naming what was wrong, never a 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from costlake.errors import Conflict, Forbidden, InvalidInput, NotFound


def install_error_handlers(app: FastAPI) -> None:
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

    @app.exception_handler(InvalidInput)
    async def invalid(_: Request, error: InvalidInput) -> JSONResponse:
        # The same shape FastAPI uses for its own validation errors, so clients parse one format; a dotted field
        # ("dimensions.2.rules.0.map") is a path, like pydantic's.
        path = [int(part) if part.isdigit() else part for part in error.field.split(".")]
        detail = [{"loc": ["body", *path], "msg": str(error), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)
