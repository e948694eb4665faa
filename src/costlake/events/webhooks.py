"""Inbound webhooks: each endpoint belongs to one tenant and has its own write-only secret.

GitHub signs the raw body with HMAC-SHA256 in `X-Hub-Signature-256: sha256=<hex>`; PagerDuty (v3 webhooks) in
`X-PagerDuty-Signature: v1=<hex>` (several, comma-separated, while a secret rotates); the generic endpoint follows
Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with `webhook-id` and
`webhook-timestamp` (at most 5 minutes off). A post whose signature does not verify stores nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from costlake.catalog import Catalog
from costlake.catalog import events as event_rows
from costlake.catalog.models import Webhook
from costlake.credentials import SecretCipher
from costlake.errors import CostlakeError, InvalidInput
from costlake.events.service import EventDraft, record
from costlake.settings import Settings

REPLAY_WINDOW = timedelta(minutes=5)
GITHUB_DEPLOY_STATES = ("success", "failure", "error")


class BadSignature(CostlakeError):
    """The post is not signed with this endpoint's secret (answered 401)."""


@dataclass
class Received:
    stored: list[str]  # event ids created or updated
    ignored: str | None = None  # why nothing was recorded, for deliveries that carry no event


def new_secret(kind: str) -> str:
    # Standard Webhooks secrets are "whsec_" + base64 of the key; GitHub and PagerDuty take any text.
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode() if kind == "generic" else secrets.token_hex(32)


def create_webhook(catalog: Catalog, settings: Settings, tenant_id: str, kind: str, name: str | None) -> tuple[Webhook, str]:
    """The stored webhook and its secret, which is shown this once."""
    secret = new_secret(kind)
    webhook = Webhook(tenant_id=tenant_id, kind=kind, name=name, secret=_stored(settings, secret))
    return event_rows.insert_webhook(catalog, webhook), secret


def replace_secret(catalog: Catalog, settings: Settings, tenant_id: str, webhook_id: str, secret: str) -> Webhook:
    """Verify with the secret the provider issued instead (PagerDuty issues its own when its subscription is made,
    after it was given the endpoint's address), or a rotated one; deliveries signed with the old one are refused."""
    webhook = event_rows.get_webhook(catalog, tenant_id, webhook_id)
    if webhook.kind == "generic":
        try:
            valid = secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 16
        except ValueError:
            valid = False
        if not valid:
            raise InvalidInput("secret", "a generic (Standard Webhooks) secret is whsec_ followed by the base64 of a key of 16 bytes or more")
    return event_rows.set_webhook_secret(catalog, tenant_id, webhook_id, _stored(settings, secret))


def _stored(settings: Settings, secret: str) -> dict[str, str]:
    return {"kind": "stored", "ciphertext": SecretCipher.for_settings(settings).encrypt(secret)}


