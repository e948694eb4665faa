"""The after-commit seam: handlers hear about commits and removals in the worker, are retried when they fail, and
never change the outcome of the sync that raised the event."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update

from costlake.billing_sources.service import Caller, remove_source
from costlake.catalog import sources as source_rows
from costlake.catalog.hook_deliveries import claim_due, deliveries
from costlake.catalog.models import BillingSource, HookDelivery, utcnow
from costlake.catalog.runs import list_runs
from costlake.catalog.tenants import find_tenant
from costlake.hooks import Event, Handler, HookContext, SourceRemoved, SyncCommitted
from costlake.hooks.dispatch import MAX_ATTEMPTS, Dispatcher, retry_delay
from costlake.months import add_months, current_month
from costlake.services import Services
from costlake.sync.scheduler import Scheduler
from focus_files import focus_row, write_csv
from lake_reader import billed_by_month

NOW = current_month()
BEFORE = add_months(NOW, -1)


class Recorder:
    """A handler that fails its first `failures` calls, then records what it heard."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.heard: list[Event] = []

    def __call__(self, event: Event, context: HookContext) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the handler's backend is down")
        self.heard.append(event)


def _sync_one(services: Services, tenant_id: str, folder) -> BillingSource:  # type: ignore[no-untyped-def]
    source = source_rows.insert_source(
        services.catalog, BillingSource(tenant_id=tenant_id, name="f", provider="aws", format="focus", source_uri=str(folder), uri_by_operator=True)
    )
    run = services.runner.start(source)
    deadline = time.monotonic() + 30
    while list_runs(services.catalog, source.id, limit=1, cursor=None)[0][0].status in ("queued", "running"):
        assert time.monotonic() < deadline, "sync did not finish"
        time.sleep(0.05)
    assert list_runs(services.catalog, source.id, limit=1, cursor=None)[0][0].id == run.id
    return source


def _make_due_now(services: Services) -> None:
    with services.catalog.session() as session:
        session.execute(update(HookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


def test_a_commit_reaches_its_handlers_in_the_scheduler(settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    write_csv(tmp_path / "export" / "a.csv", [focus_row(BEFORE, "2.50"), focus_row(NOW, "1.25")])
    recorder = Recorder()
    services = Services.open(settings, handlers=[Handler("recorder", (SyncCommitted.kind,), recorder)])
    try:
        source = _sync_one(services, acme.id, tmp_path / "export")
        assert recorder.heard == []  # not in the sync's own thread: the worker's scheduler runs handlers
        (run,), _ = list_runs(services.catalog, source.id, limit=5, cursor=None)
        Scheduler(services.runner).tick()
        assert recorder.heard == [SyncCommitted(acme.id, source.id, run.id, (BEFORE, NOW))]
        assert [d.done_at is not None for d in deliveries(services.catalog, acme.id)] == [True]
        Scheduler(services.runner).tick()
        assert len(recorder.heard) == 1  # delivered once
    finally:
        services.close()


def test_a_failing_handler_is_retried_and_never_undoes_the_sync(settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    write_csv(tmp_path / "export" / "a.csv", [focus_row(NOW, "4.00")])
    flaky, steady = Recorder(failures=2), Recorder()
    handlers = [Handler("flaky", (SyncCommitted.kind,), flaky), Handler("steady", (SyncCommitted.kind,), steady)]
    services = Services.open(settings, handlers=handlers)
    try:
        source = _sync_one(services, acme.id, tmp_path / "export")
        dispatcher = Dispatcher(HookContext(settings, services.catalog, services.lake), handlers, "test-worker")
        assert dispatcher.run_due() == 1  # steady ran; flaky failed and waits for its retry
        assert dispatcher.run_due() == 0  # not due yet: backoff
        (flaky_delivery,) = [d for d in deliveries(services.catalog, acme.id) if d.handler == "flaky"]
        assert (flaky_delivery.attempts, flaky_delivery.last_error) == (1, "RuntimeError: the handler's backend is down")
        for _ in range(2):
            _make_due_now(services)
            dispatcher.run_due()
        assert len(flaky.heard) == 1 and len(steady.heard) == 1
        (run,), _ = list_runs(services.catalog, source.id, limit=5, cursor=None)
        assert run.status == "succeeded"
        assert billed_by_month(settings, acme.id, source.id) == {NOW: Decimal("4.00")}
    finally:
        services.close()


def test_removing_a_source_tells_its_handlers(settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    write_csv(tmp_path / "export" / "a.csv", [focus_row(NOW, "1")])
    recorder = Recorder()
    handlers = [Handler("recorder", (SourceRemoved.kind,), recorder)]
    services = Services.open(settings, handlers=handlers)
    try:
        source = _sync_one(services, acme.id, tmp_path / "export")
        tenant = find_tenant(services.catalog, acme.id)
        assert tenant is not None
        remove_source(services.catalog, services.lake, settings, tenant, Caller(operator=True), source.id, handlers)
        Scheduler(services.runner).tick()
        assert recorder.heard == [SourceRemoved(acme.id, source.id)]  # and no SyncCommitted: it does not listen
    finally:
        services.close()


def test_a_delivery_is_claimed_by_one_worker_and_given_up_after_its_last_attempt(settings, make_tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    write_csv(tmp_path / "export" / "a.csv", [focus_row(NOW, "1")])
    always = Recorder(failures=10**6)
    handlers = [Handler("always-fails", (SyncCommitted.kind,), always)]
    services = Services.open(settings, handlers=handlers)
    try:
        _sync_one(services, acme.id, tmp_path / "export")
        context = HookContext(settings, services.catalog, services.lake)
        first, second = Dispatcher(context, handlers, "one"), Dispatcher(context, handlers, "two")
        claimed = claim_due(services.catalog, "one", timedelta(minutes=5), 10)
        assert len(claimed) == 1 and claim_due(services.catalog, "two", timedelta(minutes=5), 10) == []
        with services.catalog.session() as session:  # the first worker died holding it: its claim runs out
            session.execute(update(HookDelivery).values(claimed_until=utcnow() - timedelta(seconds=1)))
        for attempt in range(MAX_ATTEMPTS):
            _make_due_now(services)
            (first if attempt % 2 else second).run_due()
        (delivery,) = deliveries(services.catalog, acme.id)
        assert delivery.gave_up_at is not None and delivery.attempts == MAX_ATTEMPTS
        _make_due_now(services)
        assert first.run_due() == 0 and delivery.attempts == MAX_ATTEMPTS
    finally:
        services.close()


@pytest.mark.parametrize(("attempts", "delay"), [(1, timedelta(seconds=30)), (2, timedelta(minutes=1)), (9, None)])
def test_backoff_doubles_then_gives_up(attempts: int, delay: timedelta | None) -> None:
    assert retry_delay(attempts) == delay
