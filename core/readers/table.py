"""The :class:`Table` every reader returns, and which file suffixes the readers accept."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".xlsx"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
UPLOAD_SUFFIXES = TABLE_SUFFIXES | {".zip"}


@dataclass
class Table:
    frame: pd.DataFrame
    kind: str  # "table" | "images"
    has_header: bool = True
    encoding: str = "utf-8"
    delimiter: str | None = None
    base_dir: Path | None = None  # image paths are relative to this
    class_names: list[str] | None = None  # from a classes.txt beside the file
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # things the user should act on, shown as warnings
    # A Curator export's label schema, where the file carries it (Parquet metadata): every question's kind,
    # classes (those without answers too), settings and order, which the columns alone cannot tell.
    label_schema: dict | None = None
    # The dataset a Curator export was made from, where the file names it (Parquet metadata).
    dataset_name: str | None = None
