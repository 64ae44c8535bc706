"""The columns of an export and what fills them besides each row's own state.

The original fields (renamed when one clashes with a curation column), the curation columns, one
column per further question of the label schema and the schema version; which of them hold lists;
the image column (a path, or in the Hugging Face export the image itself); and the latest issue
run's scores per row.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.images import shown_path
from core.labelschema import Kind, label_schema
from core.provenance import (
    CURATION_COLUMNS,
    ORIGINAL_PREFIX,
    QUESTION_CONFIDENCE_PREFIX,
    QUESTION_PREFIX,
    QUESTION_PREFIXES,
    QUESTION_SUGGESTION_PREFIX,
    SCHEMA_VERSION_COLUMN,
    is_curation_column,
)
from core.workspace import Workspace

HF_IMAGE_COLUMN = "image"


def original_fields(ws: Workspace, dataset_id: int) -> list[str]:
    """The dataset's original column names, in file order (from the rows' stored fields)."""
    with ws.store.connect() as conn:
        first = conn.execute(
            "SELECT fields_json FROM rows WHERE dataset_id = ? ORDER BY position LIMIT 1", (dataset_id,)
        ).fetchone()
    if first is None:
        return []
    return [_field_name(name) for name in json.loads(first[0])]


def _field_name(name: str) -> str:
    return ORIGINAL_PREFIX + name if is_curation_column(name) else name


def export_columns(ws: Workspace, dataset_id: int) -> list[str]:
    """Every column an export can have: the original fields, the curation columns (``label`` answers
    the schema's first question), per further question a ``label.<question>`` column, a
    ``label_source.<question>`` one (who answered it), its ``suggested_label.<question>``,
    ``confidence.<question>``, ``model_id.<question>`` and ``suggested_by.<question>``, and the schema
    version."""
    questions = label_schema(ws.store, dataset_id).questions[1:]
    images = ws.store.dataset(dataset_id).modality == "image"
    return [
        *original_fields(ws, dataset_id),
        *(c for c in CURATION_COLUMNS if not (images and c == "curated_text")),
        *(prefix + q.name for q in questions for prefix in QUESTION_PREFIXES),
        SCHEMA_VERSION_COLUMN,
    ]


class _IssueColumns:
    """The latest issue run's per-row scores, looked up by row id (empty when there is no run)."""

    def __init__(self, ws: Workspace, dataset_id: int):
        from core.issues import latest_report

        report = latest_report(ws, dataset_id)
        self.columns: dict[str, dict[int, Any]] = {}
        if report is None:
            return
        frame = report.frame
        ids = frame["row_id"].to_numpy()
        for column, source in (
            ("label_issue_score", "label_score"),
            ("is_label_issue", "is_label_issue"),
            ("outlier_score", "outlier_score"),
            ("is_near_duplicate", "is_near_duplicate_issue"),
        ):
            if source in frame:
                values = frame[source].to_numpy()
                self.columns[column] = dict(zip(ids.tolist(), values.tolist(), strict=True))

    def get(self, column: str, row_id: int) -> Any:
        value = self.columns.get(column, {}).get(row_id)
        if isinstance(value, float) and np.isnan(value):
            return None
        return round(value, 6) if isinstance(value, float) else value


def image_field(ws: Workspace, dataset_id: int) -> str | None:
    """The export column holding each row's image file (``image_path`` for a folder or ZIP upload), or
    None for a text dataset."""
    dataset = ws.store.dataset(dataset_id)
    if dataset.modality != "image":
        return None
    column = (dataset.info.get("mapping") or {}).get("image_column") or "image_path"
    return _field_name(column)


def image_column_name(ws: Workspace, dataset_id: int) -> str:
    """The HF export's column of image bytes: ``image``, unless an original field has that name."""
    return HF_IMAGE_COLUMN if HF_IMAGE_COLUMN not in export_columns(ws, dataset_id) else f"curator_{HF_IMAGE_COLUMN}"


def _image_cell(image_path: str | None, root: Path | None) -> dict[str, Any]:
    """One image as Hugging Face's ``Image`` feature stores it: the file's bytes and its relative path
    (no bytes when the file is gone: ``datasets`` then reads the cell as missing only if both are)."""
    try:
        data = Path(image_path).read_bytes() if image_path else None
    except OSError:
        data = None
    return {"bytes": data, "path": shown_path(image_path, root) if image_path else None}


def _list_columns(ws: Workspace, dataset_id: int) -> set[str]:
    """Export columns holding lists: tags and the answers of multi-choice questions."""
    out = {"tags"}
    for i, q in enumerate(label_schema(ws.store, dataset_id).questions):
        if q.kind is Kind.MULTI:
            out |= (
                {"label", "given_label", "suggested_label"}
                if i == 0
                else {QUESTION_PREFIX + q.name, QUESTION_SUGGESTION_PREFIX + q.name}
            )
    return out


def _float_columns(ws: Workspace, dataset_id: int) -> set[str]:
    """Export columns of further questions holding numbers: their confidences."""
    return {QUESTION_CONFIDENCE_PREFIX + q.name for q in label_schema(ws.store, dataset_id).questions[1:]}
