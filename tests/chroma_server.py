"""A real `chroma run` server on a free local port, for the server-mode tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser import _stop_group, free_port

HOST = "127.0.0.1"


def raw_client(port: int):  # -> chromadb.HttpClient (imported lazily)
    """A client of our own, independent of the workspace: what the server really holds."""
    import chromadb
    from chromadb.config import Settings

    return chromadb.HttpClient(host=HOST, port=port, settings=Settings(anonymized_telemetry=False))


@contextmanager
def chroma_server(root: Path, *, timeout: float = 60.0) -> Iterator[int]:
    """Start `chroma run` with its data under ``root``, wait for its heartbeat, yield its port; stop
    its whole process group after."""
    exe = shutil.which("chroma")
    if exe is None:
        pytest.fail("the `chroma` CLI (installed with chromadb) is not on PATH")
    port = free_port()
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [exe, "run", "--path", str(root / "chroma-server"), "--host", HOST, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it reaches any children
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"chroma server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                raw_client(port).heartbeat()
                break
            except Exception:  # not listening yet: connection refused comes in several types
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"no heartbeat from chroma server within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}"
                    )
                time.sleep(0.25)
        yield port
    finally:
        _stop_group(proc)
