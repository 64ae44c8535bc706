"""Export the curated dataset with provenance: CSV, JSONL, Parquet, a Hugging Face ``datasets``
folder, or (images) a ZIP with a folder per class and a manifest.

Every export row carries the original fields plus where its label came from (see
``CURATION_COLUMNS``). Rows are read and written in chunks, so a 100k-row export keeps memory
bounded. CSV cells that a spreadsheet would run as a formula are neutralised; the other formats
are lossless. Importing a Curator export (core/schema.py sees its columns) restores labels, label
sources, suggestions, tags and exclusions, so export → import round-trips.
"""

from __future__ import annotations

import csv
import json
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InputError
from core.images import shown_path
from core.labelschema import Kind, label_schema
from core.provenance import (
    CURATION_COLUMNS,
    ID_COLUMN,
    MANIFEST_FILE_COLUMN,
    ORIGINAL_PREFIX,
    QUESTION_PREFIX,
    SCHEMA_VERSION_COLUMN,
    is_curation_column,
    neutralize_formula,
)
from core.review import NEEDS_REVIEW
from core.search import Filters
from core.store import DEFAULT_LABEL_FIELD, chunked, stored_value
from core.wording import counted
from core.workspace import Workspace

Progress = Callable[[float, str], None]
CHUNK_ROWS = 5000
HF_IMAGE_COLUMN = "image"


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
    the schema's first question), one ``label.<question>`` column per further question, and the
    schema version."""
    questions = label_schema(ws.store, dataset_id).questions[1:]
    images = ws.store.dataset(dataset_id).modality == "image"
    return [
        *original_fields(ws, dataset_id),
        *(c for c in CURATION_COLUMNS if not (images and c == "curated_text")),
        *(QUESTION_PREFIX + q.name for q in questions),
        SCHEMA_VERSION_COLUMN,
    ]


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
    others = [q.name for q in schema.questions[1:] if QUESTION_PREFIX + q.name in chosen]
    for part in chunked(list(row_ids), CHUNK_ROWS):
        marks = ",".join("?" * len(part))
        with ws.store.connect() as conn:
            found = {
                r["id"]: r
                for r in conn.execute(
                    "SELECT rows.id, rows.source_id, rows.fields_json, rows.image_path, rows.excluded, rows.text,"
                    " labels.given, labels.value,"
                    " labels.source, labels.suggested, labels.confidence, labels.suggested_confidence,"
                    " labels.batch_id, labels.updated_at, labels.model_id"
                    " FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                    f" WHERE rows.id IN ({marks})",
                    [DEFAULT_LABEL_FIELD, *part],
                )
            }
            answers: dict[tuple[int, str], Any] = {}
            if others:
                field_marks = ",".join("?" * len(others))
                for row_id, field, value in conn.execute(
                    f"SELECT row_id, field, value FROM labels WHERE row_id IN ({marks}) AND field IN ({field_marks})"
                    " AND value IS NOT NULL",
                    [*part, *others],
                ):
                    answers[row_id, field] = stored_value(value)
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
                    "model_id": r["model_id"],
                    "embedding_model": dataset.embedding_model,
                    **{QUESTION_PREFIX + q: answers.get((row_id, q)) for q in others},
                    SCHEMA_VERSION_COLUMN: schema.version,
                }
            )
            if image_column:
                record[image_column] = _image_cell(r["image_path"], root)
            records.append(record)
        extra = [image_column] if image_column else []
        yield pd.DataFrame.from_records(records, columns=[*all_columns, *extra])[chosen + extra]


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
            out |= {"label", "given_label", "suggested_label"} if i == 0 else {QUESTION_PREFIX + q.name}
    return out


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


def _write_csv(ws: Workspace, dataset_id: int, chunks: Iterator[pd.DataFrame], tmp: Path) -> None:
    lists = _list_columns(ws, dataset_id)
    with tmp.open("w", newline="", encoding="utf-8") as f:
        for i, chunk in enumerate(chunks):
            chunk = chunk.copy()
            for col in lists & set(chunk.columns):  # a list is JSON text in a CSV cell
                chunk[col] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in chunk[col]]
            for col in chunk.columns:
                if chunk[col].dtype == object or str(chunk[col].dtype).startswith(("str", "string")):
                    chunk[col] = [neutralize_formula(v) for v in chunk[col].tolist()]
            chunk.to_csv(f, index=False, header=i == 0, quoting=csv.QUOTE_MINIMAL)


def _write_jsonl(ws: Workspace, dataset_id: int, chunks: Iterator[pd.DataFrame], tmp: Path) -> None:
    with tmp.open("w", encoding="utf-8") as f:
        for chunk in chunks:
            for record in chunk.to_dict(orient="records"):
                f.write(json.dumps(_plain(record), ensure_ascii=False) + "\n")


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready values (numpy scalars to Python, NaN to null)."""
    out = {}
    for key, value in record.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and np.isnan(value):
            value = None
        out[key] = value
    return out


