"""What one browser session remembers between reruns: ids and choices only, never data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Session:
    dataset_id: int | None = None
    upload_path: Path | None = None  # the staged upload being configured on the Upload page
    upload_name: str | None = None
    last_job_id: int | None = None
    notices: list[str] = field(default_factory=list)  # shown once on the next run
    select_dataset: int | None = None  # a page asks the sidebar picker to switch (applied before it draws)
    upload_round: int = 0  # bumped after an ingest so the upload form starts empty
