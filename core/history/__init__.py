"""Changes to rows as batches of events in an append-only history; any batch can be undone.

A batch is one SQLite transaction: after a crash it is either fully stored or absent. Each
event keeps the full old and new state of one attribute of one row, so undo restores exactly
what was there. Undo is itself a new batch (the history only grows); it reverts a row only if
the row still holds what the batch wrote, and reports the rows a later change has touched. A
label-schema question (an event on row 0) is merged with later changes of it instead
(:func:`revert_question`), so its classes stay those the rows carry whatever the order of undos.
"""

from core.history.actor import acting_as, clean_actor, current_actor, use_actor_from
from core.history.batch import MOVED, Batch, Progress, open_batch, record_ingest
from core.history.log import (
    BatchInfo,
    batch_events,
    batch_info,
    describe_action,
    describe_change,
    describe_state,
    first_ingest,
    history,
    standing,
    unchanged_since,
    undo_states,
)
from core.history.state import (
    LabelState,
    read_excluded,
    read_label,
    read_question,
    read_suggestion,
    read_tag,
    write_excluded,
    write_label,
    write_question,
    write_suggestion,
    write_tag,
)
from core.history.undo import UndoResult, revert_question, undo

__all__ = [
    "MOVED",
    "Batch",
    "BatchInfo",
    "LabelState",
    "Progress",
    "UndoResult",
    "acting_as",
    "batch_events",
    "batch_info",
    "clean_actor",
    "current_actor",
    "describe_action",
    "describe_change",
    "describe_state",
    "first_ingest",
    "history",
    "open_batch",
    "read_excluded",
    "read_label",
    "read_question",
    "read_suggestion",
    "read_tag",
    "record_ingest",
    "revert_question",
    "standing",
    "undo",
    "undo_states",
    "unchanged_since",
    "use_actor_from",
    "write_excluded",
    "write_label",
    "write_question",
    "write_suggestion",
    "write_tag",
]
