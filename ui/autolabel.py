"""The auto-label wizard's steps: predict and accept, review, monitor and audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.audit import audit_summary
from core.embedders import DEFAULT_TEXT_MODEL, EMBEDDERS, parse_model_id
from core.errors import CuratorError
from core.history import batch_info, history
from core.labelschema import asked_rows, label_schema
from core.multilabel import MultiPrediction
from core.review import top_choices
from core.sampling import DEFAULT_STRATEGY, STRATEGIES, describe_strategies
from core.store import DEFAULT_LABEL_FIELD, ISSUE_FIX_MODEL
from core.wizard import (
    KIND,
    MIN_TARGET_PRECISION,
    NEW_ROWS_ACTION,
    REFERENCE_TAG,
    Prediction,
    accept,
    accept_pending,
    add_classes,
    earlier_auto_labels,
    label_new_rows,
    new_rows,
    nothing_new,
    promote_references,
    review_queue,
    strategy_learning_curves,
    train,
)
from core.wording import counted
from ui.audit import audit_panel, audited_precision, sample_controls, show_audit_row
from ui.charts import confidence_histogram, learning_curves, precision_coverage
from ui.grid import show_table, thumb_uri
from ui.resources import embedder, rerun_after_batch, row_contents, workspace
from ui.review import multi_review_panel, next_row, review_panel


def current_prediction(dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> Prediction | None:
    """The newest run for ``field``; its arrays (100k rows: ~2 MB from disk) read once per run."""
    from core.runs import latest_run
    from core.wizard import _prediction

    run = latest_run(workspace(), dataset_id, KIND, question=field)
    if run is None or run.summary.get("multi"):
        return None
    return _prediction(workspace(), run, _run_arrays(run.id))


def current_multi_prediction(dataset_id: int, field: str) -> MultiPrediction | None:
    """The newest one-vs-rest run for a multi-choice ``field``; its arrays read once per run."""
    from core.runs import latest_run

    run = latest_run(workspace(), dataset_id, KIND, question=field)
    if run is None or not run.summary.get("multi"):
        return None
    a = _run_arrays(run.id)
    return MultiPrediction(run, a["row_ids"], a["probabilities"], a["trained"])


@st.cache_resource(max_entries=8, show_spinner=False)
def _run_arrays(run_id: str) -> dict:  # shared and read-only: a stored run's arrays never change
    from core.runs import get_run

    return get_run(workspace(), run_id).arrays()


def train_controls(dataset_id: int, prediction: Prediction | None, field: str = DEFAULT_LABEL_FIELD) -> None:
    """Choose how to predict and the target precision; train with a progress bar (for ``field``, a
    single-choice question of the label schema)."""
    from core.autolabel import AUTOLABELERS

    ws = workspace()
    if len(ws.store.classes(dataset_id, field)) < 2 and field == DEFAULT_LABEL_FIELD:
        st.info("No classes yet. Name them and the zero-shot labeler predicts them from their names.")
        typed = st.text_area("Classes, one per line", key="autolabel.newclasses", placeholder="World\nSports")
        if st.button("Add classes", key="autolabel.addclasses"):
            try:
                add_classes(ws, dataset_id, typed.splitlines())
                st.rerun()
            except CuratorError as exc:
                st.error(str(exc))
    c1, c2 = st.columns([2, 1])
    names = ["auto", *AUTOLABELERS]
    labeler = c1.selectbox(
        "Predict labels with",
        names,
        format_func=lambda n: "automatic choice" if n == "auto" else f"{n}: {AUTOLABELERS[n].description}",
        key="autolabel.labeler",
        help="Automatic: learn from the labeled rows when every class has some, else zero-shot from class names.",
    )
    trained_for = prediction.target_precision if prediction else None
    target = c2.slider(
        "Target precision",
        MIN_TARGET_PRECISION,
        0.995,
        trained_for or 0.95,
        0.005,
        format="%.3f",
        key="autolabel.target",
    )
    settings = reference_set_controls(dataset_id) if labeler == "reference-set" else {}
    descriptions = {}
    with st.expander("Class descriptions (optional, used by zero-shot)"):
        for name in ws.store.classes(dataset_id, field)[:30]:
            text = st.text_input(name, key=f"autolabel.desc.{dataset_id}.{name}", placeholder=f"what '{name}' means")
            if text.strip():
                descriptions[name] = text.strip()
    verb = "Retrain" if prediction else "Train and predict"
    if trained_for is not None and abs(target - trained_for) > 1e-9:
        verb = f"Retrain for {target:.1%}"
        st.warning(
            f"The threshold below was set for a {trained_for:.1%} target. Retrain to set it for {target:.1%}"
            " (or move it by hand below)."
        )
    if st.button(verb, type="primary", key="autolabel.train", icon=":material/model_training:"):
        same = prediction and nothing_new(
            ws,
            prediction,
            labeler=labeler,
            target_precision=target,
            settings=settings,
            class_descriptions=descriptions,
        )
        if same:
            st.info(same)
            return
        dataset = ws.dataset(dataset_id)
        own_text = "text" in EMBEDDERS[parse_model_id(dataset.embedding_model)[0]].modalities
        bar = st.progress(0.0, text="Starting")
        try:
            train(
                ws,
                dataset_id,
                labeler=labeler,
                target_precision=target,
                settings=settings,
                class_descriptions=descriptions,
                text_embedder=embedder(dataset.embedding_model if own_text else DEFAULT_TEXT_MODEL),
                field=field,
                on_progress=lambda f, m: bar.progress(min(1.0, f), text=m),
            )
        except CuratorError as exc:
            st.error(str(exc))
            return
        st.rerun()


def reference_set_controls(dataset_id: int) -> dict:
    """Unified (every label is a reference) or separate (rows tagged "reference"), and Promote."""
    ws = workspace()
    c1, c2, c3 = st.columns([1.2, 1.2, 1])
    mode = c1.radio(
        "References",
        ["unified", "separate"],
        horizontal=True,
        key="autolabel.ref.mode",
        help="unified: every labeled row is a reference at once. separate: only rows tagged 'reference'.",
    )
    similarity = c2.slider(
        "Leave for review below similarity",
        0.0,
        1.0,
        0.25,
        0.01,
        key="autolabel.ref.sim",
        help="0.25 suits MiniLM text; image features need more",
    )
    if mode == "separate":
        with ws.store.connect() as conn:
            n_refs = conn.execute(
                "SELECT COUNT(*) FROM tags JOIN rows ON rows.id = tags.row_id WHERE rows.dataset_id = ?"
                " AND tags.tag = ?",
                (dataset_id, REFERENCE_TAG),
            ).fetchone()[0]
        c3.caption(f"{n_refs:,} rows in the reference set")
        if c3.button("Promote", key="autolabel.ref.promote", help="Add the most confident agreeing labeled rows"):
            try:
                result = promote_references(ws, dataset_id)
            except CuratorError as exc:
                st.error(str(exc))
            else:
                rerun_after_batch(
                    result.batch_id,
                    f"promotion of {result.changed:,} references",
                    f"{result.changed:,} rows promoted into the reference set",
                )
    return {"mode": mode, "min_similarity": similarity}


def threshold_step(dataset_id: int, prediction: Prediction) -> None:
    """The promise, the two plots, rows around the threshold, and Accept."""
    ws = workspace()
    summary = prediction.run.summary
    st.caption(
        f"Trained on {summary['n_labeled']:,} labeled rows at {prediction.run.created_at[:16].replace('T', ' ')}."
        + (f" Out-of-fold accuracy {summary['oof_accuracy']:.1%}." if summary.get("oof_accuracy") else "")
    )
    with st.expander("How the model was chosen"):  # the method, for whoever asks; the promise below leads
        st.caption(
            f"Model: {summary.get('labeler_in_words', summary['labeler'])} (model id `{summary['model_id']}`)."
            + (f" {summary['notes']}" if summary.get("notes") else "")
        )
    run_at = prediction.run.created_at
    since = [b for b in history(ws.store, dataset_id, limit=50) if b.undone_by is None and b.created_at >= run_at]
    accepted = batch_info(ws.store, prediction.accepted.batch_id) if prediction.accepted else None
    if accepted:
        st.info(
            f"Accepted at {accepted.created_at[:16].replace('T', ' ')}: {accepted.description}."
            " Move the threshold and accept again to change them, or review and Retrain."
        )
    elif ws.dataset(dataset_id).version != prediction.run.dataset_version:
        st.caption("Labels have changed since this run; Retrain to learn from them.")
    for b in (b for b in since if b.action == NEW_ROWS_ACTION):
        st.caption(f"{b.created_at[:16].replace('T', ' ')}: {b.description}.")
    curve = prediction.curve()
    how = st.radio("Set the threshold by", ["confidence", "row count"], horizontal=True, key="autolabel.how")
    key = f"autolabel.{prediction.run.id}"
    # The widgets start again from the threshold that stands whenever it changes (an accept, or its undo
    # or redo in History), rather than keep showing an undone one.
    stands = f"{key}.{prediction.accepted.batch_id if prediction.accepted else 'estimated'}"
    if how == "confidence":
        threshold = st.slider(
            "Auto-label rows whose confidence is at least",
            0.0,
            1.0,
            float(min(1.0, prediction.threshold)),
            0.001,
            format="%.3f",
            key=f"{stands}.threshold",
        )
    else:
        # No bounds on the widget: the browser would refuse an out-of-range number with only a red frame
        # and leave the last promise on screen as if it were applied; core says what range to use instead.
        n_rows = len(curve["rows"])
        rows = st.number_input(
            f"Auto-label the N most confident rows (1 to {n_rows:,})",
            value=max(1, prediction.promise().rows),
            step=1,
            key=f"{stands}.rows",
        )
        try:
            threshold = prediction.threshold_at_rows(int(rows))
        except CuratorError as exc:
            st.error(str(exc))
            return
    if abs(threshold - prediction.threshold) < 0.0005:  # the slider rounds to its step: keep the exact one
        threshold = prediction.threshold
    decimals = prediction.cut_decimals(threshold)
    if how == "confidence" and round(threshold, 3) != round(threshold, decimals):
        st.caption(f"The threshold is {threshold:.{decimals}f} exactly (the slider shows three decimals).")
    promise = prediction.promise(threshold)
    # Once an accept at this threshold would change nothing, say it was accepted instead of offering it again.
    done = bool(accepted) and promise.rows > 0 and accept_pending(ws, prediction, threshold) == 0
    good = promise.rows and promise.expected_precision and promise.expected_precision >= 0.9
    (st.success if good else st.warning)(promise.describe(accepted=done))
    _earlier_auto_labels_caption(prediction, threshold)
    if promise.rows and promise.expected_precision is not None:
        st.caption(
            "The estimate assumes the labeled rows are a random sample of the data. Rows picked in Review or"
            " Issues were chosen by a model, and many of them can make it optimistic: after accepting, audit a"
            " sample (step 3)."
        )
    left, right = st.columns(2)
    band = prediction.arrays
    if "band_rows" in band and len(band["band_rows"]) > 1:  # the band is stored at ~100 points: interpolate
        at = curve["rows"]
        curve = {
            **curve,
            "lower": np.interp(at, band["band_rows"], band["band_lower"]),
            "upper": np.interp(at, band["band_rows"], band["band_upper"]),
        }
    left.plotly_chart(
        precision_coverage(curve, threshold=threshold, target=prediction.target_precision), key=f"{key}.curve"
    )
    right.plotly_chart(
        confidence_histogram(prediction.confidence[prediction.candidates], threshold=threshold), key=f"{key}.hist"
    )
    explained = prediction.threshold_explained()
    if explained:
        st.caption(explained)
    rolled = prediction.roll_up(threshold)
    if rolled:
        st.markdown("**Rolled up to the top-level classes** (right parent, even where the sub-class is wrong)")
        st.dataframe(pd.DataFrame(rolled), hide_index=True, width="stretch")
    above, below = _around_threshold(prediction, threshold, decimals)
    a, b = st.columns(2)
    cut = f"{threshold:.{decimals}f}"
    a.markdown(f"**Just above the threshold** of {cut} (would be auto-labeled)")
    with a:
        _threshold_table(above, key=f"{key}.above")
    b.markdown(f"**Just below** {cut} (stay unlabeled, shown as suggestions)")
    with b:
        _threshold_table(below, key=f"{key}.below")
    if not promise.rows:
        accept_label = "Nothing to accept at this threshold"
    else:
        accept_label = ("Accepted: " if done else "Accept ") + counted(promise.rows, "auto-label")
    if st.button(
        accept_label,
        type="primary",
        key=f"{key}.accept",
        disabled=done or not promise.rows,
        help="Already written at this threshold: move it to accept a different set, or Retrain" if done else None,
    ):
        bar = st.progress(0.0, text="Writing labels")
        try:
            result = accept(
                ws,
                dataset_id,
                prediction,
                threshold=threshold,
                on_progress=lambda d, t: bar.progress(d / t, text=f"{d:,} of {t:,} rows"),
            )
        except CuratorError as exc:
            st.error(str(exc))
            return
        rerun_after_batch(
            result.batch_id,
            f"auto-label of {promise.rows:,} rows",
            f"Auto-labeled {promise.rows:,} rows; the others got suggestions ({result.changed:,} changes)",
        )


def _earlier_auto_labels_caption(prediction: Prediction, threshold: float) -> None:
    """Why Monitor counts more auto labels than the promise after a Retrain: an accept leaves an earlier
    model's auto labels below its threshold as they are."""
    kept = earlier_auto_labels(workspace(), prediction, threshold)
    if kept:
        st.caption(
            f"{counted(kept, 'more row')} {'keeps' if kept == 1 else 'keep'} an earlier model's auto label: below"
            " this threshold an accept leaves another model's labels as they are (Monitor counts them too);"
            " an accept at a threshold below them relabels them with this model."
        )


