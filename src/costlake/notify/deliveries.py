"""Getting each notice to each of its channels: claimed by one worker at a time, retried with backoff on 429/5xx
(Retry-After honored), spaced per channel (Slack takes about one message a second), every attempt logged."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from costlake.catalog import Catalog
from costlake.catalog.alerts import claim_due_deliveries, finish_attempt, notice_and_channel, postpone, take_send_slot
from costlake.catalog.models import AlertChannel, AlertDelivery, Tenant, utcnow
from costlake.notify.messages import Message
from costlake.notify.send import Attempt, send
from costlake.settings import Settings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)  # doubled after each failure, up to MAX_RETRY
MAX_RETRY = timedelta(hours=1)
CLAIM_LEASE = timedelta(minutes=2)
SPACING = {"slack": timedelta(seconds=1.1)}  # Slack: about one message per second per webhook
WAIT_FOR_SLOT = 3.0  # seconds a worker waits for a channel's slot before moving on
FAILING_AFTER = timedelta(hours=24)


def retry_at(attempts: int, retry_after: float | None) -> timedelta | None:
    """When to try again after the `attempts`-th failure; None when it is time to give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    backoff = min(FIRST_RETRY * 2 ** (attempts - 1), MAX_RETRY)
    return max(backoff, timedelta(seconds=retry_after)) if retry_after is not None else backoff


def channel_failing(channel: AlertChannel) -> bool:
    """Failing: every attempt for 24 h has failed."""
    return channel.failing_since is not None and utcnow() - channel.failing_since >= FAILING_AFTER


def tenant_message(catalog: Catalog, tenant_id: str, notice_type: str, data: dict, settings: Settings) -> Message:
    with catalog.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
    return Message.of(notice_type, data, tenant.id, tenant.name, settings.public_url)


def _wait_for_slot(catalog: Catalog, channel: AlertChannel) -> bool:
    spacing = SPACING.get(channel.kind)
    if spacing is None:
        return True
    deadline = time.monotonic() + WAIT_FOR_SLOT
    while (free_at := take_send_slot(catalog, channel.id, spacing)) is not None:
        pause = (free_at - utcnow()).total_seconds()
        if time.monotonic() + pause > deadline:
            return False
        time.sleep(max(pause, 0.05))
    return True


def deliver(catalog: Catalog, settings: Settings, delivery: AlertDelivery) -> AlertDelivery:
    """One attempt of a claimed delivery."""
    notice, channel = notice_and_channel(catalog, delivery)
    if not channel.enabled:
        return finish_attempt(catalog, delivery.id, status="failed", status_code=None, error="the channel is disabled", retry_at=None)
    if not _wait_for_slot(catalog, channel):
        postpone(catalog, delivery.id, utcnow() + SPACING[channel.kind])
        return delivery
    message = tenant_message(catalog, delivery.tenant_id, notice.type, notice.data, settings)
    try:
        attempt = send(channel, message, delivery.id, settings)
    except Exception as error:  # noqa: BLE001 - a broken channel (e.g. an undecryptable URL) must not stop the others
        attempt = Attempt(False, error=f"{type(error).__name__}: {error}")
    if attempt.ok:
        return finish_attempt(catalog, delivery.id, status="sent", status_code=attempt.status_code, error=None, retry_at=None)
    delay = retry_at(delivery.attempts + 1, attempt.retry_after) if attempt.retryable else None
    log.warning("delivery %s to channel %s failed (attempt %d): %s", delivery.id, channel.name, delivery.attempts + 1, attempt.error)
    return finish_attempt(
        catalog,
        delivery.id,
        status="retrying" if delay is not None else "failed",
        status_code=attempt.status_code,
        error=attempt.error,
        retry_at=utcnow() + delay if delay is not None else None,
    )


def deliver_due(catalog: Catalog, settings: Settings, *, tenant_id: str | None = None, limit: int = 100) -> int:
    """Send what is due now; returns how many were sent."""
    sent = 0
    for delivery in claim_due_deliveries(catalog, CLAIM_LEASE, limit, tenant_id):
        sent += deliver(catalog, settings, delivery).status == "sent"
    return sent
