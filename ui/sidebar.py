"""The sidebar every page shares: dataset picker and a short status, then the operator's details in small."""

from __future__ import annotations

import streamlit as st

from core.saved import saved_searches
from core.store import Dataset
from ui.auth import access_caption, actor_field
from ui.resources import current_dataset_id, session, workspace
from ui.review import quote_markdown


def render_sidebar() -> None:
    """The dataset picker and its status first; the operator's details (access, model, storage) last."""
    ws = workspace()
    datasets = ws.datasets()
    with st.sidebar:
        if datasets:
            dataset_panel(datasets)
        else:
            st.info("No datasets yet. Upload one or load a demo on the Upload page.")
        operator_details()


def dataset_panel(datasets: list[Dataset]) -> None:
    """The dataset picker, its counts, its embedding state and its saved searches."""
    ws = workspace()
    s = session()
    names = {d.id: d.name for d in datasets}
    if s.select_dataset in names:  # a page asked for this one (e.g. the dataset just uploaded)
        s.dataset_id, s.select_dataset = s.select_dataset, None
    elif st.session_state.get("sidebar.dataset") in names:  # the person's pick
        s.dataset_id = st.session_state["sidebar.dataset"]
    current = current_dataset_id()
    # The picker's value is set through Session State only (a default as well makes Streamlit warn).
    if st.session_state.get("sidebar.dataset") != current:
        st.session_state["sidebar.dataset"] = current
    chosen = st.selectbox("Dataset", options=list(names), format_func=names.get, key="sidebar.dataset")
    s.dataset_id = chosen
    if st.query_params.get("dataset") != str(chosen):  # a reload or a shared link keeps the dataset
        st.query_params["dataset"] = str(chosen)
    status = ws.status(chosen)
    col1, col2 = st.columns(2)
    col1.metric("Rows", f"{status.rows:,}")
    col2.metric("Labeled", f"{status.labeled_share:.0%}")
    excluded = (  # counted in the two counts before it too
        f"  \n{status.excluded:,} of these {status.rows:,} rows excluded" if status.excluded else ""
    )
    st.caption(f"{status.labeled:,} labeled · {status.rows - status.labeled:,} unlabeled{excluded}")
    if s.start_job is not None and s.start_job.dataset_id == chosen:  # the Upload page runs it now
        # No share done here: the sidebar is drawn once, before the Upload page's run embeds, so a figure
        # stayed at its first value (0% for the whole of an 8k ingest).
        st.info("Embedding now: the progress bar (rows done, time left) is on the Upload page.")
    elif status.embedded_share < 1:
        st.warning(f"Embedding unfinished: {status.embedded_share:.0%}. Resume it on the Upload page.")
    saved_filter_picker(chosen)


def operator_details() -> None:
    """Details for whoever runs the app, small and below the data: access, the current dataset's
    embedding model, where vectors and rows are stored."""
    ws = workspace()
    actor_field()
    lines = [access_caption()]
    dataset_id = current_dataset_id()
    if dataset_id is not None:
        dataset = ws.dataset(dataset_id)
        lines.append(f"{dataset.modality.title()} embeddings: `{dataset.embedding_model}`")
    lines.append(f"Storage: {ws.chroma_settings.describe()} · workspace `{ws.root.name}`")
    st.caption("  \n".join(lines))


def saved_filter_picker(dataset_id: int) -> None:
    """Saved searches as filters, with their match counts (applied on the Search page)."""
    s = session()
    searches = saved_searches(workspace(), dataset_id)
    if not searches:
        s.saved_filter = None
        return
    # A radio's options are markdown: a name is shown as typed, not as a link or bold.
    options = {None: "(none)", **{x.id: f"{quote_markdown(x.name)} ({x.matches:,})" for x in searches}}
    if s.saved_filter not in options:
        s.saved_filter = None
    s.saved_filter = st.radio(
        "Saved searches",
        list(options),
        format_func=options.get,
        index=list(options).index(s.saved_filter),
        key=f"sidebar.saved.{dataset_id}",
        help="Rows scoring at or above the saved threshold; used as a filter on Search.",
    )
