"""Who holds a lease or a lock: host, process and boot, so a holder that provably died can be told apart.

A lease that nobody renews runs out after COSTLAKE_LEASE_DURATION whatever happened to its holder. When the holder
ran on this very host, in this boot, and its process no longer exists, there is nothing to wait for: the lease is
reclaimed at once. Anything less certain (another host, a name in another form) waits for the lease to run out.
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache
from pathlib import Path


@cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return ""


def _host() -> str:
    return socket.gethostname().replace(":", "_")[:40]


def process_owner() -> str:
    """A new holder name for this process: host:pid:boot:nonce."""
    return f"{_host()}:{os.getpid()}:{_boot_id() or '-'}:{uuid.uuid4().hex[:8]}"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child its parent has not waited for yet is a zombie: it holds nothing any more
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def owner_is_gone(owner: str | None) -> bool:
    """True only when `owner` names a process of this host and boot that no longer exists."""
    parts = (owner or "").split(":")
    if len(parts) < 4 or parts[0] != _host() or not parts[1].isdigit() or not _boot_id() or parts[2] != _boot_id():
        return False
    return int(parts[1]) != os.getpid() and not _process_exists(int(parts[1]))
