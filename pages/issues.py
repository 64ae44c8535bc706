"""Issues: find mislabels, outliers and duplicates, see them by class, fix them in bulk or row by row."""

import streamlit as st

from core.errors import CuratorError
from core.issues import latest_report
from ui.issues import (
    changes_panel,
    charts,
    clean_top_k,
    filters,
    review,
    run_caption,
    run_panel,
    score_panel,
    summary_cards,
    table,
    view_rows,
)
from ui.resources import current_dataset_id, require_shell, session, workspace

require_shell()

ws, s = workspace(), session()
dataset_id = current_dataset_id()
st.title("Issues")
if dataset_id is None:
    st.info("No dataset yet: upload one or load a demo first.")
    st.stop()
for notice in s.notices:
    st.toast(notice)
s.notices.clear()

try:
    report = latest_report(ws, dataset_id)
except CuratorError as exc:
    st.error(str(exc))
    report = None
run_panel(dataset_id, report)
if report is None:
    st.stop()

run_caption(report)
summary_cards(report)
changes_panel(report)
charts(report)

st.subheader("Flagged rows")
view = filters(report)
rows = view_rows(report, view)
mode = st.segmented_control(
    "Work", ["Table and Clean Top K", "Review one by one"], default="Table and Clean Top K", key="issues.mode"
)
if mode == "Review one by one":
    review(dataset_id, report, rows, view)
else:
    clean_top_k(dataset_id, report, rows)
    table(report, rows, ws.dataset(dataset_id).modality, view.issue)
    score_panel(report, view.issue)

if s.last_batch:
    batch_id, what = s.last_batch
    if st.button(f"Undo: {what}", key="issues.undo", icon=":material/undo:"):
        try:
            st.toast(f"Undone: {ws.undo(batch_id).restored:,} changes restored")
        except CuratorError as exc:
            st.error(str(exc))
        s.last_batch = None
        st.rerun()
