"""Scheduled digests: not sent on incomplete data (they wait and say so), then sent once per period by real SMTP
(aiosmtpd) with a text part, an HTML part and an inline chart, and to a Slack webhook."""

from __future__ import annotations

import email
import json
import socket
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller

from conftest import auth, sync_and_wait
from focus_files import focus_row, write_csv

MONDAY = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)  # the weekly digest of 2026-11-02..08 is due


def day_rows(first: date, last: date) -> list[dict[str, str]]:
    rows = []
    day = first
    while day <= last:
        this_week = day >= date(2026, 11, 2)
        for team, cost in (("payments", "20" if this_week else "10"), ("search", "5")):
            rows.append(focus_row(
                day.isoformat()[:7], cost, ChargePeriodStart=f"{day}T00:00:00Z", ChargePeriodEnd=f"{day + timedelta(days=1)}T00:00:00Z",
                Tags=json.dumps({"team": team}),
            ))
        day += timedelta(days=1)
    return rows


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def inbox(settings):  # type: ignore[no-untyped-def]
    handler = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.smtp_host, settings.smtp_port, settings.smtp_security = "127.0.0.1", port, "none"
    settings.smtp_from = "costlake@example.com"
    yield handler
    controller.stop()


@pytest.fixture
def acme(client, make_tenant, settings, tmp_path):  # type: ignore[no-untyped-def]
    tenant = make_tenant("acme")
    settings.allowed_local_roots = [tmp_path]
    write_csv(tmp_path / "export" / "costs.csv", day_rows(date(2026, 10, 26), date(2026, 11, 6)))  # Friday's data is the latest
    source = client.post(f"/api/v1/tenants/{tenant.id}/billing-sources", headers=auth(tenant.admin),
                         json={"provider": "aws", "source_uri": str(tmp_path / "export"), "name": "aws main"}).json()
    assert sync_and_wait(client, tenant.id, source["id"], tenant.admin, body={"from": "2026-10-01"})["status"] == "succeeded"
    admin = auth(tenant.admin)
    metrics = f"/api/v1/tenants/{tenant.id}/metrics"
    client.post(metrics, headers=admin, json={"name": "requests", "unit": "requests"})
    values = []
    for offset in range(14):
        day = date(2026, 10, 26) + timedelta(days=offset)
        values += [{"date": day.isoformat(), "value": "2000" if day >= date(2026, 11, 2) else "1000", "labels": {"team": "payments"}},
                   {"date": day.isoformat(), "value": "1000", "labels": {"team": "search"}}]
    assert client.post(f"{metrics}/requests/values", headers=admin, json={"values": values}).status_code == 200
    events = f"/api/v1/tenants/{tenant.id}/events"
    client.post(events, headers=admin, json={"title": "Deploy checkout v42", "timestamp": "2026-11-05T14:00:00Z", "category": "deploy", "labels": {"team": "payments"}})
    client.post(events, headers=admin, json={"title": "Search reindex", "timestamp": "2026-11-05T15:00:00Z", "labels": {"team": "search"}})
    view = client.post(f"/api/v1/tenants/{tenant.id}/views", headers=admin, json={
        "name": "Cost by team", "query": {"group_by": ["tag:team"], "unit_metric": "requests", "unit_scale": 1000}, "range": "last_30_days",
        "events_overlay": {"labels": {"team": "payments"}}}).json()
    tenant.view_id, tenant.source_id, tenant.export = view["id"], source["id"], tmp_path / "export"  # type: ignore[attr-defined]
    return tenant


