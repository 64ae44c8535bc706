"""Where a workspace lives and how to reach ChromaDB, from arguments or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError

DEFAULT_WORKSPACE = Path("workspace")


@dataclass(frozen=True)
class ChromaSettings:
    """Embedded (a folder inside the workspace) unless ``host`` is set, then server mode.

    Credentials are read from the environment only and never logged or stored.
    """

    host: str | None = None
    port: int = 8000
    ssl: bool = False

    @classmethod
    def from_env(cls) -> ChromaSettings:
        host = os.environ.get("CURATOR_CHROMA_HOST") or None
        raw_port = os.environ.get("CURATOR_CHROMA_PORT", "8000")
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise InputError(f"CURATOR_CHROMA_PORT must be a port number, not '{raw_port}'.")
        port = int(raw_port)
        ssl = os.environ.get("CURATOR_CHROMA_SSL", "").lower() in {"1", "true", "yes"}
        return cls(host=host, port=port, ssl=ssl)

    @property
    def server_mode(self) -> bool:
        return self.host is not None

    def describe(self) -> str:
        return f"Chroma server {self.host}:{self.port}" if self.host else "embedded Chroma"


def chroma_auth_headers() -> dict[str, str]:
    """Headers for a Chroma server that wants a token (``CURATOR_CHROMA_TOKEN``)."""
    token = os.environ.get("CURATOR_CHROMA_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def workspace_path_from_env() -> Path:
    return Path(os.environ.get("CURATOR_WORKSPACE", str(DEFAULT_WORKSPACE)))
