"""Channels and deliveries against real receivers: a local HTTP server that checks Slack Block Kit and Teams
Adaptive Card shapes and verifies Standard Webhooks signatures (with the standardwebhooks library, an independent
implementation), and a real SMTP server (aiosmtpd). SQLite and PostgreSQL."""

from __future__ import annotations

import email
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message as MailMessage
from itertools import pairwise
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import update
from standardwebhooks import Webhook
from werkzeug import Request, Response

from alerts_data import load, usage_until_today
from conftest import auth
from costlake.alerts.evaluation import AlertContext, evaluate_tenant
from costlake.app import create_app
from costlake.catalog import open_catalog
from costlake.catalog.models import AlertChannel, AlertDelivery, utcnow
from costlake.notify.deliveries import deliver_due
from costlake.query.engine import CostReader
from costlake.settings import Settings
from costlake.store import Lake


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each path with a queue of statuses (then 200) and keeps what it got."""

    server: HTTPServer
    got: list[Received] = field(default_factory=list)
    answers: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    def handle(self, request: Request) -> Response:
        self.got.append(Received(request.path, dict(request.headers), request.get_data(), time.monotonic()))
        queue = self.answers.get(request.path, [])
        status, headers = queue.pop(0) if queue else (200, {})
        return Response("ok" if status < 400 else "nope", status=status, headers=headers)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], MailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = HTTPServer(host="127.0.0.1", port=_free_port())
    server.start()
    found = Receiver(server)
    server.expect_request(re.compile(".*")).respond_with_handler(found.handle)
    yield found
    server.clear()
    server.stop()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def alert_settings(settings: Settings, receiver: Receiver, mailbox, monkeypatch) -> Settings:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COSTLAKE_ALLOWED_WEBHOOK_HOSTS", f"127.0.0.1:{receiver.server.port}")
    monkeypatch.setenv("COSTLAKE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COSTLAKE_SMTP_PORT", str(mailbox[1]))
    monkeypatch.setenv("COSTLAKE_SMTP_SECURITY", "none")
    monkeypatch.setenv("COSTLAKE_SMTP_FROM", "alerts@costlake.test")
    monkeypatch.setenv("COSTLAKE_PUBLIC_URL", "https://costlake.example.com")
    return Settings()


@pytest.fixture
def api(alert_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(alert_settings)) as test_client:
        yield test_client


def _check_slack(body: dict[str, Any]) -> None:
    assert isinstance(body["text"], str) and body["text"]
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds[0] == "header" and "section" in kinds and kinds[-1] == "actions"
    header = body["blocks"][0]["text"]
    assert header["type"] == "plain_text" and 0 < len(header["text"]) <= 150
    for block in body["blocks"]:
        if block["type"] == "section":
            assert ("text" in block and block["text"]["type"] == "mrkdwn" and len(block["text"]["text"]) <= 3000) or (
                0 < len(block["fields"]) <= 10 and all(f["type"] == "mrkdwn" and len(f["text"]) <= 2000 for f in block["fields"])
            )
    (button,) = body["blocks"][-1]["elements"]
    assert button["type"] == "button" and button["url"].startswith("https://costlake.example.com/")


def _check_teams(body: dict[str, Any]) -> None:
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4" and card["$schema"].startswith("http://adaptivecards.io/")
    assert card["body"][0]["type"] == "TextBlock" and card["body"][0]["text"]
    assert any(item["type"] == "FactSet" and all({"title", "value"} <= set(f) for f in item["facts"]) for item in card["body"])
    (action,) = card["actions"]
    assert action["type"] == "Action.OpenUrl" and action["url"].startswith("https://costlake.example.com/")


def test_slack_teams_and_webhook_channels_send_well_formed_signed_messages(api, make_tenant, receiver) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    base, admin, member = f"/api/v1/tenants/{acme.name}/channels", auth(acme.admin), auth(acme.member)
    slack = api.post(base, headers=admin, json={"name": "ops slack", "kind": "slack", "url": receiver.url("/slack/T000/B000/secret")})
    assert slack.status_code == 201, slack.text
    assert slack.json()["url_hint"] == "http://127.0.0.1/…" and "secret" not in json.dumps(slack.json()["url_hint"])
    teams = api.post(base, headers=admin, json={"name": "ops teams", "kind": "teams", "url": receiver.url("/teams/workflow")})
    assert teams.status_code == 201, teams.text
    hook = api.post(base, headers=admin, json={"name": "pager", "kind": "webhook", "url": receiver.url("/hook")})
    assert hook.status_code == 201, hook.text
    secret = hook.json()["secret"]
    assert secret.startswith("whsec_")

    _check_slack(receiver.on("/slack/T000/B000/secret")[0].json())
    _check_teams(receiver.on("/teams/workflow")[0].json())
    (signed,) = receiver.on("/hook")
    payload = Webhook(secret).verify(signed.body, signed.headers)
    assert payload["type"] == "test" and payload["tenant"] == "acme" and payload["url"] == "https://costlake.example.com/channels"
    assert signed.headers["Webhook-Signature"].startswith("v1,")

    # Secrets and URLs are write-only: never shown again, not even to admins.
    listed = api.get(base, headers=member).json()
    assert all(channel["secret"] is None for channel in listed)
    assert "/slack/T000/B000/secret" not in json.dumps(listed) and "whsec_" not in api.get(f"{base}/{hook.json()['id']}", headers=admin).text
    assert api.post(base, headers=member, json={"name": "x", "kind": "slack", "url": receiver.url("/x")}).status_code == 403

    # Rotation: a new secret, shown once; during the grace period both sign, so either verifies.
    rotated = api.post(f"{base}/{hook.json()['id']}/rotate-secret", headers=admin).json()
    new_secret = rotated["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret and rotated["previous_secret_until"]
    test = api.post(f"{base}/{hook.json()['id']}/test", headers=admin)
    assert test.status_code == 200 and test.json()["status"] == "sent" and test.json()["last_status_code"] == 200
    latest = receiver.on("/hook")[-1]
    assert len(latest.headers["Webhook-Signature"].split(" ")) == 2
    assert Webhook(secret).verify(latest.body, latest.headers)["type"] == "test"
    assert Webhook(new_secret).verify(latest.body, latest.headers)["type"] == "test"

    deliveries = api.get(f"/api/v1/tenants/{acme.name}/deliveries", headers=member).json()["items"]
    assert len(deliveries) == 4 and all(d["status"] == "sent" and d["attempts"] == 1 and d["last_status_code"] == 200 for d in deliveries)
    assert {"id", "channel_id", "subject", "status", "attempts", "last_status_code", "sent_at"} <= set(deliveries[0])
    assert deliveries[0]["subject"] == "channel" and deliveries[0]["type"] == "test"


def test_channels_cannot_target_private_addresses_unless_the_operator_allows_them(api, make_tenant, receiver) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    base, admin = f"/api/v1/tenants/{acme.name}/channels", auth(acme.admin)
    for url in ("https://10.1.2.3/hook", "https://169.254.169.254/latest/meta-data", "https://[::1]/x", "https://127.0.0.1:9/x", "https://192.168.0.10/"):
        refused = api.post(base, headers=admin, json={"name": "x", "kind": "webhook", "url": url, "validate": False})
        assert refused.status_code == 422, url
        assert "COSTLAKE_ALLOWED_WEBHOOK_HOSTS" in refused.text and "private" in refused.text
    plain = api.post(base, headers=admin, json={"name": "x", "kind": "slack", "url": "http://hooks.example.com/x", "validate": False})
    assert plain.status_code == 422 and "https" in plain.text
    assert api.post(base, headers=admin, json={"name": "x", "kind": "slack", "validate": False}).status_code == 422
    assert receiver.got == []  # nothing was sent anywhere


def test_failed_test_message_refuses_the_channel_unless_validate_is_false(api, make_tenant, receiver) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    base, admin = f"/api/v1/tenants/{acme.name}/channels", auth(acme.admin)
    receiver.answers["/gone"] = [(404, {})]
    refused = api.post(base, headers=admin, json={"name": "gone", "kind": "slack", "url": receiver.url("/gone")})
    assert refused.status_code == 422 and "HTTP 404" in refused.json()["detail"][0]["msg"] and '"validate": false' in refused.json()["detail"][0]["msg"]
    assert api.get(base, headers=admin).json() == []
    kept = api.post(base, headers=admin, json={"name": "gone", "kind": "slack", "url": receiver.url("/gone"), "validate": False})
    assert kept.status_code == 201 and kept.json()["status"] == "untested"


def test_deliveries_retry_429_and_5xx_with_backoff_and_give_up_on_4xx(api, alert_settings, make_tenant, receiver) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    base, admin = f"/api/v1/tenants/{acme.name}", auth(acme.admin)
    receiver.answers["/flaky"] = [(429, {"Retry-After": "120"}), (503, {})]
    flaky = api.post(f"{base}/channels", headers=admin, json={"name": "flaky", "kind": "webhook", "url": receiver.url("/flaky"), "validate": False}).json()
    first = api.post(f"{base}/channels/{flaky['id']}/test", headers=admin).json()
    assert (first["status"], first["attempts"], first["last_status_code"]) == ("retrying", 1, 429)
    catalog = open_catalog(alert_settings)
    try:
        with catalog.session() as session:
            delivery = session.get_one(AlertDelivery, first["id"])
            assert delivery.next_attempt_at - utcnow() > timedelta(seconds=100)  # Retry-After honored
        assert deliver_due(catalog, alert_settings) == 0  # not due yet

        def make_due() -> None:
            with catalog.session() as session:
                session.execute(update(AlertDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))

        make_due()
        deliver_due(catalog, alert_settings)
        second = api.get(f"{base}/deliveries", headers=admin, params={"channel_id": flaky["id"]}).json()["items"][0]
        assert (second["status"], second["attempts"], second["last_status_code"]) == ("retrying", 2, 503)
        make_due()
        deliver_due(catalog, alert_settings)
        third = api.get(f"{base}/deliveries", headers=admin, params={"channel_id": flaky["id"]}).json()["items"][0]
        assert (third["status"], third["attempts"], third["last_status_code"]) == ("sent", 3, 200) and third["sent_at"]
        assert len(receiver.on("/flaky")) == 3

        receiver.answers["/broken"] = [(400, {})]
        broken = api.post(f"{base}/channels", headers=admin, json={"name": "broken", "kind": "teams", "url": receiver.url("/broken"), "validate": False}).json()
        failed = api.post(f"{base}/channels/{broken['id']}/test", headers=admin).json()
        assert (failed["status"], failed["attempts"], failed["last_status_code"]) == ("failed", 1, 400)
        assert api.get(f"{base}/deliveries", headers=admin, params={"status": "failed"}).json()["items"][0]["id"] == failed["id"]

        # A channel that has failed for 24 hours shows as failing.
        assert api.get(f"{base}/channels/{broken['id']}", headers=admin).json()["status"] == "untested"
        with catalog.session() as session:
            session.execute(update(AlertChannel).where(AlertChannel.id == broken["id"]).values(failing_since=utcnow() - timedelta(hours=25)))
        assert api.get(f"{base}/channels/{broken['id']}", headers=admin).json()["status"] == "failing"
        health = {c["name"]: c for c in api.get(f"{base}/data-health", headers=auth(acme.member)).json()["channels"]}
        assert health["broken"]["failing"] is True and "HTTP 400" in health["broken"]["last_error"] and health["flaky"]["failing"] is False
    finally:
        catalog.close()


def test_email_channels_send_text_and_html_over_smtp(api, make_tenant, mailbox) -> None:  # type: ignore[no-untyped-def]
    box, _ = mailbox
    acme = make_tenant("acme")
    base, admin = f"/api/v1/tenants/{acme.name}/channels", auth(acme.admin)
    bad = api.post(base, headers=admin, json={"name": "mail", "kind": "email", "to": ["not an address"]})
    assert bad.status_code == 422 and "not an email address" in bad.text
    created = api.post(base, headers=admin, json={"name": "mail", "kind": "email", "to": ["finops@example.com", "cto@example.com"]})
    assert created.status_code == 201, created.text
    assert created.json()["to"] == ["finops@example.com", "cto@example.com"]
    ((recipients, message),) = box.messages
    assert recipients == ["finops@example.com", "cto@example.com"]
    assert message["From"] == "alerts@costlake.test" and message["Subject"].startswith("[costlake] costlake test message")
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "https://costlake.example.com/channels" in parts["text/plain"] and '<a href="https://costlake.example.com/channels">' in parts["text/html"]


def test_slack_gets_about_one_message_a_second(api, make_tenant, receiver) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    base, admin = f"/api/v1/tenants/{acme.name}/channels", auth(acme.admin)
    slack = api.post(base, headers=admin, json={"name": "s", "kind": "slack", "url": receiver.url("/s")}).json()
    api.post(f"{base}/{slack['id']}/test", headers=admin)
    api.post(f"{base}/{slack['id']}/test", headers=admin)
    times = [r.at for r in receiver.on("/s")]
    assert len(times) == 3 and all(later - earlier >= 1.0 for earlier, later in pairwise(times))


def test_anomalies_budgets_and_sources_are_notified_once(api, alert_settings, make_tenant, receiver, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    usage, _ = usage_until_today()
    load(alert_settings, acme.id, tmp_path / "usage", usage)
    base, admin = f"/api/v1/tenants/{acme.name}", auth(acme.admin)
    hook = api.post(f"{base}/channels", headers=admin, json={"name": "hook", "kind": "webhook", "url": receiver.url("/hook"), "validate": False}).json()
    monitor = api.post(
        f"{base}/anomaly-monitors", headers=admin,
        json={"name": "m", "split_by": ["ServiceName", "SubAccountId"], "min_daily_impact": {"USD": "50"}, "channels": [hook["id"]]},
    ).json()
    budget = api.post(
        f"{base}/budgets", headers=admin,
        json={"name": "b", "amount": "10", "currency": "USD", "thresholds": [{"kind": "actual", "percent": 80}], "channels": [hook["id"]]},
    ).json()
    catalog = open_catalog(alert_settings)
    try:
        context = AlertContext(alert_settings, catalog, CostReader(alert_settings, Lake(alert_settings)))
        evaluate_tenant(context, acme.id, owner="w1")
        evaluate_tenant(context, acme.id, owner="w2")  # idempotent: nothing is sent twice
    finally:
        catalog.close()
    types = sorted(r.json()["type"] for r in receiver.on("/hook"))
    assert types == ["anomaly.opened", "budget.threshold_crossed", "source.first_data"]
    by_type = {r.json()["type"]: r.json() for r in receiver.on("/hook")}
    opened = by_type["anomaly.opened"]
    assert opened["data"]["monitor_id"] == monitor["id"] and opened["data"]["series"] == {"ServiceName": "BigQuery", "SubAccountId": "project-x"}
    assert opened["url"] == f"https://costlake.example.com/anomalies/{opened['data']['anomaly_id']}"
    assert opened["data"]["root_causes"][0]["value"] in {"compute", "project-x/BigQuery/compute"}
    crossed = by_type["budget.threshold_crossed"]
    assert crossed["data"]["budget_id"] == budget["id"] and crossed["data"]["threshold"] == {"kind": "actual", "percent": "80"}
    assert crossed["url"] == f"https://costlake.example.com/budgets/{budget['id']}"
    deliveries = api.get(f"{base}/deliveries", headers=auth(acme.member)).json()["items"]
    assert sorted(d["subject"] for d in deliveries) == ["anomaly", "budget", "source"]
    assert {d["subject_id"] for d in deliveries if d["subject"] == "budget"} == {budget["id"]}
