"""Browser fixtures: Debian's Chromium driven by Playwright, and a real `costlake serve` with the demo data.

Playwright's own browser download is never used: the tests launch /usr/bin/chromium (the `chromium` package;
`.ci/run` installs it). Without Chromium or the playwright package the browser tests are skipped with the reason,
except under CI=true, where that fails them.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from costlake_server import COSTLAKE, serving

CHROMIUM = Path(os.environ.get("COSTLAKE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed: pip install '.[test]'")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class ConsoleServer:
    url: str
    home: Path
    exports: Path  # tenants may name local paths under here
    tenant_id: str
    admin_token: str
    member_token: str
    source_id: str

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token or self.admin_token}"}, timeout=30
        )


def _run(env: dict[str, str], *args: str) -> Any:
    result = subprocess.run([str(COSTLAKE), *args], check=False, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"costlake {' '.join(args)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """`costlake demo --no-serve` into a fresh home (SQLite), a member token, then `costlake serve` on a free port."""
    root = tmp_path_factory.mktemp("console")
    home, exports = root / "home", root / "exports"
    exports.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("COSTLAKE_")}
    env.update({"COSTLAKE_HOME": str(home), "COSTLAKE_ALLOWED_LOCAL_ROOTS": str(exports)})
    demo = _run(env, "demo", "--no-serve", "--output", "json")
    assert demo["status"] == "succeeded", demo
    member = _run(env, "token", "create", "--tenant", "demo", "--role", "member", "--name", "console test member")

    with serving(env, root / "serve.log") as url:
        yield ConsoleServer(
            url=url,
            home=home,
            exports=exports,
            tenant_id=member["tenant_id"],
            admin_token=demo["token"],
            member_token=member["token"],
            source_id=demo["source_id"],
        )


@pytest.fixture
def page(browser: Any, console_server: ConsoleServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280x800; an uncaught script error fails the test."""
    context = browser.new_context(
        viewport=VIEWPORT, base_url=console_server.url, accept_downloads=True, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(15_000)
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield new_page
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def screenshot(tmp_path: Path) -> Any:
    """Save a page's 1280x800 screenshot: into docs/screenshots with COSTLAKE_UPDATE_SCREENSHOTS=1, else tmp."""
    folder = SCREENSHOTS if os.environ.get("COSTLAKE_UPDATE_SCREENSHOTS") == "1" else tmp_path

    def take(target: Any, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        target.screenshot(path=str(path))
        assert path.stat().st_size > 10_000, f"{path} looks empty"
        return path

    return take