def _hex_hmac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(kind: str, secret: str, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
    if kind == "github":
        given = headers.get("x-hub-signature-256", "")
        if not hmac.compare_digest(given.encode(), ("sha256=" + _hex_hmac(secret.encode(), body)).encode()):
            raise BadSignature("X-Hub-Signature-256 does not match this webhook's secret")
    elif kind == "pagerduty":
        expected = "v1=" + _hex_hmac(secret.encode(), body)
        signatures = [part.strip() for part in headers.get("x-pagerduty-signature", "").split(",")]
        if not any(hmac.compare_digest(part.encode(), expected.encode()) for part in signatures):
            raise BadSignature("X-PagerDuty-Signature does not match this webhook's secret")
    else:
        message_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
        try:
            sent = datetime.fromtimestamp(int(stamp), UTC)
            key = base64.b64decode(secret.removeprefix("whsec_"))
        except (ValueError, binascii.Error):
            raise BadSignature("webhook-id, webhook-timestamp and webhook-signature headers are required") from None
        if not message_id or abs(now - sent) > REPLAY_WINDOW:
            raise BadSignature("webhook-timestamp is more than 5 minutes off (or webhook-id is missing); send it fresh")
        expected = base64.b64encode(hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
        signatures = [part.partition(",")[2] for part in headers.get("webhook-signature", "").split() if part.startswith("v1,")]
        if not any(hmac.compare_digest(part.encode(), expected.encode()) for part in signatures):
            raise BadSignature("webhook-signature does not match this webhook's secret")


def _time(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _github(event_type: str, payload: dict[str, Any]) -> list[EventDraft] | str:
    repository = (payload.get("repository") or {}).get("full_name", "")
    labels = {"repository": repository} if repository else {}
    if event_type == "deployment":
        deployment = payload["deployment"]
        return [EventDraft(
            title=f"Deploy {deployment.get('ref')} to {deployment.get('environment')} ({repository})", category="deploy", source="github",
            starts_at=_time(deployment.get("created_at")),
            labels={**labels, "environment": deployment.get("environment") or "", "ref": deployment.get("ref") or ""},
            url=(payload.get("repository") or {}).get("html_url"), external_id=f"github:deployment:{deployment['id']}",
        )]
    if event_type == "deployment_status":
        status, deployment = payload["deployment_status"], payload["deployment"]
        if status.get("state") not in GITHUB_DEPLOY_STATES:
            return f"deployment_status {status.get('state')} is not a final state"
        return [EventDraft(
            title=f"Deploy {status['state']}: {deployment.get('ref')} to {deployment.get('environment')} ({repository})", category="deploy",
            source="github", starts_at=_time(status.get("updated_at") or status.get("created_at")),
            labels={**labels, "environment": deployment.get("environment") or "", "ref": deployment.get("ref") or "", "state": status["state"]},
            url=status.get("target_url") or status.get("log_url") or None, external_id=f"github:deployment_status:{status['id']}",
        )]
    if event_type == "release":
        release = payload["release"]
        if payload.get("action") != "published":
            return f"release {payload.get('action')} (only published releases are recorded)"
        return [EventDraft(
            title=f"Release {release.get('name') or release.get('tag_name')} ({repository})", category="release", source="github",
            starts_at=_time(release.get("published_at")), labels={**labels, "tag": release.get("tag_name") or ""},
            url=release.get("html_url"), external_id=f"github:release:{release['id']}",
        )]
    if event_type == "pull_request":
        pull = payload["pull_request"]
        if payload.get("action") != "closed" or not pull.get("merged"):
            return "only merged pull requests are recorded"
        return [EventDraft(
            title=f"Merged #{pull.get('number')}: {pull.get('title')} ({repository})", category="other", source="github",
            starts_at=_time(pull.get("merged_at")), labels={**labels, "base": (pull.get("base") or {}).get("ref") or ""},
            url=pull.get("html_url"), external_id=f"github:pull_request:{pull['id']}",
        )]
    return f"GitHub event {event_type!r} is not recorded (deployment, deployment_status, release and merged pull_request are)"


def _pagerduty(catalog: Catalog, tenant_id: str, payload: dict[str, Any]) -> list[EventDraft | str] | str:
    """Drafts to record; a resolved incident already recorded gets its end instead (its id is returned)."""
    event = payload["event"]
    kind, incident = event.get("event_type"), event.get("data") or {}
    if kind not in ("incident.triggered", "incident.resolved"):
        return f"PagerDuty event {kind!r} is not recorded (incident.triggered and incident.resolved are)"
    external_id = f"pagerduty:incident:{incident['id']}"
    if kind == "incident.resolved":
        existing = event_rows.find_external(catalog, tenant_id, external_id)
        if existing is not None:
            event_rows.update_event(catalog, existing.id, {"ends_at": _time(event.get("occurred_at"))})
            return [existing.id]
    labels = {key: value for key, value in (
        ("service", (incident.get("service") or {}).get("summary")), ("urgency", incident.get("urgency")),
        ("team", ", ".join(team.get("summary", "") for team in incident.get("teams") or []) or None),
    ) if value}
    return [EventDraft(
        title=f"Incident #{incident.get('number')}: {incident.get('title')}", category="incident", source="pagerduty",
        starts_at=_time(incident.get("created_at") or event.get("occurred_at")),
        ends_at=_time(event.get("occurred_at")) if kind == "incident.resolved" else None,
        labels=labels, url=incident.get("html_url"), external_id=external_id,
    )]


def generic_draft(payload: dict[str, Any], external_id: str | None = None) -> EventDraft:
    """The body of POST .../events, as a draft: timestamp, or start (+ end)."""
    start = payload.get("timestamp") or payload.get("start")
    if not start:
        raise InvalidInput("timestamp", "give timestamp, or start (and end)")
    if payload.get("end") and not payload.get("start"):
        raise InvalidInput("start", "end needs start")
    labels = payload.get("labels") or {}
    if not isinstance(labels, dict) or any(not isinstance(v, str) for v in labels.values()):
        raise InvalidInput("labels", "labels must be an object of text values")
    try:
        starts_at, ends_at = _time(str(start)), _time(str(payload["end"])) if payload.get("end") else None
    except ValueError:
        raise InvalidInput("timestamp", "times must be ISO 8601 with a time zone, e.g. 2026-11-02T14:00:00Z") from None
    return EventDraft(
        title=str(payload.get("title") or ""), category=str(payload.get("category") or "other"), starts_at=starts_at, ends_at=ends_at,
        source=payload.get("source"), labels=labels, url=payload.get("url"), external_id=external_id,
    )


def receive(catalog: Catalog, settings: Settings, webhook: Webhook, headers: Mapping[str, str], body: bytes) -> Received:
    """Verify, then record what the delivery says; raises BadSignature (nothing stored) or InvalidInput."""
    secret = SecretCipher.for_settings(settings).decrypt(webhook.secret["ciphertext"])
    verify(webhook.kind, secret, headers, body, datetime.now(UTC))
    event_rows.touch_webhook(catalog, webhook.id)
    try:
        payload = json.loads(body)
    except ValueError:
        raise InvalidInput("body", "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("body", "the body must be a JSON object")
    try:
        if webhook.kind == "github":
            event_type = headers.get("x-github-event", "")
            found = "ping" if event_type == "ping" else _github(event_type, payload)
            drafts: list[EventDraft | str] | str = found if isinstance(found, str) else list(found)
        elif webhook.kind == "pagerduty":
            drafts = _pagerduty(catalog, webhook.tenant_id, payload)
        else:
            drafts = [generic_draft(payload, external_id=f"generic:{headers.get('webhook-id')}")]
    except (KeyError, TypeError, AttributeError) as error:
        raise InvalidInput("body", f"the payload lacks what a {webhook.kind} delivery carries ({error})") from None
    if isinstance(drafts, str):
        return Received([], ignored=drafts)
    return Received([record(catalog, webhook.tenant_id, d, webhook.id)[0].id if isinstance(d, EventDraft) else d for d in drafts])
