"""One writer per file format: CSV (formulas neutralised, lists as JSON text), JSONL, Parquet (one
Arrow schema for every chunk) and, for images, a ZIP with a folder per class and a manifest.

Each writer takes the export's chunks and a temporary path; ``export_dataset`` renames the result
into place. The Hugging Face folder (Parquet plus a dataset card) is in ``core/export/hf.py``.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.export.columns import _field_name, _float_columns, _list_columns, image_column_name
from core.labelschema import label_schema
from core.provenance import (
    DATASET_NAME_KEY,
    ID_COLUMN,
    MANIFEST_FILE_COLUMN,
    SCHEMA_VERSION_COLUMN,
    neutralize_formula,
)
from core.store import chunked
from core.workspace import Workspace


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
        "labeled_by": pa.string(),
        "model_id": pa.string(),
        "suggested_by": pa.string(),
        "embedding_model": pa.string(),
        SCHEMA_VERSION_COLUMN: pa.int64(),
    }
    types |= {c: pa.list_(pa.string()) for c in _list_columns(ws, dataset_id)}
    types |= {c: pa.float64() for c in _float_columns(ws, dataset_id)}
    field_types = _original_field_types(ws, dataset_id)
    schema = label_schema(ws.store, dataset_id)
    metadata = {
        "curator_label_schema": json.dumps(schema.to_dict()),  # the whole schema, for tools
        DATASET_NAME_KEY: ws.store.dataset(dataset_id).name,  # the name an import suggests
    }
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
