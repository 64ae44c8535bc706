"""Export the curated dataset with provenance: CSV, JSONL, Parquet, a Hugging Face ``datasets``
folder, or (images) a ZIP with a folder per class and a manifest.

Every export row carries the original fields plus where its label came from (see
``CURATION_COLUMNS``). Rows are read and written in chunks, so a 100k-row export keeps memory
bounded. CSV cells that a spreadsheet would run as a formula are neutralised; the other formats
are lossless. Importing a Curator export (core/schema.py sees its columns) restores labels, label
sources, suggestions, tags and exclusions, so export → import round-trips.

This module chooses the rows, builds each export record with its provenance and runs the export;
``columns`` lays out the columns, ``writers`` writes each file format and ``hf`` the Hugging Face
folder with its dataset card.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import InputError
from core.export.columns import (
    HF_IMAGE_COLUMN,
    _field_name,
    _image_cell,
    _IssueColumns,
    export_columns,
    image_column_name,
    image_field,
    original_fields,
)
from core.export.hf import _write_hf
from core.export.writers import _write_csv, _write_jsonl, _write_parquet, _write_zip
from core.images import shown_path
from core.labelschema import Kind, label_schema
from core.provenance import ID_COLUMN, QUESTION_PREFIXES, SCHEMA_VERSION_COLUMN
from core.review import NEEDS_REVIEW
from core.search import Filters
from core.store import DEFAULT_LABEL_FIELD, LabelSource, chunked, stored_value
from core.wording import counted
from core.workspace import Workspace

__all__ = [
    "CHUNK_ROWS",
    "HF_IMAGE_COLUMN",
    "ROW_SET_TITLES",
    "SUFFIX",
    "ExportResult",
    "Format",
    "Progress",
    "RowSet",
    "export_chunks",
    "export_columns",
    "export_dataset",
    "export_row_ids",
    "image_column_name",
    "image_field",
    "original_fields",
    "preview",
]

Progress = Callable[[float, str], None]
# Rows per chunk read and written (memory stays bounded). Defined beside export_chunks, its one reader,
# so setting core.export.CHUNK_ROWS (the tests do, to force many chunks) takes effect.
CHUNK_ROWS = 5000


class Format(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    PARQUET = "parquet"
    HF = "hf"  # a folder Hugging Face `datasets.load_dataset(folder)` reads
    ZIP = "zip"  # images: images/<class>/<file> + manifest.csv


class RowSet(StrEnum):
    ALL = "all"
    NOT_EXCLUDED = "not_excluded"
    LABELED = "labeled"
    FILTERED = "filtered"  # the rows matching ``filters`` (a saved search, a label, a keyword...)


ROW_SET_TITLES = {
    RowSet.ALL: "All rows",
    RowSet.NOT_EXCLUDED: "All but excluded rows",
    RowSet.LABELED: "Only labeled rows (not excluded)",
    RowSet.FILTERED: "Only rows matching a filter or saved search",
}
SUFFIX = {Format.CSV: ".csv", Format.JSONL: ".jsonl", Format.PARQUET: ".parquet", Format.HF: "", Format.ZIP: ".zip"}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    columns: list[str]
    bytes: int
    seconds: float


def export_row_ids(
    ws: Workspace, dataset_id: int, *, rows: RowSet | str = RowSet.ALL, filters: Filters | None = None
) -> list[int]:
    """The rows an export holds, in dataset order."""
    rows = RowSet(rows)
    if rows is RowSet.FILTERED:
        if filters is None:
            raise InputError("Choose the filter or saved search whose rows to export.")
        from core.search import matching_row_ids

        chosen = set(matching_row_ids(ws, dataset_id, filters))
        return [r for r in ws.store.row_ids(dataset_id) if r in chosen]
    where = {
        RowSet.ALL: "1 = 1",
        RowSet.NOT_EXCLUDED: "rows.excluded = 0",
        RowSet.LABELED: "rows.excluded = 0 AND labels.value IS NOT NULL",
    }[rows]
    with ws.store.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT rows.id FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                f" WHERE rows.dataset_id = ? AND {where} ORDER BY rows.position, rows.id",
                (DEFAULT_LABEL_FIELD, dataset_id),
            )
        ]


def export_chunks(
    ws: Workspace,
    dataset_id: int,
    row_ids: Sequence[int],
    *,
    columns: Sequence[str] | None = None,
    with_images: bool = False,
) -> Iterator[pd.DataFrame]:
    """The export's rows as DataFrames of up to ``CHUNK_ROWS`` rows, columns in export order.

    An image dataset's image paths are written relative to its image root (``dog/train_2590.jpg``: the
    folder the images were read from), not as the server's absolute paths; a path outside the root stays
    as stored. ``with_images`` adds a last column (:func:`image_column_name`) holding each image as
    ``{"bytes", "path"}``, the layout of Hugging Face's ``Image`` feature.
    """
    dataset = ws.store.dataset(dataset_id)
    root = ws.store.image_root(dataset_id)
    path_column = image_field(ws, dataset_id)
    image_column = image_column_name(ws, dataset_id) if with_images and path_column else None
    all_columns = export_columns(ws, dataset_id)
    chosen = list(all_columns if columns is None else [c for c in all_columns if c in set(columns)])
    unknown = set(columns or []) - set(all_columns)
    if unknown:
        raise InputError(f"No column {', '.join(sorted(unknown))} in this export.")
    if not chosen:
        raise InputError("Choose at least one column to export.")
    issues = _IssueColumns(ws, dataset_id)
    schema = label_schema(ws.store, dataset_id)
    first_multi = schema.questions[0].kind is Kind.MULTI if schema.questions else False
    others = [q.name for q in schema.questions[1:] if any(prefix + q.name in chosen for prefix in QUESTION_PREFIXES)]
    for part in chunked(list(row_ids), CHUNK_ROWS):
        marks = ",".join("?" * len(part))
        with ws.store.connect() as conn:
            found = {
                r["id"]: r
                for r in conn.execute(
                    "SELECT rows.id, rows.source_id, rows.fields_json, rows.image_path, rows.excluded, rows.text,"
                    " labels.given, labels.value,"
                    " labels.source, labels.suggested, labels.confidence, labels.suggested_confidence,"
                    " labels.batch_id, labels.updated_at, labels.model_id, labels.suggested_by,"
                    # an imported export's label: who it says made it (NULL once changed here: the batch's actor)
                    " COALESCE(labels.labeled_by, batches.actor) AS actor"
                    " FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                    " LEFT JOIN batches ON batches.id = labels.batch_id"
                    f" WHERE rows.id IN ({marks})",
                    [DEFAULT_LABEL_FIELD, *part],
                )
            }
            # Each further question's answer, who gave it, its suggestion, confidence, the model behind the
            # answer and the one behind the suggestion (as the first question's label, label_source,
            # suggested_label, confidence, model_id and suggested_by).
            answers: dict[tuple[int, str], list[Any]] = {}
            if others:
                field_marks = ",".join("?" * len(others))
                for (
                    row_id,
                    field,
                    value,
                    source,
                    suggested,
                    confidence,
                    suggested_confidence,
                    model,
                    suggested_by,
                ) in conn.execute(
                    "SELECT row_id, field, value, source, suggested, confidence, suggested_confidence, model_id,"
                    f" suggested_by FROM labels WHERE row_id IN ({marks}) AND field IN ({field_marks})",
                    [*part, *others],
                ):
                    answered = value is not None
                    answers[row_id, field] = [
                        stored_value(value),
                        source if answered else None,
                        stored_value(suggested),
                        confidence if answered else suggested_confidence,
                        model if answered else None,
                        suggested_by if suggested is not None else None,
                    ]
            tags: dict[int, list[str]] = {}
            for row_id, tag in conn.execute(
                f"SELECT row_id, tag FROM tags WHERE row_id IN ({marks}) ORDER BY row_id, tag", list(part)
            ):
                tags.setdefault(row_id, []).append(tag)
        records = []
        for row_id in part:
            r = found[row_id]
            record = {_field_name(k): v for k, v in json.loads(r["fields_json"]).items()}
            if (
                path_column in record
                and isinstance(record[path_column], str)
                and Path(record[path_column]).is_absolute()
            ):
                record[path_column] = shown_path(record[path_column], root)
            labeled = r["value"] is not None
            record.update(
                {
                    ID_COLUMN: r["source_id"],
                    "curated_text": r["text"],
                    "given_label": stored_value(r["given"]) if first_multi else r["given"],
                    "label": stored_value(r["value"]) if first_multi else r["value"],
                    "label_source": r["source"] if labeled else None,
                    "suggested_label": stored_value(r["suggested"]) if first_multi else r["suggested"],
                    "confidence": r["confidence"] if labeled else r["suggested_confidence"],
                    "label_issue_score": issues.get("label_issue_score", row_id),
                    "is_label_issue": issues.get("is_label_issue", row_id),
                    "outlier_score": issues.get("outlier_score", row_id),
                    "is_near_duplicate": issues.get("is_near_duplicate", row_id),
                    "needs_review": NEEDS_REVIEW in tags.get(row_id, []),
                    "excluded": bool(r["excluded"]),
                    "tags": tags.get(row_id, []),
                    "batch_id": r["batch_id"] if labeled else None,  # an undone label leaves the undo's id
                    "labeled_at": r["updated_at"] if labeled else None,
                    "labeled_by": r["actor"] if labeled and r["source"] != LabelSource.ORIGINAL else None,
                    "model_id": r["model_id"],
                    "suggested_by": r["suggested_by"] if r["suggested"] is not None else None,
                    "embedding_model": dataset.embedding_model,
                    **{
                        prefix + q: value
                        for q in others
                        for prefix, value in zip(
                            QUESTION_PREFIXES, answers.get((row_id, q), [None] * len(QUESTION_PREFIXES)), strict=True
                        )
                    },
                    SCHEMA_VERSION_COLUMN: schema.version,
                }
            )
            if image_column:
                record[image_column] = _image_cell(r["image_path"], root)
            records.append(record)
        extra = [image_column] if image_column else []
        yield pd.DataFrame.from_records(records, columns=[*all_columns, *extra])[chosen + extra]


def preview(
    ws: Workspace,
    dataset_id: int,
    *,
    rows: RowSet | str = RowSet.ALL,
    filters: Filters | None = None,
    columns: Sequence[str] | None = None,
    n: int = 20,
) -> tuple[pd.DataFrame, int]:
    """The first ``n`` rows of an export as it will be written, and how many rows it will have."""
    row_ids = export_row_ids(ws, dataset_id, rows=rows, filters=filters)
    head = next(export_chunks(ws, dataset_id, row_ids[:n], columns=columns), None) if row_ids else None
    return (head if head is not None else pd.DataFrame(columns=list(columns or []))), len(row_ids)


def export_dataset(
    ws: Workspace,
    dataset_id: int,
    path: Path,
    *,
    fmt: Format | str,
    rows: RowSet | str = RowSet.ALL,
    filters: Filters | None = None,
    columns: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the export to ``path`` (a file, or a folder for ``hf``), chunk by chunk.

    The file appears complete or not at all: it is written next to ``path`` and renamed at the end.

    Raises
    ------
    InputError
        Unknown format, no rows to export, a ZIP of a text dataset, or no columns chosen.
    """
    try:
        fmt = Format(fmt)
    except ValueError:
        raise InputError(f"Unknown export format '{fmt}'. Choose one of {', '.join(Format)}.") from None
    dataset = ws.store.dataset(dataset_id)
    if fmt is Format.ZIP and dataset.modality != "image":
        raise InputError("A ZIP export holds images; this is a text dataset. Choose CSV, JSONL or Parquet.")
    started = time.perf_counter()
    row_ids = export_row_ids(ws, dataset_id, rows=rows, filters=filters)
    if not row_ids:
        raise InputError("No rows to export with this choice of rows.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    written, names = 0, []
    with_images = fmt is Format.HF and dataset.modality == "image"
    chunks = export_chunks(ws, dataset_id, row_ids, columns=columns, with_images=with_images)
    writer = {
        Format.CSV: _write_csv,
        Format.JSONL: _write_jsonl,
        Format.PARQUET: _write_parquet,
        Format.HF: _write_hf,
        Format.ZIP: _write_zip,
    }[fmt]

    def tallied() -> Iterator[pd.DataFrame]:
        nonlocal written, names
        for chunk in chunks:
            names = list(chunk.columns)
            yield chunk
            written += len(chunk)
            if progress:
                progress(written / len(row_ids), f"Exported {written:,} of {counted(len(row_ids), 'row')}")

    try:
        writer(ws, dataset_id, tallied(), tmp)
    except BaseException:  # a failed or interrupted export leaves nothing behind
        import shutil

        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise
    if path.is_dir():
        import shutil

        shutil.rmtree(path)
    tmp.replace(path)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
    return ExportResult(path, written, names, size, time.perf_counter() - started)
