"""Upload: bring a dataset in (file, server path or demo), check the detected columns, ingest."""

from pathlib import Path

import streamlit as st

from core.errors import CuratorError
from core.preview import label_summary, preview_frame
from core.schema import validate_mapping
from core.wording import counted
from ui.ingest import (
    image_check_panel,
    ingest_target,
    mapping_editor,
    paused_job_panel,
    run_started_job,
    unfinished_jobs_panel,
)
from ui.resources import current_dataset_id, require_shell, session, workspace
from ui.review import message_text
from ui.upload import (
    SOURCES,
    checked_images,
    demo_list,
    ingest,
    new_rows_link,
    preview_panel,
    read_source,
    server_path,
    suggested_name,
    summary_panel,
    uploaded_file,
)

require_shell()

ws, s = workspace(), session()
st.title("Upload a dataset")
if s.start_job is not None:  # Ingest or Resume was just clicked: the page is its progress until it is done
    # Streamlit removes what a run did not draw again only when the run ends, so while a job embeds for
    # minutes the form's widgets would stay on screen, faded, under the bar. The form is one container
    # (below): an empty element in its place takes it off at once. (Not st.empty().container(): the
    # block would replace the empty element before it is sent, and a container keeps the old one's children.)
    st.empty()
    with st.container(border=True):
        run_started_job()  # reruns when done; stops the page after an error

with st.container():
    if not ws.datasets():  # the app's first screen: what it is and the way through it
        st.markdown(
            "**Curator** turns a text or image dataset, unlabeled or noisily labeled, into a clean labeled one: "
            "Upload → Search → Auto-label → Issues → Export."
        )
    # Drawn last (finish()), once the page knows which unfinished ingests it shows in place, where the user is.
    unfinished_panel = st.container()
    shown_in_place: set[int] = set()
    form_job: dict | None = None  # the unfinished ingest of the file in the form: at the top, where it ran

    def finish() -> None:
        with unfinished_panel:
            if form_job is not None:
                paused_job_panel(form_job, clear_form=True)
            unfinished_jobs_panel(exclude=shown_in_place)
        st.stop()

    for notice in s.notices:
        st.success(notice)
        st.page_link("pages/browse.py", label="Browse the dataset", icon=":material/table:")
    if s.notices:
        new_rows_link(current_dataset_id())  # rows added to a dataset with a model are labeled on Auto-label
    s.notices.clear()

    kind = st.radio("Source", SOURCES, index=0 if ws.datasets() else 2, horizontal=True, key="upload.kind")
    path: Path | None = None
    if kind == "Demo dataset":
        shown_in_place |= demo_list()
        finish()
    elif kind == "Upload a file":
        path = uploaded_file(s.upload_round)
    else:
        path = server_path(s.upload_round)
    if path is None:
        finish()

    header = None  # a ZIP or folder of images has no header row to choose (a labels CSV inside is detected)
    if path.suffix.lower() != ".zip" and not path.is_dir():
        header_choice = st.radio("Header row", ["detect", "yes", "no"], horizontal=True, key="upload.header")
        header = {"detect": None, "yes": True, "no": False}[header_choice]
    try:
        table = read_source(str(path), path.stat().st_mtime if path.exists() else 0.0, header)
    except (CuratorError, OSError) as exc:
        st.error(message_text(str(exc)))  # file names and paths as text: '_' is not italics
        finish()
    st.caption(" · ".join([counted(len(table.frame), "row"), *table.notes]))
    for warning in table.warnings:
        st.warning(warning, icon=":material/warning:")

    mapping, model = mapping_editor(table, key=f"upload.map.{path}")
    try:
        validate_mapping(table, mapping)
        summary = label_summary(table, mapping)
        preview = preview_frame(table, mapping)
    except CuratorError as exc:
        st.error(message_text(str(exc)))
        finish()

    summary_panel(len(table.frame), summary)
    if mapping.image_column:
        image_check_panel(checked_images(str(path), path.stat().st_mtime, table, mapping.image_column))
    preview_panel(preview, key=f"upload.preview.{path}")

    target = ingest_target(
        modality=mapping.modality,
        source=path.name,
        default_name=suggested_name(path, table),
        key=str(path),
    )
    if target.unfinished is not None:  # this file's ingest, paused or interrupted: Resume instead of Ingest
        form_job = target.unfinished
        shown_in_place.add(form_job["id"])
        st.caption(":material/arrow_upward: This file's ingest is unfinished: Resume it at the top of the page.")
    else:
        if target.blocked:
            st.warning(target.blocked)
        rows = counted(len(table.frame), "row")
        label = f"Add {rows} to '{target.name}'" if target.append else f"Ingest {rows}"
        if st.button(label, type="primary", key="upload.go", disabled=bool(target.blocked or not target.name)):
            ingest(table, mapping, target.name, source=path.name, model=model, append=target.append)
    finish()
