"""Operator commands: they work on the catalog directly (local home or COSTLAKE_DATABASE_URL), with no token,
because they are how the first token comes to exist."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import typer
from sqlalchemy import make_url

from costlake.catalog import Catalog, open_catalog
from costlake.catalog import tenants as tenant_rows
from costlake.catalog.models import ApiToken, Tenant
from costlake.cli.common import TenantOption, current_settings
from costlake.cli.output import OutputOption, emit
from costlake.text import utc_text

tenant_app = typer.Typer(help="Tenants (operator: local catalog, no token).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of a tenant (operator: local catalog, no token).", no_args_is_help=True)


class Role(str, Enum):
    admin = "admin"
    member = "member"


@contextmanager
def _catalog() -> Iterator[Catalog]:
    catalog = open_catalog(current_settings())
    try:
        yield catalog
    finally:
        catalog.close()


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)


def _tenant(tenant: Tenant, *, prefixes: bool = True) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": tenant.id, "name": tenant.name, "created_at": _utc(tenant.created_at)}
    if prefixes:
        fields["allowed_uri_prefixes"] = tenant.allowed_uri_prefixes
    return fields


def _token(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "tenant_id": token.tenant_id,
        "role": token.role,
        "name": token.name,
        "created_at": _utc(token.created_at),
        "revoked_at": _utc(token.revoked_at),
    }


def init(output: OutputOption = None) -> None:
    """Create the home and the catalog (or bring the catalog up to date). Safe to run again."""
    settings = current_settings()
    open_catalog(settings).close()
    catalog_url = make_url(settings.catalog_url).render_as_string(hide_password=True)
    emit({"home": str(settings.home), "catalog_url": catalog_url, "lake_uri": settings.lake_root}, output)


@tenant_app.command("create")
def create_tenant(name: Annotated[str, typer.Argument(metavar="NAME")], output: OutputOption = None) -> None:
    """Create a tenant. Its name is unique and must not look like a UUID (ids and names are both accepted)."""
    with _catalog() as catalog:
        emit(_tenant(tenant_rows.create_tenant(catalog, name), prefixes=False), output)


@tenant_app.command("list")
def list_tenants(output: OutputOption = None) -> None:
    """Every tenant, by name."""
    with _catalog() as catalog:
        emit([_tenant(tenant) for tenant in tenant_rows.list_tenants(catalog)], output)


@tenant_app.command("update")
def update_tenant(
    tenant: Annotated[str, typer.Argument(metavar="TENANT", help="The tenant's id or name.")],
    allow_uri_prefix: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URI",
            help="A URI prefix (e.g. s3://bucket/prefix) under which the tenant's own API calls may use the server's "
            "cloud credentials. Repeatable; the list becomes exactly the prefixes given (none clears it).",
        ),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Change the operator-only settings of a tenant."""
    with _catalog() as catalog:
        emit(_tenant(tenant_rows.set_allowed_uri_prefixes(catalog, tenant, allow_uri_prefix or [])), output)


@token_app.command("create")
def create_token(
    tenant: TenantOption,
    role: Annotated[Role, typer.Option(help="admin may manage billing sources; member may not.")],
    name: Annotated[str | None, typer.Option(help="A label to recognize the token by.")] = None,
    output: OutputOption = None,
) -> None:
    """Create an API token. The token itself is printed this once and cannot be shown again."""
    with _catalog() as catalog:
        token, secret = tenant_rows.create_token(catalog, tenant, role.value, name)
    emit(
        {"id": token.id, "tenant_id": token.tenant_id, "role": token.role, "name": token.name, "token": secret}, output
    )


@token_app.command("list")
def list_tokens(tenant: TenantOption, output: OutputOption = None) -> None:
    """The tenant's tokens (never the tokens themselves: only their ids and labels)."""
    with _catalog() as catalog:
        emit([_token(token) for token in tenant_rows.list_tokens(catalog, tenant)], output)


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(metavar="TOKEN_ID")], output: OutputOption = None
) -> None:
    """Revoke a token by its id; requests with it get 401 from now on."""
    with _catalog() as catalog:
        emit(_token(tenant_rows.revoke_token(catalog, token_id)), output)
