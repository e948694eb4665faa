"""/digests: scheduled summaries of a view or dashboard, by email and Slack. Admins only (they send mail)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict

from costlake.api.auth import ServicesDep, admins_only
from costlake.api.responses import answers
from costlake.api.schemas_dashboards import DigestIn, DigestOut
from costlake.catalog import tenant_rows
from costlake.catalog.models import Dashboard, Digest, SavedView, Tenant
from costlake.digests.periods import latest_period
from costlake.digests.send import store_slack_url
from costlake.errors import InvalidInput

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}/digests", tags=["digests"])
AdminDep = Annotated[Tenant, admins_only("digests")]


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: bool = False


class SendOut(BaseModel):
    status: str
    period: str
    message: str


class PreviewOut(BaseModel):
    period: str
    text: str
    html: str


@router.post("", response_model=DigestOut, status_code=201, responses=answers(403, 404, 422))
def create_digest(body: DigestIn, tenant: AdminDep, services: ServicesDep) -> DigestOut:
    """The first scheduled send is the next period's: the period that already ended can be sent with /send."""
    if (body.view_id is None) == (body.dashboard_id is None):
        raise InvalidInput("view_id", "give view_id or dashboard_id (one of them)")
    if body.view_id:
        tenant_rows.get_row(services.catalog, SavedView, tenant.id, body.view_id)
    else:
        tenant_rows.get_row(services.catalog, Dashboard, tenant.id, body.dashboard_id or "")
    if not body.email_to and body.slack is None:
        raise InvalidInput("email_to", "give email_to recipients, a slack webhook, or both")
    slack = store_slack_url(body.slack.webhook_url, services.settings) if body.slack else None
    digest = Digest(
        tenant_id=tenant.id, name=body.name, frequency=body.frequency, view_id=body.view_id, dashboard_id=body.dashboard_id,
        email_to=list(body.email_to), slack=slack, enabled=body.enabled, last_period=latest_period(body.frequency, datetime.now(UTC)).key,
    )
    return DigestOut.of(tenant_rows.insert_row(services.catalog, digest))


@router.get("", response_model=list[DigestOut], responses=answers(403, 404))
def list_digests(tenant: AdminDep, services: ServicesDep) -> list[DigestOut]:
    return [DigestOut.of(digest) for digest in tenant_rows.list_rows(services.catalog, Digest, tenant.id)]


@router.get("/{digest_id}", response_model=DigestOut, responses=answers(403, 404))
def get_digest(digest_id: str, tenant: AdminDep, services: ServicesDep) -> DigestOut:
    return DigestOut.of(tenant_rows.get_row(services.catalog, Digest, tenant.id, digest_id))


@router.delete("/{digest_id}", status_code=204, response_class=Response, responses=answers(403, 404))
def delete_digest(digest_id: str, tenant: AdminDep, services: ServicesDep) -> Response:
    tenant_rows.delete_row(services.catalog, Digest, tenant.id, digest_id)
    return Response(status_code=204)


@router.post("/{digest_id}/send", response_model=SendOut, responses=answers(403, 404, 422))
def send_digest(digest_id: str, tenant: AdminDep, services: ServicesDep, body: Annotated[SendRequest | None, Body()] = None) -> Any:
    """Send the latest ended period now; on incomplete data it waits (status "waiting") unless `force`."""
    digest = tenant_rows.get_row(services.catalog, Digest, tenant.id, digest_id)
    outcome = services.digests.send(digest, latest_period(digest.frequency, datetime.now(UTC)), force=bool(body and body.force))
    return SendOut(status=outcome.status, period=outcome.period, message=outcome.message)


@router.get("/{digest_id}/preview", response_model=PreviewOut, responses=answers(403, 404))
def preview_digest(digest_id: str, tenant: AdminDep, services: ServicesDep) -> PreviewOut:
    digest = tenant_rows.get_row(services.catalog, Digest, tenant.id, digest_id)
    period = latest_period(digest.frequency, datetime.now(UTC))
    text, html = services.digests.preview(digest, period)
    return PreviewOut(period=period.key, text=text, html=html)
