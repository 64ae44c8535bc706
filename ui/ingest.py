"""Upload-page components: the column-mapping editor and an ingest run with a progress bar."""

from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from core.embedders import DEFAULT_TEXT_MODEL, available_models
from core.errors import CuratorError
from core.ingest import (
    JobInfo,
    JobReport,
    job_counts,
    job_info,
    mark_interrupted,
    mark_paused,
    problem_summary,
    run_ingest,
    unfinished_jobs,
)
from core.labelschema import looks_multi
from core.preview import ImageCheck
from core.provenance import QUESTION_PREFIX
from core.readers import Table
from core.schema import ColumnMapping, infer_mapping
from core.session import JobStart
from core.wording import counted, first_few
from ui.resources import embedder, session, workspace

NONE = "(none)"


def mapping_editor(table: Table, *, key: str) -> tuple[ColumnMapping, str]:
    """Detected columns shown as editable choices; returns the mapping and the embedding model."""
    inferred = infer_mapping(table)
    cols = list(table.frame.columns)
    options = [NONE, *cols]
    c1, c2, c3 = st.columns(3)
    text_cols: list[str] = []
    image_col: str | None = None
    if table.kind == "images":
        image_col = c1.selectbox(
            "Image column", cols, index=cols.index(inferred.image_column or cols[0]), key=f"{key}.image"
        )
    elif inferred.image_column is not None:
        # A table whose column names image files (a labels CSV, a Curator export put in the image folder):
        # images, as `curator ingest` reads it; "(none)" reads it as text instead.
        choice = c1.selectbox(
            "Image column",
            [*cols, NONE],
            index=cols.index(inferred.image_column),
            key=f"{key}.image",
            help="Image files, relative to the table's folder (or absolute). (none): the rows are text.",
        )
        image_col = None if choice == NONE else choice
    if table.kind != "images" and image_col is None:
        text_cols = c1.multiselect(
            "Text column(s)",
            cols,
            default=inferred.text_columns,
            key=f"{key}.text",
            help="Several columns are joined with a line break (e.g. title + description).",
        )
    label_col = c2.selectbox(
        "Label column",
        options,
        index=options.index(inferred.label_column or NONE),
        key=f"{key}.label",
        help="Empty cells, '-' and NaN mean unlabeled.",
    )
    id_col = c3.selectbox(
        "Id column",
        options,
        index=options.index(inferred.id_column or NONE),
        key=f"{key}.id",
        help="Unique row ids; without one, rows are numbered 1, 2, 3...",
    )
    label_names = inferred.label_names
    c4, c5 = st.columns([2, 1])
    if label_col != NONE and table.frame[label_col].str.fullmatch(r"\s*-?\d+\s*|").all():
        names = c4.text_input(
            "Class names for integer labels (comma-separated, in index order)",
            value=", ".join(label_names or []),
            key=f"{key}.names",
            help="E.g. 'World, Sports, Business, Sci/Tech' turns 1..4 into names. Leave empty to keep the numbers.",
        )
        label_names = [n.strip() for n in names.split(",") if n.strip()] or None
    clean = c5.toggle(
        "Repair text",
        value=True,
        key=f"{key}.clean",
        disabled=image_col is not None,
        help="Fix mojibake, HTML entities and AG News' backslash newlines in the text we embed and show. "
        "The original fields are kept unchanged.",
    )
    # Always drawn (disabled without a label column) so that picking "(none)" does not shift what follows:
    # a shifted element leaves a stale copy on screen until the rerun ends.
    multi = st.toggle(
        "Several classes per row in the label column",
        value=label_col != NONE and looks_multi(table.frame[label_col].tolist()),
        key=f"{key}.multi.{label_col}",
        disabled=label_col == NONE,
        help='Multi-label: cells like \'sports|politics\' or a JSON list ["sports", "politics"].',
    )
    questions = st.multiselect(
        "Further questions (label columns)",
        [c for c in cols if c not in {label_col, id_col, image_col, *text_cols}],
        default=[c for c in inferred.question_columns if c not in {label_col, id_col, image_col, *text_cols}],
        key=f"{key}.questions",
        help="Each column becomes one more question of the label schema, with its values as answers: "
        "hierarchical classes ('Shoes > Running') and several classes per row ('a|b') are recognised. "
        "Edit questions later on the Schema page.",
    )
    restore = False
    if inferred.restore_curation:
        # Its further questions come from its label.<question> columns, not from the picker above: name them.
        further = [c.removeprefix(QUESTION_PREFIX) for c in cols if c.startswith(QUESTION_PREFIX)]
        also = f" and its further questions ({', '.join(further)})" if further else ""
        restore = st.toggle(
            f"This is a Curator export: restore its labels, label sources, suggestions, tags and exclusions{also}",
            value=True,
            key=f"{key}.restore",
            help="Off: the provenance columns are imported as ordinary fields and only the label column is read.",
        )
    modality = "image" if image_col is not None else "text"
    models = available_models(modality)
    model = c4.selectbox("Embedding model", models, key=f"{key}.model") if len(models) > 1 else models[0]
    mapping = ColumnMapping(
        text_columns=text_cols,
        image_column=image_col,
        label_column=None if label_col == NONE else label_col,
        id_column=None if id_col == NONE else id_col,
        label_names=label_names,
        clean_text=clean,
        restore_curation=restore,
        multi_label=multi,
        question_columns=questions,
    )
    return mapping, model


