"""The Issues page's flagged rows: the table, Clean Top K, row-by-row review and the score histogram
(the run, charts and filters are in ``ui.issues``; the summary cards in ``ui.issue_summary``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from core.errors import CuratorError
from core.issues import (
    FIX_TITLES,
    FIX_VERBS,
    MIN_AUTO_FIX_PROBABILITY,
    Fix,
    IssueReport,
    default_fix,
    fix_choices,
    fix_rows,
)
from core.review import top_choices
from core.session import Session
from core.store import ISSUE_FIX_MODEL, as_classes, stored_value
from core.wording import counted
from ui.charts import score_histogram
from ui.grid import show_table, thumb_uri
from ui.issues import View
from ui.progress import eta_bar
from ui.resources import action_done, action_key, clicked_twice, row_contents, session, workspace
from ui.review import class_keys_hint, multi_review_panel, review_panel

TABLE_ROWS = 200
ISSUES_QUEUE_DONE = (
    "**Improve issues found** (at the top) runs the checks again with your decisions, or take a new queue."
)


def _why(report: IssueReport, row_id: int, issue: str) -> str:
    """The explanation of the issue the table is filtered on (else of the first flagged one)."""
    reasons = [(t, why) for t, why in report.explain(row_id) if t != "Label check"]
    chosen = [why for t, why in reasons if issue != "any" and t == report.title(issue)]
    return (chosen or [why for _, why in reasons] or [""])[0]


def table(report: IssueReport, rows: pd.DataFrame, modality: str, view_issue: str = "any", hidden: int = 0) -> None:
    """The flagged rows matching the filters; ``hidden``: how many more "Hide fixed rows" leaves out."""
    if not len(rows):
        return
    head = rows.head(TABLE_ROWS)
    stored = {r["id"]: r for r in workspace().store.rows_by_ids(head["row_id"].tolist())}
    partner_ids = head["partner"].tolist() if "partner" in head else []
    partners = {r["id"]: r for r in workspace().store.rows_by_ids(partner_ids)} if partner_ids else {}
    flags = [f"is_{n}_issue" for n in report.issue_names]
    titles = [report.title(n) for n in report.issue_names]
    out = pd.DataFrame({"id": [stored[r]["source_id"] if r in stored else str(r) for r in head["row_id"]]})
    if modality == "image":
        out["thumbnail"] = [thumb_uri(stored[r]["thumb"]) if r in stored else "" for r in head["row_id"]]
    shown = dict(zip(stored, row_contents(report.run.dataset_id, list(stored.values())), strict=True))
    out["text" if modality == "text" else "file"] = [shown.get(r, "") for r in head["row_id"]]
    if "label_set" in report.issue_names:  # a multi-choice question: the row's classes, and the doubted one
        states = workspace().store.row_states(head["row_id"].tolist(), report.field)
        out["classes"] = [", ".join(as_classes(stored_value(states.get(r, {}).get("label")))) for r in head["row_id"]]
        out["class in doubt"] = head["given"].to_numpy()
    else:
        out["given"] = head["given"].to_numpy()
    if "suggested" in head:
        out["suggested"] = head["suggested"].to_numpy()
        out["confidence"] = [f"{p:.0%}" if np.isfinite(p) else "" for p in head["suggested_confidence"]]
        out["label score"] = [round(float(s), 3) if np.isfinite(s) else None for s in head["label_score"]]
    out["issues"] = [
        ", ".join(t for t, flag in zip(titles, row, strict=True) if flag) for row in head[flags].to_numpy()
    ]
    out["why"] = [_why(report, int(r), view_issue) for r in head["row_id"]]
    if partner_ids:
        out["near-duplicate of"] = [
            f"{partners[p]['source_id']} ({s:.3f})" if flag and p in partners else ""
            for p, s, flag in zip(
                head["partner"], head["partner_similarity"], head["is_near_duplicate_issue"], strict=True
            )
        ]
    st.caption(
        f"{len(rows):,} rows match; showing the first {len(head):,} in the order Clean Top K uses"
        " (most likely issue first)."
        + (f" Hidden by Hide fixed rows: {counted(hidden, 'more row')}, fixed since this run." if hidden else "")
        + " Sorting a column here only changes the display."
    )
    show_table(out, key=f"issues.grid.{report.run.id}.{len(rows)}", thumbnail_column="thumbnail", height=430)


def clean_top_k(dataset_id: int, report: IssueReport, rows: pd.DataFrame, issue: str = "any", hidden: int = 0) -> None:
    """Apply one fix to the top K rows of the filtered view, as one undoable batch. The fixes offered
    and the one first chosen depend on the issue type filtered on (``issue``); ``hidden``: rows "Hide
    fixed rows" leaves out."""
    if not len(rows):
        if issue != "any" and not report.counts().get(issue, 0):  # "left" read as if its rows had been fixed
            st.info(f"{report.title(issue)}: this run found no rows.")
            return
        more = f" (Hide fixed rows hides {counted(hidden, 'row')} fixed since this run)" if hidden else ""
        st.success(f"No flagged rows left with these filters{more}.")
        return
    s = session()
    c1, c2, c3, c4 = st.columns([1, 2, 1.6, 1.4], vertical_alignment="bottom")
    # K stays in the range its label states (the field showed 10 under "K (1 to 7)"): the K asked for (10
    # to start with, then the one typed) brought down to the rows the filters leave, and back up with them.
    # Set through the session state before the field is drawn: a max_value following the filters would
    # refuse the value kept from before.
    n = len(rows)
    st.session_state["issues.k"] = min(st.session_state.get("issues.k_wanted", 10), n)
    k = int(c1.number_input(f"K (1 to {n:,})", min_value=1, key="issues.k", on_change=_keep_k))
    choices = fix_choices(issue)
    fix = c2.selectbox(
        "Fix",
        choices,
        index=choices.index(default_fix(report, issue)),
        format_func=lambda f: FIX_TITLES[f],
        key=f"issues.fix.{issue}",  # a default of its own per issue type
    )
    value = None
    if fix is Fix.SET_LABEL:
        value = c3.selectbox("Label", report.classes, key="issues.fix_label")
    apply_key = action_key("issues.apply", dataset_id)  # a click on the rows drawn before a change is dropped
    clicked = c4.button(f"Clean top {k:,}", type="primary", key=apply_key, icon=":material/cleaning_services:")
    if clicked and not clicked_twice(s, "issues.apply"):
        try:
            _apply_fix(dataset_id, report, rows["row_id"].head(k).tolist(), fix, value, s)
        finally:
            action_done(s, "issues.apply")
    if fix is Fix.AUTO_FIX:
        st.caption(
            "Auto-fix writes each flagged label issue's suggested label as an auto label"
            ' (source "auto", the model\'s probability as confidence). A suggestion under'
            f" {MIN_AUTO_FIX_PROBABILITY:.0%} is not written: the row is skipped and counted."
        )


