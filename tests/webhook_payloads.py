"""Webhook deliveries as the providers document them (trimmed to the fields a consumer reads), and their signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

# https://docs.github.com/webhooks/webhook-events-and-payloads#deployment (abridged)
GITHUB_DEPLOYMENT = {
    "action": "created",
    "deployment": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746",
        "id": 145988746, "node_id": "MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY=", "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        "ref": "main", "task": "deploy", "payload": {}, "original_environment": "production", "environment": "production",
        "description": None, "creator": {"login": "Codertocat", "id": 21031067},
        "created_at": "2026-11-03T14:05:00Z", "updated_at": "2026-11-03T14:05:00Z",
    },
    "repository": {"id": 186853002, "name": "Hello-World", "full_name": "Codertocat/Hello-World", "html_url": "https://github.com/Codertocat/Hello-World"},
    "sender": {"login": "Codertocat", "id": 21031067},
}

GITHUB_DEPLOYMENT_STATUS = {
    "action": "created",
    "deployment_status": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746/statuses/209916254",
        "id": 209916254, "state": "success", "creator": {"login": "Codertocat"}, "description": "",
        "environment": "production", "target_url": "https://ci.example.com/deploys/42",
        "created_at": "2026-11-03T14:09:00Z", "updated_at": "2026-11-03T14:09:00Z",
    },
    "deployment": GITHUB_DEPLOYMENT["deployment"],
    "repository": GITHUB_DEPLOYMENT["repository"],
}

GITHUB_RELEASE = {
    "action": "published",
    "release": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/releases/11248810", "html_url": "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1",
        "id": 11248810, "tag_name": "0.0.1", "target_commitish": "main", "name": None, "draft": False, "prerelease": False,
        "created_at": "2026-11-04T09:00:00Z", "published_at": "2026-11-04T09:01:00Z",
    },
    "repository": GITHUB_DEPLOYMENT["repository"],
}

GITHUB_PULL_REQUEST_MERGED = {
    "action": "closed",
    "number": 2,
    "pull_request": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2", "id": 279147437, "html_url": "https://github.com/Codertocat/Hello-World/pull/2",
        "number": 2, "state": "closed", "title": "Update the README with new information.", "merged": True,
        "merged_at": "2026-11-05T10:00:00Z", "base": {"ref": "main"}, "head": {"ref": "changes"},
    },
    "repository": GITHUB_DEPLOYMENT["repository"],
}

# https://developer.pagerduty.com/docs/webhooks-overview (v3 payload, abridged)
PAGERDUTY_TRIGGERED = {
    "event": {
        "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2026-11-03T16:15:00.169Z",
        "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV", "type": "user_reference"},
        "client": None,
        "data": {
            "id": "PGR0VU2", "type": "incident", "self": "https://api.pagerduty.com/incidents/PGR0VU2",
            "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2", "number": 2, "status": "triggered",
            "incident_key": "d3640fbd41094207a1c11e58e46b1662", "created_at": "2026-11-03T16:15:00Z", "title": "A little bump in the road",
            "service": {"html_url": "https://acme.pagerduty.com/services/PF9KMXH", "id": "PF9KMXH", "summary": "checkout", "type": "service_reference"},
            "assignees": [{"id": "PTUXL6G", "summary": "User 123", "type": "user_reference"}],
            "escalation_policy": {"id": "PUS0KTE", "summary": "Default", "type": "escalation_policy_reference"},
            "teams": [{"id": "PFCVPS0", "summary": "Engineering", "type": "team_reference"}],
            "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
            "urgency": "high", "conference_bridge": None, "resolve_reason": None,
        },
    }
}


def pagerduty(event_type: str, occurred_at: str) -> dict[str, Any]:
    payload = json.loads(json.dumps(PAGERDUTY_TRIGGERED))
    payload["event"]["event_type"], payload["event"]["occurred_at"] = event_type, occurred_at
    payload["event"]["data"]["status"] = "resolved" if event_type == "incident.resolved" else "triggered"
    return payload


def github_headers(secret: str, event: str, body: bytes, delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958") -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature, "Content-Type": "application/json"}


def pagerduty_headers(secret: str, body: bytes) -> dict[str, str]:
    return {"X-PagerDuty-Signature": "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(), "Content-Type": "application/json"}


def standard_headers(secret: str, body: bytes, message_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", at: int | None = None) -> dict[str, str]:
    stamp = str(at if at is not None else int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": stamp, "webhook-signature": f"v1,{signature}", "Content-Type": "application/json"}
