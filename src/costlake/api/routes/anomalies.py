"""/api/v1/tenants/{tenant_id}/anomaly-monitors and /anomalies: admins manage monitors and resolve or snooze
anomalies; members read and may acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from costlake.alerts import monitors as monitor_logic
from costlake.alerts.evaluation import evaluate_tenant
from costlake.alerts.series import source_states, tenant_scope
from costlake.alerts.specs import MonitorPreview, MonitorSpec
from costlake.api.auth import AdminTenantDep, PrincipalDep, ServicesDep, TenantDep
from costlake.api.responses import answers
from costlake.api.routes.budgets import check_channels, check_dimensions
from costlake.api.schemas_alerts import AnomalyOut, AnomalyPage, EvaluationOut, MonitorOut, NoteBody, ResolveBody, SnoozeBody
from costlake.catalog import alerts as rows
from costlake.catalog import tenant_rows
from costlake.catalog.models import Anomaly, AnomalyMonitor, utcnow
from costlake.catalog.sources import list_sources
from costlake.errors import InvalidInput

router = APIRouter(prefix="/api/v1/tenants/{tenant_id}", tags=["alerts"])
WHY = {
    403: "members may read, only admins manage",
    404: "no such tenant, monitor or anomaly",
    409: "an evaluation of this tenant is running on another worker",
    422: "invalid body: unknown dimension, more than 2 split dimensions, a channel not in this tenant",
}
PREVIEW_EXPLAINED = 50  # previews explain the largest findings only


@router.get("/anomaly-monitors", response_model=list[MonitorOut], responses=answers(404, why=WHY))
def list_monitors(tenant: TenantDep, services: ServicesDep) -> list[MonitorOut]:
    return [MonitorOut.of(m) for m in tenant_rows.list_rows(services.catalog, AnomalyMonitor, tenant.id)]


@router.post("/anomaly-monitors", response_model=MonitorOut, status_code=201, responses=answers(403, 404, 422, why=WHY))
def create_monitor(body: MonitorSpec, tenant: AdminTenantDep, services: ServicesDep) -> MonitorOut:
    check_channels(services, tenant.id, body.channels)
    check_dimensions(services, tenant.id, body.filters, body.split_by)
    monitor = AnomalyMonitor(tenant_id=tenant.id, **monitor_logic.monitor_fields(body))
    return MonitorOut.of(tenant_rows.insert_row(services.catalog, monitor))


@router.post("/anomaly-monitors/preview", responses=answers(403, 404, 422, why=WHY))
def preview_monitor(body: MonitorPreview, tenant: AdminTenantDep, services: ServicesDep) -> dict[str, Any]:
    """Backtest: what this monitor would have raised over start..end (at most a year), before it is saved."""
    check_dimensions(services, tenant.id, body.filters, body.split_by)
    scope = tenant_scope(tenant.id)
    states = source_states(services.reader, scope, list_sources(services.catalog, tenant.id))
    found = []
    for scanned in monitor_logic.scan(services.reader, scope, body, states, start=body.start, end=body.end):
        found += [(scanned, finding) for finding in scanned.findings]
    found.sort(key=lambda item: abs(item[1].impact), reverse=True)
    probes = [
        Anomaly(series=scanned.series.series, currency=scanned.series.currency, start_date=finding.start, last_date=finding.last,
                direction=finding.direction)
        for scanned, finding in found[:PREVIEW_EXPLAINED]
    ]
    monitor_logic.explain_anomalies(services.reader, scope, body, probes, services.alerts.context.tag_keys)
    items = []
    for rank, (scanned, finding) in enumerate(found):
        view = monitor_logic.finding_view(None, scanned.series, finding, scanned.scores)
        if rank < PREVIEW_EXPLAINED:
            view |= {"root_causes": probes[rank].root_causes, "drivers": probes[rank].drivers}
        items.append(view)
    items.sort(key=lambda view: (view["start_date"], view["impact"]))
    months = max((body.end - body.start).days / 30.4, 1)
    return {"items": items, "count": len(items), "per_month": round(len(items) / months, 2)}


@router.get("/anomaly-monitors/{monitor_id}", response_model=MonitorOut, responses=answers(404, why=WHY))
def get_monitor(monitor_id: str, tenant: TenantDep, services: ServicesDep) -> MonitorOut:
    return MonitorOut.of(tenant_rows.get_row(services.catalog, AnomalyMonitor, tenant.id, monitor_id))


@router.put("/anomaly-monitors/{monitor_id}", response_model=MonitorOut, responses=answers(403, 404, 422, why=WHY))
def update_monitor(monitor_id: str, body: MonitorSpec, tenant: AdminTenantDep, services: ServicesDep) -> MonitorOut:
    check_channels(services, tenant.id, body.channels)
    check_dimensions(services, tenant.id, body.filters, body.split_by)
    return MonitorOut.of(tenant_rows.update_row(services.catalog, AnomalyMonitor, tenant.id, monitor_id, monitor_logic.monitor_fields(body)))


@router.delete("/anomaly-monitors/{monitor_id}", status_code=204, response_class=Response, responses=answers(403, 404, why=WHY))
def delete_monitor(monitor_id: str, tenant: AdminTenantDep, services: ServicesDep) -> Response:
    tenant_rows.delete_row(services.catalog, AnomalyMonitor, tenant.id, monitor_id)
    return Response(status_code=204)


@router.post(
    "/anomaly-monitors/{monitor_id}/evaluate",
    response_model=EvaluationOut,
    responses=answers(403, 404, 409, why=WHY),
)
def evaluate_monitor(monitor_id: str, tenant: AdminTenantDep, principal: PrincipalDep, services: ServicesDep) -> EvaluationOut:
    """Run the monitor now; what it finds is notified like any evaluation's."""
    tenant_rows.get_row(services.catalog, AnomalyMonitor, tenant.id, monitor_id)
    context = services.alerts.context
    report = evaluate_tenant(context, tenant.id, owner=f"api:{principal.token_id or 'operator'}", monitor_ids=[monitor_id])
    return EvaluationOut(
        monitors=report.monitors, anomalies_opened=report.anomalies_opened, anomalies_updated=report.anomalies_updated,
        notices=report.notices, incomplete=report.incomplete,
    )


