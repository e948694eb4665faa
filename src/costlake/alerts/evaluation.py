"""Evaluating a tenant's alerts: monitors, budgets and data notifications, one evaluation per tenant at a time.

Runs after a sync changed the tenant's store (the after-commit hook asks for it) and every
COSTLAKE_ALERTS_INTERVAL (the scheduler's tick), on any worker: the catalog lease decides who runs it. Everything
it tells is recorded as a notice under a unique key, so re-running it sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from costlake.alerts import budgets as budget_logic
from costlake.alerts import monitors as monitor_logic
from costlake.alerts.root_cause import TagKeys
from costlake.alerts.series import SourceState, source_states, tenant_scope
from costlake.alerts.sources import data_notices
from costlake.catalog import Catalog, tenant_rows
from costlake.catalog import alerts as rows
from costlake.catalog.models import AlertChannel, AlertNotice, AnomalyMonitor, Budget, utcnow
from costlake.catalog.sources import list_sources
from costlake.catalog.tenants import list_tenants
from costlake.errors import Conflict
from costlake.notify.deliveries import deliver_due
from costlake.query.engine import CostReader
from costlake.settings import Settings
from costlake.text import money_text

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class AlertContext:
    settings: Settings
    catalog: Catalog
    reader: CostReader
    tag_keys: TagKeys = field(default_factory=TagKeys)


@dataclass
class Report:
    monitors: int = 0
    anomalies_opened: int = 0
    anomalies_updated: int = 0
    budgets: int = 0
    notices: list[str] = field(default_factory=list)
    incomplete: list[dict] = field(default_factory=list)  # series evaluated only up to what all their sources delivered


def ensure_default_monitor(catalog: Catalog, tenant_id: str) -> None:
    """Every tenant gets a channel-less monitor by service and sub account from its first sync on."""
    if rows.find_default_monitor(catalog, tenant_id) is None:
        fields = monitor_logic.monitor_fields(monitor_logic.DEFAULT_MONITOR)
        rows.insert_default_monitor(catalog, AnomalyMonitor(tenant_id=tenant_id, is_default=True, **fields))


def _notify(
    catalog: Catalog, tenant_id: str, key: str, kind: str, subject_type: str, subject_id: str, data: dict, channels: Sequence[str], report: Report
) -> bool:
    enabled = {c.id for c in tenant_rows.list_rows(catalog, AlertChannel, tenant_id) if c.enabled}
    notice = AlertNotice(tenant_id=tenant_id, key=key, type=kind, subject_type=subject_type, subject_id=subject_id, data=data)
    recorded = rows.record_notice(catalog, notice, [c for c in channels if c in enabled])
    if recorded is not None:
        report.notices.append(key)
    return recorded is not None


def evaluate_monitor(context: AlertContext, monitor: AnomalyMonitor, states: dict[str, SourceState], report: Report, now: datetime) -> None:
    spec = monitor_logic.spec_of(monitor)
    scope = tenant_scope(monitor.tenant_id)
    horizons = [s.complete_through for s in states.values() if s.complete_through]
    if not horizons:
        return
    end = max(horizons) + timedelta(days=1)
    stored = rows.series_anomalies(context.catalog, monitor.id)
    by_series: dict[tuple[str, str], list] = {}
    for anomaly in stored:
        by_series.setdefault((anomaly.series_hash, anomaly.currency), []).append(anomaly)
    outcomes: list[tuple[monitor_logic.ScannedSeries, monitor_logic.Outcome]] = []
    for scanned in monitor_logic.scan(context.reader, scope, spec, states, start=None, end=end, quiet=monitor_logic.quiet_ranges(stored)):
        known = by_series.get((scanned.series.key, scanned.series.currency), [])
        if scanned.incomplete:
            report.incomplete.append(
                {"monitor_id": monitor.id, "series": scanned.series.series, "currency": scanned.series.currency,
                 "through": scanned.horizon.isoformat() if scanned.horizon else None, "reasons": scanned.incomplete}
            )
        for finding in scanned.findings:
            outcome = monitor_logic.upsert(monitor, known, scanned, finding, now)
            if outcome.created:
                known.append(outcome.anomaly)
            outcomes.append((scanned, outcome))
        # Stored anomalies of this series that no finding continued are over.
        for anomaly in known:
            if anomaly.active and scanned.horizon and anomaly.last_date < scanned.horizon - timedelta(days=1) and not any(
                monitor_logic.continues(anomaly, f) for f in scanned.findings
            ):
                anomaly.active = False
                rows.save_anomaly(context.catalog, anomaly)
    monitor_logic.explain_anomalies(context.reader, scope, spec, [outcome.anomaly for _, outcome in outcomes if outcome.changed], context.tag_keys)
    for scanned, outcome in outcomes:
        anomaly = outcome.anomaly
        due = monitor_logic.notification_due(anomaly, scanned.horizon, now)
        if due is not None:
            kind, level = due
            anomaly.notified_level = level
            if kind == "anomaly.grew":
                anomaly.events = [*anomaly.events, {"type": "grew", "at": now.isoformat(), "impact": money_text(anomaly.impact)}]
            if anomaly.status == "snoozed":
                anomaly.status, anomaly.snoozed_until = "open", None
        saved = rows.save_anomaly(context.catalog, anomaly)
        report.anomalies_opened += outcome.created
        report.anomalies_updated += outcome.changed and not outcome.created
        if due is not None:
            key = f"anomaly:{anomaly.id}:{'opened' if due[0] == 'anomaly.opened' else f'grew:{due[1]}'}"
            data = monitor_logic.anomaly_notice(saved, monitor, due[0])
            _notify(context.catalog, monitor.tenant_id, key, due[0], "anomaly", saved.id, data, monitor.channels, report)
    tenant_rows.update_row(context.catalog, AnomalyMonitor, monitor.tenant_id, monitor.id, {"last_evaluated_at": now})
    report.monitors += 1


def evaluate_budget(context: AlertContext, budget: Budget, as_of: date, report: Report) -> None:
    spec = budget_logic.spec_of(budget)
    status = budget_logic.budget_status(context.reader, tenant_scope(budget.tenant_id), spec, as_of)
    for threshold in status.crossed:
        key = f"budget:{budget.id}:{status.period_start.isoformat()}:{threshold.kind}:{threshold.percent}"
        data = budget_logic.threshold_notice(budget, spec, status, threshold)
        _notify(context.catalog, budget.tenant_id, key, "budget.threshold_crossed", "budget", budget.id, data, budget.channels, report)
    report.budgets += 1


def evaluate_tenant(
    context: AlertContext, tenant_id: str, *, owner: str, monitor_ids: Sequence[str] | None = None, now: datetime | None = None
) -> Report:
    """Evaluate under the tenant's lease; Conflict when another worker holds it. `monitor_ids` limits the run to
    those monitors (POST .../evaluate); otherwise monitors, budgets and data notifications all run."""
    now = now or utcnow()
    catalog = context.catalog
    if not rows.claim_evaluation(catalog, tenant_id, owner, LEASE):
        raise Conflict("an evaluation of this tenant's alerts is running on another worker; try again in a minute")
    error = None
    report = Report()
    try:
        sources = list_sources(catalog, tenant_id)
        states = source_states(context.reader, tenant_scope(tenant_id), sources)
        if any(state.latest for state in states.values()):
            ensure_default_monitor(catalog, tenant_id)
        for monitor in tenant_rows.list_rows(catalog, AnomalyMonitor, tenant_id):
            if monitor_ids is None or monitor.id in monitor_ids:
                evaluate_monitor(context, monitor, states, report, now)
        if monitor_ids is None:
            for budget in tenant_rows.list_rows(catalog, Budget, tenant_id):
                evaluate_budget(context, budget, now.date(), report)
            channels = [c.id for c in tenant_rows.list_rows(catalog, AlertChannel, tenant_id) if c.data_notifications]
            for key, kind, source, data in data_notices(catalog, sources, states, now):
                _notify(catalog, tenant_id, key, kind, "source", source.id, data, channels, report)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        rows.release_evaluation(catalog, tenant_id, owner, error)
    deliver_due(catalog, context.settings, tenant_id=tenant_id)
    return report


class AlertsWorker:
    """The scheduler's part: evaluate tenants that are due, then send what is due. Never raises."""

    def __init__(self, context: AlertContext, owner: str) -> None:
        self.context = context
        self.owner = owner

    def tick(self) -> None:
        catalog = self.context.catalog
        tenants = [tenant.id for tenant in list_tenants(catalog)]
        for tenant_id in rows.due_evaluations(catalog, tenants, self.context.settings.alerts_interval):
            try:
                evaluate_tenant(self.context, tenant_id, owner=self.owner)
            except Conflict:
                continue  # another worker has it
            except Exception:
                log.exception("evaluating the alerts of tenant %s failed; retrying at the next interval", tenant_id)
        try:
            deliver_due(catalog, self.context.settings)
        except Exception:
            log.exception("sending notifications failed; retrying at the next tick")


def after_sync(catalog: Catalog, tenant_id: str) -> None:
    """The after-commit hook's part: the default monitor exists from the first sync on, and the next tick evaluates."""
    ensure_default_monitor(catalog, tenant_id)
    rows.request_evaluation(catalog, tenant_id)
