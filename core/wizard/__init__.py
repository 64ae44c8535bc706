"""The auto-label wizard over a dataset: train, promise a precision, accept, review, retrain.

``train`` fits a registered auto-labeler (core/autolabel/) on the rows people labeled, predicts
every other row, estimates from out-of-fold predictions the confidence threshold that meets the
target precision, and stores all of it as a saved run (core/runs.py). The page reloads the newest
run instead of training again. ``accept`` writes the rows above the threshold as auto labels and
the rest as suggestions, in one undoable batch; the threshold of the newest accept that stands in
the history is the run's threshold (an undo in History takes the wizard back with the labels).

Training labels are the current labels whose source is not the auto-labeler itself (given,
human, bulk, accepted suggestions): a model never learns from its own guesses. Excluded rows
take no part.
"""

from core.wizard.acceptance import accept, accept_pending, decided_since, earlier_auto_labels
from core.wizard.curves import LEARNING_CURVE_KIND, learning_curve_key, strategy_learning_curves
from core.wizard.data import REFERENCE_TAG, TrainingData, add_classes, reference_rows, training_data
from core.wizard.newrows import (
    NEW_ROWS_ACTION,
    NewRowsBatch,
    NewRowsResult,
    label_new_rows,
    left_standing_by_undo,
    new_rows,
    new_rows_batches,
)
from core.wizard.prediction import (
    CREDIBILITY,
    KIND,
    MIN_TARGET_PRECISION,
    Accepted,
    Prediction,
    Progress,
    Promise,
    _prediction,  # ui/autolabel.py builds a Prediction from a run whose arrays it caches
    audited_promise,
    latest_prediction,
    standing_accept,
)
from core.wizard.queue import review_queue
from core.wizard.training import labels_changed_since, nothing_new, promote_references, train

__all__ = [
    "CREDIBILITY",
    "KIND",
    "LEARNING_CURVE_KIND",
    "MIN_TARGET_PRECISION",
    "NEW_ROWS_ACTION",
    "REFERENCE_TAG",
    "Accepted",
    "NewRowsBatch",
    "NewRowsResult",
    "Prediction",
    "Progress",
    "Promise",
    "TrainingData",
    "_prediction",
    "accept",
    "accept_pending",
    "add_classes",
    "audited_promise",
    "decided_since",
    "earlier_auto_labels",
    "label_new_rows",
    "labels_changed_since",
    "left_standing_by_undo",
    "latest_prediction",
    "learning_curve_key",
    "new_rows",
    "new_rows_batches",
    "nothing_new",
    "promote_references",
    "reference_rows",
    "review_queue",
    "standing_accept",
    "strategy_learning_curves",
    "train",
    "training_data",
]