def new_rows_panel(dataset_id: int, prediction: Prediction) -> None:
    """Rows uploaded after training (Upload → "Add to an existing dataset"), labeled by the current
    model at the current threshold."""
    ws = workspace()
    fresh = new_rows(ws, dataset_id, prediction)
    if not fresh:
        st.caption("New rows added later (Upload → Add to an existing dataset) can be auto-labeled here.")
        return
    st.info(
        f"{len(fresh):,} unlabeled rows were added after this model was trained. They are labeled with this"
        " model and threshold: the model is fitted again with the same labels so that the new rows join its"
        " graph, and only their predictions are used; the rows labeled above keep their labels."
    )
    label = f"Auto-label the {len(fresh):,} new rows at threshold {prediction.threshold:.3f}"
    if not st.button(label, key="autolabel.newrows", icon=":material/playlist_add_check:"):
        return
    dataset = ws.dataset(dataset_id)
    own_text = "text" in EMBEDDERS[parse_model_id(dataset.embedding_model)[0]].modalities
    bar = st.progress(0.0, text="Predicting the new rows")
    try:
        result = label_new_rows(
            ws,
            dataset_id,
            prediction,
            text_embedder=embedder(dataset.embedding_model if own_text else DEFAULT_TEXT_MODEL),
            on_progress=lambda f, m: bar.progress(min(1.0, f), text=m),
        )
    except CuratorError as exc:
        st.error(str(exc))
        return
    rerun_after_batch(result.batch_id, f"auto-label of {len(fresh):,} new rows", result.describe())


