"""The scheduler: due sources sync on their own, disabled ones do not, and runners on one catalog never collide."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

from costlake.catalog import sources as source_rows
from costlake.catalog.models import BillingSource
from costlake.catalog.runs import list_runs
from costlake.months import add_months, current_month
from costlake.services import Services
from costlake.sync.scheduler import Scheduler
from focus_files import focus_row, write_csv
from lake_reader import billed_by_month

NOW = current_month()


def _source(services: Services, tenant_id: str, uri: str, **fields) -> BillingSource:  # type: ignore[no-untyped-def]
    return source_rows.insert_source(
        services.catalog, BillingSource(tenant_id=tenant_id, name=uri, provider="aws", format="focus", source_uri=uri, uri_by_operator=True, **fields)
    )


def _wait_idle(services: Services, source_ids: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [list_runs(services.catalog, sid, limit=5, cursor=None)[0] for sid in source_ids]
        if all(r and r[0].status not in ("queued", "running") for r in runs):
            return
        time.sleep(0.05)
    raise AssertionError("syncs did not finish")


def test_never_synced_sources_sync_at_once_and_disabled_ones_never(settings, make_tenant, tmp_path):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    write_csv(tmp_path / "on" / "a.csv", [focus_row(NOW, "2")])
    write_csv(tmp_path / "off" / "a.csv", [focus_row(NOW, "9")])
    services = Services.open(settings)
    enabled = _source(services, acme.id, str(tmp_path / "on"))
    disabled = _source(services, acme.id, str(tmp_path / "off"), enabled=False)

    scheduler = Scheduler(services.runner)
    scheduler.tick()
    _wait_idle(services, [enabled.id])
    runs, _ = list_runs(services.catalog, enabled.id, limit=10, cursor=None)
    assert [(run.trigger, run.status) for run in runs] == [("backfill", "succeeded")]
    assert list_runs(services.catalog, disabled.id, limit=10, cursor=None)[0] == []

    scheduler.tick()  # within the interval: nothing new
    assert len(list_runs(services.catalog, enabled.id, limit=10, cursor=None)[0]) == 1

    services.settings.sync_interval = timedelta(0)  # the interval has passed
    scheduler.tick()
    _wait_idle(services, [enabled.id])
    runs, _ = list_runs(services.catalog, enabled.id, limit=10, cursor=None)
    assert [run.trigger for run in runs] == ["schedule", "backfill"]
    assert billed_by_month(settings, acme.id) == {NOW: Decimal(2)}
    services.close()


def test_two_workers_on_one_catalog_never_run_the_same_source_twice(settings, make_tenant, tmp_path):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    uris = []
    for number in range(4):
        folder = tmp_path / f"export-{number}"
        write_csv(folder / "a.csv", [focus_row(NOW, str(number + 1)), focus_row(add_months(NOW, -1), "1")])
        uris.append(str(folder))
    first, second = Services.open(settings), Services.open(settings)
    sources = [_source(first, acme.id, uri) for uri in uris]

    barrier = threading.Barrier(2)

    def tick(services: Services) -> None:
        barrier.wait()
        services.runner.start_due()

    threads = [threading.Thread(target=tick, args=(services,)) for services in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.runner.shutdown()
    second.runner.shutdown()
    # Each worker had two slots: together they took every source exactly once.
    for source in sources:
        runs, _ = list_runs(first.catalog, source.id, limit=10, cursor=None)
        assert len(runs) == 1 and runs[0].status == "succeeded", [(r.status, r.error) for r in runs]
    # Commits from both workers into one tenant table all landed.
    total = sum(billed_by_month(settings, acme.id).values())
    assert total == Decimal(1 + 2 + 3 + 4 + 4)
    first.close()
    second.close()


def test_housekeeping_vacuums_files_no_version_needs(settings, make_tenant, tmp_path):  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    write_csv(tmp_path / "e" / "a.csv", [focus_row(NOW, "1")])
    services = Services.open(settings)
    source = _source(services, acme.id, str(tmp_path / "e"))
    for _ in range(2):
        services.runner.start(source_rows.get_source(services.catalog, acme.id, source.id))
        _wait_idle(services, [source.id])
    lake_files = lambda: sorted((settings.home / "lake").rglob("*.parquet"))
    assert len(lake_files()) == 2  # the replaced file stays for time travel until vacuumed
    services.settings.lake_retention = timedelta(0)
    Scheduler(services.runner).housekeeping()
    assert len(lake_files()) == 1
    assert billed_by_month(settings, acme.id) == {NOW: Decimal(1)}
    services.close()
