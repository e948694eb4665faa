"""Long-running commands (serve, worker) and the demo that ends in one.

The app, the sync engine and the sample generator are imported inside the commands: they are heavy, and the other
commands do not need them.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from costlake.catalog import open_catalog
from costlake.catalog.tenants import create_tenant, create_token, find_tenant
from costlake.cli.billing_sources import sources_path, wait_for_run
from costlake.cli.client import Connection
from costlake.cli.common import current_settings
from costlake.cli.output import Output, emit
from costlake.errors import CostlakeError
from costlake.settings import Settings

HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.")]

DEMO_TENANT = "demo"


def _log_to_stderr() -> None:
    # costlake's own progress at INFO; libraries (alembic, ...) only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("costlake").setLevel(logging.INFO)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from costlake.app import create_app

    _log_to_stderr()
    uvicorn.run(create_app(settings, schedule=True), host=host, port=port)


def serve(host: HostOption = "127.0.0.1", port: PortOption = 8080) -> None:
    """Serve the REST API, and sync every enabled source on schedule (COSTLAKE_SYNC_INTERVAL)."""
    _serve(current_settings(), host, port)


def worker() -> None:
    """Run the sync scheduler alone, in the foreground, until SIGINT or SIGTERM.

    Syncs still running when it is stopped are finished first.
    """
    from costlake.services import Services
    from costlake.sync.scheduler import Scheduler

    _log_to_stderr()
    services = Services.open(current_settings())
    scheduler = Scheduler(services.runner)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: scheduler.stop())
    logging.getLogger(__name__).info("worker started; stop it with Ctrl-C or SIGTERM")
    try:
        scheduler.run_forever()
    finally:
        services.close()


def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Do everything but serving, then exit.")] = False,
    port: PortOption = 8080,
    output: Annotated[Output, typer.Option("--output", "-o", help="Print a table, or JSON.")] = Output.table,
) -> None:
    """Try costlake on generated data, then serve it. Safe to run again.

    Creates a tenant `demo` and an admin token, writes a 4-month FOCUS export and native AWS CUR 2.0, Azure and GCP
    exports under the home, registers each as a billing source, syncs them, prints what was loaded, then serves the
    API and console on http://127.0.0.1:PORT.
    """
    from costlake.samples.demo import write_demo_exports

    settings = current_settings()
    catalog = open_catalog(settings)
    try:
        tenant = find_tenant(catalog, DEMO_TENANT) or create_tenant(catalog, DEMO_TENANT)
        _, token = create_token(catalog, tenant.id, "admin", name="demo")
    finally:
        catalog.close()

    exports = write_demo_exports(settings.home / "demo", datetime.now(UTC).date().replace(day=1))
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
        "native_sources": {
            other["name"]: {"status": other_run["status"], "row_count": other_run["row_count"], "billed_cost_by_month": other_run["billed_cost_by_month"]}
            for other, other_run in others
        },
    }
    emit(summary, output)
    if not no_serve:
        _serve(settings, "127.0.0.1", port)
