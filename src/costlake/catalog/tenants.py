"""Tenants and their API tokens. Tokens are shown once and stored only as a SHA-256 hash.

A token that authenticated and a tenant found by id are kept a few seconds (catalog/recent.py).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from costlake.catalog.database import Catalog
from costlake.catalog.models import ApiToken, Tenant, utcnow
from costlake.catalog.recent import forget, recalled, remember
from costlake.errors import Conflict, InvalidInput, NotFound
from costlake.storage import UnsupportedUriError, parse_uri

ROLES = ("admin", "member")
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
TOKEN_PREFIX = "clk_"


def recent_token(secret: str) -> ApiToken | None:
    """The token of `secret` if it authenticated a moment ago (no catalog read)."""
    return recalled(("token", hash_token(secret)))


def recent_tenant(ref: str) -> Tenant | None:
    """The tenant with id `ref` if it was found a moment ago (no catalog read)."""
    return recalled(("tenant", ref))


def _looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def hash_token(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; no salt needed to resist guessing.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_tenant(catalog: Catalog, name: str) -> Tenant:
    if not _TENANT_NAME.fullmatch(name) or _looks_like_uuid(name):
        raise InvalidInput(
            "name",
            f"invalid tenant name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, and not shaped like a UUID",
        )
    try:
        with catalog.session() as session:
            tenant = Tenant(name=name)
            session.add(tenant)
    except IntegrityError:
        raise Conflict(f"a tenant named {name!r} already exists; pick another name") from None
    return tenant


def list_tenants(catalog: Catalog) -> list[Tenant]:
    with catalog.session() as session:
        return list(session.scalars(select(Tenant).order_by(Tenant.name)))


def find_tenant(catalog: Catalog, ref: str) -> Tenant | None:
    """A tenant by id or by name: both are accepted everywhere a tenant is named."""
    with catalog.session() as session:
        tenant = session.scalars(select(Tenant).where(or_(Tenant.id == ref, Tenant.name == ref))).first()
    if tenant is not None and tenant.id == ref:  # by id only: a name can be taken by another tenant later
        remember(("tenant", ref), tenant)
    return tenant


def resolve_tenant(catalog: Catalog, ref: str) -> Tenant:
    tenant = find_tenant(catalog, ref)
    if tenant is None:
        raise NotFound(f"no tenant {ref!r}; `costlake tenant list` shows the tenants")
    return tenant


def set_allowed_uri_prefixes(catalog: Catalog, ref: str, prefixes: list[str]) -> Tenant:
    """Object-store prefixes whose files the server may read for this tenant with its own identity."""
    normalized = []
    for prefix in prefixes:
        try:
            location = parse_uri(prefix)
        except UnsupportedUriError as error:
            raise InvalidInput("allow_uri_prefix", str(error)) from None
        if location.scheme == "file" or location.has_glob:
            raise InvalidInput(
                "allow_uri_prefix",
                f"{prefix!r}: allowed prefixes are object-store URIs without globs (s3://bucket/prefix); "
                "local folders are opened to tenants with COSTLAKE_ALLOWED_LOCAL_ROOTS",
            )
        normalized.append(location.uri.rstrip("/"))
    prefixes = normalized
    tenant = resolve_tenant(catalog, ref)
    with catalog.session() as session:
        stored = session.get_one(Tenant, tenant.id)
        stored.allowed_uri_prefixes = sorted(set(prefixes))
    forget()
    return stored


def create_token(catalog: Catalog, tenant_ref: str, role: str, name: str | None = None) -> tuple[ApiToken, str]:
    """Returns the stored token and its secret, which is never available again."""
    if role not in ROLES:
        raise InvalidInput("role", f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    tenant = resolve_tenant(catalog, tenant_ref)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog.session() as session:
        token = ApiToken(tenant_id=tenant.id, role=role, name=name, token_hash=hash_token(secret))
        session.add(token)
    return token, secret


def list_tokens(catalog: Catalog, tenant_ref: str) -> list[ApiToken]:
    tenant = resolve_tenant(catalog, tenant_ref)
    with catalog.session() as session:
        query = select(ApiToken).where(ApiToken.tenant_id == tenant.id).order_by(ApiToken.created_at)
        return list(session.scalars(query))


def revoke_token(catalog: Catalog, token_id: str) -> ApiToken:
    with catalog.session() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"no token {token_id!r}; `costlake token list --tenant T` shows token ids")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
    forget()
    return token


def authenticate(catalog: Catalog, secret: str) -> ApiToken | None:
    digest = hash_token(secret)
    with catalog.session() as session:
        token = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if token is None or token.revoked_at is not None:
        return None
    remember(("token", digest), token)
    return token
