"""Changes to rows as batches of events in an append-only history; any batch can be undone.

A batch is one SQLite transaction: after a crash it is either fully stored or absent. Each
event keeps the full old and new state of one attribute of one row, so undo restores exactly
what was there. Undo is itself a new batch (the history only grows); it reverts a row only if
the row still holds what the batch wrote, and reports the rows a later change has touched. A
label-schema question (an event on row 0) is merged with later changes of it instead
(:func:`revert_question`), so its classes stay those the rows carry whatever the order of undos.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from core.errors import ConflictError, InputError, NotFoundError
from core.store import DEFAULT_LABEL_FIELD, LabelSource, Store, as_classes, chunked, now, stored_value
from core.wording import counted

LabelState = dict[str, Any] | None  # {"value", "source", "confidence", "model_id"} or None
Progress = Callable[[int, int], None]  # (rows done, rows in all)
# In a schema event's new state: each class the change took out -> the classes its rows went to.
MOVED = "moved"


def _tick(on_progress: Progress | None, i: int, total: int) -> None:
    if on_progress is not None and (i % 500 == 0 or i == total - 1):
        on_progress(i + 1, total)


@dataclass(frozen=True)
class BatchInfo:
    id: str
    dataset_id: int
    action: str
    description: str
    created_at: str
    n_events: int
    undoes: str | None
    undone_by: str | None
    actor: str | None = None


@dataclass(frozen=True)
class UndoResult:
    batch_id: str | None
    restored: int
    skipped_changed_later: int  # row changes kept because their row was changed since
    questions_kept: int = 0  # schema questions left as they are: created or removed again since

    def describe(self) -> str:
        """What the undo did, in words: "1,074 changes restored; 1 change kept: its row was changed since"."""
        kept = self.skipped_changed_later
        why = "its row was" if kept == 1 else "their rows were"
        text = f"{counted(self.restored, 'change')} restored" + (
            f"; {counted(kept, 'change')} kept: {why} changed since" if kept else ""
        )
        if self.questions_kept:
            text += f"; {counted(self.questions_kept, 'question')} kept as changed since"
        return text


class Batch:
    """Collects the changes of one user action inside one transaction."""

    def __init__(self, conn: sqlite3.Connection, batch_id: str, dataset_id: int):
        self.conn = conn
        self.id = batch_id
        self.dataset_id = dataset_id
        self.n_events = 0
        self.touched: set[int] = set()

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
            self.touched.discard(0)  # not a row: nothing to mirror into Chroma

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


def read_label(conn: sqlite3.Connection, row_id: int, field: str) -> LabelState:
    r = conn.execute(
        "SELECT value, source, confidence, model_id FROM labels WHERE row_id = ? AND field = ?",
        (row_id, field),
    ).fetchone()
    if r is None or r[0] is None:
        return None
    return {"value": stored_value(r[0]), "source": r[1], "confidence": r[2], "model_id": r[3]}


def write_label(conn: sqlite3.Connection, row_id: int, field: str, state: LabelState, batch_id: str) -> None:
    if state is None:
        values: tuple = (None, None, None, None)
    else:
        value = state["value"]
        stored = json.dumps(sorted(value)) if isinstance(value, list) else value
        values = (stored, state["source"], state["confidence"], state["model_id"])
    conn.execute(
        "INSERT INTO labels(row_id, field, value, source, confidence, model_id, batch_id, updated_at)"
        " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(row_id, field) DO UPDATE SET value = excluded.value,"
        " source = excluded.source, confidence = excluded.confidence, model_id = excluded.model_id,"
        " batch_id = excluded.batch_id, updated_at = excluded.updated_at",
        (row_id, field, *values, batch_id, now()),
    )


def read_suggestion(conn: sqlite3.Connection, row_id: int, field: str) -> LabelState:
    r = conn.execute(
        "SELECT suggested, suggested_confidence, suggested_by FROM labels WHERE row_id = ? AND field = ?",
        (row_id, field),
    ).fetchone()
    if r is None or r[0] is None:
        return None
    return {"value": stored_value(r[0]), "confidence": r[1], "model_id": r[2]}


def write_suggestion(conn: sqlite3.Connection, row_id: int, field: str, state: LabelState, batch_id: str) -> None:
    if state is None:
        values: tuple = (None, None, None)
    else:
        value = state["value"]
        stored = json.dumps(sorted(value)) if isinstance(value, list) else value
        values = (stored, state["confidence"], state["model_id"])
    conn.execute(
        "INSERT INTO labels(row_id, field, suggested, suggested_confidence, suggested_by, updated_at)"
        " VALUES(?,?,?,?,?,?) ON CONFLICT(row_id, field) DO UPDATE SET suggested = excluded.suggested,"
        " suggested_confidence = excluded.suggested_confidence, suggested_by = excluded.suggested_by,"
        " updated_at = excluded.updated_at",
        (row_id, field, *values, now()),
    )


def read_tag(conn: sqlite3.Connection, row_id: int, tag: str) -> bool:
    return conn.execute("SELECT 1 FROM tags WHERE row_id = ? AND tag = ?", (row_id, tag)).fetchone() is not None


def write_tag(conn: sqlite3.Connection, row_id: int, tag: str, present: bool) -> None:
    if present:
        conn.execute("INSERT OR IGNORE INTO tags(row_id, tag) VALUES(?, ?)", (row_id, tag))
    else:
        conn.execute("DELETE FROM tags WHERE row_id = ? AND tag = ?", (row_id, tag))


def read_excluded(conn: sqlite3.Connection, row_id: int) -> bool:
    return bool(conn.execute("SELECT excluded FROM rows WHERE id = ?", (row_id,)).fetchone()[0])


def write_excluded(conn: sqlite3.Connection, row_id: int, excluded: bool) -> None:
    conn.execute("UPDATE rows SET excluded = ? WHERE id = ?", (int(excluded), row_id))


def read_question(conn: sqlite3.Connection, dataset_id: int, field: str) -> dict[str, Any] | None:
    r = conn.execute(
        "SELECT kind, classes_json, spec_json FROM label_fields WHERE dataset_id = ? AND name = ?", (dataset_id, field)
    ).fetchone()
    if r is None:
        return None
    return {"kind": r[0], "classes": json.loads(r[1]), **json.loads(r[2] or "{}")}


def write_question(conn: sqlite3.Connection, dataset_id: int, field: str, spec: dict[str, Any] | None) -> None:
    if spec is None:
        conn.execute("DELETE FROM label_fields WHERE dataset_id = ? AND name = ?", (dataset_id, field))
        return
    rest = {k: v for k, v in spec.items() if k not in ("kind", "classes")}
    conn.execute(
        "INSERT INTO label_fields(dataset_id, name, kind, classes_json, spec_json) VALUES(?,?,?,?,?)"
        " ON CONFLICT(dataset_id, name) DO UPDATE SET kind = excluded.kind, classes_json = excluded.classes_json,"
        " spec_json = excluded.spec_json",
        (dataset_id, field, spec["kind"], json.dumps(spec["classes"]), json.dumps(rest, sort_keys=True)),
    )


def _schema_attr(attr: str) -> tuple[int, str]:
    _, dataset_id, field = attr.split(":", 2)
    return int(dataset_id), field


def _read(conn: sqlite3.Connection, row_id: int, attr: str) -> Any:
    if attr.startswith("schema:"):
        return read_question(conn, *_schema_attr(attr))
    if attr.startswith("label:"):
        return read_label(conn, row_id, attr.removeprefix("label:"))
    if attr.startswith("suggestion:"):
        return read_suggestion(conn, row_id, attr.removeprefix("suggestion:"))
    if attr.startswith("tag:"):
        return read_tag(conn, row_id, attr.removeprefix("tag:"))
    if attr == "excluded":
        return read_excluded(conn, row_id)
    raise ValueError(f"unknown attribute {attr}")


def _write(conn: sqlite3.Connection, row_id: int, attr: str, value: Any, batch_id: str) -> None:
    if attr.startswith("schema:"):
        write_question(conn, *_schema_attr(attr), value)
    elif attr.startswith("label:"):
        write_label(conn, row_id, attr.removeprefix("label:"), value, batch_id)
    elif attr.startswith("suggestion:"):
        write_suggestion(conn, row_id, attr.removeprefix("suggestion:"), value, batch_id)
    elif attr.startswith("tag:"):
        write_tag(conn, row_id, attr.removeprefix("tag:"), bool(value))
    elif attr == "excluded":
        write_excluded(conn, row_id, bool(value))
    else:
        raise ValueError(f"unknown attribute {attr}")


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
            (batch_id, dataset_id, action, description, actor, now()),
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
    conn.executemany("INSERT OR IGNORE INTO mirror_pending(row_id) VALUES(?)", [(r,) for r in batch.touched])


def undo(store: Store, batch_id: str, *, actor: str | None = None) -> UndoResult:
    """Revert a batch as a new batch. Rows changed again since keep their newer state; a schema
    question is merged with what later changes did to it (:func:`revert_question`)."""
    with store.transaction() as conn:
        info = conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if info is None:
            raise NotFoundError(f"No action with id {batch_id} in the history.")
        if info["undone_by"]:
            raise ConflictError(f"That action was already undone (by {info['undone_by']}).")
        if info["action"] == "ingest":
            raise InputError("An ingest is not undone row by row: move the dataset to the trash instead.")
        events = conn.execute(
            "SELECT row_id, attr, old, new FROM events WHERE batch_id = ? ORDER BY seq DESC", (batch_id,)
        ).fetchall()
        new_id = uuid.uuid4().hex[:12]
        conn.execute(
            "INSERT INTO batches(id, dataset_id, action, description, actor, created_at, undoes) VALUES(?,?,?,?,?,?,?)",
            (new_id, info["dataset_id"], "undo", f"Undo: {info['description']}", actor, now(), batch_id),
        )
        batch = Batch(conn, new_id, info["dataset_id"])
        skipped = 0
        # Rows first: a question's class list is merged with the labels as they are after the undo.
        for row_id, attr, old_json, new_json in events:
            if attr.startswith("schema:"):
                continue
            old, new = json.loads(old_json), json.loads(new_json)
            current = _read(conn, row_id, attr)
            if current != new:
                skipped += 1
                continue
            _write(conn, row_id, attr, old, new_id)
            batch._record(row_id, attr, new, old)
        questions_kept = 0
        for _, attr, old_json, new_json in events:
            if not attr.startswith("schema:"):
                continue
            dataset_id, field = _schema_attr(attr)
            current = read_question(conn, dataset_id, field)
            reverted, ok = revert_question(conn, dataset_id, field, json.loads(old_json), json.loads(new_json))
            questions_kept += not ok
            if reverted != current:
                batch.set_question(field, reverted, moved=_moved_back(json.loads(new_json), current, reverted))
        if batch.n_events == 0 and (skipped or questions_kept):
            raise ConflictError(
                f"Everything that action changed ({counted(skipped + questions_kept, 'change')}) has been"
                " changed again since; nothing to undo."
            )
        _close_batch(conn, batch)
        if batch.n_events:
            conn.execute("UPDATE batches SET undone_by = ? WHERE id = ?", (new_id, batch_id))
    return UndoResult(
        batch_id=new_id if batch.n_events else None,
        restored=batch.n_events,
        skipped_changed_later=skipped,
        questions_kept=questions_kept,
    )


def revert_question(
    conn: sqlite3.Connection, dataset_id: int, field: str, old: dict[str, Any] | None, new: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, bool]:
    """A question's state once one change of it (``old`` -> ``new``) is undone, on top of what later
    changes did to it.

    A schema change is one event holding the whole question, so a later change of the same question
    (another rename, a merge) leaves it no longer equal to what this change wrote; reverting only then
    would keep the classes of the newer state while the rows go back. Instead each part goes back on
    its own: a setting that still holds what the change wrote takes its old value; a class the change
    took out comes back (near its old place) unless every class its rows went to has gone since, i.e.
    a later change took them over and no row is left with the class; a class the change brought in goes
    unless a row still carries it (as a label or a suggestion). A question created or removed since is
    left as it is.

    Returns
    -------
    The state to write (``None``: no question), and False when the change could not be reverted.
    """
    current = read_question(conn, dataset_id, field)
    moved = (new or {}).get(MOVED)
    new = None if new is None else {k: v for k, v in new.items() if k != MOVED}
    if old is None or new is None or current is None:
        return (old, True) if current == new else (current, False)
    out = dict(current)
    # A setting missing from the old state had its default, which the change only wrote out.
    for key in old.keys() - {"classes"}:
        if old[key] != new.get(key) and current.get(key) == new.get(key):
            out[key] = old[key]
    carried = _carried_classes(conn, dataset_id, field)
    classes = list(current["classes"])
    for c in old["classes"]:
        if c in new["classes"] or c in classes:
            continue
        went_to = None if moved is None else moved.get(c)
        if went_to is None or c in carried or any(t in current["classes"] for t in went_to):
            _insert_near(classes, c, old["classes"])
    for c in new["classes"]:
        if c not in old["classes"] and c in classes and c not in carried:
            classes.remove(c)
    out["classes"] = classes
    return out, True


def _moved_back(
    new: dict[str, Any] | None, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> dict[str, list[str]] | None:
    """For an undo's own event: each class the undo takes out went back to the classes it came from
    (so that undoing the undo is merged the same way)."""
    moved = (new or {}).get(MOVED)
    if not moved or before is None or after is None:
        return None
    gone = set(before["classes"]) - set(after["classes"])
    back: dict[str, list[str]] = {}
    for source, targets in moved.items():
        for t in targets:
            if t in gone:
                back.setdefault(t, []).append(source)
    return back or None


def _insert_near(classes: list[str], name: str, order: Sequence[str]) -> None:
    """Put ``name`` back after the nearest class that preceded it in ``order`` (else before the nearest
    that followed it, else at the end)."""
    i = order.index(name)
    for before in reversed(order[:i]):
        if before in classes:
            classes.insert(classes.index(before) + 1, name)
            return
    for after in order[i + 1 :]:
        if after in classes:
            classes.insert(classes.index(after), name)
            return
    classes.append(name)


def _carried_classes(conn: sqlite3.Connection, dataset_id: int, field: str) -> set[str]:
    """Every class a row of the dataset holds for ``field``, as its label or its suggestion."""
    out: set[str] = set()
    for (value,) in conn.execute(
        "SELECT labels.value FROM labels JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ?"
        " AND labels.field = ? AND labels.value IS NOT NULL UNION SELECT labels.suggested FROM labels"
        " JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ? AND labels.field = ?"
        " AND labels.suggested IS NOT NULL",
        (dataset_id, field, dataset_id, field),
    ):
        out.update(as_classes(stored_value(value)))
    return out


def record_ingest(conn: sqlite3.Connection, dataset_id: int, description: str, n_rows: int) -> str:
    """An ingest appears in the history as one batch (its rows are not events)."""
    batch_id = uuid.uuid4().hex[:12]
    conn.execute(
        "INSERT INTO batches(id, dataset_id, action, description, created_at, n_events) VALUES(?,?,?,?,?,?)",
        (batch_id, dataset_id, "ingest", description, now(), n_rows),
    )
    conn.execute("UPDATE datasets SET version = version + 1 WHERE id = ?", (dataset_id,))
    return batch_id


def history(store: Store, dataset_id: int, *, limit: int = 200) -> list[BatchInfo]:
    """Newest first."""
    with store.connect() as conn:
        rows = conn.execute(
            "SELECT * FROM batches WHERE dataset_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (dataset_id, limit),
        ).fetchall()
    return [_batch_info(r) for r in rows]


def batch_info(store: Store, batch_id: str) -> BatchInfo | None:
    """One action of the history (None: no such action)."""
    with store.connect() as conn:
        row = conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
    return _batch_info(row) if row else None


def _batch_info(r: Any) -> BatchInfo:
    return BatchInfo(
        id=r["id"],
        dataset_id=r["dataset_id"],
        action=r["action"],
        description=r["description"],
        created_at=r["created_at"],
        n_events=r["n_events"],
        undoes=r["undoes"],
        undone_by=r["undone_by"],
        actor=r["actor"],
    )


def describe_change(attr: str) -> str:
    """What an event's attribute is, in words: "label", "suggestion for 'mentions'", "tag 'x'"..."""
    kind, _, rest = attr.partition(":")
    if kind == "schema":
        return f"question '{rest.partition(':')[2]}'"
    if kind in ("label", "suggestion"):
        return kind if rest == DEFAULT_LABEL_FIELD else f"{kind} for '{rest}'"
    if kind == "tag":
        return f"tag '{rest}'"
    return attr


