"""The CLI speaks only the REST API: to a server over HTTP, or to the same app run in-process as the operator."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import typer
from starlette.exceptions import StarletteDeprecationWarning

from costlake.cli.common import current_settings
from costlake.errors import CostlakeError


class ApiError(CostlakeError):
    """A 4xx/5xx answer; the message is the API's `detail` on one line, with the HTTP status only when there was a
    server to speak HTTP with (in-process, the status means nothing to the person at the terminal)."""

    def __init__(self, status: int, message: str, *, over_http: bool = True, payload: Any = None) -> None:
        super().__init__(f"{message} (HTTP {status})" if over_http else message)
        self.status = status
        self.message = message
        self.payload = payload if isinstance(payload, dict) else None  # the answer's JSON body, e.g. a 409's run_id


class ApiClient:
    def __init__(self, http: httpx.Client, *, local: bool = False) -> None:
        self._http = http
        self.local = local  # the API runs in this process, against the local home

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None, content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """The parsed JSON body (None for 204), or ApiError. `content` sends raw bytes (e.g. a CSV file) instead of JSON."""
        query = {key: value for key, value in (params or {}).items() if value is not None}
        headers = {"Content-Type": content_type} if content_type else None
        try:
            response = self._http.request(method, path, json=json, params=query, content=content, headers=headers)
        except httpx.TransportError as error:
            raise CostlakeError(f"cannot reach the costlake server at {self._http.base_url}: {error}") from None
        if response.is_error:
            raise ApiError(response.status_code, _detail(response), over_http=not self.local, payload=_json(response))
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def put(self, path: str, json: Any) -> Any:
        return self.request("PUT", path, json=json)

    def delete(self, path: str) -> None:
        self.request("DELETE", path)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        detail = response.text.strip() or response.reason_phrase
    if isinstance(detail, list):  # FastAPI's 422 shape: name each field
        detail = "; ".join(_located(error.get("loc", []), _message(error.get("msg", ""))) for error in detail)
    return " ".join(str(detail).split())


_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def _message(msg: str) -> str:
    # pydantic prefixes a validator's own words with "Value error, "; the words are what a person needs.
    return msg.removeprefix("Value error, ")


def _located(loc: list[Any], message: str) -> str:
    """"field: message", unless the message already starts with where it is (e.g. "line 3: ...")."""
    field = _field(loc)
    return message if message.startswith(f"{field}:") else f"{field}: {message}"


def _field(loc: list[Any]) -> str:
    # ["body", "source_uri"] -> "source_uri"; ["query", "limit"] -> "limit"
    names = [str(part) for part in loc]
    if names and names[0] in _LOCATIONS:
        names = names[1:]
    return ".".join(names) or "body"


@dataclass(frozen=True)
class Connection:
    """Where the API is: a server (`--server`/`--token`, or COSTLAKE_URL/COSTLAKE_TOKEN), or in-process if neither."""

    server: str | None = None
    token: str | None = None

    @property
    def local(self) -> bool:
        return not (self.server and self.token)

    @contextmanager
    def open(self) -> Iterator[ApiClient]:
        with self._http() as http:
            yield ApiClient(http, local=self.local)

    def _http(self) -> httpx.Client:
        if self.server and self.token:
            headers = {"Authorization": f"Bearer {self.token}"}
            return httpx.Client(base_url=self.server, headers=headers, timeout=httpx.Timeout(60, connect=10))
        if self.server or self.token:
            raise typer.BadParameter(
                "give both (or COSTLAKE_URL and COSTLAKE_TOKEN) to use a server, or neither to use the local home",
                param_hint="'--server' / '--token'",
            )
        # Imported here: the app pulls in the sync engine, which operator-only commands never need.
        from costlake.app import create_app

        with warnings.catch_warnings():
            # Starlette asks for httpx2 over httpx; either drives the app the same way, and users cannot act on it.
            warnings.simplefilter("ignore", StarletteDeprecationWarning)
            from starlette.testclient import TestClient

        # As a context manager it runs the app's lifespan; leaving it waits for syncs still running.
        return TestClient(create_app(current_settings(), operator=True), raise_server_exceptions=False)


@contextmanager
def api_for(ctx: typer.Context) -> Iterator[ApiClient]:
    """The API client for a command, from the connection the root command set up."""
    connection: Connection = ctx.obj
    with connection.open() as api:
        yield api
