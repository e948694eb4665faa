"""/api/v1/tenants/{tenant_id}/channels and /deliveries: admins manage channels; members read both."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from costlake.api.auth import AdminTenantDep, ServicesDep, TenantDep
from costlake.api.responses import answers
from costlake.api.schemas_alerts import ChannelCreate, ChannelOut, ChannelUpdate, DeliveryOut, DeliveryPage
from costlake.catalog import alerts as rows
from costlake.catalog import tenant_rows
from costlake.catalog.models import AlertChannel, AlertNotice, Tenant, new_id
from costlake.errors import InvalidInput
from costlake.notify.channels import ChannelInput, build_channel, rotation, send_test, target_fields, test_message, test_notice_data
from costlake.notify.deliveries import SPACING, deliver_due
from costlake.services import Services

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["alerts"])
WHY = {
    403: "members may read, only admins manage",
    404: "no such tenant or channel",
    422: "invalid body: a bad URL, a private address (SSRF), a failed test message, email not configured",
}


def _test_notice(services: Services, tenant: Tenant, channel: AlertChannel) -> AlertNotice:
    message = test_message(tenant.id, tenant.name, channel, services.settings)
    return AlertNotice(tenant_id=tenant.id, key=f"test:{channel.id}:{new_id()}", type="test", subject_type="channel",
                       subject_id=channel.id, data=test_notice_data(message))


@router.get("/channels", response_model=list[ChannelOut], responses=answers(404, why=WHY))
def list_channels(tenant: TenantDep, services: ServicesDep) -> list[ChannelOut]:
    return [ChannelOut.of(channel) for channel in tenant_rows.list_rows(services.catalog, AlertChannel, tenant.id)]


@router.post("/channels", response_model=ChannelOut, status_code=201, responses=answers(403, 404, 422, why=WHY))
def create_channel(body: ChannelCreate, tenant: AdminTenantDep, services: ServicesDep) -> ChannelOut:
    spec = ChannelInput(body.name, body.kind, body.url, tuple(body.to), body.data_notifications, body.enabled)
    channel, secret = build_channel(tenant.id, spec, services.settings)
    attempt = send_test(tenant.id, tenant.name, channel, services.settings) if body.validate_channel else None
    if attempt is not None and not attempt.ok:
        field = "to" if body.kind == "email" else "url"
        raise InvalidInput(field, f"the test message failed: {attempt.error}; fix the channel, or pass \"validate\": false to skip the test")
    channel = tenant_rows.insert_row(services.catalog, channel)
    if attempt is not None:  # the test message is in the delivery log like any other
        spacing = SPACING.get(channel.kind, timedelta(0))
        rows.record_sent(services.catalog, _test_notice(services, tenant, channel), channel.id, attempt.status_code, spacing)
        channel = tenant_rows.get_row(services.catalog, AlertChannel, tenant.id, channel.id)
    return ChannelOut.of(channel, secret)


@router.get("/channels/{channel_id}", response_model=ChannelOut, responses=answers(404, why=WHY))
def get_channel(channel_id: str, tenant: TenantDep, services: ServicesDep) -> ChannelOut:
    return ChannelOut.of(tenant_rows.get_row(services.catalog, AlertChannel, tenant.id, channel_id))


@router.put("/channels/{channel_id}", response_model=ChannelOut, responses=answers(403, 404, 422, why=WHY))
def update_channel(channel_id: str, body: ChannelUpdate, tenant: AdminTenantDep, services: ServicesDep) -> ChannelOut:
    channel = tenant_rows.get_row(services.catalog, AlertChannel, tenant.id, channel_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, exclude={"url", "to"})
    if body.url is not None or body.to is not None:
        url = body.url if channel.kind != "email" else None
        to = tuple(body.to if body.to is not None else channel.recipients) if channel.kind == "email" else ()
        changes |= target_fields(channel.kind, url, to, services.settings)
    return ChannelOut.of(tenant_rows.update_row(services.catalog, AlertChannel, tenant.id, channel_id, changes))


@router.delete("/channels/{channel_id}", status_code=204, response_class=Response, responses=answers(403, 404, why=WHY))
def delete_channel(channel_id: str, tenant: AdminTenantDep, services: ServicesDep) -> Response:
    tenant_rows.delete_row(services.catalog, AlertChannel, tenant.id, channel_id)
    return Response(status_code=204)


@router.post("/channels/{channel_id}/rotate-secret", response_model=ChannelOut, responses=answers(403, 404, 422, why=WHY))
def rotate_secret(channel_id: str, tenant: AdminTenantDep, services: ServicesDep) -> ChannelOut:
    """A new signing secret, shown once; the previous one keeps signing too for 24 hours."""
    channel = tenant_rows.get_row(services.catalog, AlertChannel, tenant.id, channel_id)
    changes, secret = rotation(channel, services.settings)
    return ChannelOut.of(tenant_rows.update_row(services.catalog, AlertChannel, tenant.id, channel_id, changes), secret)


@router.post("/channels/{channel_id}/test", response_model=DeliveryOut, responses=answers(403, 404, why=WHY))
def test_channel(channel_id: str, tenant: AdminTenantDep, services: ServicesDep) -> DeliveryOut:
    """Send a test message now (logged as a delivery, retried like any other)."""
    channel = tenant_rows.get_row(services.catalog, AlertChannel, tenant.id, channel_id)
    rows.record_notice(services.catalog, _test_notice(services, tenant, channel), [channel.id])
    deliver_due(services.catalog, services.settings, tenant_id=tenant.id)
    (delivery,), _ = rows.list_deliveries(services.catalog, tenant.id, channel_id=channel.id, status=None, limit=1, cursor=None)
    return DeliveryOut.of(delivery, "channel", channel.id, "test")


@router.get("/deliveries", response_model=DeliveryPage, responses=answers(404, why=WHY))
def list_deliveries(
    tenant: TenantDep,
    services: ServicesDep,
    channel_id: str | None = None,
    status: Literal["sent", "retrying", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> DeliveryPage:
    deliveries, next_cursor = rows.list_deliveries(services.catalog, tenant.id, channel_id=channel_id, status=status, limit=limit, cursor=cursor)
    notices = rows.notices_by_id(services.catalog, [d.notice_id for d in deliveries])
    items = [
        DeliveryOut.of(d, notices[d.notice_id].subject_type, notices[d.notice_id].subject_id, notices[d.notice_id].type) for d in deliveries
    ]
    return DeliveryPage(items=items, next_cursor=next_cursor)
