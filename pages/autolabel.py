"""Auto-label: predict every unlabeled row, accept those above a threshold that keeps a promised
precision, review the most informative rows with keys, retrain, and audit the result."""

import streamlit as st

from core.errors import CuratorError
from core.labelschema import label_schema, question_status
from core.sampling import DEFAULT_STRATEGY
from ui.autolabel import current_prediction, learning_curve_panel, monitor_step, review_step, train_controls
from ui.autolabel_multi import multi_label_step, multi_monitor_step, multi_review_step
from ui.autolabel_threshold import new_rows_panel, threshold_step
from ui.resources import question_picker, start_page, undo_last_batch_button, workspace

ws = workspace()
dataset_id = start_page("Auto-label")

schema = label_schema(ws.store, dataset_id)
field = question_picker(
    dataset_id, key="autolabel.question", help="Which question of the label schema (Schema page) to auto-label"
)
question = schema.question(field)
# The counts are the picked question's: a sub-question is asked only where its parent's answer holds.
status = ws.derived(dataset_id, ("question_status", field), lambda: question_status(ws.store, dataset_id, question))
m = st.columns(4)
m[0].metric(
    "Rows" if question.parent is None else "Rows asked",
    f"{status.asked:,}",
    help=None if question.parent is None else f"Rows whose '{question.parent[0]}' is '{question.parent[1]}'",
)
m[1].metric("Labeled", f"{status.answered:,}", help="By people, by the file, or auto-labeled")
m[2].metric("Unlabeled", f"{status.unanswered:,}", help="Not excluded and no answer yet")
m[3].metric("Excluded", f"{status.excluded:,}", help="Excluded rows without an answer")

step = st.segmented_control(
    "Step",
    ["1 · Predict and accept", "2 · Review", "3 · Monitor and audit"],
    default="1 · Predict and accept",
    key="autolabel.step",
)
if question.kind == "multi":
    # A multi-choice question: one-vs-rest models and a threshold per class; review and audit by class.
    {"2 · Review": multi_review_step, "3 · Monitor and audit": multi_monitor_step}.get(step, multi_label_step)(
        dataset_id, field
    )
    undo_last_batch_button("autolabel.undo")
    st.stop()

try:
    prediction = current_prediction(dataset_id, field)
except CuratorError as exc:
    st.error(str(exc))
    prediction = None
if step == "2 · Review":
    strategy = DEFAULT_STRATEGY
    if prediction is None:
        st.info("Train first (step 1): the queue shows the rows the model is least sure about.")
    else:
        strategy = review_step(dataset_id, prediction)
    learning_curve_panel(dataset_id, field, strategy)
elif step == "3 · Monitor and audit":
    monitor_step(dataset_id, prediction, field)
else:
    train_controls(dataset_id, prediction, field)
    if prediction is not None:
        threshold_step(dataset_id, prediction)
        if question.parent is None:  # rows added later are not asked a sub-question yet
            new_rows_panel(dataset_id, prediction)

undo_last_batch_button("autolabel.undo")
