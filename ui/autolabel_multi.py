"""Auto-label for a multi-choice question: predict and accept per class, review, monitor and audit."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.audit import audit_summary
from core.errors import CuratorError
from core.multilabel import MultiPrediction
from core.wizard import (
    KIND,
    MIN_TARGET_PRECISION,
)
from ui.audit import audited_precision, sample_controls, show_audit_row
from ui.autolabel import coverage_of, run_arrays
from ui.progress import eta_bar
from ui.resources import rerun_after_batch, workspace
from ui.review import multi_review_panel, next_row

NO_MODEL = "no model"  # a class the one-vs-rest models could not learn: its probability is unknown, not 0%


def current_multi_prediction(dataset_id: int, field: str) -> MultiPrediction | None:
    """The newest one-vs-rest run for a multi-choice ``field``; its arrays read once per run."""
    from core.runs import latest_run

    run = latest_run(workspace(), dataset_id, KIND, question=field)
    if run is None or not run.summary.get("multi"):
        return None
    a = run_arrays(run.id)
    return MultiPrediction(run, a["row_ids"], a["probabilities"], a["trained"])


def multi_label_step(dataset_id: int, field: str) -> None:
    """A multi-choice question: one-vs-rest models, a threshold per class, the promise, Accept."""
    from core.multilabel import accept_multilabel, already_written, train_multilabel

    ws = workspace()
    prediction = current_multi_prediction(dataset_id, field)
    st.caption(
        "Several classes per row: each class is a yes / no model of its own (logistic regression on the"
        " embeddings), with the threshold that meets the target precision out of fold, per class."
    )
    start = float(prediction.run.summary.get("target_precision", 0.95)) if prediction else 0.95  # the run's own
    target = st.slider(
        "Target precision", MIN_TARGET_PRECISION, 0.995, start, 0.005, format="%.3f", key=f"autolabel.multi.{field}"
    )
    verb = "Retrain" if prediction else "Train and predict"
    if st.button(verb, type="primary", key="autolabel.multi.train", icon=":material/model_training:"):
        report, close = eta_bar()
        try:
            train_multilabel(ws, dataset_id, field, target_precision=target, on_progress=report)
        except CuratorError as exc:
            close()
            st.error(str(exc))
            return
        st.rerun()
    if prediction is None:
        return
    written = ws.derived(dataset_id, ("multi-written", prediction.run.id), lambda: already_written(ws, prediction))
    promise = prediction.promise(written)
    if written.any():
        st.info(
            f"Accepted: {int(written.sum()):,} rows hold this run's auto classes."
            " Review (step 2) and Retrain to change them; Undo is in History."
        )
    if promise.assignments or not written.any():
        good = promise.expected_precision is not None and promise.expected_precision >= 0.9
        (st.success if good else st.warning)(promise.describe())
    table = pd.DataFrame(prediction.class_table(written))
    # A class without a threshold reads "–", not "None" (text columns: numbers and dashes side by side).
    table["threshold"] = [f"{t:.3f}" if pd.notna(t) else "–" for t in table["threshold"]]
    table["out-of-fold precision"] = [f"{p:.1%}" if pd.notna(p) else "–" for p in table["out-of-fold precision"]]
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "A class without a threshold never reached the target precision out of fold (or has fewer than 8"
        " labeled rows with it, or without it): it is only suggested, on rows at 50% or more. With 100-200"
        " answered rows the promise holds on average but one run in ten misses by up to 4 points"
        " (bench/multilabel.py): audit a sample."
    )
    if st.button(
        f"Accept {promise.assignments:,} classes on {promise.rows:,} rows",
        type="primary",
        key="autolabel.multi.accept",
        disabled=not promise.assignments,
    ):
        try:
            result = accept_multilabel(ws, dataset_id, prediction)
        except CuratorError as exc:
            st.error(str(exc))
            return
        rerun_after_batch(
            result.batch_id,
            f"auto-label of '{field}'",
            f"'{field}': auto-labeled {promise.rows:,} rows ({result.changed:,} changes)",
        )


def multi_review_step(dataset_id: int, field: str) -> None:
    """A multi-choice question's least sure rows, one at a time (keys: ui.review.multi_review_panel)."""
    from core.multilabel import multi_review_queue, suggested_classes

    ws = workspace()
    prediction = current_multi_prediction(dataset_id, field)
    if prediction is None:
        st.info("Train first (step 1): the queue shows the rows whose classes the model is least sure about.")
        return
    c1, c2 = st.columns([1, 3])
    size = c1.number_input("Rows per queue (5 to 200)", 5, 200, 20, step=5, key="autolabel.multi.queue_size")
    key = f"autolabel.multi.review.{prediction.run.id}"
    if c2.button("New queue", key="autolabel.multi.newqueue") or f"{key}.queue" not in st.session_state:
        st.session_state[f"{key}.queue"] = multi_review_queue(ws, prediction, n=int(size))
    multi_review_panel(
        dataset_id,
        st.session_state[f"{key}.queue"],
        choices=lambda r: suggested_classes(prediction, r),
        key=key,
        field=field,
        when_done="Retrain (step 1) to update the thresholds, or take a new queue.",
        no_probability=NO_MODEL,
    )
    unknown = [c for c, modeled in zip(prediction.classes, prediction.modeled, strict=True) if not modeled]
    st.caption(
        "Keys: 1-9 tick or untick a class · W save the ticked classes (none ticked: none applies) ·"
        " N needs review · E exclude · S skip · U undo. Then Retrain (step 1) to update the thresholds."
        + (
            f" '{NO_MODEL}' ({', '.join(unknown)}): the class is on every answered row, or on none, so there"
            " is nothing to tell it from; the model has no view on it, tick it yourself."
            if unknown
            else ""
        )
    )