@router.get("/anomalies", response_model=AnomalyPage, responses=answers(404, why=WHY))
def list_anomalies(
    tenant: TenantDep,
    services: ServicesDep,
    status: Literal["open", "acknowledged", "snoozed", "resolved"] | None = None,
    monitor_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> AnomalyPage:
    found, next_cursor = rows.list_anomalies(services.catalog, tenant.id, status=status, monitor_id=monitor_id, limit=limit, cursor=cursor)
    return AnomalyPage(items=[AnomalyOut.of(a) for a in found], next_cursor=next_cursor)


@router.get("/anomalies/{anomaly_id}", response_model=AnomalyOut, responses=answers(404, why=WHY))
def get_anomaly(anomaly_id: str, tenant: TenantDep, services: ServicesDep) -> AnomalyOut:
    return AnomalyOut.of(tenant_rows.get_row(services.catalog, Anomaly, tenant.id, anomaly_id))


def _act(services: Any, tenant_id: str, anomaly_id: str, principal: Any, event: dict[str, Any], changes: dict[str, Any]) -> AnomalyOut:
    anomaly = tenant_rows.get_row(services.catalog, Anomaly, tenant_id, anomaly_id)
    by = "operator" if principal.operator else f"token:{principal.token_id}"
    event = {**event, "at": utcnow().isoformat(), "by": by}
    changes = {**changes, "events": [*anomaly.events, {k: v for k, v in event.items() if v is not None}]}
    return AnomalyOut.of(tenant_rows.update_row(services.catalog, Anomaly, tenant_id, anomaly_id, changes))


@router.post("/anomalies/{anomaly_id}/acknowledge", response_model=AnomalyOut, responses=answers(404, why=WHY))
def acknowledge(anomaly_id: str, tenant: TenantDep, principal: PrincipalDep, services: ServicesDep, body: NoteBody | None = None) -> AnomalyOut:
    """Someone is on it: no more notifications about this anomaly. Members may acknowledge."""
    note = body.note if body else None
    return _act(services, tenant.id, anomaly_id, principal, {"type": "acknowledged", "note": note}, {"status": "acknowledged", "snoozed_until": None})


@router.post("/anomalies/{anomaly_id}/snooze", response_model=AnomalyOut, responses=answers(403, 404, 422, why={**WHY, 422: "until is not in the future"}))
def snooze(anomaly_id: str, body: SnoozeBody, tenant: AdminTenantDep, principal: PrincipalDep, services: ServicesDep) -> AnomalyOut:
    """No notifications until `until`; after it, the anomaly is open again and notifies if it grows."""
    until = body.until if isinstance(body.until, datetime) else datetime.combine(body.until, time(), tzinfo=UTC)
    if until.tzinfo is None:
        raise InvalidInput("until", "give a time zone (e.g. 2026-12-01T09:00:00Z) or a plain date")
    if until <= utcnow():
        raise InvalidInput("until", "until must be in the future")
    event = {"type": "snoozed", "until": until.isoformat(), "note": body.note}
    return _act(services, tenant.id, anomaly_id, principal, event, {"status": "snoozed", "snoozed_until": until})


@router.post("/anomalies/{anomaly_id}/resolve", response_model=AnomalyOut, responses=answers(403, 404, 422, why={**WHY, 422: "unknown reason"}))
def resolve(anomaly_id: str, body: ResolveBody, tenant: AdminTenantDep, principal: PrincipalDep, services: ServicesDep) -> AnomalyOut:
    """Close it with a reason: expected (planned), unexpected (a real problem) or too-small (not worth alerting)."""
    event = {"type": "resolved", "reason": body.reason, "note": body.note}
    return _act(services, tenant.id, anomaly_id, principal, event, {"status": "resolved", "resolution": body.reason, "snoozed_until": None})


