"""Console pages: sign in and out, Explorer, Dashboards, Metrics, Events, Tags, Allocation, Billing sources and Data health.

The pages are HTML shells rendered here; their data comes from the REST API, which the page's script calls on the
same origin with the session cookie (see `costlake.api.auth`: the cookie's value is the API token, and requests
that change data add the console header). What the shells themselves need (who is signed in, the source kinds
the form offers) the server asks the same API for, in-process, with the same token. So the console is one more
client of the API, like the CLI: it reads no catalog, credential or registry of its own, and every permission is
the API's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from costlake import __version__
from costlake.api.session import CONSOLE_HEADER, SESSION_COOKIE

PREFIX = "/console"
HOME = f"{PREFIX}/explorer"
SIGN_IN = f"{PREFIX}/sign-in"
_HERE = Path(__file__).resolve().parent
_NOTICES = {
    "signed-out": "You are signed out.",
    "session-ended": "Your session ended: the token is no longer valid (revoked?). Sign in with a current token.",
}
_MAX_FORM_BYTES = 16 * 1024
_IN_PROCESS = "http://costlake.internal"  # the API's base URL for calls that never leave the process

Json = dict[str, Any]

templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(prefix=PREFIX, include_in_schema=False)

# Scripts and styles come only from our own origin: no inline script, so injected markup cannot run.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class ConsoleUser:
    tenant_id: str
    tenant_name: str
    role: str  # "admin" | "member"
    env_prefix: str  # the server's environment variables the tenant may name as a credential start with it
    external_id: str  # what the tenant's AWS roles require of the server
    token_id: str  # who made a view or dashboard: members change only their own, so the pages offer only those

    @property
    def admin(self) -> bool:
        return self.role == "admin"


# The nav, grouped by what a user comes to do; (path, label, admins only). Path and page name are the same.
NAV: tuple[tuple[str, tuple[tuple[str, str, bool], ...]], ...] = (
    ("Explore", (("explorer", "Explorer", False), ("dashboards", "Dashboards", False), ("metrics", "Metrics", False), ("events", "Events", False))),
    ("Allocate", (("tags", "Tags", False), ("allocation", "Allocation", False))),
    ("Watch", (("anomalies", "Anomalies", False), ("budgets", "Budgets", False), ("channels", "Channels", True))),
    ("Data", (("billing-sources", "Billing sources", True), ("data-health", "Data health", False))),
)


def nav_groups(user: ConsoleUser) -> list[tuple[str, list[tuple[str, str]]]]:
    """The nav entries this user may open (members do not see the admin pages)."""
    return [(group, [(path, label) for path, label, admin in links if user.admin or not admin]) for group, links in NAV]


templates.env.globals["nav_groups"] = nav_groups


def install_console(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=_HERE / "static"), name="console-static")
    app.add_api_route("/", _root, methods=["GET"], include_in_schema=False)
    app.add_api_route("/explorer", _shared_view, methods=["GET"], include_in_schema=False)
    app.add_api_route("/anomalies/{anomaly_id}", _anomaly_link, methods=["GET"], include_in_schema=False)
    app.add_api_route("/budgets/{budget_id}", _budget_link, methods=["GET"], include_in_schema=False)
    app.add_api_route("/channels", _channels_link, methods=["GET"], include_in_schema=False)


# Alert messages link to COSTLAKE_PUBLIC_URL + `/anomalies/{id}`, `/budgets/{id}` or `/channels`: the console's pages.
def _anomaly_link(anomaly_id: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/anomalies?id={quote(anomaly_id, safe='')}", status_code=303)


def _budget_link(budget_id: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/budgets", status_code=303)


def _channels_link() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/channels", status_code=303)


def _root() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


def _shared_view(request: Request) -> RedirectResponse:
    """A saved view's `url` (`/explorer?view=ID`, as the API hands it out) opens it in the console's explorer."""
    return RedirectResponse(f"{HOME}?{request.url.query}" if request.url.query else HOME, status_code=303)


# --- session ---------------------------------------------------------------------------------------------------


async def _api_get(request: Request, secret: str, path: str) -> httpx.Response:
    """Ask the REST API in-process as the token: the console knows only what the API answers that token."""
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=_IN_PROCESS) as api:
        return await api.get(path, headers={"Authorization": f"Bearer {secret}"})


async def _user_for(request: Request, secret: str | None) -> ConsoleUser | None:
    """The signed-in tenant and role for a token, as the API's /me tells them."""
    # Tokens are printable ASCII: anything else cannot be one, nor travel in a header.
    if not secret or not (secret.isascii() and secret.isprintable()):
        return None
    response = await _api_get(request, secret, "/api/v1/me")
    if response.status_code == 401:
        return None
    response.raise_for_status()
    me = response.json()
    if me["tenant_id"] is None or me["tenant_name"] is None:
        return None  # an operator's token, or one whose tenant is gone: the console shows one tenant
    return ConsoleUser(
        tenant_id=me["tenant_id"],
        tenant_name=me["tenant_name"],
        role=me["role"],
        env_prefix=me["env_prefix"],
        external_id=me["external_id"],
        token_id=me["token_id"],
    )