def test_waits_for_complete_data_then_sends_once(client, acme, inbox, settings, httpserver) -> None:  # type: ignore[no-untyped-def]
    settings.slack_webhook_prefix = httpserver.url_for("/services/")
    httpserver.expect_request("/services/T000/B000/XXXX", method="POST").respond_with_data("ok")
    admin = auth(acme.admin)
    created = client.post(f"/api/v1/tenants/{acme.id}/digests", headers=admin, json={
        "name": "Weekly costs", "frequency": "weekly", "view_id": acme.view_id, "email_to": ["finops@example.com"],
        "slack": {"webhook_url": httpserver.url_for("/services/T000/B000/XXXX")}})
    assert created.status_code == 201, created.text
    digest = created.json()
    assert digest["slack"] == {"set": True} and "XXXX" not in created.text
    sender = client.app.state.services.digests
    stored = client.app.state.services.catalog
    from costlake.catalog import tenant_rows
    from costlake.catalog.models import Digest

    tenant_rows.update_row(stored, Digest, acme.id, digest["id"], {"last_period": "2026-W44"})  # as if created weeks ago

    (waiting,) = sender.run_due(MONDAY)
    assert waiting.status == "waiting" and "aws main (data through 2026-11-07T00:00:00Z)" in waiting.message
    assert inbox.messages == [] and len(httpserver.log) == 0
    listed = client.get(f"/api/v1/tenants/{acme.id}/digests/{digest['id']}", headers=admin).json()
    assert listed["last_status"] == "waiting" and "waiting for complete data through 2026-11-09" in listed["last_message"]
    assert sender.run_due(MONDAY + timedelta(minutes=5)) == []  # tried a moment ago

    write_csv(acme.export / "costs.csv", day_rows(date(2026, 10, 26), date(2026, 11, 8)))
    assert sync_and_wait(client, acme.id, acme.source_id, acme.admin, body={"from": "2026-10-01"})["status"] == "succeeded"
    (sent,) = sender.run_due(MONDAY + timedelta(minutes=20))
    assert sent.status == "sent" and sent.period == "2026-W45", sent.message
    (message,) = inbox.messages
    assert message["To"] == "finops@example.com" and message["Subject"] == "Weekly costs: 2026-11-02 to 2026-11-08"
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert "Total: USD 175.00, +70.00 (+66.7%) on the previous period (USD 105.00)" in text
    assert "Top movers by tag:team:\n  payments: USD 140.00, +70.00 (+100.0%)" in text
    assert "Unit cost (requests, per 1,000 requests): USD 8.33333333333, was 7.5 (+11.1%)" in text
    assert "Deploy checkout v42" in text and "Search reindex" not in text  # the view's overlay labels
    assert "Freshness: data complete through 2026-11-09T00:00:00Z across 1 billing source(s)" in text
    html = message.get_body(preferencelist=("html",))
    assert 'src="cid:digest-chart"' in html.get_content()
    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<digest-chart>" and image.get_content().startswith(b"\x89PNG")
    (request, _), = httpserver.log
    assert "Total: USD 175.00" in request.get_json()["blocks"][0]["text"]["text"]
    # sent once per period
    assert sender.run_due(MONDAY + timedelta(hours=2)) == []
    assert client.get(f"/api/v1/tenants/{acme.id}/digests/{digest['id']}", headers=admin).json()["last_period"] == "2026-W45"


def test_send_now_preview_and_who_may(client, acme, inbox, settings, make_tenant) -> None:  # type: ignore[no-untyped-def]
    admin = auth(acme.admin)
    base = f"/api/v1/tenants/{acme.id}/digests"
    bad = [
        client.post(base, headers=admin, json={"name": "x", "frequency": "weekly", "email_to": ["a@example.com"]}),
        client.post(base, headers=admin, json={"name": "x", "frequency": "daily", "view_id": acme.view_id, "email_to": ["a@example.com"]}),
        client.post(base, headers=admin, json={"name": "x", "frequency": "weekly", "view_id": acme.view_id, "email_to": ["not an address"]}),
        client.post(base, headers=admin, json={"name": "x", "frequency": "weekly", "view_id": acme.view_id, "slack": {"webhook_url": "http://169.254.169.254/latest"}}),
        client.post(base, headers=admin, json={"name": "x", "frequency": "weekly", "view_id": acme.view_id}),
    ]
    assert [response.status_code for response in bad] == [422] * len(bad)
    digest = client.post(base, headers=admin, json={"name": "Monthly", "frequency": "monthly", "view_id": acme.view_id, "email_to": ["a@example.com"]}).json()
    assert client.post(base, headers=auth(acme.member), json={"name": "x", "frequency": "weekly", "view_id": acme.view_id, "email_to": ["a@example.com"]}).status_code == 403
    assert client.get(base, headers=auth(acme.member)).status_code == 403
    globex = make_tenant("globex")
    assert client.get(f"/api/v1/tenants/{globex.id}/digests/{digest['id']}", headers=auth(globex.admin)).status_code == 404
    # the last month has ended but its data is not complete: send waits, unless forced
    waiting = client.post(f"{base}/{digest['id']}/send", headers=admin).json()
    assert waiting["status"] == "waiting" and inbox.messages == []
    forced = client.post(f"{base}/{digest['id']}/send", headers=admin, json={"force": True}).json()
    assert forced["status"] == "sent" and len(inbox.messages) == 1
    preview = client.get(f"{base}/{digest['id']}/preview", headers=admin).json()
    assert preview["text"].startswith("Monthly: ") and "<h2>Monthly</h2>" in preview["html"]
    settings.smtp_host = None
    failed = client.post(f"{base}/{digest['id']}/send", headers=admin, json={"force": True}).json()
    assert failed["status"] == "failed" and "COSTLAKE_SMTP_HOST" in failed["message"]
