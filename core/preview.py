"""What the Upload page shows before anything is stored: a preview and label counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.images import ImageProblem, load_image, shown_path, thumbnail_jpeg, verify_image
from core.readers import Table
from core.schema import ColumnMapping, build_rows, resolve_labels

# Images opened and verified before the ingest: ~0.1 ms each for CIFAR's 1 KB JPEGs, a few ms for photos,
# so a large folder is checked in a second or two; the rest are checked (and flagged) as they are embedded.
CHECK_LIMIT = 5000


@dataclass(frozen=True)
class LabelSummary:
    counts: dict[str, int]
    unlabeled: int

    @property
    def labeled(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ImageCheck:
    """Images the ingest will flag instead of embedding, found before anything is stored."""

    total: int  # image rows
    opened: int  # of them, opened and verified (the rest were only checked to exist)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file as people know it, reason)

    @property
    def complete(self) -> bool:
        return self.opened >= self.total


def check_images(table: Table, mapping: ColumnMapping, *, limit: int = CHECK_LIMIT) -> ImageCheck:
    """Find missing and unreadable images before the ingest: every row's file must exist, and the
    first ``limit`` are opened and verified (a header read and Pillow's structural check)."""
    if not mapping.image_column:
        return ImageCheck(0, 0)
    problems: list[tuple[str, str]] = []
    values = table.frame[mapping.image_column].tolist()
    for i, value in enumerate(values):
        path = Path(value)
        if not path.is_absolute() and table.base_dir is not None:
            path = table.base_dir / path
        try:
            if not path.is_file():
                raise ImageProblem("image file not found")
            if i < limit:
                verify_image(path)
        except ImageProblem as exc:
            problems.append((shown_path(str(path), table.base_dir), str(exc)))
    opened = min(len(values), limit)
    return ImageCheck(len(values), opened, problems)


def label_summary(table: Table, mapping: ColumnMapping) -> LabelSummary:
    labels = resolve_labels(table.frame, mapping)
    counts = Counter(v for v in labels if v is not None)
    return LabelSummary(dict(counts.most_common()), sum(v is None for v in labels))


def preview_frame(table: Table, mapping: ColumnMapping, *, limit: int = 100) -> pd.DataFrame:
    """The first rows as they will be stored: id, cleaned text or a thumbnail, label, then the rest."""
    head = Table(table.frame.head(limit).reset_index(drop=True), kind=table.kind, base_dir=table.base_dir)
    rows = build_rows(head, mapping)
    used = {*mapping.text_columns, mapping.image_column, mapping.label_column, mapping.id_column}
    out = pd.DataFrame({"id": [r["source_id"] for r in rows]})
    if mapping.image_column:
        out.insert(0, "thumbnail", [_thumb(r["image_path"]) for r in rows])
        # From the image root, as every other page names it (`frog/x.jpg`), not where the ZIP was unpacked.
        out["file"] = [shown_path(r["image_path"], table.base_dir) for r in rows]
    else:
        out["text"] = [r["text"] for r in rows]
    out["label"] = [r["label"] if r["label"] is not None else "" for r in rows]
    out["problem"] = [r.get("problem") or "" for r in rows]
    for col in head.frame.columns:
        if mapping.image_column and head.frame[col].tolist() == out["file"].tolist():
            continue  # a folder's `filename` column: the file column's names again
        if col not in used and col != "image_path":
            out[col if col not in out.columns else f"{col} (in file)"] = head.frame[col]
    return out if out["problem"].any() else out.drop(columns="problem")


def _thumb(path: str) -> bytes | None:
    try:
        return thumbnail_jpeg(load_image(path))
    except ImageProblem:
        return None