def _arrow_table(chunk: pd.DataFrame, schema: Any = None) -> Any:
    import pyarrow as pa

    chunk = chunk.astype(object).where(pd.notna(chunk), None) if len(chunk) else chunk
    if schema is not None:
        return pa.Table.from_pandas(chunk, schema=schema, preserve_index=False)
    return pa.Table.from_pandas(chunk, preserve_index=False)


def _write_parquet(
    ws: Workspace, dataset_id: int, chunks: Iterator[pd.DataFrame], tmp: Path, *, hf: bool = False
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    schema = None
    try:
        for chunk in chunks:
            if writer is None:
                schema = _export_schema(ws, dataset_id, list(chunk.columns), hf=hf)
                writer = pq.ParquetWriter(tmp, schema)
            writer.write_table(_arrow_table(chunk, schema))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # nothing written: still a valid (empty) file
        pq.write_table(pa.table({}), tmp)


def _export_schema(ws: Workspace, dataset_id: int, columns: list[str], *, hf: bool = False) -> Any:
    """One Arrow schema for every chunk (a column that is all null in the first chunk must not
    fix its type to null): original fields as strings unless they hold numbers/booleans.

    With ``hf``, an image dataset's image column is a ``{bytes, path}`` struct and the schema's
    ``huggingface`` metadata marks it as an ``Image`` feature, as ``datasets`` itself writes it, so
    ``load_dataset`` decodes it to pictures; the other columns keep the types Arrow gives them.
    """
    import pyarrow as pa

    types = {
        ID_COLUMN: pa.string(),
        "curated_text": pa.string(),
        "given_label": pa.string(),
        "label": pa.string(),
        "label_source": pa.string(),
        "suggested_label": pa.string(),
        "confidence": pa.float64(),
        "label_issue_score": pa.float64(),
        "is_label_issue": pa.bool_(),
        "outlier_score": pa.float64(),
        "is_near_duplicate": pa.bool_(),
        "needs_review": pa.bool_(),
        "excluded": pa.bool_(),
        "tags": pa.list_(pa.string()),
        "batch_id": pa.string(),
        "labeled_at": pa.string(),
        "model_id": pa.string(),
        "embedding_model": pa.string(),
        SCHEMA_VERSION_COLUMN: pa.int64(),
    }
    types |= {c: pa.list_(pa.string()) for c in _list_columns(ws, dataset_id)}
    field_types = _original_field_types(ws, dataset_id)
    schema = label_schema(ws.store, dataset_id)
    metadata = {"curator_label_schema": json.dumps(schema.to_dict())}  # the whole schema, for tools
    if hf and ws.store.dataset(dataset_id).modality == "image":
        image = image_column_name(ws, dataset_id)
        types[image] = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
        metadata["huggingface"] = json.dumps({"info": {"features": {image: {"_type": "Image"}}}})
    return pa.schema([(c, types.get(c) or field_types.get(c, pa.string())) for c in columns], metadata=metadata)


def _original_field_types(ws: Workspace, dataset_id: int) -> dict[str, Any]:
    """Arrow types of the original fields, from a sample of stored values (JSON keeps them)."""
    import pyarrow as pa

    with ws.store.connect() as conn:
        sample = [
            json.loads(r[0])
            for r in conn.execute(
                "SELECT fields_json FROM rows WHERE dataset_id = ? ORDER BY position LIMIT 2000", (dataset_id,)
            )
        ]
    out: dict[str, Any] = {}
    for name in sample[0] if sample else {}:
        values = [s.get(name) for s in sample if s.get(name) is not None]
        if values and all(isinstance(v, bool) for v in values):
            out[_field_name(name)] = pa.bool_()
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            out[_field_name(name)] = pa.int64()
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[_field_name(name)] = pa.float64()
        else:
            out[_field_name(name)] = pa.string()
    return out


def _write_hf(ws: Workspace, dataset_id: int, chunks: Iterator[pd.DataFrame], tmp: Path) -> None:
    """``datasets.load_dataset(str(folder))`` reads this: data/train-*.parquet plus a dataset card."""
    import shutil

    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "data").mkdir(parents=True)
    _write_parquet(ws, dataset_id, chunks, tmp / "data" / "train-00000-of-00001.parquet", hf=True)
    dataset = ws.store.dataset(dataset_id)
    images = ""
    if dataset.modality == "image":
        images = (
            f"\nThe images are stored in the Parquet files: `{image_column_name(ws, dataset_id)}` is a"
            " `datasets.Image` column (each image's bytes and its path). Image paths are relative to the folder"
            " the images were uploaded from (their class folders included, e.g. `dog/train_2590.jpg`).\n"
        )
    (tmp / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        "    path: data/train-*.parquet\n---\n\n"
        f"# {dataset.name}\n\nExported by Curator with label provenance: `curated_text` is the text as shown and"
        " embedded (repaired), `label` the curated label,"
        " `given_label` the one the data came with, `label_source` where the label came from (original / human"
        " / auto / suggestion_accepted / bulk; a renamed or merged class keeps its source, and `batch_id` names"
        " that change), `model_id` the model behind auto labels, and `excluded`,"
        " `is_label_issue`, `outlier_score`, `is_near_duplicate` what curation found.\n" + images,
        encoding="utf-8",
    )


