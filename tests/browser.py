"""Helpers for journeys in real Chromium: run the app as a subprocess and drive it with Playwright."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1700}  # Streamlit scrolls inside its own container, so be tall
ARTIFACTS = REPO / "test-artifacts" / "browser"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def running_app(
    workspace: Path,
    log: Path,
    *,
    timeout: float = 60.0,
    options: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve ``app.py`` on a free port with its own workspace; yields the base URL. ``options`` are
    extra ``streamlit run`` flags (e.g. ``--server.maxUploadSize=1``), ``env`` extra environment
    variables (e.g. ``CURATOR_CHROMA_HOST``).

    The server runs in its own process group so that stopping it also stops anything it spawned.
    """
    port = free_port()
    env = {**os.environ, "CURATOR_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1", **(env or {})}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless=true",
        "--server.address=127.0.0.1",
        f"--server.port={port}",
        "--browser.gatherUsageStats=false",
        *options,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while not _healthy(f"{base}/_stcore/health"):
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"streamlit not healthy after {timeout:.0f} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        _stop_group(process)


def _stop_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under ``test-artifacts/browser/`` for a human to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until_idle(page, *, timeout: float = 60_000, quiet_ms: int = 600) -> None:
    """Wait until Streamlit has been idle for ``quiet_ms``: no script run in progress (its state is on
    the app root) and no stale element left from the previous run. One idle look is not enough: a
    click does not change the state until the server starts the rerun, and a page that calls
    ``st.rerun()`` is briefly "notRunning" between its two runs."""
    page.evaluate("delete window.__curatorQuietSince")
    page.wait_for_function(
        """quietMs => {
            const state = document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state');
            const busy = state !== 'notRunning' || document.querySelector('[data-stale="true"]') !== null;
            const now = performance.now();
            if (busy || window.__curatorQuietSince === undefined) {
                window.__curatorQuietSince = busy ? undefined : now;
                return false;
            }
            return now - window.__curatorQuietSince >= quietMs;
        }""",
        arg=quiet_ms,
        polling=50,
        timeout=timeout,
    )


def eventually(check: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.5) -> object:
    """Poll ``check()`` until it returns something truthy or ``timeout`` seconds pass; returns its last value.

    For state the app writes from its own process (the workspace on disk), where ``expect`` cannot wait.
    """
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(interval)
    return value


@contextmanager
def chromium() -> Iterator[object]:
    """Headless Debian Chromium through Playwright (never a downloaded browser), with the 30 s waits a
    Streamlit rerun with charts needs; yields the Browser."""
    import pytest
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}; deselect these tests with -m 'not browser'")
    expect.set_options(timeout=30_000)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        expect.set_options(timeout=5_000)  # Playwright's default, for any other module
