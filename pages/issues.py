"""Issues: find mislabels, outliers and duplicates, see them by class, fix them in bulk or row by row."""

import streamlit as st

from core.errors import CuratorError
from ui.audit import issue_fix_audit
from ui.issue_rows import clean_top_k, review, review_label_sets, score_panel, table
from ui.issue_summary import summary_cards
from ui.issues import (
    changes_panel,
    charts,
    current_report,
    filters,
    hidden_fixed,
    reliability_warning,
    run_caption,
    run_panel,
    view_rows,
)
from ui.resources import question_picker, start_page, undo_last_batch_button, workspace

ws = workspace()
dataset_id = start_page("Issues")

field = question_picker(
    dataset_id,
    key="issues.question",
    help="Whose answers the label check looks at (Schema page); a multi-choice question gets the"
    " label-set check, one class at a time",
)
try:
    report = current_report(dataset_id, field)
except CuratorError as exc:
    st.error(str(exc))
    report = None
run_panel(dataset_id, report, field)
if report is None:
    st.stop()

run_caption(report)
reliability_warning(report)
summary = st.container()  # filled once the work mode is known: the review panel redraws it with each decision
changes_panel(report)
charts(report)

st.subheader("Flagged rows")
view = filters(report)
rows, hidden = view_rows(report, view), hidden_fixed(report, view)
mode = st.segmented_control(
    "Work", ["Table and Clean Top K", "Review one by one"], default="Table and Clean Top K", key="issues.mode"
)


def show_summary() -> None:
    with summary:
        summary_cards(report)


if mode == "Review one by one" and "label_set" in report.issue_names:
    review_label_sets(dataset_id, report, rows, view, live=show_summary)
elif mode == "Review one by one":
    review(dataset_id, report, rows, view, live=show_summary)
else:
    show_summary()
    clean_top_k(dataset_id, report, rows, view.issue, hidden)
    table(report, rows, ws.dataset(dataset_id).modality, view.issue, hidden)
    score_panel(report, view.issue)
issue_fix_audit(dataset_id, field)

undo_last_batch_button("issues.undo")
