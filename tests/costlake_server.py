"""A real `costlake serve` in a subprocess on a free port, for tests that go over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

COSTLAKE = Path(sys.executable).with_name("costlake")  # the console script installed next to this interpreter


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(env: dict[str, str], log: Path, startup_seconds: float = 30) -> Iterator[str]:
    """Start the server with `env`, wait until it answers, yield its URL; stop it afterwards."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen([str(COSTLAKE), "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            assert process.poll() is None, f"costlake serve exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/openapi.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"costlake serve did not come up in {startup_seconds}s:\n{log.read_text()}"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
