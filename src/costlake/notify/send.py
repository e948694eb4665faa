"""Sending one message to one channel, once. Retrying is the caller's (deliveries.py); this module says whether a
failure is worth retrying: 429, 5xx, timeouts and SMTP 4xx are; other answers are final."""

from __future__ import annotations

import json
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from costlake.catalog.models import AlertChannel, utcnow
from costlake.credentials import SecretCipher
from costlake.errors import CostlakeError, InvalidInput
from costlake.notify import messages
from costlake.notify.messages import Message
from costlake.notify.signing import signed_headers
from costlake.notify.ssrf import check_url, url_hint
from costlake.settings import Settings
from costlake.smtp import open_smtp

USER_AGENT = "costlake-alerts/1"


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None  # seconds, from a Retry-After answer


def channel_url(channel: AlertChannel, settings: Settings) -> str:
    if not channel.url:
        raise CostlakeError(f"channel {channel.name!r} has no URL")
    return SecretCipher.for_settings(settings).decrypt(channel.url["ciphertext"])


def signing_secrets(channel: AlertChannel, settings: Settings) -> list[str]:
    """The current secret, and the previous one while its rotation grace period lasts."""
    cipher = SecretCipher.for_settings(settings)
    found = [cipher.decrypt(channel.secret["ciphertext"])] if channel.secret else []
    if channel.previous_secret and channel.previous_secret_until and channel.previous_secret_until > utcnow():
        found.append(cipher.decrypt(channel.previous_secret["ciphertext"]))
    return found


def send(channel: AlertChannel, message: Message, message_id: str, settings: Settings) -> Attempt:
    if channel.kind == "email":
        return _send_email(channel.recipients, message, settings)
    body_of = {"slack": messages.slack, "teams": messages.teams, "webhook": messages.webhook}[channel.kind]
    body = json.dumps(body_of(message), separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if channel.kind == "webhook":
        headers |= signed_headers(signing_secrets(channel, settings), message_id, int(time.time()), body)
    return post_json(channel_url(channel, settings), body, headers, settings)


def post_json(url: str, body: bytes, headers: dict[str, str], settings: Settings) -> Attempt:
    hint = url_hint(url)
    try:
        target = check_url(url, settings)
    except InvalidInput as error:
        return Attempt(False, error=str(error))
    timeout = settings.notify_timeout.total_seconds()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(
                target.connect_url,
                content=body,
                headers={**headers, "Host": target.host_header},
                extensions={"sni_hostname": target.host},
            )
    except httpx.HTTPError as error:
        return Attempt(False, error=f"{hint}: {type(error).__name__}: could not deliver ({_first_line(error)})", retryable=True)
    if response.is_success:
        return Attempt(True, response.status_code)
    retryable = response.status_code == 429 or response.status_code >= 500
    text = " ".join(response.text.split())[:300]
    return Attempt(
        False, response.status_code, f"{hint} answered HTTP {response.status_code}: {text}", retryable, _retry_after(response)
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [""])[0][:200]


def _send_email(recipients: list[str], message: Message, settings: Settings) -> Attempt:
    if not settings.smtp_host:
        return Attempt(False, error="email is not configured on this server: the operator sets COSTLAKE_SMTP_HOST (and _PORT, _FROM, ...)")
    subject, text, html = messages.email(message)
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = subject, settings.smtp_from, ", ".join(recipients)
    mail["Message-ID"] = make_msgid(domain="costlake")
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    try:
        with open_smtp(settings, settings.notify_timeout.total_seconds()) as smtp:
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as error:
        code, reason = next(iter(error.recipients.values()))
        return Attempt(False, code, f"the mail server refused the recipients: {code} {reason!r}", retryable=400 <= code < 500)
    except smtplib.SMTPResponseException as error:
        return Attempt(False, error.smtp_code, f"the mail server answered {error.smtp_code} {error.smtp_error!r}", 400 <= error.smtp_code < 500)
    except (OSError, smtplib.SMTPException) as error:
        return Attempt(False, error=f"cannot reach the mail server {settings.smtp_host}:{settings.smtp_port}: {error}", retryable=True)
    return Attempt(True, 250)
