"""Upload: bring a dataset in (file, server path or demo), check the detected columns, ingest."""

from pathlib import Path

import streamlit as st

from core.demo import DEMOS
from core.errors import CuratorError
from core.ingest import load_source, stage_upload, start_ingest, unfinished_jobs
from core.preview import ImageCheck, check_images, label_summary, preview_frame
from core.readers import Table
from core.schema import ColumnMapping, infer_mapping, validate_mapping
from core.wording import counted
from ui.charts import class_distribution, labeled_share
from ui.grid import show_table, thumb_uri
from ui.ingest import (
    image_check_panel,
    ingest_target,
    mapping_editor,
    start_job_now,
    unfinished_job_row,
    unfinished_jobs_panel,
)
from ui.resources import require_shell, session, workspace

require_shell()

ws, s = workspace(), session()
st.title("Upload a dataset")
# Drawn last (finish()), once the page knows which unfinished ingests it shows in place, where the user is.
unfinished_panel = st.container()
shown_in_place: set[int] = set()


def finish() -> None:
    with unfinished_panel:
        unfinished_jobs_panel(exclude=shown_in_place)
    st.stop()


@st.cache_data(max_entries=4, show_spinner="Reading the file...")
def read_source(path: str, stamp: float, header: bool | None) -> Table:
    return load_source(ws, Path(path), has_header=header)


@st.cache_data(max_entries=4, show_spinner="Checking the images...")
def checked_images(path: str, stamp: float, _table: Table, image_column: str) -> ImageCheck:
    return check_images(_table, ColumnMapping(image_column=image_column))


def ingest(table: Table, mapping, name: str, *, source: str, model: str | None = None, append: bool = False) -> None:
    try:
        job_id = start_ingest(ws, table, mapping, name, source=source, embedding_model=model, append=append)
    except CuratorError as exc:
        st.error(str(exc))
        return
    start_job_now(job_id, ws.dataset(name).id, new=True)
    st.rerun()  # the sidebar lists the dataset; the job runs where this button was (unfinished_job_row)


for notice in s.notices:
    st.success(notice)
    st.page_link("pages/browse.py", label="Browse the dataset", icon=":material/table:")
s.notices.clear()


sources = ["Upload a file", "Path on the server", "Demo dataset"]
kind = st.radio("Source", sources, index=0 if ws.datasets() else 2, horizontal=True, key="upload.kind")
path: Path | None = None
if kind == "Demo dataset":
    existing = {d.name for d in ws.datasets()}
    unfinished = {j["dataset"]: j for j in unfinished_jobs(ws)}
    for demo in DEMOS:
        c1, c2 = st.columns([4, 1])
        c1.markdown(f"**{demo.name}**: {demo.description}")
        if demo.name in unfinished:  # running, paused or interrupted: its progress and Resume in its row
            shown_in_place.add(unfinished[demo.name]["id"])
            unfinished_job_row(unfinished[demo.name], line=c1, button=c2)
            continue
        loaded = demo.name in existing
        if c2.button("Loaded" if loaded else "Load", key=f"upload.demo.{demo.key}", disabled=loaded):
            table = load_source(ws, demo.path)
            ingest(table, infer_mapping(table), demo.name, source=demo.path.name)
    finish()
elif kind == "Upload a file":
    limit_mb = int(st.get_option("server.maxUploadSize"))
    upload = st.file_uploader(
        f"CSV, TSV, JSONL, Parquet, Excel, or a ZIP of images (up to {limit_mb} MB; larger sets: use a server path)",
        type=["csv", "tsv", "txt", "jsonl", "ndjson", "json", "parquet", "xlsx", "zip"],
        key=f"upload.file.{s.upload_round}",
    )
    if upload is not None:
        try:
            path = stage_upload(ws, upload.name, upload.getvalue(), max_bytes=limit_mb * 1024 * 1024)
        except CuratorError as exc:
            st.error(str(exc))
else:
    typed = st.text_input(
        "File or image folder on the server", key=f"upload.path.{s.upload_round}", placeholder="/data/images"
    )
    path = Path(typed).expanduser() if typed.strip() else None
if path is None:
    finish()

header_choice = st.radio("Header row", ["detect", "yes", "no"], horizontal=True, key="upload.header")
header = {"detect": None, "yes": True, "no": False}[header_choice]
try:
    table = read_source(str(path), path.stat().st_mtime if path.exists() else 0.0, header)
except (CuratorError, OSError) as exc:
    st.error(str(exc))
    finish()
st.caption(" · ".join([counted(len(table.frame), "row"), *table.notes]))

mapping, model = mapping_editor(table, key=f"upload.map.{path}")
try:
    validate_mapping(table, mapping)
    summary = label_summary(table, mapping)
    preview = preview_frame(table, mapping)
except CuratorError as exc:
    st.error(str(exc))
    finish()

m1, m2, m3, m4 = st.columns(4)
m1.metric("Rows", f"{len(table.frame):,}")
m2.metric("Labeled", f"{summary.labeled:,}")
m3.metric("Unlabeled", f"{summary.unlabeled:,}")
m4.metric("Classes", f"{len(summary.counts):,}")
left, right = st.columns([3, 2])
if summary.counts:
    left.plotly_chart(class_distribution(dict(list(summary.counts.items())[:40])), key="upload.classes")
right.plotly_chart(labeled_share(summary.labeled, summary.unlabeled), key="upload.share")

if mapping.image_column:
    image_check_panel(checked_images(str(path), path.stat().st_mtime, table, mapping.image_column))
st.subheader("Preview", help="The first 100 rows as they will be stored (text after repair).")
if "thumbnail" in preview:
    preview["thumbnail"] = preview["thumbnail"].map(thumb_uri)
show_table(preview, key=f"upload.preview.{path}", height=360, thumbnail_column="thumbnail")

target = ingest_target(
    modality=mapping.modality,
    source=path.name,
    default_name=s.upload_name or path.stem.replace("_", " "),
    key=str(path),
)
if target.unfinished is not None:  # this file's ingest, paused or interrupted: Resume instead of Ingest
    shown_in_place.add(target.unfinished["id"])
    unfinished_job_row(target.unfinished, clear_form=True)
else:
    if target.blocked:
        st.warning(target.blocked)
    rows = counted(len(table.frame), "row")
    label = f"Add {rows} to '{target.name}'" if target.append else f"Ingest {rows}"
    if st.button(label, type="primary", key="upload.go", disabled=bool(target.blocked or not target.name)):
        ingest(table, mapping, target.name, source=path.name, model=model, append=target.append)
finish()
