"""The Export page's parts: what to export, a preview, the export itself with a download."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import CuratorError
from core.export import ROW_SET_TITLES, SUFFIX, Format, RowSet, export_columns, export_dataset, preview
from core.provenance import export_stem
from core.saved import saved_searches
from core.search import Filters
from core.wording import counted, duration, file_size
from ui.grid import show_table
from ui.progress import eta_bar
from ui.resources import workspace

FORMAT_TITLES = {
    Format.CSV: "CSV",
    Format.JSONL: "JSON Lines",
    Format.PARQUET: "Parquet",
    Format.HF: "Hugging Face datasets folder (a folder on the server; its download is zipped)",
    Format.ZIP: "ZIP: images in a folder per class + manifest.csv",
}
MIME = {
    Format.CSV: "text/csv",
    Format.JSONL: "application/jsonl",
    Format.PARQUET: "application/vnd.apache.parquet",
    Format.HF: "application/zip",
    Format.ZIP: "application/zip",
}


def choices(dataset_id: int) -> tuple[Format, RowSet, Filters | None, list[str]]:
    """Format, rows, the filter for "only matching rows", and columns."""
    ws = workspace()
    modality = ws.dataset(dataset_id).modality
    formats = [f for f in Format if f is not Format.ZIP or modality == "image"]
    c1, c2 = st.columns(2)
    fmt = c1.radio("Format", formats, format_func=FORMAT_TITLES.get, key="export.format")
    rows = c2.radio("Rows", list(RowSet), format_func=ROW_SET_TITLES.get, key="export.rows")
    filters = None
    if rows is RowSet.FILTERED:
        f1, f2, f3 = st.columns(3)
        searches = {s.id: f"{s.name} ({s.matches:,})" for s in saved_searches(ws, dataset_id)}
        saved = f1.selectbox(
            "Saved search",
            [None, *searches],
            format_func=lambda i: "(none)" if i is None else searches[i],
            key="export.saved",
        )
        labels = f2.multiselect("Label is", ws.store.classes(dataset_id), key="export.labels")
        keyword = f3.text_input("Text contains", key="export.keyword")
        filters = Filters(labels=labels, keyword=keyword or None, saved_search=saved, excluded=None)
    every = export_columns(ws, dataset_id)
    columns = st.multiselect("Columns", every, default=every, key=f"export.columns.{dataset_id}")
    return fmt, rows, filters, columns


def preview_panel(dataset_id: int, rows: RowSet, filters: Filters | None, columns: list[str]) -> int:
    """The first rows as they will be written; returns how many rows the export will have."""
    try:
        head, total = preview(workspace(), dataset_id, rows=rows, filters=filters, columns=columns or None, n=20)
    except CuratorError as exc:
        st.error(str(exc))
        return 0
    st.caption(
        f"**{counted(total, 'row')}** × {counted(len(columns), 'column')} will be exported. The first {len(head):,}:"
    )
    cells = _as_cells(head)
    # An AgGrid without a download button, not st.dataframe: its toolbar's "Download as CSV" sat beside the
    # export, writing the preview's 20 rows without the formula guard. The export is the one download.
    digest = hashlib.sha1(cells.to_json().encode()).hexdigest()[:12]  # new rows or columns: a new grid
    show_table(cells, key=f"export.preview.{dataset_id}.{digest}", height=300)
    return total


def _as_cells(head: pd.DataFrame) -> pd.DataFrame:
    """The preview as text cells: an empty cell where the CSV writes one (never "None" or "nan"),
    lists as the JSON text the CSV holds."""

    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return ""
        if isinstance(value, list | tuple | dict):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    return pd.DataFrame({c: [cell(v) for v in head[c].tolist()] for c in head.columns})


def export_button(dataset_id: int, fmt: Format, rows: RowSet, filters: Filters | None, columns: list[str]) -> None:
    """Write the export into the workspace's exports/ folder, then offer it for download."""
    ws = workspace()
    if st.button("Export", type="primary", key="export.run", icon=":material/download:", disabled=not columns):
        stem = export_stem(ws.dataset(dataset_id).name, datetime.now(UTC))
        path = ws.root / "exports" / f"{stem}{SUFFIX[fmt]}"
        report, close = eta_bar("Exporting")
        try:
            result = export_dataset(
                ws, dataset_id, path, fmt=fmt, rows=rows, filters=filters, columns=columns, progress=report
            )
        except CuratorError as exc:
            close()
            st.error(str(exc))
            return
        close()
        st.session_state["export.last"] = (str(result.path), fmt.value, result.rows, result.bytes, result.seconds)
    last = st.session_state.get("export.last")
    if not last or not Path(last[0]).exists():
        return
    path, fmt_name, n, size, seconds = Path(last[0]), Format(last[1]), last[2], last[3], last[4]
    where = f"`{path}` on the server"
    if path.is_dir():  # the HF folder
        where = f"the folder {where} (the download is a ZIP of it)"
    st.success(f"Exported {counted(n, 'row')} ({file_size(size)}) in {duration(seconds)} to {where}.")
    data = _zipped(path) if path.is_dir() else path.read_bytes()
    st.download_button(
        f"Download {path.name}{'.zip' if path.is_dir() else ''}",
        data=data,
        file_name=path.name + (".zip" if path.is_dir() else ""),
        mime=MIME[fmt_name],
        key="export.download",
        icon=":material/file_download:",
    )


def _zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, f"{folder.name}/{file.relative_to(folder)}")
    return buffer.getvalue()


def report_panel(dataset_id: int) -> None:
    """One click: a self-contained HTML health report for stakeholders."""
    st.subheader("Health report")
    st.caption(
        "One HTML file that opens offline: dataset size, labeled share before and after curation, auto-label"
        " coverage and audited precision, issues found and fixed by type and class, charts, example fixes."
    )
    ws = workspace()
    if st.button("Write the health report", key="export.report", icon=":material/summarize:"):
        from core.health import write_health_report

        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = ws.root / "exports" / f"health-report-{dataset_id}-{stamp}.html"
        with st.spinner("Writing the report"):
            try:
                write_health_report(ws, dataset_id, path)
            except CuratorError as exc:
                st.error(str(exc))
                return
        st.session_state["export.report_path"] = str(path)
    last = st.session_state.get("export.report_path")
    if last and Path(last).exists():
        st.download_button(
            f"Download {Path(last).name}",
            data=Path(last).read_bytes(),
            file_name=Path(last).name,
            mime="text/html",
            key="export.report_download",
            icon=":material/file_download:",
        )
