"""Publishing events to the outbox and running the deliveries that are due."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from costlake.catalog import Catalog
from costlake.catalog.hook_deliveries import claim_due, enqueue, mark_done, mark_failed
from costlake.hooks.events import Event, from_payload, to_payload
from costlake.hooks.registry import Handler, HookContext

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # then the delivery is given up and its last error kept
FIRST_RETRY = timedelta(seconds=30)  # doubled after each failure, up to MAX_RETRY
MAX_RETRY = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=10)  # a handler slower than this may run twice: handlers are idempotent


def publish(catalog: Catalog, event: Event, handlers: Sequence[Handler]) -> int:
    """Owe the event to every handler listening to its kind; the outbox row is written before this returns."""
    names = [handler.name for handler in handlers if event.kind in handler.events]
    return enqueue(catalog, event.tenant_id, event.kind, to_payload(event), names) if names else 0


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after the `attempts`-th failure; None once it is time to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(FIRST_RETRY * 2 ** (attempts - 1), MAX_RETRY)


class Dispatcher:
    """Runs due deliveries in the worker; one handler's failure is logged and retried, never raised."""

    def __init__(self, context: HookContext, handlers: Sequence[Handler], owner: str) -> None:
        self.context = context
        self.handlers = {handler.name: handler for handler in handlers}
        self.owner = owner

    def run_due(self, limit: int = 100) -> int:
        """Run what is due now; returns how many deliveries succeeded."""
        done = 0
        for delivery in claim_due(self.context.catalog, self.owner, CLAIM_LEASE, limit):
            handler = self.handlers.get(delivery.handler)
            try:
                if handler is None:
                    raise LookupError(f"no handler named {delivery.handler!r} is registered in this process")
                handler.run(from_payload(delivery.event, delivery.payload), self.context)
            except Exception as error:  # noqa: BLE001 - a handler's failure must not stop the others
                delay = retry_delay(delivery.attempts)
                log.warning(
                    "hook %s failed on %s (attempt %d): %s; %s", delivery.handler, delivery.event, delivery.attempts,
                    error, f"retrying in {delay}" if delay else "giving up",
                )
                mark_failed(self.context.catalog, delivery.id, f"{type(error).__name__}: {error}", delay)
            else:
                mark_done(self.context.catalog, delivery.id)
                done += 1
        return done
