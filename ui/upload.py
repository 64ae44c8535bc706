"""Upload-page components: where the rows come from (a demo, an uploaded file, a server path), the
file read and checked once per version of it, the label summary and preview, and starting an ingest."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.demo import DEMOS
from core.errors import CuratorError
from core.ingest import load_source, stage_upload, start_ingest, unfinished_jobs
from core.preview import ImageCheck, LabelSummary, check_images
from core.provenance import import_name
from core.readers import Table
from core.schema import ColumnMapping, infer_mapping
from ui.charts import class_distribution, labeled_share
from ui.grid import show_table, thumb_uri
from ui.ingest import start_job_now, unfinished_job_row
from ui.resources import QUESTION_PARAM, workspace
from ui.review import message_text

SOURCES = ["Upload a file", "Path on the server", "Demo dataset"]


@st.cache_data(max_entries=4, show_spinner="Reading the file...")
def read_source(path: str, stamp: float, header: bool | None) -> Table:
    """The file at ``path`` as a table, read again only when it changes (``stamp``: its mtime)."""
    return load_source(workspace(), Path(path), has_header=header)


@st.cache_data(max_entries=4, show_spinner="Checking the images...")
def checked_images(path: str, stamp: float, _table: Table, image_column: str) -> ImageCheck:
    """Which images of the table cannot be used, checked once per version of the file."""
    return check_images(_table, ColumnMapping(image_column=image_column))


def ingest(
    table: Table, mapping: ColumnMapping, name: str, *, source: str, model: str | None = None, append: bool = False
) -> None:
    """Start ingesting ``table`` into dataset ``name``; it embeds after a rerun, at the top of the page."""
    ws = workspace()
    try:
        job_id = start_ingest(ws, table, mapping, name, source=source, embedding_model=model, append=append)
    except CuratorError as exc:
        st.error(message_text(str(exc)))
        return
    start_job_now(job_id, ws.dataset(name).id, new=True)
    st.rerun()  # the sidebar lists the dataset; the page shows the job's progress alone (run_started_job)


def demo_list() -> set[int]:
    """Each demo with Load (or Loaded); a demo whose ingest is unfinished shows its rows done and Resume in
    its row. Returns the ids of the unfinished ingests shown in place."""
    ws = workspace()
    shown_in_place: set[int] = set()
    existing = {d.name for d in ws.datasets()}
    unfinished = {j["dataset"]: j for j in unfinished_jobs(ws)}
    for demo in DEMOS:
        c1, c2 = st.columns([4, 1])
        c1.markdown(f"**{demo.name}**: {demo.description}")
        if demo.name in unfinished:  # paused or interrupted: its rows done and Resume in its row
            shown_in_place.add(unfinished[demo.name]["id"])
            unfinished_job_row(unfinished[demo.name], line=c1, button=c2)
            continue
        loaded = demo.name in existing
        if c2.button("Loaded" if loaded else "Load", key=f"upload.demo.{demo.key}", disabled=loaded):
            table = load_source(ws, demo.path)
            ingest(table, infer_mapping(table), demo.name, source=demo.path.name)
    return shown_in_place


def uploaded_file(upload_round: int) -> Path | None:
    """A file uploaded from the browser, staged in the workspace (None until one is given)."""
    limit_mb = int(st.get_option("server.maxUploadSize"))
    upload = st.file_uploader(
        f"CSV, TSV, JSONL, Parquet, Excel, or a ZIP of images (up to {limit_mb} MB; larger sets: use a server path)",
        # No type=: Streamlit's refusal only shows on hover; stage_upload says what is wrong, inline.
        key=f"upload.file.{upload_round}",
    )
    if upload is None:
        return None
    try:
        return stage_upload(workspace(), upload.name, upload.getvalue(), max_bytes=limit_mb * 1024 * 1024)
    except CuratorError as exc:
        st.error(message_text(str(exc)))
        return None


def server_path(upload_round: int) -> Path | None:
    """A file or image folder on the server, typed (None until one is)."""
    typed = st.text_input(
        "File or image folder on the server", key=f"upload.path.{upload_round}", placeholder="/data/images"
    )
    return Path(typed).expanduser() if typed.strip() else None


def summary_panel(n_rows: int, summary: LabelSummary) -> None:
    """Rows, labeled, unlabeled and classes as figures, the classes' sizes and the labeled share as charts."""
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Rows", f"{n_rows:,}")
    m2.metric("Labeled", f"{summary.labeled:,}")
    m3.metric("Unlabeled", f"{summary.unlabeled:,}")
    m4.metric("Classes", f"{len(summary.counts):,}")
    left, right = st.columns([3, 2])
    if summary.counts:
        left.plotly_chart(class_distribution(dict(list(summary.counts.items())[:40])), key="upload.classes")
    right.plotly_chart(labeled_share(summary.labeled, summary.unlabeled), key="upload.share")


def suggested_name(path: Path, table: Table) -> str:
    """The name offered for a new dataset from this file: one not taken (in the trash neither), except the
    dataset an unfinished ingest of this same file goes into, so that the form offers its Resume."""
    ws = workspace()
    resumable = {j["dataset"] for j in unfinished_jobs(ws) if j["source"] == path.name}
    taken = [d.name for d in ws.store.datasets(include_deleted=True) if d.name not in resumable]
    return import_name(path.stem, columns=table.frame.columns, exported_name=table.dataset_name, existing=taken)


def preview_panel(preview: pd.DataFrame, *, key: str) -> None:
    """The first rows as they will be stored, with thumbnails for images."""
    st.subheader("Preview", help="The first 100 rows as they will be stored (text after repair).")
    if "thumbnail" in preview:
        preview["thumbnail"] = preview["thumbnail"].map(thumb_uri)
    show_table(preview, key=key, height=360, thumbnail_column="thumbnail")


def new_rows_link(dataset_id: int | None) -> None:
    """After an ingest: a link to Auto-label for each question whose current model has new rows to label
    there, opening the page on that question. Rows added to a dataset are auto-labeled only from that
    page's button, not by the append. Sub-questions get none (new rows have no parent answer yet, and the
    page offers no new-rows button for them); nor do multi-choice questions (no new-rows step)."""
    from core.labelschema import Kind, label_schema
    from core.wizard import new_rows
    from core.wording import counted
    from ui.autolabel import current_prediction

    if dataset_id is None:
        return
    schema = label_schema(workspace().store, dataset_id)
    for question in schema.questions:
        if question.parent is not None or question.kind is not Kind.SINGLE:
            continue
        named = f" for '{question.name}'" if len(schema.questions) > 1 else ""
        try:
            prediction = current_prediction(dataset_id, question.name)
        except CuratorError as exc:  # the run's results are missing: the Auto-label page says the same
            st.warning(f"Auto-label{named}: {exc}")
            continue
        fresh = new_rows(workspace(), dataset_id, prediction) if prediction else []
        if not fresh:
            continue
        st.page_link(
            "pages/autolabel.py",
            label=f"Auto-label the {counted(len(fresh), 'new row')}{named}",
            icon=":material/playlist_add_check:",
            help=f"With the current auto-label model and threshold of '{question.name}'"
            " (Auto-label › 1 · Predict and accept)",
            query_params={"dataset": str(dataset_id), QUESTION_PARAM: question.name},
        )
