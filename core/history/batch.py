"""A batch: the changes of one user action, written and recorded as events in one transaction; an
ingest is recorded as one batch without events."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from core.errors import InputError, NotFoundError
from core.history.actor import current_actor
from core.history.state import LabelState, _read, _write, read_question
from core.store import DEFAULT_LABEL_FIELD, LabelSource, Store, chunked, now

Progress = Callable[[int, int], None]  # (rows done, rows in all)
# In a schema event's new state: each class the change took out -> the classes its rows went to.
MOVED = "moved"


def _tick(on_progress: Progress | None, i: int, total: int) -> None:
    if on_progress is not None and (i % 500 == 0 or i == total - 1):
        on_progress(i + 1, total)


class Batch:
    """Collects the changes of one user action inside one transaction."""

    def __init__(self, conn: sqlite3.Connection, batch_id: str, dataset_id: int):
        self.conn = conn
        self.id = batch_id
        self.dataset_id = dataset_id
        self.n_events = 0
        self.touched: set[int] = set()  # rows this batch changed
        self.moved: set[int] = set()  # rows it took out of the dataset or brought back: Chroma follows them

    def _check_rows(self, row_ids: Sequence[int]) -> list[int]:
        ids = sorted({int(r) for r in row_ids})
        for part in chunked(ids):
            marks = ",".join("?" * len(part))
            found = self.conn.execute(
                f"SELECT COUNT(*) FROM rows WHERE dataset_id = ? AND id IN ({marks})",
                [self.dataset_id, *part],
            ).fetchone()[0]
            if found != len(part):
                raise NotFoundError("Some selected rows are not in this dataset; nothing was changed.")
        return ids

    def _record(self, row_id: int, attr: str, old: Any, new: Any) -> None:
        self.conn.execute(
            "INSERT INTO events(batch_id, row_id, attr, old, new) VALUES(?,?,?,?,?)",
            (self.id, row_id, attr, json.dumps(old), json.dumps(new)),
        )
        self.n_events += 1
        self.touched.add(row_id)
        if attr == "removed":
            self.moved.add(row_id)

    def set_label(
        self,
        row_ids: Sequence[int],
        value: str | list[str] | None,
        *,
        source: LabelSource | str = LabelSource.HUMAN,
        field: str = DEFAULT_LABEL_FIELD,
        confidence: float | None = None,
        model_id: str | None = None,
        overwrite: bool = True,
        on_progress: Progress | None = None,
    ) -> int:
        """Set (or with ``value=None`` clear) the current label; returns how many rows changed.

        ``overwrite=False`` skips rows that already have a label.
        """
        if isinstance(value, str) and not value.strip():
            raise InputError("A label cannot be empty; clear the label instead.")
        new: LabelState = (
            None
            if value is None
            else {"value": value, "source": str(source), "confidence": confidence, "model_id": model_id}
        )
        return self._set_each(row_ids, f"label:{field}", lambda _: new, overwrite=overwrite, on_progress=on_progress)

    def set_suggestion(
        self,
        row_ids: Sequence[int],
        value: str | None,
        *,
        field: str = DEFAULT_LABEL_FIELD,
        confidence: float | None = None,
        model_id: str | None = None,
        overwrite: bool = True,
        on_progress: Progress | None = None,
    ) -> int:
        """Set (or clear) a pre-label that the review queue offers for acceptance."""
        if isinstance(value, str) and not value.strip():
            raise InputError("A suggestion cannot be empty.")
        new = None if value is None else {"value": value, "confidence": confidence, "model_id": model_id}
        return self._set_each(
            row_ids, f"suggestion:{field}", lambda _: new, overwrite=overwrite, on_progress=on_progress
        )

    def set_predictions(
        self,
        predictions: Mapping[int, tuple[str, float]],
        *,
        model_id: str,
        as_suggestion: bool,
        field: str = DEFAULT_LABEL_FIELD,
        overwrite: bool = True,
        on_progress: Progress | None = None,
    ) -> int:
        """Write a model's (class, confidence) per row, as auto labels or as suggestions."""
        if as_suggestion:
            return self._set_each(
                list(predictions),
                f"suggestion:{field}",
                lambda r: {"value": predictions[r][0], "confidence": predictions[r][1], "model_id": model_id},
                overwrite=overwrite,
                on_progress=on_progress,
            )
        return self._set_each(
            list(predictions),
            f"label:{field}",
            lambda r: {
                "value": predictions[r][0],
                "source": str(LabelSource.AUTO),
                "confidence": predictions[r][1],
                "model_id": model_id,
            },
            overwrite=overwrite,
            on_progress=on_progress,
        )

    def set_question(
        self, field: str, spec: dict[str, Any] | None, *, moved: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        """Create, change or (``None``) remove a label-schema question.

        Recorded as an event on row 0 (no row has id 0) with the dataset in the attribute. ``moved``
        names, for each class this change takes out, the classes its rows went to (a rename, merge or
        split); it is kept in the event beside the new spec so that undo, even after later schema
        changes, knows whether the class it would bring back still has a place (:func:`revert_question`)."""
        attr = f"schema:{self.dataset_id}:{field}"
        old = _read(self.conn, 0, attr)
        if old != spec:
            _write(self.conn, 0, attr, spec, self.id)
            recorded = spec if spec is None or not moved else {**spec, MOVED: {k: list(v) for k, v in moved.items()}}
            self._record(0, attr, old, recorded)
            self.touched.discard(0)  # not a row

    def add_class(self, field: str, name: str) -> None:
        """A class typed in by a user joins the question's class list as a schema event of this batch, so
        undoing the batch takes it out again (unless a row still carries it: ``revert_question``). Written
        straight to the class list it outlived the undo of the label that brought it in, a typo included."""
        spec = read_question(self.conn, self.dataset_id, field)
        if spec is None or name in spec["classes"]:
            return
        self.set_question(field, {**spec, "classes": [*spec["classes"], name]})

    def map_labels(self, field: str, change: Callable[[Any], Any], *, on_progress: Progress | None = None) -> list[int]:
        """Rewrite the label and suggestion values of ``field`` with ``change(value)`` (a schema
        migration); sources, confidences and models are kept. Returns the rows whose label changed."""
        rows = [
            r[0]
            for r in self.conn.execute(
                "SELECT labels.row_id FROM labels JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ?"
                " AND labels.field = ? AND (labels.value IS NOT NULL OR labels.suggested IS NOT NULL)"
                " ORDER BY labels.row_id",
                (self.dataset_id, field),
            )
        ]
        changed = []
        for i, row_id in enumerate(rows):
            _tick(on_progress, i, len(rows))
            for attr in (f"label:{field}", f"suggestion:{field}"):
                old = _read(self.conn, row_id, attr)
                if old is None:
                    continue
                value = change(old["value"])
                if value == old["value"]:
                    continue
                new = None if value is None or value == [] else {**old, "value": value}
                _write(self.conn, row_id, attr, new, self.id)
                self._record(row_id, attr, old, new)
                if attr.startswith("label:"):
                    changed.append(row_id)
        return changed

    def set_tag(
        self, row_ids: Sequence[int], tag: str, present: bool = True, *, on_progress: Progress | None = None
    ) -> int:
        tag = tag.strip()
        if not tag:
            raise InputError("A tag cannot be empty.")
        return self._set_each(row_ids, f"tag:{tag}", lambda _: present, on_progress=on_progress)

    def set_excluded(
        self, row_ids: Sequence[int], excluded: bool = True, *, on_progress: Progress | None = None
    ) -> int:
        return self._set_each(row_ids, "excluded", lambda _: excluded, on_progress=on_progress)

    def _set_each(
        self,
        row_ids: Sequence[int],
        attr: str,
        new_for: Callable[[int], Any],
        *,
        overwrite: bool = True,
        on_progress: Progress | None = None,
    ) -> int:
        """Write ``new_for(row)`` into one attribute of each row and record the old state.

        ``overwrite=False`` leaves rows whose attribute is already set. Returns rows changed."""
        changed = 0
        ids = self._check_rows(row_ids)
        for i, row_id in enumerate(ids):
            _tick(on_progress, i, len(ids))
            old = _read(self.conn, row_id, attr)
            new = new_for(row_id)
            if old == new or (old is not None and not overwrite):
                continue
            _write(self.conn, row_id, attr, new, self.id)
            self._record(row_id, attr, old, new)
            changed += 1
        return changed


@contextmanager
def open_batch(
    store: Store, dataset_id: int, *, action: str, description: str, actor: str | None = None
) -> Iterator[Batch]:
    """Run one user action as one batch: all of its changes land together or not at all.

    A batch that changed nothing leaves no trace in the history.
    """
    batch_id = uuid.uuid4().hex[:12]
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO batches(id, dataset_id, action, description, actor, created_at) VALUES(?,?,?,?,?,?)",
            (batch_id, dataset_id, action, description, current_actor(actor), now()),
        )
        batch = Batch(conn, batch_id, dataset_id)
        yield batch
        _close_batch(conn, batch)


