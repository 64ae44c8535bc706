"""What one browser session remembers between reruns: ids and choices only, never data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class JobStart:
    """An ingest job the Upload page runs on its next run (set by Ingest and Resume: the rerun first
    redraws the sidebar, which then lists the dataset, and draws the page as the run's progress alone)."""

    job_id: int
    dataset_id: int
    new: bool  # a new ingest ("is ready" when done), not a resumed one
    clear_form: bool = False  # the Upload form holds this job's file: it starts empty when the job is done


@dataclass
class Session:
    dataset_id: int | None = None
    upload_path: Path | None = None  # the staged upload being configured on the Upload page
    last_job_id: int | None = None
    start_job: JobStart | None = None
    notices: list[str] = field(default_factory=list)  # shown once on the next run
    select_dataset: int | None = None  # a page asks the sidebar picker to switch (applied before it draws)
    upload_round: int = 0  # bumped after an ingest so the upload form starts empty
    selected: set[int] = field(default_factory=set)  # Search page selection (row ids), kept across reruns
    selected_dataset: int | None = None  # the dataset that selection belongs to
    selection_epoch: int = 0  # bumped when the selection is set by a button, so the grid redraws it
    grid_preselected: set[int] = field(default_factory=set)  # the selection the grid drawn last started with
    grid_key: str = ""  # that grid's key: a new key (new rows, a button) starts from the selection then
    last_batch: tuple[str, str] | None = None  # (batch id, what it did) for the Undo button
    clear_bulk_answers: bool = False  # a Classify was stored: Search's bulk panel starts its answers empty
    saved_filter: int | None = None  # a saved search picked in the sidebar, applied as a filter
    # The double-click guard (ui.resources.clicked_twice): button -> time.monotonic() its action started
    # (while it runs) and ended.
    actions_running: dict[str, float] = field(default_factory=dict)
    actions_done: dict[str, float] = field(default_factory=dict)