def _around_threshold(
    prediction: Prediction, threshold: float, decimals: int, n: int = 8
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` rows just above and just below the threshold, confidences shown with ``decimals``."""
    ws = workspace()
    cand = prediction.candidates
    conf = prediction.confidence[cand]
    order = cand[np.argsort(-conf)]
    split = int((conf >= threshold).sum())
    picks = {"above": order[max(0, split - n) : split][::-1], "below": order[split : split + n]}
    images = ws.dataset(prediction.run.dataset_id).modality == "image"
    frames = []
    for name in ("above", "below"):
        idx = picks[name]
        stored = {r["id"]: r for r in ws.store.rows_by_ids([int(prediction.row_ids[i]) for i in idx])}
        rows = [stored[int(prediction.row_ids[i])] for i in idx]
        frame = pd.DataFrame(
            {  # the short columns first: in a narrow window the text wraps and they stay whole
                **({"thumbnail": [thumb_uri(r["thumb"]) for r in rows]} if images else {}),
                "confidence": [f"{prediction.confidence[i]:.{decimals}f}" for i in idx],
                "suggested": [prediction.classes[int(prediction.suggested[i])] for i in idx],
                "file" if images else "text": [_short(c) for c in row_contents(prediction.run.dataset_id, rows)],
            }
        )
        frames.append(frame)
    return frames[0], frames[1]


def _short(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _threshold_table(frame: pd.DataFrame, *, key: str) -> None:
    """Images with their thumbnails (a grid); text as a plain table that wraps."""
    if frame.empty:
        st.caption("No row on this side of the threshold.")
    elif "thumbnail" in frame:
        show_table(frame, key=key, thumbnail_column="thumbnail", height=72 * len(frame) + 40)
    else:
        st.table(frame, hide_index=True)


def review_step(dataset_id: int, prediction: Prediction) -> str:
    """The most informative rows, one at a time, then Retrain; returns the strategy chosen to show them
    (the learning curve compares it with random)."""
    c1, c2, c3 = st.columns([2, 1, 1])
    strategies = dict(describe_strategies())
    strategy = c1.selectbox(
        "Show first",
        sorted(STRATEGIES, key=lambda n: (n != DEFAULT_STRATEGY, n == "random", n)),
        key="autolabel.strategy",
        help="\n".join(f"- **{n}**: {text}" for n, text in strategies.items()),
    )
    c1.caption(strategies[strategy])  # the whole sentence: a select box cuts it off
    size = c2.number_input("Rows per queue (5 to 200)", 5, 200, 20, step=5, key="autolabel.queue_size")
    qkey = f"autolabel.queue.{prediction.run.id}.{strategy}.{size}"
    if c3.button("New queue", key="autolabel.newqueue") or qkey not in st.session_state:
        with st.spinner("Choosing the rows to label"):
            st.session_state[qkey] = review_queue(workspace(), prediction, strategy=strategy, n=int(size))
    position = {int(r): i for i, r in enumerate(prediction.row_ids)}
    classes = prediction.classes
    review_panel(
        dataset_id,
        st.session_state[qkey],
        choices=lambda r: top_choices(prediction.probabilities[position[r]], classes),
        key=f"autolabel.review.{prediction.run.id}",
        when_done="Retrain (step 1) to update the suggestions and the threshold, or take a new queue.",
        model_id=prediction.run.summary["model_id"],
        field=prediction.field,
    )
    st.caption(
        "Keys: 1-9 choose a class · W accept the suggestion · N needs review · Q keep the given label ·"
        " E exclude · S skip · U undo. Then Retrain (step 1) to update suggestions and threshold."
    )
    return strategy


def learning_curve_panel(dataset_id: int, field: str = DEFAULT_LABEL_FIELD, strategy: str = DEFAULT_STRATEGY) -> None:
    """Quality against labels used for ``strategy`` (the review step's "Show first") and for random
    sampling, with the labels saved when the gap is beyond the seeds' noise; saved runs, so reruns are free."""
    if not st.toggle(
        "Learning curve", key="autolabel.lc", help="Quality vs number of labels: the strategy in Show first vs random"
    ):
        return
    try:
        with st.spinner(f"Simulating labeling with {strategy} and random sampling on the labeled rows..."):
            curves = strategy_learning_curves(workspace(), dataset_id, strategy=strategy, field=field)
    except CuratorError as exc:
        st.info(str(exc))
        return
    from core.learning_curve import describe_savings

    st.plotly_chart(learning_curves(curves), key=f"autolabel.lc.chart.{field}")
    if strategy == "random":
        said = "Random sampling is the baseline: choose another strategy in Show first to see the labels it saves."
    else:
        said = describe_savings(curves[strategy], curves["random"])
    st.caption(f"{said} Measured on the rows labeled so far (20% held out).")


def monitor_step(dataset_id: int, prediction: Prediction | None, field: str = DEFAULT_LABEL_FIELD) -> None:
    """Coverage, queue, confidence of auto labels, and the audit (of the question ``field``). The
    Issues page's auto-fixes (also source "auto") are another model's: counted apart, not charted."""
    ws = workspace()
    with ws.store.connect() as conn:
        labels = conn.execute(
            "SELECT labels.confidence, COALESCE(labels.model_id, '') LIKE ? FROM labels"
            " JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ? AND labels.field = ?"
            " AND labels.source = 'auto' AND rows.excluded = 0",
            (ISSUE_FIX_MODEL + "%", dataset_id, field),
        ).fetchall()
    conf = [c for c, issue_fix in labels if not issue_fix]
    issue_fixes = len(labels) - len(conf)
    coverage, open_queue = _coverage(dataset_id, field)
    m = st.columns(4)
    m[0].metric("Coverage (answered rows)", f"{coverage:.0%}")
    m[1].metric("Auto-labeled", f"{len(conf):,}", help="Rows holding the wizard's auto labels")
    m[2].metric("Waiting for review", f"{open_queue:,}", help="Rows with no answer (not excluded)")
    audit = audit_summary(ws, dataset_id, field)
    promised = prediction.promise().expected_precision if prediction else None
    audited_precision(m[3], "Audited precision", audit, promised)
    if prediction is not None:
        _earlier_auto_labels_caption(prediction, prediction.threshold)
    _auto_confidence_histogram(conf, prediction)
    if issue_fixes:
        st.caption(
            f"Not in these figures nor in the audit's sample: {counted(issue_fixes, 'row')} auto-fixed on the"
            " Issues page (another model's labels, on rows labeled before, often under this threshold);"
            " the Issues page audits them apart (Audit the auto-fixes)."
        )
    st.subheader("Audit")
    st.caption(audit.describe() + " A uniform sample of auto labels, checked by a person, measures the precision.")
    audit_panel(dataset_id, field, audit.checked)


def _auto_confidence_histogram(conf: list[float], prediction: Prediction | None) -> None:
    if conf:
        st.plotly_chart(
            confidence_histogram(
                conf,
                threshold=prediction.threshold if prediction else 1.0,
                title="Confidence of the auto labels",
                x_min=max(0.0, min(conf) - 0.05),  # auto labels sit near the top: zoom in
            ),
            key="autolabel.monitor.hist",
        )


def _coverage(dataset_id: int, field: str) -> tuple[float, int]:
    """Share of the rows asked ``field`` that have an answer, and how many (not excluded) still wait."""
    ws = workspace()
    status = ws.status(dataset_id)
    if field == DEFAULT_LABEL_FIELD:
        return status.labeled_share, status.rows - status.labeled - status.excluded

    def compute() -> tuple[float, int]:
        question = label_schema(ws.store, dataset_id).question(field)
        with ws.store.connect() as conn:
            asked = asked_rows(conn, dataset_id, question)
            rows = conn.execute(
                "SELECT rows.id, labels.value IS NOT NULL FROM rows LEFT JOIN labels ON labels.row_id = rows.id"
                " AND labels.field = ? WHERE rows.dataset_id = ? AND rows.excluded = 0",
                (field, dataset_id),
            ).fetchall()
        answers = [has for row_id, has in rows if asked is None or row_id in asked]
        answered = sum(answers)
        return (answered / len(answers) if answers else 0.0), len(answers) - answered

    return ws.derived(dataset_id, ("coverage", field), compute)  # once per dataset version, not per rerun


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
        bar = st.progress(0.0, text="Starting")
        try:
            train_multilabel(
                ws, dataset_id, field, target_precision=target, on_progress=lambda f, m: bar.progress(f, text=m)
            )
        except CuratorError as exc:
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
    )
    st.caption(
        "Keys: 1-9 tick or untick a class · W save the ticked classes (none ticked: none applies) ·"
        " N needs review · E exclude · S skip · U undo. Then Retrain (step 1) to update the thresholds."
    )


def multi_monitor_step(dataset_id: int, field: str) -> None:
    """Coverage, queue and the audit of a multi-choice question, counted in classes as its promise is."""

    ws = workspace()
    prediction = current_multi_prediction(dataset_id, field)
    coverage, open_queue = _coverage(dataset_id, field)
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
    row, given = show_audit_row(rows, field, lambda value: f"Auto classes: **{', '.join(value or [])}**")
    given = given or []
    right = st.multiselect("Right", given, default=given, key=f"autolabel.audit.right.{row['id']}")
    others = [c for c in ws.store.classes(dataset_id, field) if c not in given]
    missing = st.multiselect("Missing (optional)", others, key=f"autolabel.audit.missing.{row['id']}")
    b = st.columns([1, 1, 3])
    try:
        if b[0].button("All right", key="autolabel.audit.ok", shortcut="Y", type="primary"):
            record_multi_verdict(ws, dataset_id, row["id"], right=given, field=field)
            next_row(page_too=len(rows) == 1)
        if b[1].button("Save verdict", key="autolabel.audit.save", shortcut="X"):
            record_multi_verdict(ws, dataset_id, row["id"], right=right, missing=missing, field=field)
            next_row(page_too=len(rows) == 1)
    except CuratorError as exc:
        st.error(str(exc))