def describe_state(attr: str, state: Any) -> str:
    """One event side in words: "Sports · auto · 0.97 · <model>", "tagged", "excluded"..."""
    kind = attr.partition(":")[0]
    if kind == "tag":
        return "tagged" if state else "not tagged"
    if kind == "excluded":
        return "excluded" if state else "included"
    if state is None:
        return "(none)"
    if kind == "schema":
        classes = ", ".join(state.get("classes", []))
        return f"{state.get('kind', '')}: {classes}" if classes else str(state.get("kind", ""))
    if kind in ("label", "suggestion"):
        value = state.get("value")
        parts = [", ".join(value) or "none applies" if isinstance(value, list) else str(value)]
        if state.get("source"):
            parts.append(str(state["source"]))
        if state.get("confidence") is not None:
            parts.append(f"{state['confidence']:.2f}")
        if state.get("model_id"):
            parts.append(str(state["model_id"]))
        return " · ".join(parts)
    return json.dumps(state)


def batch_events(store: Store, batch_id: str, *, limit: int = 1000) -> list[dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(
            # Row 0 holds label-schema changes (core/labelschema.py): listed as the schema, not a row.
            "SELECT events.row_id, COALESCE(rows.source_id, '(label schema)'), attr, old, new FROM events"
            " LEFT JOIN rows ON rows.id = events.row_id WHERE batch_id = ? ORDER BY seq LIMIT ?",
            (batch_id, limit),
        ).fetchall()
    return [
        {"row": r[0], "id": r[1], "attribute": r[2], "before": json.loads(r[3]), "after": json.loads(r[4])}
        for r in rows
    ]
