"""Row-by-row review: the actions behind the keyboard shortcuts, and which rows to show next.

Every action is its own history batch, so "Undo" after a wrong key press restores the row exactly.
The same actions serve the auto-label wizard's review panel and the Issues page.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from core.errors import InputError
from core.store import DEFAULT_LABEL_FIELD, LabelSource
from core.workspace import Workspace

NEEDS_REVIEW = "needs-review"


class ReviewAction(StrEnum):
    LABEL = "label"  # 1-9: a class chosen by the reviewer
    ACCEPT = "accept"  # W: take the model's suggestion
    NEEDS_REVIEW = "needs_review"  # N: tag for a second look
    KEEP_GIVEN = "keep_given"  # Q: the label the file came with is right
    EXCLUDE = "exclude"  # E: leave the row out of the dataset


def review_row(
    ws: Workspace,
    dataset_id: int,
    row_id: int,
    action: ReviewAction | str,
    *,
    value: str | None = None,
    model_suggestion: tuple[str, float, str] | None = None,
    prefer_model: bool = False,
    field: str = DEFAULT_LABEL_FIELD,
) -> str | None:
    """Apply one review decision to one row as one undoable batch; returns its batch id (None if
    the row already was in that state).

    ``model_suggestion`` (class, confidence, model id) is what ACCEPT takes when the row has no
    stored suggestion (the wizard's current prediction), or always with ``prefer_model`` (the
    Issues page, whose model checked the row's label). ``field`` is the question of the label
    schema the decision answers (NEEDS_REVIEW and EXCLUDE are about the row, whatever the question).

    Raises
    ------
    InputError
        If the decision does not apply to the row (no suggestion to accept, no given label to keep,
        no class chosen).
    """
    action = ReviewAction(action)
    state = ws.store.row_states([row_id], field).get(row_id)
    if state is None:
        raise InputError(f"Row {row_id} is not in this dataset.")
    with ws.store.connect() as conn:
        given, suggested, suggested_confidence, suggested_by = conn.execute(
            "SELECT given, suggested, suggested_confidence, suggested_by FROM labels WHERE row_id = ? AND field = ?",
            (row_id, field),
        ).fetchone() or (None, None, None, None)
    if model_suggestion is not None and (suggested is None or prefer_model):
        suggested, suggested_confidence, suggested_by = model_suggestion
    if action is ReviewAction.LABEL and not (value or "").strip():
        raise InputError("Choose a class for this row.")
    if action is ReviewAction.ACCEPT and suggested is None:
        raise InputError("This row has no suggestion to accept; choose a class instead.")
    if action is ReviewAction.KEEP_GIVEN and given is None:
        raise InputError("This row came without a label, so there is none to keep; choose a class instead.")
    what = {
        ReviewAction.LABEL: f"label '{value}'",
        ReviewAction.ACCEPT: f"accept suggestion '{suggested}'",
        ReviewAction.NEEDS_REVIEW: "mark needs-review",
        ReviewAction.KEEP_GIVEN: f"keep given label '{given}'",
        ReviewAction.EXCLUDE: "exclude",
    }[action]
    question = "" if field == DEFAULT_LABEL_FIELD else f"'{field}': "
    description = f"Review: {question}{what} (row {ws.store.source_id(row_id)})"
    with ws.batch(dataset_id, action=f"review_{action}", description=description) as batch:
        if action is ReviewAction.LABEL:
            batch.set_label([row_id], value.strip(), source=LabelSource.HUMAN, field=field)
            batch.add_class(field, value.strip())
        elif action is ReviewAction.ACCEPT:
            batch.set_label(
                [row_id],
                suggested,
                source=LabelSource.SUGGESTION_ACCEPTED,
                confidence=suggested_confidence,
                model_id=suggested_by,
                field=field,
            )
        elif action is ReviewAction.KEEP_GIVEN:
            batch.set_label([row_id], given, source=LabelSource.HUMAN, field=field)
        elif action is ReviewAction.NEEDS_REVIEW:
            batch.set_tag([row_id], NEEDS_REVIEW)
        else:
            batch.set_excluded([row_id], True)
    return batch.id if batch.n_events else None


def review_multi_row(ws: Workspace, dataset_id: int, row_id: int, classes: list[str], *, field: str) -> str | None:
    """A person's answer to the multi-choice question ``field`` for one row (an empty list: none of the
    classes applies), as one undoable batch; returns its batch id (None if nothing changed)."""
    value = sorted({c.strip() for c in classes if c.strip()})
    said = ", ".join(value) or "none applies"
    description = f"Review: '{field}': {said} (row {ws.store.source_id(row_id)})"
    with ws.batch(dataset_id, action="review_label", description=description) as b:
        b.set_label([row_id], value, source=LabelSource.HUMAN, field=field)
        for c in value:
            b.add_class(field, c)
    return b.id if b.n_events else None


def still_to_review(
    ws: Workspace, row_ids: list[int], *, check_labels: bool = False, field: str = DEFAULT_LABEL_FIELD
) -> list[int]:
    """The rows (order kept) that are still open: not excluded, not tagged needs-review, and with
    no answer to ``field``, or with ``check_labels`` (checking given labels) no answer a person
    decided on."""
    states = ws.store.row_states(row_ids, field)
    decided = (LabelSource.HUMAN, LabelSource.SUGGESTION_ACCEPTED)
    return [
        r
        for r in row_ids
        if r in states
        and (states[r]["label"] is None or (check_labels and states[r]["label_source"] not in decided))
        and not states[r]["excluded"]
        and NEEDS_REVIEW not in (states[r]["tags"] or [])
    ]


def top_choices(probabilities: np.ndarray, classes: list[str], *, k: int = 9) -> list[tuple[str, float]]:
    """The ``k`` most probable classes of one row, best first (the first is the model's suggestion)."""
    order = np.argsort(-np.asarray(probabilities))[: min(k, len(classes))]
    return [(classes[i], float(probabilities[i])) for i in order]


def keyed_choices(ranked: list[tuple[str, float]], classes: list[str], *, k: int = 9) -> list[tuple[str, float | None]]:
    """The classes keys 1-``k`` choose on one row, in key order, each with its probability.

    With ``k`` classes or fewer every key stands for one class, in the order of ``classes`` (the label
    schema's), on every row: ordered by each row's probabilities, key 1 was "negative" on one row and
    "positive" on the next, and someone labeling fast mislabeled. Beyond ``k`` classes the keys choose
    among the row's ``k`` most probable, best first.

    Parameters
    ----------
    ranked
        The row's (class, probability), best first, as the model gives them.
    classes
        The question's classes in the schema's order; a class the model does not know has probability None.
    """
    known = dict(ranked)
    every = list(dict.fromkeys([*classes, *known]))
    if len(every) > k:
        return list(ranked[:k])
    return [(c, known.get(c)) for c in every]
