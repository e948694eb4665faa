"""One notice, rendered for each kind of channel: Slack Block Kit, a Teams Adaptive Card, email (text + HTML) and
the generic webhook JSON. The notice's data holds what every rendering needs; links point at the console."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

TITLE_LIMIT = 150  # Slack header blocks
TEXT_LIMIT = 3000  # Slack section text
FIELDS_LIMIT = 10  # Slack section fields
_html = Environment(autoescape=True).from_string(
    "<html><body style=\"font-family: sans-serif\"><h2>{{ title }}</h2><p>{{ summary }}</p>"
    "<table cellpadding=\"4\">{% for label, value in facts %}<tr><th align=\"left\">{{ label }}</th><td>{{ value }}</td></tr>"
    "{% endfor %}</table><p><a href=\"{{ url }}\">Open in costlake</a></p></body></html>"
)


@dataclass(frozen=True)
class Message:
    type: str  # the webhook "type": anomaly.opened, budget.threshold_crossed, source.stale, test, ...
    tenant_id: str
    tenant: str
    title: str
    summary: str
    facts: list[tuple[str, str]]
    url: str
    data: dict[str, Any]

    @classmethod
    def of(cls, notice_type: str, notice_data: dict[str, Any], tenant_id: str, tenant: str, public_url: str) -> Message:
        return cls(
            type=notice_type,
            tenant_id=tenant_id,
            tenant=tenant,
            title=notice_data["title"],
            summary=notice_data["summary"],
            facts=[(str(label), str(value)) for label, value in notice_data.get("facts", [])],
            url=public_url.rstrip("/") + notice_data.get("path", "/"),
            data=notice_data.get("payload", {}),
        )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(message: Message) -> dict[str, Any]:
    """A Block Kit message for an incoming webhook; `text` is the notification fallback."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(message.title, TITLE_LIMIT)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(_mrkdwn(message.summary), TEXT_LIMIT)}},
    ]
    if message.facts:
        fields = [{"type": "mrkdwn", "text": _clip(f"*{_mrkdwn(label)}*\n{_mrkdwn(value)}", 2000)} for label, value in message.facts]
        blocks.append({"type": "section", "fields": fields[:FIELDS_LIMIT]})
    blocks.append(
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open in costlake"}, "url": message.url}]}
    )
    return {"text": _clip(message.title, TEXT_LIMIT), "blocks": blocks}


def teams(message: Message) -> dict[str, Any]:
    """An Adaptive Card in the envelope Teams Workflows ("post to a channel when a webhook request is received") takes."""
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "wrap": True},
            {"type": "TextBlock", "text": message.summary, "wrap": True},
            {"type": "FactSet", "facts": [{"title": label, "value": value} for label, value in message.facts]},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open in costlake", "url": message.url}],
    }
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def webhook(message: Message) -> dict[str, Any]:
    return {"type": message.type, "tenant": message.tenant, "tenant_id": message.tenant_id, "data": message.data, "url": message.url}


def email(message: Message) -> tuple[str, str, str]:
    """Subject, plain text and HTML."""
    lines = [message.title, "", message.summary, ""]
    lines += [f"{label}: {value}" for label, value in message.facts]
    lines += ["", f"Open in costlake: {message.url}"]
    html = _html.render(title=message.title, summary=message.summary, facts=message.facts, url=message.url)
    return f"[costlake] {message.title}", "\n".join(lines) + "\n", html
