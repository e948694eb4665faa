"""Long-running commands (serve, worker) and the demo that ends in one.

The app, the sync engine and the sample generator are imported inside the commands: they are heavy, and the other
commands do not need them.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer

from costlake.catalog import Catalog, open_catalog
from costlake.catalog.tenants import create_tenant, create_token, find_tenant, list_tokens, revoke_token
from costlake.cli.billing_sources import sources_path
from costlake.cli.client import Connection
from costlake.cli.common import current_settings
from costlake.cli.logs import configure as configure_logs
from costlake.cli.output import OutputOption, emit
from costlake.cli.runs import wait_for_run
from costlake.errors import CostlakeError
from costlake.settings import Settings

HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]

DEMO_TENANT = "demo"
DEMO_TOKEN_NAME = "demo"


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from costlake.app import create_app

    configure_logs(settings.log_format)
    # uvicorn keeps the logging set up here (log_config=None); its own lines then follow COSTLAKE_LOG_FORMAT too.
    uvicorn.run(create_app(settings, schedule=True), host=host, port=port, log_config=None)


def serve(host: HostOption = "127.0.0.1", port: PortOption = 8080) -> None:
    """Serve the REST API, and sync every enabled source on schedule (COSTLAKE_SYNC_INTERVAL)."""
    _serve(current_settings(), host, port)


def worker() -> None:
    """Run the sync scheduler alone, in the foreground, until SIGINT or SIGTERM.

    Syncs still running when it is stopped are finished first.
    """
    from costlake.services import Services
    from costlake.sync.scheduler import Scheduler

    settings = current_settings()
    configure_logs(settings.log_format)
    services = Services.open(settings)
    scheduler = Scheduler(services.runner, services.scheduled_jobs())
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: scheduler.stop())
    logging.getLogger(__name__).info("worker started; stop it with Ctrl-C or SIGTERM")
    try:
        scheduler.run_forever()
    finally:
        services.close()


def _demo_usage(api: Any, tenant_id: str, first: date, today: date) -> dict[str, Any]:
    """The demo's request metric (per team, every day the demo costs cover) and a few deploy events; a re-run
    rewrites the same values and adds no event twice."""
    from costlake.samples.usage import REQUEST_METRIC, daily_requests, demo_events

    metrics = f"/api/v1/tenants/{tenant_id}/metrics"
    if not any(metric["name"] == REQUEST_METRIC["name"] for metric in api.get(metrics)):
        api.post(metrics, json=REQUEST_METRIC)
    written = api.post(f"{metrics}/{REQUEST_METRIC['name']}/values", json={"values": daily_requests(first, today - timedelta(days=1))})
    events_path = f"/api/v1/tenants/{tenant_id}/events"
    known = {event["title"] for event in api.get(events_path)}
    added = [api.post(events_path, json=event) for event in demo_events(first, today) if event["title"] not in known]
    return {"metric": REQUEST_METRIC["name"], "values": written["upserted"], "events_added": len(added)}


def _replace_demo_token(catalog: Catalog, tenant_id: str) -> str:
    """A new demo admin token, the previous ones revoked: only the token printed last works, however often the demo
    runs (a token's secret is kept only as a hash, so an old one cannot be shown again to be reused)."""
    for old in list_tokens(catalog, tenant_id):
        if old.name == DEMO_TOKEN_NAME and old.revoked_at is None:
            revoke_token(catalog, old.id)
    _, token = create_token(catalog, tenant_id, "admin", name=DEMO_TOKEN_NAME)
    return token


DEMO_BUDGET = "demo monthly budget"


def _demo_alerts(api: Any, base: str, today: Any) -> dict[str, Any]:
    """A monthly budget at 110 % of last month's USD spend, and the default monitor's evaluation."""
    budgets = {budget["name"]: budget for budget in api.get(f"{base}/budgets")}
    budget = budgets.get(DEMO_BUDGET)
    if budget is None:
        month = today.replace(day=1)
        previous = (month - timedelta(days=1)).replace(day=1)
        costs = api.post(f"{base}/costs/query", json={"granularity": "none", "start": previous.isoformat(), "end": month.isoformat()})
        amount = (Decimal(costs["totals"].get("USD", "1000")) * Decimal("1.1")).quantize(Decimal(1))
        budget = api.post(f"{base}/budgets", json={
            "name": DEMO_BUDGET, "amount": str(amount), "currency": "USD", "period": "month",
            "thresholds": [{"kind": "actual", "percent": 80}, {"kind": "forecast", "percent": 100}],
        })
    (monitor,) = [m for m in api.get(f"{base}/anomaly-monitors") if m["default"]]
    api.post(f"{base}/anomaly-monitors/{monitor['id']}/evaluate")
    found = api.get(f"{base}/anomalies", monitor_id=monitor["id"], status="open")["items"]
    status = budget["status"]
    return {
        "budget": {"name": budget["name"], "amount": budget["amount"], **{k: status[k] for k in ("spend", "forecast", "forecast_method", "percent_used")}},
        "monitor": monitor["name"],
        "anomalies": [
            {"series": a["series"], "start_date": a["start_date"], "impact": a["impact"], "currency": a["currency"],
             "top_cause": f"{a['root_causes'][0]['dimension']}={a['root_causes'][0]['value']}" if a["root_causes"] else None}
            for a in found
        ],
    }


def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Do everything but serving, then exit.")] = False,
    port: PortOption = 8080,
    output: OutputOption = None,
) -> None:
    """Try costlake on generated data, then serve it. Safe to run again.

    Creates a tenant `demo` and an admin token (a re-run replaces it: only the last token printed works), writes
    exports under the home (a FOCUS export holding AWS, Azure and Google Cloud costs; native AWS CUR 2.0, Azure and
    GCP exports, each covering the same 4 months up to yesterday; daily usage with one anomaly), registers each as a
    billing source, syncs them, adds a usage metric and deploy events, sets up a monthly budget and the default
    anomaly monitor and evaluates it, prints what was loaded and found, then serves the API and console on
    http://127.0.0.1:PORT.
    """
    from costlake.alerts.evaluation import ensure_default_monitor
    from costlake.samples.demo import write_demo_exports

    settings = current_settings()
    catalog = open_catalog(settings)
    try:
        tenant = find_tenant(catalog, DEMO_TENANT) or create_tenant(catalog, DEMO_TENANT)
        token = _replace_demo_token(catalog, tenant.id)
    finally:
        catalog.close()

    today = datetime.now(UTC).date()
    exports = write_demo_exports(settings.home / "demo", today)
    loaded = []
    with Connection().open() as api:
        base = sources_path(tenant.id)
        existing = {source["name"]: source for source in api.get(base)}
        for export in exports:
            source = existing.get(export.name)
            if source is None:
                source = api.post(
                    base,
                    json={"name": export.name, "provider": export.provider, "format": export.format, "source_uri": export.source_uri},
                )
            else:  # naming the URI again, as the operator, marks a source from an older home as the operator's own
                source = api.put(f"{base}/{source['id']}", json={"source_uri": export.source_uri})
            path = f"{base}/{source['id']}"
            # Reload every month the export holds, so a re-run shows (and replaces) all of them.
            run = wait_for_run(api, path, api.post(f"{path}/sync", json={"from": f"{export.first_month}-01"}), export.name)
            if run["status"] == "failed":
                raise CostlakeError(f"the demo sync of {export.name!r} failed: {run['error']}")
            loaded.append((source, run))
        catalog = open_catalog(settings)
        try:
            ensure_default_monitor(catalog, tenant.id)  # what the worker's after-sync hook does
        finally:
            catalog.close()
        alerts = _demo_alerts(api, f"/api/v1/tenants/{tenant.id}", today)

        usage = _demo_usage(api, tenant.id, date.fromisoformat(exports[0].first_month + "-01"), datetime.now(UTC).date())

    (source, run), others = loaded[0], loaded[1:]
    summary: dict[str, Any] = {
        "url": None if no_serve else f"http://127.0.0.1:{port}",
        "tenant": tenant.name,
        "token": token,
        "source_id": source["id"],
        "source_uri": source["source_uri"],
        "status": run["status"],
        "months": run["months"],
        "row_count": run["row_count"],
        "billed_cost_by_month": run["billed_cost_by_month"],
        "usage": usage,
        "native_sources": {
            other["name"]: {"status": other_run["status"], "row_count": other_run["row_count"], "billed_cost_by_month": other_run["billed_cost_by_month"]}
            for other, other_run in others
        },
        "alerts": alerts,
    }
    emit(summary, output)
    if not no_serve:
        _serve(settings, "127.0.0.1", port)