def run_job_with_progress(job_id: int) -> JobReport | None:
    """Embed in the page body with a live progress bar. Leaving the page pauses the job; it resumes."""
    ws = workspace()
    with ws.store.connect() as conn:
        dataset_id = conn.execute("SELECT dataset_id FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    dataset = ws.dataset(int(dataset_id))
    try:  # the first load of a model takes seconds: a page left meanwhile leaves the job paused too
        model = embedder(dataset.embedding_model)
        text_model = (
            embedder(DEFAULT_TEXT_MODEL, purpose="to search the images by words (ImageNet class names)")
            if model.text_queries_via_class_names
            else None
        )
    except BaseException as stop:
        if not isinstance(stop, Exception):  # Streamlit stopping the run, not a load error (that one shows)
            mark_interrupted(ws, job_id)
        raise
    total, embedded, skipped = job_counts(ws, job_id)
    unit = "image" if dataset.modality == "image" else "row"
    bar = st.progress(
        (embedded + skipped) / total if total else 0.0,
        text=f"Embedding: {embedded + skipped:,} of {counted(total, unit)} done, the next count in a few seconds...",
    )
    # A click reruns the page, which stops this run at its next progress update (after a whole chunk);
    # the callback runs first in the new run and records the pause.
    pause = st.empty()
    pause.button(
        "Pause",
        key=f"ingest.pause.{job_id}",
        icon=":material/pause:",
        on_click=mark_paused,
        args=(ws, job_id),
        help="Stops after the rows being embedded now. Resume (on this page) continues where it stopped;"
        " leaving the page pauses it too.",
    )
    try:
        report = run_ingest(
            ws,
            job_id,
            model,
            text_embedder=text_model,
            on_progress=lambda p: bar.progress(p.fraction, text=p.describe()),
        )
    except CuratorError as exc:
        bar.empty()
        pause.empty()
        st.error(str(exc))
        return None
    bar.empty()
    pause.empty()
    session().last_job_id = job_id
    return report


class IngestTarget(NamedTuple):
    name: str  # the dataset the rows go to
    append: bool  # into an existing dataset
    unfinished: dict | None  # an unfinished ingest of this same file into it: Resume, not Ingest again
    blocked: str | None  # why Ingest cannot run (a new dataset's name is taken)


ADD = "Add to an existing dataset"


def ingest_target(*, modality: str, source: str, default_name: str, key: str) -> IngestTarget:
    """Where the rows go: a new dataset with a name, or an existing dataset of the same kind, picked."""
    ws = workspace()
    datasets = ws.datasets()
    same_kind = [d.name for d in datasets if d.modality == modality]
    choice = "New dataset"
    if same_kind:
        choice = st.radio(
            "Ingest into",
            ["New dataset", ADD],
            horizontal=True,
            key="upload.target",
            help=f"Adding puts these rows into an existing {modality} dataset, embedded with its model; its"
            " auto-label model labels them and its saved searches cover them.",
        )
    elif datasets:
        st.caption(f"No {modality} dataset yet to add these rows to: they make a new dataset.")
    if choice == ADD:
        name = st.selectbox(f"Existing {modality} dataset", same_kind, key="upload.append.to")
    else:
        name = st.text_input("Dataset name", value=default_name, key=f"upload.name.{key}").strip()
    unfinished = next((j for j in unfinished_jobs(ws) if j["dataset"] == name and j["source"] == source), None)
    blocked = None
    if choice != ADD and unfinished is None and name in {d.name for d in datasets}:
        blocked = f"A dataset named '{name}' already exists: choose another name" + (
            f", or '{ADD}' above to put these rows into it." if name in same_kind else "."
        )
    return IngestTarget(name, choice == ADD, unfinished, blocked)


def start_job_now(job_id: int, dataset_id: int, *, new: bool, clear_form: bool = False) -> None:
    """Run this job on the next run (a rerun first redraws the sidebar and clears stale messages)."""
    session().start_job = JobStart(job_id, dataset_id, new, clear_form)
    session().select_dataset = dataset_id


def unfinished_job_row(job: dict, *, line=None, button=None, clear_form: bool = False) -> None:  # noqa: ANN001
    """One unfinished ingest: rows done and why it stopped, and Resume, which runs it at the top of the
    page (as does an Ingest just clicked: run_started_job). ``line`` and ``button`` are where to draw them
    (default: a new row); ``clear_form``: the form holds this job's file, emptied when the job is done."""
    if line is None or button is None:
        line, button = st.columns([4, 1])
    total, embedded, skipped = job_counts(workspace(), job["id"])
    done = f"{embedded + skipped:,} of {counted(total, 'row')} done"
    line.markdown(f"**{job['dataset']}** from `{job['source']}` · {done} · {job_state(job)}")
    resume_button(job, clear_form=clear_form, where=button)


def paused_job_panel(job: dict, *, clear_form: bool = False) -> None:
    """The unfinished ingest of the file in the form, drawn at the top of the page where its run was (the
    eye is there after a Pause; Resume in place of Ingest was below the preview): what it ingests, its bar
    at the rows done with why it stopped, and Resume."""
    ws = workspace()
    total, embedded, skipped = job_counts(ws, job["id"])
    with st.container(border=True):
        job_summary(job_info(ws, job["id"]), resumed=False, paused=True)
        st.progress(
            (embedded + skipped) / total if total else 0.0,
            text=f"{embedded + skipped:,} of {counted(total, 'row')} done · {job_state(job)}",
        )
        resume_button(job, clear_form=clear_form)


def job_state(job: dict) -> str:
    """Why an unfinished job stopped, in words: "paused by the user", "paused · interrupted before it finished"."""
    message = job["message"] or ""
    return message if message.startswith(job["status"]) else " · ".join(filter(None, [job["status"], message]))


def resume_button(job: dict, *, clear_form: bool, where=st) -> None:  # noqa: ANN001
    """Resume: runs the job at the top of the page (run_started_job) on the next run."""
    where.button(
        "Resume",
        key=f"upload.resume.{job['id']}",
        type="primary",
        on_click=start_job_now,
        args=(job["id"], job["dataset_id"]),
        kwargs={"new": False, "clear_form": clear_form},
    )


def run_started_job() -> None:
    """The Upload page while a job just started (Ingest) or resumed runs: what it ingests, its progress
    bar and Pause, and nothing else, so the bar is the first thing on screen and no widget of the form
    stays there faded for the minutes it embeds. When it is done the page reruns to the form, which
    says so; after an error, the error with Resume and Back to the form."""
    s = session()
    start, s.start_job = s.start_job, None  # taken: a rerun (Pause, leaving the page) does not start it again
    ws = workspace()
    if start is None or start.job_id not in {j["id"] for j in unfinished_jobs(ws)}:
        return  # finished meanwhile (in another tab) or undone: nothing to run
    info = job_info(ws, start.job_id)
    job_summary(info, resumed=not start.new)
    report = run_job_with_progress(start.job_id)
    if not report:  # the error is shown
        again, back = st.columns([1, 5])
        again.button(
            "Resume",
            key=f"upload.resume.{start.job_id}",
            type="primary",
            on_click=start_job_now,
            args=(start.job_id, start.dataset_id),
            kwargs={"new": start.new, "clear_form": start.clear_form},
        )
        back.button("Back to the form", key="upload.back")  # a rerun: the job is listed there, with Resume
        st.stop()
    if start.clear_form or start.new:
        s.upload_round += 1
    if start.new:
        named = problem_summary(ws, report.dataset_id, job_id=start.job_id) if report.skipped else ""
        problems = f", {counted(report.skipped, 'row')} flagged with problems: {named}" if report.skipped else ""
        s.notices.append(f"'{info.dataset}' is ready: {counted(report.embedded, 'row')} embedded{problems}.")
    else:
        s.notices.append(f"'{info.dataset}': {report.embedded:,} of {counted(report.total, 'row')} embedded.")
    st.rerun()  # shown by the page after the rerun, which takes the job off the unfinished ones


def job_summary(info: JobInfo, *, resumed: bool, paused: bool = False) -> None:
    """Which file goes into which dataset, and with which columns and model (``paused``: a job stopped)."""
    if resumed:
        what = f"Resuming the ingest of `{info.source}` into **{info.dataset}**"
    elif info.append:
        what = f"Adding the rows of `{info.source}` to **{info.dataset}**"
    else:
        what = f"Ingesting `{info.source}` into the new dataset **{info.dataset}**"
    st.markdown(f"Paused: {what[0].lower()}{what[1:]}" if paused else what)
    st.caption(" · ".join([counted(info.total, "row"), *columns_in_words(info.mapping), f"model {info.model_id}"]))


def columns_in_words(mapping: ColumnMapping) -> list[str]:
    """The columns an ingest reads, one phrase each: what the mapping editor showed when it started."""

    def named(columns: list[str]) -> str:
        return ", ".join(f"`{c}`" for c in columns)

    if mapping.image_column:
        parts = [f"images: {named([mapping.image_column])}"]
    else:
        parts = [f"text: {named(mapping.text_columns)}" + (" (repaired)" if mapping.clean_text else "")]
    if mapping.label_column:
        several = " (several classes per row)" if mapping.multi_label else ""
        parts.append(f"label: {named([mapping.label_column])}{several}")
    else:
        parts.append("no label column")
    if mapping.question_columns:
        parts.append(f"further questions: {named(mapping.question_columns)}")
    parts.append(f"id: {named([mapping.id_column])}" if mapping.id_column else "no id column (rows numbered)")
    if mapping.restore_curation:
        parts.append("a Curator export's curation restored")
    return parts


def unfinished_jobs_panel(*, exclude: set[int] = frozenset()) -> None:
    """Unfinished ingests other than those the page shows in place (``exclude``), each with Resume."""
    jobs = [j for j in unfinished_jobs(workspace()) if j["id"] not in exclude]
    if not jobs:
        return
    st.subheader("Unfinished ingests")
    for job in jobs:
        unfinished_job_row(job)


def image_check_panel(check: ImageCheck) -> None:
    """Before the ingest: which images cannot be used (by name, with the reason), and how far the
    check went."""
    if check.problems:
        named = [f"`{name}` ({reason})" for name, reason in check.problems]
        st.warning(
            f"{counted(len(check.problems), 'image')} of {check.total:,} cannot be used: {first_few(named, shown=10)}."
            " These rows are stored and flagged (Browse › Not embedded lists them) but not embedded, so search,"
            " auto-label and the issue checks cannot see them. Fix or remove the files and upload again to include"
            " them.",
            icon=":material/broken_image:",
        )
    if not check.complete:
        st.caption(
            f"Every file was checked to exist; the first {check.opened:,} of {check.total:,} images were opened and"
            " verified. The rest are checked while they are embedded (an unreadable one is flagged then)."
        )