async def _source_kinds(request: Request, secret: str) -> Json:
    response = await _api_get(request, secret, "/api/v1/source-kinds")
    response.raise_for_status()
    return response.json()


def _labels(kinds: Json) -> dict[str, dict[str, str]]:
    """How people read every format and provider a source may name; the pages' scripts label sources with them."""
    formats = (kinds["default_format"], kinds["vendor_format"], *kinds["formats"])
    providers = (*kinds["providers"], *kinds["vendors"])
    return {
        "formats": {kind["name"]: kind["label"] for kind in formats},
        "providers": {kind["name"]: kind["label"] for kind in providers},
    }


def _set_session(response: Response, request: Request, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def _clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def _same_origin(request: Request) -> bool:
    """Refuse cross-site form posts (login CSRF, forced sign-out).

    Browsers say where a request comes from in Sec-Fetch-Site (which survives reverse proxies that rewrite Host);
    older ones only in Origin, compared with the host the request was sent to.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser form (curl, tests): nothing to forge
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")} - {None}
    return origin != "null" and urlsplit(origin).netloc in hosts


def _safe_next(target: str | None) -> str:
    """Only our own console pages: never an open redirect."""
    if (
        target
        and target.startswith(f"{PREFIX}/")
        and not target.startswith(f"{PREFIX}/sign-")
        and "\\" not in target
    ):
        return target
    return HOME


def _to_sign_in(request: Request, message: str | None = None) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"{SIGN_IN}?next={quote(here, safe='')}"
    if message:
        location += f"&message={message}"
    response = RedirectResponse(location, status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        _clear_session(response, request)
    return response


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    base: dict[str, Any] = {
        "version": __version__,
        "static": f"{PREFIX}/static",
        "console_header": CONSOLE_HEADER,
        "labels": {},
        "user": None,
        "page": None,
    }
    response = templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
    response.headers.update(_SECURITY_HEADERS)
    return response


async def _page(
    request: Request,
    template: str,
    page: str,
    *,
    admin_only: bool = False,
    forbidden: tuple[str, str] = (
        "Billing sources",
        "Billing sources are managed by the tenant's admins; you are signed in with a member token. "
        "Ask an admin to connect or change a source, or open Data health to see how each one is doing.",
    ),
    context: Callable[[Json], Json] = lambda kinds: {},
) -> Response:
    """A signed-in page; `context` adds what its template needs from the source kinds; `forbidden` (title, message)
    tells a member why an admin-only page is not theirs."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return _to_sign_in(request)
    user = await _user_for(request, secret)
    if user is None:
        return _to_sign_in(request, "session-ended")
    kinds = await _source_kinds(request, secret)
    signed_in = {"user": user, "page": page, "labels": _labels(kinds)}
    if admin_only and not user.admin:
        return _render(
            request,
            "forbidden.html",
            {
                **signed_in,
                "title": forbidden[0],
                "message": forbidden[1],
            },
            status_code=403,
        )
    return _render(request, template, {**signed_in, **context(kinds)})


# --- pages -----------------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def console_home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str | None = None, message: str | None = None) -> Response:
    user = await _user_for(request, request.cookies.get(SESSION_COOKIE))
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    notice = _NOTICES.get(message or "")  # fixed texts only: a link cannot put its own words on this page
    return _render(request, "sign_in.html", {"next": _safe_next(next), "notice": notice, "error": None})


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    if not _same_origin(request):
        return _render(
            request,
            "sign_in.html",
            {"next": HOME, "notice": None, "error": "Sign in from costlake's own sign-in page."},
            status_code=403,
        )
    body = await request.body()
    form = parse_qs(body[:_MAX_FORM_BYTES].decode("utf-8", "replace"), keep_blank_values=True)
    secret = (form.get("token") or [""])[0].strip()
    wanted = form.get("next")
    target = _safe_next(wanted[0] if wanted else None)
    if not secret:
        error = "Paste an API token to sign in."
    else:
        user = await _user_for(request, secret)
        if user is not None:
            response = RedirectResponse(target, status_code=303)
            _set_session(response, request, secret)
            return response
        error = (
            "That token is not valid: it may be mistyped or revoked. "
            "An operator can create one with `costlake token create --tenant NAME --role member`."
        )
    return _render(request, "sign_in.html", {"next": target, "notice": None, "error": error}, status_code=401)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    if not _same_origin(request):
        return Response("cross-site sign-out refused", status_code=403)
    response = RedirectResponse(f"{SIGN_IN}?message=signed-out", status_code=303)
    _clear_session(response, request)
    return response


# Pages that need nothing but the signed-in user: their script asks the API for the rest. Path, template and nav
# entry share the name.
PLAIN_PAGES = ("explorer", "dashboards", "metrics", "events", "tags", "allocation", "anomalies", "budgets", "data-health")


def _plain_page(page: str) -> Callable[[Request], Awaitable[Response]]:
    async def show(request: Request) -> Response:
        return await _page(request, f"{page.replace('-', '_')}.html", page)

    return show


for _page_name in PLAIN_PAGES:
    router.add_api_route(f"/{_page_name}", _plain_page(_page_name), methods=["GET"], response_class=HTMLResponse)


@router.get("/billing-sources", response_class=HTMLResponse)
async def billing_sources(request: Request) -> Response:
    return await _page(request, "billing_sources.html", "billing-sources", admin_only=True, context=_source_form)


def _source_form(kinds: Json) -> Json:
    """What the add-source form offers: exactly the kinds the API reads, each with the option keys it understands."""
    default = kinds["default_format"]["name"]  # detect the format from the export's files
    options = {kind["name"]: kind["options"] for kind in kinds["formats"] if kind["kind"] == "export"}
    formats = ([default] if default not in options else []) + list(options)
    return {
        "providers": [provider["name"] for provider in kinds["providers"]],
        # Vendor API sources take a credential instead of a URI: the form asks for each of its parts.
        "vendors": {
            vendor["name"]: {"parts": vendor["credential_parts"], "options": vendor["options"], "hint": vendor["credential_hint"]}
            for vendor in kinds["vendors"]
        },
        "formats": formats,
        "default_format": default,
        "format_options": {name: options.get(name, []) for name in formats},
    }


@router.get("/channels", response_class=HTMLResponse)
async def channels(request: Request) -> Response:
    return await _page(
        request,
        "channels.html",
        "channels",
        admin_only=True,
        forbidden=(
            "Channels",
            "Notification channels are managed by the tenant's admins; you are signed in with a member token. "
            "Anomalies and Budgets show what the channels are told.",
        ),
    )
