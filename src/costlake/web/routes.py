"""Console pages: sign in and out, Explorer, Billing sources and Data health.

The pages are HTML shells rendered here; their data comes from the REST API, which the page's script calls on the
same origin with the session cookie (see `costlake.api.auth`: the cookie's value is the API token, and requests
that change data add the console header). So the console is one more client of the API, like the CLI, and every
permission is the API's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from costlake import __version__
from costlake.api.auth import CONSOLE_HEADER, SESSION_COOKIE
from costlake.api.schemas import SourceCreate
from costlake.catalog.tenants import authenticate, find_tenant
from costlake.credentials.stored import tenant_env_prefix, tenant_external_id
from costlake.formats.contract import AUTO
from costlake.formats.registry import FORMAT_LABELS, FORMATS, PROVIDER_LABELS, PROVIDERS, VENDORS

PREFIX = "/console"
HOME = f"{PREFIX}/explorer"
SIGN_IN = f"{PREFIX}/sign-in"
_HERE = Path(__file__).resolve().parent
_NOTICES = {
    "signed-out": "You are signed out.",
    "session-ended": "Your session ended: the token is no longer valid (revoked?). Sign in with a current token.",
}
_MAX_FORM_BYTES = 16 * 1024

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

    @property
    def admin(self) -> bool:
        return self.role == "admin"


def install_console(app: FastAPI) -> None:
    app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=_HERE / "static"), name="console-static")
    app.add_api_route("/", _root, methods=["GET"], include_in_schema=False)


def _root() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


# --- session ---------------------------------------------------------------------------------------------------


def _user_for(request: Request, secret: str | None) -> ConsoleUser | None:
    """The signed-in tenant and role for a token, checked against the catalog exactly as the API checks it."""
    if not secret:
        return None
    catalog = request.app.state.services.catalog
    token = authenticate(catalog, secret)
    if token is None or token.tenant_id is None:
        return None
    tenant = find_tenant(catalog, token.tenant_id)
    if tenant is None:
        return None
    return ConsoleUser(tenant_id=tenant.id, tenant_name=tenant.name, role=token.role)


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
    base = {
        "version": __version__,
        "static": f"{PREFIX}/static",
        "console_header": CONSOLE_HEADER,
        "labels": {"formats": FORMAT_LABELS, "providers": PROVIDER_LABELS},
        "user": None,
        "page": None,
    }
    response = templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
    response.headers.update(_SECURITY_HEADERS)
    return response


async def _page(request: Request, template: str, page: str, *, admin_only: bool = False, **context: Any) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    user = await run_in_threadpool(_user_for, request, secret)
    if user is None:
        return _to_sign_in(request, "session-ended" if secret else None)
    if admin_only and not user.admin:
        return _render(
            request,
            "forbidden.html",
            {
                "user": user,
                "page": page,
                "title": "Billing sources",
                "message": (
                    "Billing sources are managed by the tenant's admins; you are signed in with a member token. "
                    "Ask an admin to connect or change a source, or open Data health to see how each one is doing."
                ),
            },
            status_code=403,
        )
    return _render(request, template, {"user": user, "page": page, **context})


# --- pages -----------------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def console_home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str | None = None, message: str | None = None) -> Response:
    user = await run_in_threadpool(_user_for, request, request.cookies.get(SESSION_COOKIE))
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
    target = _safe_next((form.get("next") or [None])[0])
    if not secret:
        error = "Paste an API token to sign in."
    else:
        user = await run_in_threadpool(_user_for, request, secret)
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


@router.get("/explorer", response_class=HTMLResponse)
async def explorer(request: Request) -> Response:
    return await _page(request, "explorer.html", "explorer")


@router.get("/billing-sources", response_class=HTMLResponse)
async def billing_sources(request: Request) -> Response:
    # Formats are plug-ins (the registry grows as formats land); each names the option keys it understands.
    default = _default_format()
    options = {name: list(spec.options) for name, spec in FORMATS.items()}
    formats = ([default] if default not in options else []) + list(options)
    # Vendor API sources take a credential instead of a URI: the form asks for each of its parts.
    vendors = {
        name: {"parts": list(connector.credential_parts), "options": list(connector.options), "hint": connector.credential_hint}
        for name, connector in VENDORS.items()
    }
    return await _page(
        request,
        "billing_sources.html",
        "billing-sources",
        admin_only=True,
        providers=PROVIDERS,
        vendors=vendors,
        formats=formats,
        default_format=default,
        format_options={name: options.get(name, []) for name in formats},
        # The tenant's own names, shown as hints: the variables it may name, the external ID its AWS roles require.
        env_prefix=tenant_env_prefix,
        external_id=tenant_external_id,
    )


def _default_format() -> str:
    """The format a new export gets when the request names none: the API's default, which (when it names none
    either) is to detect the format from the export's files."""
    default = SourceCreate.model_fields["format"].default
    return default if isinstance(default, str) else AUTO


@router.get("/data-health", response_class=HTMLResponse)
async def data_health(request: Request) -> Response:
    return await _page(request, "data_health.html", "data-health")