def _write_zip(ws: Workspace, dataset_id: int, chunks: Iterator[pd.DataFrame], tmp: Path) -> None:
    """images/<label or _unlabeled>/<file> and manifest.csv (every export column + ``file``)."""
    used: set[str] = set()
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:  # JPEG/PNG: already compressed
        header = True
        manifest: list[str] = []
        for chunk in chunks:
            ids = chunk[ID_COLUMN].tolist() if ID_COLUMN in chunk else None
            paths = _image_paths(ws, dataset_id, ids) if ids is not None else {}
            files = []
            for source_id, label in zip(
                chunk.get(ID_COLUMN, pd.Series([None] * len(chunk))),
                chunk.get("label", pd.Series([None] * len(chunk))),
                strict=True,
            ):
                src = paths.get(source_id)
                if src is None or not Path(src).exists():
                    files.append("")
                    continue
                folder = _safe_name(label) if isinstance(label, str) and label else "_unlabeled"
                name = f"images/{folder}/{Path(src).name}"
                stem, suffix = Path(name).stem, Path(name).suffix
                n = 1
                while name in used:
                    n += 1
                    name = f"images/{folder}/{stem}-{n}{suffix}"
                used.add(name)
                archive.write(src, name)
                files.append(name)
            chunk = chunk.assign(**{MANIFEST_FILE_COLUMN: files})
            if "tags" in chunk:
                chunk["tags"] = [json.dumps(t, ensure_ascii=False) for t in chunk["tags"]]
            text = chunk.map(neutralize_formula).to_csv(index=False, header=header)
            manifest.append(text)
            header = False
        archive.writestr("manifest.csv", "".join(manifest))


def _image_paths(ws: Workspace, dataset_id: int, source_ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    with ws.store.connect() as conn:
        for part in chunked(source_ids):
            marks = ",".join("?" * len(part))
            for source_id, image_path in conn.execute(
                f"SELECT source_id, image_path FROM rows WHERE dataset_id = ? AND source_id IN ({marks})",
                [dataset_id, *part],
            ):
                out[source_id] = image_path
    return out


def _safe_name(label: str) -> str:
    """A class name as one safe folder name (no separators, no dot-dot)."""
    cleaned = "".join(c if c.isalnum() or c in " -_.,()&+" else "_" for c in label).strip(" .")
    return cleaned or "_"