def _close_batch(conn: sqlite3.Connection, batch: Batch) -> None:
    if batch.n_events == 0:
        conn.execute("DELETE FROM batches WHERE id = ?", (batch.id,))
        return
    conn.execute("UPDATE batches SET n_events = ? WHERE id = ?", (batch.n_events, batch.id))
    conn.execute("UPDATE datasets SET version = version + 1 WHERE id = ?", (batch.dataset_id,))
    # The outbox: the vectors of these rows leave Chroma or come back after the commit (Workspace._sync_vectors).
    conn.executemany("INSERT OR IGNORE INTO mirror_pending(row_id) VALUES(?)", [(r,) for r in batch.moved])


def record_ingest(
    conn: sqlite3.Connection,
    dataset_id: int,
    description: str,
    n_rows: int,
    *,
    questions_before: Mapping[str, dict[str, Any] | None] | None = None,
) -> str:
    """An ingest appears in the history as one batch (its rows are not events).

    ``questions_before``: for an append, the dataset's label-schema questions before it. Each question
    the append changed (a class its rows brought in) is recorded as a schema event of the batch, so that
    undoing the append takes the class out again (:func:`core.history.undo.revert_question`: a class the
    change brought in goes unless a row still carries it) and redoing it brings the class back."""
    batch_id = uuid.uuid4().hex[:12]
    conn.execute(
        "INSERT INTO batches(id, dataset_id, action, description, actor, created_at, n_events) VALUES(?,?,?,?,?,?,?)",
        (batch_id, dataset_id, "ingest", description, current_actor(), now(), n_rows),
    )
    if questions_before is not None:
        now_fields = [r[0] for r in conn.execute("SELECT name FROM label_fields WHERE dataset_id = ?", (dataset_id,))]
        for field in dict.fromkeys([*questions_before, *now_fields]):
            old, new = questions_before.get(field), read_question(conn, dataset_id, field)
            if new != old:
                Batch(conn, batch_id, dataset_id)._record(0, f"schema:{dataset_id}:{field}", old, new)
    conn.execute("UPDATE datasets SET version = version + 1 WHERE id = ?", (dataset_id,))
    return batch_id