def _keep_k() -> None:
    """K's callback: the K typed is the one asked for, kept while the filters leave fewer rows."""
    st.session_state["issues.k_wanted"] = st.session_state["issues.k"]


def _apply_fix(
    dataset_id: int, report: IssueReport, row_ids: list[int], fix: Fix, value: str | None, s: Session
) -> None:
    """Clean Top K's action: one undoable batch with a progress bar, then a rerun. Its Undo is kept on
    ``s`` before any Streamlit call after the action (a second click's run stops this one there)."""
    report_progress, close = eta_bar("Applying")
    try:
        result = fix_rows(
            workspace(),
            dataset_id,
            report,
            row_ids,
            fix,
            value=value,
            on_progress=lambda done, total: report_progress(done / max(total, 1), f"{done:,} of {total:,} rows"),
        )
    except CuratorError as exc:
        close()
        st.error(str(exc))
        return
    message = result.describe(FIX_VERBS[fix])
    if result.batch_id:
        s.last_batch = (result.batch_id, message)
    s.notices.append(message)
    close()
    st.rerun()


def explain_row(report: IssueReport, row_id: int) -> None:
    """Why a row was flagged, and its near-duplicate beside it."""
    for title, why in report.explain(row_id):
        st.markdown(f"**{title}:** {why}")
    frame = report.frame.set_index("row_id")
    if "partner" not in frame or not frame.at[row_id, "is_near_duplicate_issue"]:
        return
    ws = workspace()
    mine, theirs = ws.store.rows_by_ids([row_id, int(frame.at[row_id, "partner"])])
    left, right = st.columns(2)
    for col, row, title in ((left, mine, "This row"), (right, theirs, "Its near-duplicate")):
        with col.container(border=True):
            st.caption(f"{title} · row {row['source_id']} · label {row['label'] or '(none)'}")
            if row["image_path"]:
                st.image(row["image_path"], width=160)
            else:
                st.text(row["text"] or "")


