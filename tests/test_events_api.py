"""/events and inbound webhooks: posted events, label filters, GitHub / PagerDuty / Standard Webhooks signatures
(a wrong one is 401 and stores nothing), write-only secrets, redeliveries stored once."""

from __future__ import annotations

import json

import pytest

from conftest import auth
from webhook_payloads import (
    GITHUB_DEPLOYMENT,
    GITHUB_DEPLOYMENT_STATUS,
    GITHUB_PULL_REQUEST_MERGED,
    GITHUB_RELEASE,
    github_headers,
    pagerduty,
    pagerduty_headers,
    standard_headers,
)


def events(client, tenant, token, **params):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/tenants/{tenant}/events", headers=auth(token), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def webhook(client, tenant, token, kind):  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/tenants/{tenant}/webhooks", headers=auth(token), json={"kind": kind})
    assert response.status_code == 201, response.text
    return response.json()


def test_post_and_filter_events(client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, globex = make_tenant("acme"), make_tenant("globex")
    base = f"/api/v1/tenants/{acme.id}/events"
    deploy = client.post(base, headers=auth(acme.member), json={
        "title": "Deploy checkout v42", "timestamp": "2026-11-03T14:00:00Z", "category": "deploy", "source": "ci",
        "labels": {"service": "checkout", "team": "payments", "environment": "production"}, "url": "https://ci.example.com/42",
    })
    assert deploy.status_code == 201, deploy.text
    body = deploy.json()
    assert body["start"] == "2026-11-03T14:00:00Z" and body["end"] is None and body["category"] == "deploy"
    span = client.post(base, headers=auth(acme.admin), json={
        "title": "Reserved instances bought", "start": "2026-11-01T00:00:00+01:00", "end": "2026-11-30T00:00:00Z", "category": "purchase",
        "labels": {"team": "platform"}})
    assert span.status_code == 201 and span.json()["start"] == "2026-10-31T23:00:00Z"
    assert [e["title"] for e in events(client, acme.id, acme.member, start="2026-11-03", end="2026-11-04")] == ["Reserved instances bought", "Deploy checkout v42"]
    assert [e["title"] for e in events(client, acme.id, acme.member, label="team:payments")] == ["Deploy checkout v42"]
    assert events(client, acme.id, acme.member, label=["team:payments", "environment:staging"]) == []
    assert [e["title"] for e in events(client, acme.id, acme.member, category="purchase")] == ["Reserved instances bought"]
    assert events(client, acme.id, acme.member, start="2026-12-01") == []
    assert client.get(f"/api/v1/tenants/{acme.id}/events", headers=auth(globex.admin)).status_code == 404
    assert events(client, globex.id, globex.admin) == []
    # members may not remove events; admins may
    assert client.delete(f"{base}/{body['id']}", headers=auth(acme.member)).status_code == 403
    assert client.delete(f"{base}/{body['id']}", headers=auth(acme.admin)).status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "category": "deploy"}, "timestamp"),
        ({"title": "x", "timestamp": "2026-11-03T14:00:00", "category": "deploy"}, "timestamp"),
        ({"title": "x", "timestamp": "2026-11-03T14:00:00Z", "category": "party"}, "category"),
        ({"title": "x", "start": "2026-11-03T14:00:00Z", "end": "2026-11-02T14:00:00Z"}, "end"),
        ({"title": "x", "timestamp": "2026-11-03T14:00:00Z", "url": "javascript:alert(1)"}, "url"),
        ({"title": "x", "timestamp": "2026-11-03T14:00:00Z", "start": "2026-11-03T14:00:00Z"}, "timestamp"),
    ],
)
def test_bad_events_are_422_naming_the_field(client, make_tenant, body, field) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    response = client.post(f"/api/v1/tenants/{acme.id}/events", headers=auth(acme.member), json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"][0]["loc"]
    assert events(client, acme.id, acme.admin) == []


def test_github_webhook(client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    hook = webhook(client, acme.id, acme.admin, "github")
    assert hook["url"] == f"/api/v1/hooks/{hook['id']}" and len(hook["secret"]) >= 32
    listed = client.get(f"/api/v1/tenants/{acme.id}/webhooks", headers=auth(acme.admin))
    assert hook["secret"] not in listed.text and listed.json()[0]["id"] == hook["id"]
    for name, payload in (("deployment", GITHUB_DEPLOYMENT), ("deployment_status", GITHUB_DEPLOYMENT_STATUS),
                          ("release", GITHUB_RELEASE), ("pull_request", GITHUB_PULL_REQUEST_MERGED)):
        body = json.dumps(payload).encode()
        response = client.post(hook["url"], content=body, headers=github_headers(hook["secret"], name, body))
        assert response.status_code == 200, response.text
        assert len(response.json()["events"]) == 1
    titles = {e["title"]: e for e in events(client, acme.id, acme.member)}
    assert set(titles) == {
        "Deploy main to production (Codertocat/Hello-World)",
        "Deploy success: main to production (Codertocat/Hello-World)",
        "Release 0.0.1 (Codertocat/Hello-World)",
        "Merged #2: Update the README with new information. (Codertocat/Hello-World)",
    }
    deploy = titles["Deploy main to production (Codertocat/Hello-World)"]
    assert deploy["category"] == "deploy" and deploy["start"] == "2026-11-03T14:05:00Z" and deploy["source"] == "github"
    assert deploy["labels"] == {"repository": "Codertocat/Hello-World", "environment": "production", "ref": "main"}
    assert titles["Release 0.0.1 (Codertocat/Hello-World)"]["category"] == "release"
    # a redelivery is stored once; a ping or an unrecorded event stores nothing
    body = json.dumps(GITHUB_DEPLOYMENT).encode()
    again = client.post(hook["url"], content=body, headers=github_headers(hook["secret"], "deployment", body))
    assert again.status_code == 200 and len(events(client, acme.id, acme.member)) == 4
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    answered = client.post(hook["url"], content=ping, headers=github_headers(hook["secret"], "ping", ping))
    assert answered.status_code == 200 and answered.json() == {"events": [], "ignored": "ping"}


def test_wrong_signatures_are_401_and_store_nothing(client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    github, duty, generic = (webhook(client, acme.id, acme.admin, kind) for kind in ("github", "pagerduty", "generic"))
    body = json.dumps(GITHUB_DEPLOYMENT).encode()
    tampered = body.replace(b"production", b"staging!!!")
    cases = [
        client.post(github["url"], content=tampered, headers=github_headers(github["secret"], "deployment", body)),
        client.post(github["url"], content=body, headers=github_headers("not-the-secret", "deployment", body)),
        client.post(github["url"], content=body, headers={"X-GitHub-Event": "deployment"}),
        client.post(github["url"], content=body, headers=github_headers(duty["secret"], "deployment", body)),  # another endpoint's secret
        client.post(duty["url"], content=body, headers=pagerduty_headers("wrong", body)),
        client.post(generic["url"], content=body, headers=standard_headers("whsec_" + "A" * 44, body)),
        client.post(generic["url"], content=body, headers=standard_headers(generic["secret"], body, at=1_700_000_000)),  # replayed
        client.post(generic["url"], content=body, headers={"webhook-signature": "v1,abc"}),
    ]
    assert [case.status_code for case in cases] == [401] * len(cases), [case.text for case in cases]
    assert events(client, acme.id, acme.admin) == []
    assert client.post("/api/v1/hooks/no-such-hook", content=body).status_code == 404


def test_pagerduty_incident_triggered_then_resolved(client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    hook = webhook(client, acme.id, acme.admin, "pagerduty")
    triggered = json.dumps(pagerduty("incident.triggered", "2026-11-03T16:15:00.169Z")).encode()
    first = client.post(hook["url"], content=triggered, headers=pagerduty_headers(hook["secret"], triggered))
    assert first.status_code == 200, first.text
    (incident,) = events(client, acme.id, acme.member)
    assert incident["title"] == "Incident #2: A little bump in the road" and incident["category"] == "incident" and incident["end"] is None
    assert incident["labels"] == {"service": "checkout", "urgency": "high", "team": "Engineering"}
    assert incident["url"] == "https://acme.pagerduty.com/incidents/PGR0VU2"
    resolved = json.dumps(pagerduty("incident.resolved", "2026-11-03T17:45:00Z")).encode()
    # two signatures while the secret rotates: the old one first
    headers = pagerduty_headers(hook["secret"], resolved)
    headers["X-PagerDuty-Signature"] = "v1=" + "0" * 64 + "," + headers["X-PagerDuty-Signature"]
    second = client.post(hook["url"], content=resolved, headers=headers)
    assert second.status_code == 200 and second.json()["events"] == [incident["id"]]
    (incident,) = events(client, acme.id, acme.member)
    assert incident["start"] == "2026-11-03T16:15:00Z" and incident["end"] == "2026-11-03T17:45:00Z"
    other = json.dumps(pagerduty("incident.acknowledged", "2026-11-03T16:20:00Z")).encode()
    ignored = client.post(hook["url"], content=other, headers=pagerduty_headers(hook["secret"], other))
    assert ignored.status_code == 200 and ignored.json()["events"] == [] and "incident.acknowledged" in ignored.json()["ignored"]


def test_the_secret_pagerduty_issues_replaces_the_generated_one(client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    """PagerDuty issues the signing secret itself, once its subscription points at the endpoint: the admin hands it
    over write-only, and from then on only deliveries signed with it are recorded."""
    acme, globex = make_tenant("acme"), make_tenant("globex")
    hook = webhook(client, acme.id, acme.admin, "pagerduty")
    path = f"/api/v1/tenants/{acme.id}/webhooks/{hook['id']}/secret"
    issued = "pd" + "7f3a" * 16
    assert client.put(path, headers=auth(acme.member), json={"secret": issued}).status_code == 403
    assert client.put(f"/api/v1/tenants/{globex.id}/webhooks/{hook['id']}/secret", headers=auth(globex.admin), json={"secret": issued}).status_code == 404
    assert client.put(path, headers=auth(acme.admin), json={"secret": "short"}).status_code == 422
    replaced = client.put(path, headers=auth(acme.admin), json={"secret": issued})
    assert replaced.status_code == 200 and "secret" not in replaced.json() and issued not in replaced.text
    body = json.dumps(pagerduty("incident.triggered", "2026-11-03T16:15:00Z")).encode()
    old = client.post(hook["url"], content=body, headers=pagerduty_headers(hook["secret"], body))
    assert old.status_code == 401 and events(client, acme.id, acme.member) == []
    new = client.post(hook["url"], content=body, headers=pagerduty_headers(issued, body))
    assert new.status_code == 200 and len(events(client, acme.id, acme.member)) == 1
    generic = webhook(client, acme.id, acme.admin, "generic")
    bad = client.put(f"/api/v1/tenants/{acme.id}/webhooks/{generic['id']}/secret", headers=auth(acme.admin), json={"secret": "not-a-standard-secret"})
    assert bad.status_code == 422 and "whsec_" in bad.text


def test_generic_signed_endpoint(client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme = make_tenant("acme")
    hook = webhook(client, acme.id, acme.admin, "generic")
    assert hook["secret"].startswith("whsec_")
    body = json.dumps({"title": "Black Friday campaign", "start": "2026-11-27T00:00:00Z", "end": "2026-11-30T00:00:00Z",
                       "category": "business", "labels": {"team": "growth"}}).encode()
    delivered = client.post(hook["url"], content=body, headers=standard_headers(hook["secret"], body))
    assert delivered.status_code == 200, delivered.text
    (event,) = events(client, acme.id, acme.member, label="team:growth")
    assert event["category"] == "business" and event["end"] == "2026-11-30T00:00:00Z" and event["webhook_id"] == hook["id"]
    bad = json.dumps({"title": "x", "timestamp": "2026-11-27T00:00:00Z", "category": "party"}).encode()
    refused = client.post(hook["url"], content=bad, headers=standard_headers(hook["secret"], bad, message_id="msg_2"))
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "category"]


def test_webhooks_are_for_admins(client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    acme, globex = make_tenant("acme"), make_tenant("globex")
    assert client.post(f"/api/v1/tenants/{acme.id}/webhooks", headers=auth(acme.member), json={"kind": "github"}).status_code == 403
    assert client.get(f"/api/v1/tenants/{acme.id}/webhooks", headers=auth(acme.member)).status_code == 403
    hook = webhook(client, acme.id, acme.admin, "github")
    assert client.delete(f"/api/v1/tenants/{globex.id}/webhooks/{hook['id']}", headers=auth(globex.admin)).status_code == 404
    assert client.delete(f"/api/v1/tenants/{acme.id}/webhooks/{hook['id']}", headers=auth(acme.admin)).status_code == 204
    body = json.dumps(GITHUB_DEPLOYMENT).encode()
    assert client.post(hook["url"], content=body, headers=github_headers(hook["secret"], "deployment", body)).status_code == 404


def test_events_before_a_change_on_the_same_labels(client, make_tenant) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from costlake.events.service import events_before

    acme = make_tenant("acme")
    base = f"/api/v1/tenants/{acme.id}/events"
    for title, at, labels in (
        ("Deploy checkout v41", "2026-11-01T10:00:00Z", {"service": "checkout"}),  # more than 48 h before
        ("Deploy checkout v42", "2026-11-03T14:00:00Z", {"service": "checkout"}),
        ("Deploy search v7", "2026-11-04T09:00:00Z", {"service": "search"}),  # another service
        ("AWS price change", "2026-11-04T00:00:00Z", {}),  # concerns everything
        ("Deploy checkout v43", "2026-11-05T09:00:00Z", {"service": "checkout"}),  # after the onset
    ):
        assert client.post(base, headers=auth(acme.admin), json={"title": title, "timestamp": at, "category": "deploy", "labels": labels}).status_code == 201
    services = client.app.state.services
    found = events_before(services.catalog, acme.id, datetime(2026, 11, 5, 6, tzinfo=UTC), {"service": "checkout"})
    assert [event.title for event in found] == ["Deploy checkout v42", "AWS price change"]
