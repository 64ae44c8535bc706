"""Upload: bring a dataset in (file, server path or demo), check the detected columns, ingest."""

from pathlib import Path

import streamlit as st

from core.demo import DEMOS
from core.errors import CuratorError
from core.ingest import load_source, problem_summary, stage_upload, start_ingest
from core.preview import ImageCheck, check_images, label_summary, preview_frame
from core.readers import Table
from core.schema import ColumnMapping, infer_mapping, validate_mapping
from core.wording import counted
from ui.charts import class_distribution, labeled_share
from ui.grid import show_table, thumb_uri
from ui.ingest import image_check_panel, mapping_editor, run_job_with_progress, unfinished_jobs_panel
from ui.resources import require_shell, session, workspace

require_shell()

ws, s = workspace(), session()
st.title("Upload a dataset")


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
    report = run_job_with_progress(job_id)
    if report:
        s.select_dataset = report.dataset_id
        s.upload_round += 1
        named = problem_summary(ws, report.dataset_id, job_id=job_id) if report.skipped else ""
        problems = f", {counted(report.skipped, 'row')} flagged with problems: {named}" if report.skipped else ""
        s.notices.append(f"'{name}' is ready: {counted(report.embedded, 'row')} embedded{problems}.")
        st.rerun()  # so the sidebar shows the new dataset


for notice in s.notices:
    st.success(notice)
    st.page_link("pages/browse.py", label="Browse the dataset", icon=":material/table:")
s.notices.clear()


unfinished_jobs_panel()
sources = ["Upload a file", "Path on the server", "Demo dataset"]
kind = st.radio("Source", sources, index=0 if ws.datasets() else 2, horizontal=True, key="upload.kind")
path: Path | None = None
if kind == "Demo dataset":
    existing = {d.name for d in ws.datasets()}
    for demo in DEMOS:
        c1, c2 = st.columns([4, 1])
        c1.markdown(f"**{demo.name}**: {demo.description}")
        loaded = demo.name in existing
        if c2.button("Loaded" if loaded else "Load", key=f"upload.demo.{demo.key}", disabled=loaded):
            table = load_source(ws, demo.path)
            ingest(table, infer_mapping(table), demo.name, source=demo.path.name)
    st.stop()
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
    st.stop()

header_choice = st.radio("Header row", ["detect", "yes", "no"], horizontal=True, key="upload.header")
header = {"detect": None, "yes": True, "no": False}[header_choice]
try:
    table = read_source(str(path), path.stat().st_mtime if path.exists() else 0.0, header)
except (CuratorError, OSError) as exc:
    st.error(str(exc))
    st.stop()
st.caption(" · ".join([counted(len(table.frame), "row"), *table.notes]))

mapping, model = mapping_editor(table, key=f"upload.map.{path}")
try:
    validate_mapping(table, mapping)
    summary = label_summary(table, mapping)
    preview = preview_frame(table, mapping)
except CuratorError as exc:
    st.error(str(exc))
    st.stop()

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

names = [d.name for d in ws.datasets()]
c1, c2 = st.columns([3, 1])
name = c1.text_input("Dataset name", value=s.upload_name or path.stem.replace("_", " "), key=f"upload.name.{path}")
append = c2.toggle("Add to an existing dataset", value=False, key="upload.append", disabled=name not in names)
if st.button(f"Ingest {counted(len(table.frame), 'row')}", type="primary", key="upload.go"):
    ingest(table, mapping, name, source=path.name, model=model, append=append)
