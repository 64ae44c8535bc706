"""Read one table file, choosing the reader by its extension (Parquet and Excel are read here); refuse
an upload no reader takes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from core.errors import InputError
from core.provenance import DATASET_NAME_KEY
from core.readers.columns import _stringify, _unique_names, duplicate_columns_warning
from core.readers.delimited import _read_delimited
from core.readers.jsonl import _read_jsonl
from core.readers.table import IMAGE_SUFFIXES, UPLOAD_SUFFIXES, Table


def check_upload_name(name: str) -> None:
    """Refuse an uploaded file the table uploader cannot read, by its extension, with what to do instead.

    The check lives here rather than in the uploader's ``type=`` list: Streamlit's own refusal is a
    red chip whose reason only shows on hover, so the page accepts any file and shows this message.
    """
    suffix = Path(name).suffix.lower()
    if suffix in UPLOAD_SUFFIXES:
        return
    if suffix in IMAGE_SUFFIXES:
        raise InputError(
            f"{name} is a single image; this uploader takes a table or a ZIP. For an image dataset, upload a "
            "ZIP of its folder (one subfolder per class gives the labels), or give the folder under "
            "'Path on the server'."
        )
    kind = f"{suffix} files are" if suffix else "Files without an extension are"
    raise InputError(
        f"{name}: {kind} not accepted. Upload a CSV, TSV, TXT, JSONL, JSON, Parquet or Excel (.xlsx) file, "
        "or a ZIP of images."
    )


def read_table(path: Path, *, has_header: bool | None = None, display_name: str | None = None) -> Table:
    """Read CSV/TSV/TXT, JSONL, Parquet or Excel. ``has_header=None`` detects it for CSV."""
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        raise InputError(f"{name}: file not found.")
    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty (0 bytes).")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = _read_parquet(path, name)
    elif suffix == ".xlsx":
        table = _read_excel(path, name)
    elif suffix in {".jsonl", ".ndjson", ".json"}:
        table = _read_jsonl(path, name)
    else:
        table = _read_delimited(path, name, has_header=has_header, tab=suffix == ".tsv")
    if table.frame.empty:
        raise InputError(f"{name} has a header but no data rows.")
    table.class_names = sidecar_class_names(path)
    table.base_dir = path.parent.resolve()  # relative image paths in a table are relative to it
    return table


def _read_parquet(path: Path, name: str) -> Table:
    try:
        import pyarrow.parquet as pq

        arrow_schema = pq.read_schema(path)
        given = arrow_schema.names
        exported = _exported_label_schema(arrow_schema.metadata)
        dataset_name = _exported_dataset_name(arrow_schema.metadata)
        if len(set(given)) == len(given):
            return Table(
                _stringify(pd.read_parquet(path)), kind="table", label_schema=exported, dataset_name=dataset_name
            )
        # pandas cannot write repeated column names, but pyarrow (and Spark...) can, and pandas then
        # refuses the file ("Multiple matches for FieldRef"): rename the repeats as a CSV header's.
        names = _unique_names(given)
        arrow = pq.ParquetFile(path).read().rename_columns(names)
        frame = _stringify(arrow.to_pandas(ignore_metadata=True))
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise InputError(f"{name} is not a readable Parquet file ({type(exc).__name__}: {exc}).") from exc
    return Table(
        frame,
        kind="table",
        warnings=[duplicate_columns_warning(given, names)],
        label_schema=exported,
        dataset_name=dataset_name,
    )


def _exported_label_schema(metadata: dict[bytes, bytes] | None) -> dict | None:
    """The label schema a Curator export writes into its Parquet metadata (core/export/writers.py), if any."""
    raw = (metadata or {}).get(b"curator_label_schema")
    try:
        exported = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # a damaged note does not make the rows unreadable: the columns still say most of it
    return exported if isinstance(exported, dict) and isinstance(exported.get("questions"), dict) else None


def _exported_dataset_name(metadata: dict[bytes, bytes] | None) -> str | None:
    """The dataset name a Curator export writes into its Parquet metadata, if any."""
    raw = (metadata or {}).get(DATASET_NAME_KEY.encode())
    try:
        return (raw.decode("utf-8").strip() or None) if raw else None
    except UnicodeDecodeError:
        return None


def _read_excel(path: Path, name: str) -> Table:
    try:
        # header=None: pandas would rename a repeated header to "text.1" silently (and an empty one to
        # "Unnamed: 2"); the first row is named here as a CSV header is, with the same warning.
        sheet = pd.read_excel(path, sheet_name=0, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise InputError(f"{name} is not a readable Excel file ({type(exc).__name__}: {exc}).") from exc
    if sheet.empty:
        raise InputError(f"{name}: the first sheet is empty.")
    given = [str(v).strip() if isinstance(v, str) else "" for v in sheet.iloc[0]]
    given = [v or f"column_{i + 1}" for i, v in enumerate(given)]
    names = _unique_names(given)
    frame = _stringify(sheet.iloc[1:].reset_index(drop=True))
    frame.columns = names
    renamed = duplicate_columns_warning(given, names)
    return Table(frame, kind="table", warnings=[renamed] if renamed else [])


def sidecar_class_names(path: Path) -> list[str] | None:
    """AG News style ``classes.txt`` beside the file: line i names class index i (1-based)."""
    candidate = Path(path).with_name("classes.txt")
    if not candidate.is_file():
        return None
    names = [ln.strip() for ln in candidate.read_text(encoding="utf-8", errors="replace").splitlines()]
    names = [n for n in names if n]
    return names or None
