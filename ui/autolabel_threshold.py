"""Auto-label step 1 after training: the promise, the threshold (slider or row count), the rows around it,
Accept, and the rows added since."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from core.embedders import DEFAULT_TEXT_MODEL, EMBEDDERS, parse_model_id
from core.errors import CuratorError
from core.history import batch_info, history
from core.wizard import (
    NEW_ROWS_ACTION,
    Prediction,
    accept,
    accept_pending,
    decided_since,
    label_new_rows,
    labels_changed_since,
    new_rows,
    new_rows_batches,
)
from core.wording import counted, utc_time
from ui.autolabel import earlier_auto_labels_caption
from ui.charts import confidence_histogram, precision_coverage
from ui.grid import show_table, thumb_uri
from ui.resources import embedder, rerun_after_batch, row_contents, workspace


def threshold_step(dataset_id: int, prediction: Prediction) -> None:
    """The promise, the two plots, rows around the threshold, and Accept."""
    ws = workspace()
    summary = prediction.run.summary
    st.caption(
        f"Trained on {summary['n_labeled']:,} labeled rows at {utc_time(prediction.run.created_at)}."
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
    # An accept stands as a batch, but an undo of an earlier accept can clear rows it kept unchanged (and so
    # did not record): then its labels are not all there, and the page must not call them accepted.
    missing = accept_pending(ws, prediction, prediction.accepted.threshold) if accepted else 0
    if accepted and not missing:
        st.info(
            f"Accepted at {utc_time(accepted.created_at)}: {accepted.description}."
            " Move the threshold and accept again to change them, or review and Retrain."
        )
    elif accepted:
        st.warning(
            f"Accepted at {utc_time(accepted.created_at)}, but {counted(missing, 'row')} no longer"
            " hold what that accept wrote (an undo in History changed them). Accept again to write them."
        )
    elif labels_changed_since(ws, prediction):
        st.caption("Labels have changed since this run; Retrain to learn from them.")
    # A new-rows batch made at an undone accept's threshold stands apart: not the threshold said above.
    apart = {b.batch.id: b.apart() for b in new_rows_batches(ws, prediction)}
    for b in (b for b in since if b.action == NEW_ROWS_ACTION):
        if apart.get(b.id):
            st.warning(f"{utc_time(b.created_at)}: {apart[b.id]}")
        else:
            st.caption(f"{utc_time(b.created_at)}: {b.description}.")
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
        # Starts where the slider stands: 0 rows when nothing reaches the target (not 1, which offered to
        # accept a row the wizard had not proposed).
        rows = st.number_input(
            f"Auto-label the N most confident rows (0 to {n_rows:,})",
            value=prediction.promise().rows,
            step=1,
            key=f"{stands}.rows",
        )
        try:
            threshold = prediction.threshold_at_rows(int(rows))
        except CuratorError as exc:
            st.error(str(exc))
            return
    if how == "confidence" and abs(threshold - prediction.threshold) < 0.0005:
        threshold = prediction.threshold  # the slider rounds to its step: keep the exact one (a row count is exact)
    decimals = prediction.cut_decimals(threshold)
    if how == "confidence" and round(threshold, 3) != round(threshold, decimals):
        st.caption(f"The threshold is {threshold:.{decimals}f} exactly (the slider shows three decimals).")
    promise = prediction.promise(threshold)
    gone = decided_since(ws, prediction, threshold)
    if gone:  # the accept leaves them alone: count, button and History entry agree
        promise = replace(promise, rows=promise.rows - gone)
    # Once an accept at this threshold would change nothing, say it was accepted instead of offering it again.
    done = bool(accepted) and promise.rows > 0 and accept_pending(ws, prediction, threshold) == 0
    good = promise.rows and promise.expected_precision and promise.expected_precision >= 0.9
    (st.success if good else st.warning)(promise.describe(accepted=done))
    rough = prediction.rough_promise(promise)
    if rough:
        st.caption(rough)
    earlier_auto_labels_caption(prediction, threshold)
    if gone:
        st.caption(
            f"{counted(gone, 'row')} above the threshold {'was' if gone == 1 else 'were'} labeled by a person or"
            " excluded since this model was trained: an accept leaves them as they are, so they are not counted."
        )
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
    if summary.get("calibrated"):
        left.plotly_chart(
            precision_coverage(curve, threshold=threshold, target=prediction.target_precision), key=f"{key}.curve"
        )
    else:  # the model's own confidences are no precision: zero-shot drew a flat 100% line over every row
        left.info(
            "No precision curve: nothing measures precision without labeled rows, and the confidences are the"
            " model's own. Label at least 10 rows, two of each class (step 2), and Retrain to see it."
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
    # Once accepted at this threshold, the tables say what the accept did, not what it would do.
    above_did = "auto-labeled" if done else "would be auto-labeled"
    below_did = "left unlabeled, given as suggestions" if done else "stay unlabeled, shown as suggestions"
    a.markdown(f"**Just above the threshold** of {cut} ({above_did})")
    with a:
        _threshold_table(above, key=f"{key}.above")
    b.markdown(f"**Just below** {cut} ({below_did})")
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
    cut = f"{prediction.threshold:.{prediction.cut_decimals(prediction.threshold)}f}"
    label = f"Auto-label the {len(fresh):,} new rows at threshold {cut}"
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