def frozen_queue(rows: pd.DataFrame, key: str) -> list[int]:
    """The first 50 rows of the table when this queue was opened. Kept as it was: a decided row
    leaves the table (fixed rows are hidden) but stays in the queue, counted as decided, so the
    count goes up instead of starting again. "New queue" takes the table's first 50 as they are now."""
    if st.button("New queue", key=f"{key}.new", help="Take the first 50 rows of the table as it is now"):
        st.session_state.pop(f"{key}.queue", None)
    if f"{key}.queue" not in st.session_state:
        st.session_state[f"{key}.queue"] = rows["row_id"].head(50).astype(int).tolist()
    return st.session_state[f"{key}.queue"]


def review(
    dataset_id: int, report: IssueReport, rows: pd.DataFrame, view: View, live: Callable[[], None] | None = None
) -> None:
    """Row by row through the first 50 rows of the table; ``live()`` draws the page's counts (the panel
    redraws them with each decision, see ``ui.review``)."""
    key = f"issues.review.{report.run.id}.{view.issue}.{view.label}.{view.suggested}"
    queue = frozen_queue(rows, key)
    if not queue:
        if live:
            live()
        st.info("No rows to review with these filters.")
        return

    def choices(row_id: int) -> list[tuple[str, float]]:
        probs = report.pred_probs(row_id)
        if probs is None:
            return [(c, 0.0) for c in report.classes[:9]]
        # The check's suggestion first (W takes it, as the table and the explanation name it), even where
        # confident learning counts the row as a class a little less probable than the top one.
        tip = report.suggestion(row_id)
        rest = [c for c in top_choices(probs, report.classes) if tip is None or c[0] != tip[0]]
        return ([tip] if tip else []) + rest[: 9 - bool(tip)]

    review_panel(
        dataset_id,
        queue,
        choices=choices,
        key=key,
        model_id=f"{ISSUE_FIX_MODEL}{report.run.id}",
        check_labels=True,
        details=lambda r: explain_row(report, r),
        field=report.field,
        when_done=ISSUES_QUEUE_DONE,
        live=live,
    )
    st.caption(
        f"Keys: {class_keys_hint(len(report.classes))} · W accept the suggested label (highlighted) ·"
        " N needs review · Q keep the given label · E exclude · S skip · U undo. The queue is the first 50 rows"
        " of the table when it was opened."
    )


def review_label_sets(
    dataset_id: int, report: IssueReport, rows: pd.DataFrame, view: View, live: Callable[[], None] | None = None
) -> None:
    """One by one for a multi-choice question: the row's classes ticked, with the class in doubt
    flipped (the check's proposed fix) and first, so W takes the fix and 1 then W keeps the row as is.
    ``live``: as in :func:`review`."""
    key = f"issues.review.{report.run.id}.{view.issue}.{view.label}"
    queue = frozen_queue(rows, key)
    if not queue:
        if live:
            live()
        st.info("No rows to review with these filters.")
        return
    a = report.arrays
    states = workspace().store.row_states(queue, report.field)

    def choices(row_id: int) -> list[tuple[str, float | None, bool]]:
        now = set(as_classes(stored_value(states.get(row_id, {}).get("label"))))
        i = report.index(row_id)  # the queue comes from this run's rows
        j = int(a["label_set.worst_class"][i])
        doubted = report.classes[j] if j >= 0 else None
        # The fix, ticked or not: drop a doubted class the row has, add one it lacks.
        p = float(a["label_set.worst_class_probability"][i])
        first = [] if doubted is None else [(doubted, p, doubted not in now)]
        rest = [(c, None, c in now) for c in sorted(now) if c != doubted]
        rest += [(c, None, False) for c in report.classes if c not in now and c != doubted]
        return first + rest

    multi_review_panel(
        dataset_id,
        queue,
        choices=choices,
        key=key,
        field=report.field,
        check_labels=True,
        details=lambda r: explain_row(report, r),
        when_done=ISSUES_QUEUE_DONE,
        live=live,
    )
    st.caption(
        "Keys: 1-9 tick or untick a class (1 is the class in doubt, already flipped as the check proposes) ·"
        " W save the ticked classes · N needs review · E exclude · S skip · U undo. The queue is the first"
        " 50 rows of the table when it was opened."
    )


def score_panel(report: IssueReport, issue: str) -> None:
    """Where the flagged rows sit among all rows, in the quantity the card's rule uses."""
    if issue == "any" or f"{issue}_score" not in report.arrays:
        return
    values, flagged, axis, cutoff = report.histogram(issue)
    if len(values):
        st.plotly_chart(
            score_histogram(values, flagged, title=report.title(issue), axis=axis, cutoff=cutoff),
            key=f"issues.hist.{report.run.id}.{issue}",
        )
