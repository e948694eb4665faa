"""Where a tenant may point a channel. Channel URLs are tenant input, so the server would otherwise be a proxy into
its own network: loopback, private, link-local and other non-global addresses are refused unless the operator
listed the host in COSTLAKE_ALLOWED_WEBHOOK_HOSTS. The check runs again at every send, and the connection goes to
the address that was checked (DNS cannot change between the check and the request)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from costlake.errors import InvalidInput
from costlake.settings import Settings

SETTING = "COSTLAKE_ALLOWED_WEBHOOK_HOSTS"


@dataclass(frozen=True)
class PinnedTarget:
    """A checked URL, and how to reach it: `connect_url` names the checked address, `host` goes in Host and SNI."""

    url: str
    connect_url: str
    host: str
    host_header: str


def url_hint(url: str) -> str:
    """What people may see of a write-only URL: its scheme and host."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…"


def _allowed(host: str, port: int, settings: Settings) -> bool:
    allowed = set(settings.allowed_webhook_hosts)
    return host in allowed or f"{host}:{port}" in allowed or (":" in host and f"[{host}]:{port}" in allowed)


def check_url(url: str, settings: Settings, field: str = "url") -> PinnedTarget:
    """The URL resolved and checked; InvalidInput naming what is wrong and what to do."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput(field, f"{url_hint(url)} is not a valid URL") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput(field, "the channel URL must be an https:// URL with a host")
    if parts.username or parts.password:
        raise InvalidInput(field, "the channel URL must not carry a user or password; put secrets in the path or use a webhook secret")
    allowed = _allowed(host, port, settings)
    if parts.scheme == "http" and not allowed:
        raise InvalidInput(field, f"the channel URL must use https; plain http is only for hosts the operator lists in {SETTING}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise InvalidInput(field, f"the host {host} of the channel URL does not resolve ({error.strerror}); check the URL") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not allowed:
        refused = [address for address in addresses if not address.is_global or address.is_multicast]
        if refused:
            raise InvalidInput(
                field,
                f"the host {host} resolves to {refused[0]}, a loopback, private, link-local or reserved address; channels "
                f"may only target public hosts, unless the operator allows this one in {SETTING} (host[:port])",
            )
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{port}" if parts.port else literal
    host_header = f"{host}:{parts.port}" if parts.port else host
    return PinnedTarget(url, urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), host, host_header)
