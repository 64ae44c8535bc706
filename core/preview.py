"""What the Upload page shows before anything is stored: a preview and label counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from core.images import ImageProblem, load_image, thumbnail_jpeg
from core.readers import Table
from core.schema import ColumnMapping, build_rows, resolve_labels


@dataclass(frozen=True)
class LabelSummary:
    counts: dict[str, int]
    unlabeled: int

    @property
    def labeled(self) -> int:
        return sum(self.counts.values())


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
        out["file"] = [r["fields"][mapping.image_column] for r in rows]
    else:
        out["text"] = [r["text"] for r in rows]
    out["label"] = [r["label"] if r["label"] is not None else "" for r in rows]
    out["problem"] = [r.get("problem") or "" for r in rows]
    for col in head.frame.columns:
        if col not in used and col != "image_path":
            out[col if col not in out.columns else f"{col} (in file)"] = head.frame[col]
    return out if out["problem"].any() else out.drop(columns="problem")


def _thumb(path: str) -> bytes | None:
    try:
        return thumbnail_jpeg(load_image(path))
    except ImageProblem:
        return None