def multi_monitor_step(dataset_id: int, field: str) -> None:
    """Coverage, queue and the audit of a multi-choice question, counted in classes as its promise is."""

    ws = workspace()
    prediction = current_multi_prediction(dataset_id, field)
    coverage, open_queue = coverage_of(dataset_id, field)
    audit = audit_summary(ws, dataset_id, field)
    promised = prediction.promise().expected_precision if prediction else None
    m = st.columns(3)
    m[0].metric("Coverage (answered rows)", f"{coverage:.0%}")
    m[1].metric("Waiting for review", f"{open_queue:,}", help="Rows with no answer (not excluded)")
    audited_precision(m[2], "Audited precision (classes)", audit, promised)
    st.subheader("Audit")
    st.caption(
        audit.describe() + " A uniform sample of auto-answered rows; for each, say which of its auto classes"
        " are right. Classes the model missed can be added; they fix the row but do not count against precision."
    )
    _multi_audit_panel(dataset_id, field, audit.checked)


@st.fragment
def _multi_audit_panel(dataset_id: int, field: str, checked: int) -> None:
    """A multi-choice question's audit row, a fragment as ``ui.audit.audit_panel`` is."""
    from core.audit import record_multi_verdict

    ws = workspace()
    rows = sample_controls(
        dataset_id, field, checked, empty="No unchecked auto labels to draw from: accept some in step 1 first."
    )
    if not rows:
        return
    row, given = show_audit_row(dataset_id, rows, field, lambda value: f"Auto classes: **{', '.join(value or [])}**")
    given = given or []
    right = st.multiselect("Right", given, default=given, key=f"autolabel.audit.right.{row['id']}")
    others = [c for c in ws.store.classes(dataset_id, field) if c not in given]
    missing = st.multiselect("Missing (optional)", others, key=f"autolabel.audit.missing.{row['id']}")
    b = st.columns([1, 1, 3])
    # The buttons name their row: a key pressed while the panel redraws is dropped, never given to the next row.
    try:
        if b[0].button("All right", key=f"autolabel.audit.{row['id']}.ok", shortcut="Y", type="primary"):
            record_multi_verdict(ws, dataset_id, row["id"], right=given, field=field)
            next_row(page_too=len(rows) == 1)
        if b[1].button("Save verdict", key=f"autolabel.audit.{row['id']}.save", shortcut="X"):
            record_multi_verdict(ws, dataset_id, row["id"], right=right, missing=missing, field=field)
            next_row(page_too=len(rows) == 1)
    except CuratorError as exc:
        st.error(str(exc))
