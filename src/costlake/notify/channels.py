"""Channels as tenants define them: checked (SSRF, email settings, addresses), stored write-only, tested."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from costlake.catalog.models import AlertChannel, new_id, utcnow
from costlake.credentials import SecretCipher
from costlake.errors import InvalidInput
from costlake.notify.messages import Message
from costlake.notify.send import Attempt, send
from costlake.notify.signing import new_secret
from costlake.notify.ssrf import check_url, url_hint
from costlake.settings import Settings

Kind = Literal["slack", "teams", "email", "webhook"]
KINDS: tuple[str, ...] = ("slack", "teams", "email", "webhook")
ROTATION_GRACE = timedelta(hours=24)  # the previous webhook secret keeps signing this long after a rotation
_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")


@dataclass(frozen=True)
class ChannelInput:
    name: str
    kind: str
    url: str | None = None
    to: tuple[str, ...] = ()
    data_notifications: bool = True
    enabled: bool = True


def target_fields(kind: str, url: str | None, to: tuple[str, ...], settings: Settings) -> dict[str, Any]:
    """The stored form of where a channel sends: encrypted URL and its hint, or the email recipients."""
    if kind == "email":
        if url:
            raise InvalidInput("url", "an email channel takes `to` (a list of addresses), not a URL")
        if not to:
            raise InvalidInput("to", "an email channel needs at least one address in `to`")
        bad = [address for address in to if not _ADDRESS.fullmatch(address)]
        if bad:
            raise InvalidInput("to", f"{bad[0]!r} is not an email address")
        if not settings.smtp_host:
            raise InvalidInput("kind", "email is not configured on this server: the operator sets COSTLAKE_SMTP_HOST (and _PORT, _FROM, ...)")
        return {"url": None, "url_hint": None, "recipients": list(to)}
    if to:
        raise InvalidInput("to", f"a {kind} channel takes a `url`, not `to`")
    if not url:
        raise InvalidInput("url", f"a {kind} channel needs its webhook `url`")
    check_url(url, settings)
    return {"url": {"ciphertext": SecretCipher.for_settings(settings).encrypt(url)}, "url_hint": url_hint(url), "recipients": []}


def build_channel(tenant_id: str, spec: ChannelInput, settings: Settings) -> tuple[AlertChannel, str | None]:
    """A new channel row and, for a webhook, its signing secret (shown once)."""
    if spec.kind not in KINDS:
        raise InvalidInput("kind", f"unknown channel kind {spec.kind!r}; use one of: {', '.join(KINDS)}")
    fields = target_fields(spec.kind, spec.url, spec.to, settings)
    secret = new_secret() if spec.kind == "webhook" else None
    channel = AlertChannel(
        id=new_id(),
        tenant_id=tenant_id,
        name=spec.name,
        kind=spec.kind,
        data_notifications=spec.data_notifications,
        enabled=spec.enabled,
        secret={"ciphertext": SecretCipher.for_settings(settings).encrypt(secret)} if secret else None,
        **fields,
    )
    return channel, secret


def rotation(channel: AlertChannel, settings: Settings) -> tuple[dict[str, Any], str]:
    """Changes that rotate a webhook channel's secret (the old one signs too for ROTATION_GRACE), and the new one."""
    if channel.kind != "webhook":
        raise InvalidInput("kind", f"only webhook channels have a signing secret; this one is a {channel.kind} channel")
    secret = new_secret()
    changes = {
        "secret": {"ciphertext": SecretCipher.for_settings(settings).encrypt(secret)},
        "previous_secret": channel.secret,
        "previous_secret_until": utcnow() + ROTATION_GRACE,
    }
    return changes, secret


def test_message(tenant_id: str, tenant: str, channel: AlertChannel, settings: Settings) -> Message:
    return Message(
        type="test",
        tenant_id=tenant_id,
        tenant=tenant,
        title=f"costlake test message for channel {channel.name}",
        summary="This channel will receive costlake's budget, anomaly and data notifications.",
        facts=[("Channel", channel.name), ("Kind", channel.kind)],
        url=settings.public_url.rstrip("/") + "/channels",
        data={"channel_id": channel.id},
    )




def test_notice_data(message: Message) -> dict[str, Any]:
    return {"title": message.title, "summary": message.summary, "facts": message.facts, "path": "/channels", "payload": message.data}


def send_test(tenant_id: str, tenant: str, channel: AlertChannel, settings: Settings) -> Attempt:
    return send(channel, test_message(tenant_id, tenant, channel, settings), f"msg_test_{new_id()}", settings)
