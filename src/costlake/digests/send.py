"""Sending digests: due on schedule (weekly on Mondays, monthly on the 2nd, UTC), only on complete data, by SMTP
and Slack. A digest that waits for data says so in its status and is tried again later; a sent period is not sent
twice."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from costlake.catalog import Catalog, tenant_rows
from costlake.catalog import dashboards as rows
from costlake.catalog.models import Digest, utcnow
from costlake.credentials import SecretCipher
from costlake.digests.periods import Period, latest_period
from costlake.digests.render import CHART_CID, chart_png, html_part, slack_message, text_part
from costlake.digests.summary import Summary, completeness, summarize
from costlake.errors import CostlakeError, InvalidInput
from costlake.query.engine import CostReader
from costlake.settings import Settings
from costlake.smtp import open_smtp

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=15)  # a waiting or failed digest is tried again after this


class DeliveryError(CostlakeError):
    pass


def store_slack_url(url: str, settings: Settings) -> dict[str, str]:
    if not url.startswith(settings.slack_webhook_prefix):
        raise InvalidInput("slack", f"slack.webhook_url must be a Slack incoming-webhook URL starting with {settings.slack_webhook_prefix}")
    return {"kind": "stored", "ciphertext": SecretCipher.for_settings(settings).encrypt(url)}


@dataclass
class Outcome:
    status: str  # sent | waiting | failed | skipped
    period: str
    message: str


def email(summary: Summary, settings: Settings, recipients: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"{summary.digest}: {summary.period.label()}"
    message["From"], message["To"] = settings.smtp_from, ", ".join(recipients)
    message.set_content(text_part(summary))
    chart = chart_png(summary.views[0]) if summary.views else None
    message.add_alternative(html_part(summary, chart is not None), subtype="html")
    if chart is not None:
        html = message.get_body(preferencelist=("html",))
        assert html is not None
        html.add_related(chart, maintype="image", subtype="png", cid=f"<{CHART_CID}>")
    return message


def _send_email(message: EmailMessage, settings: Settings) -> None:
    if not settings.smtp_host:
        raise DeliveryError("no SMTP server is set (COSTLAKE_SMTP_HOST); the operator must set one to send digests by email")
    try:
        with open_smtp(settings, timeout=30) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"the SMTP server {settings.smtp_host}:{settings.smtp_port} refused the digest: {error}") from None


def _send_slack(payload: dict[str, Any], stored: dict[str, str], settings: Settings) -> None:
    url = SecretCipher.for_settings(settings).decrypt(stored["ciphertext"])
    try:
        response = httpx.post(url, json=payload, timeout=30)
    except httpx.TransportError as error:
        raise DeliveryError(f"Slack could not be reached: {type(error).__name__}") from None
    if response.status_code != 200:
        raise DeliveryError(f"Slack answered {response.status_code}: {response.text[:200]}")


class DigestSender:
    def __init__(self, settings: Settings, catalog: Catalog, reader: CostReader) -> None:
        self.settings, self.catalog, self.reader = settings, catalog, reader

    def send(self, digest: Digest, period: Period, *, force: bool = False, now: datetime | None = None) -> Outcome:
        """Send one period's digest (unless its data is incomplete, or `force`), and record the outcome."""
        try:
            ready = completeness(self.reader, self.catalog, digest.tenant_id, period, self.settings.sync_interval)
            if not ready.complete and not force:
                outcome = Outcome("waiting", period.key, ready.message)
            else:
                summary = summarize(self.reader, self.catalog, digest, period, ready.message)
                if digest.email_to:
                    _send_email(email(summary, self.settings, digest.email_to), self.settings)
                if digest.slack:
                    _send_slack(slack_message(summary), digest.slack, self.settings)
                channels = [f"{len(digest.email_to)} recipient(s)"] if digest.email_to else []
                channels += ["Slack"] if digest.slack else []
                outcome = Outcome("sent", period.key, f"sent {period.label()} to {' and '.join(channels) or 'nobody (no channel set)'}")
        except CostlakeError as error:
            outcome = Outcome("failed", period.key, str(error))
        changes: dict[str, Any] = {"last_status": outcome.status, "last_message": outcome.message, "last_attempt_at": now or utcnow()}
        if outcome.status == "sent":
            changes["last_period"] = period.key
        tenant_rows.update_row(self.catalog, Digest, digest.tenant_id, digest.id, changes)
        return outcome

    def preview(self, digest: Digest, period: Period) -> tuple[str, str]:
        """(text, html) of the digest without sending it."""
        ready = completeness(self.reader, self.catalog, digest.tenant_id, period, self.settings.sync_interval)
        summary = summarize(self.reader, self.catalog, digest, period, ready.message)
        return text_part(summary), html_part(summary, with_chart=False)

    def run_due(self, now: datetime | None = None) -> list[Outcome]:
        """One scheduler pass: every enabled digest whose latest period was not sent, unless tried a moment ago."""
        now = now or datetime.now(UTC)
        outcomes = []
        for digest in rows.all_enabled_digests(self.catalog):
            period = latest_period(digest.frequency, now)
            if digest.last_period is not None and digest.last_period >= period.key:
                continue
            if digest.last_attempt_at is not None and now - digest.last_attempt_at < RETRY_AFTER:
                continue
            outcomes.append(self.send(digest, period, now=now))
            log.info("digest %s for %s: %s", digest.id, period.key, outcomes[-1].message)
        return outcomes
