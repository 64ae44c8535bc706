"""Undo a batch as a new batch: rows changed since keep their newer state, and a label-schema question
is merged with what later changes did to it."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import ConflictError, InputError, NotFoundError
from core.history.actor import current_actor
from core.history.batch import MOVED, Batch, _close_batch
from core.history.log import undo_action
from core.history.state import _read, _schema_attr, _write, read_question
from core.store import JobStatus, Store, as_classes, chunked, now, stored_value
from core.wording import counted

# An ingest run records its progress after every chunk (2-7 s of work, ~30 s on a busy machine); a job
# still "embedding" and silent for longer than this was stopped by a crash (kill -9, power loss): no run
# is adding to its rows any more, so they can be taken out. Before that it may be running in another tab.
SILENT_RUN_S = 600


@dataclass(frozen=True)
class UndoResult:
    batch_id: str | None
    restored: int
    skipped_changed_later: int  # row changes kept because their row was changed since
    questions_kept: int = 0  # schema questions left as they are: created or removed again since
    redo: bool = False  # the action undone was itself an undo: its changes are back
    changed_by: tuple[str, ...] = ()  # the later actions that changed the kept rows, oldest first

    def headline(self) -> str:
        """The undo in one line for a toast: "Undone: 6 changes restored", or "Redone: ..." for a redo."""
        return f"{'Redone' if self.redo else 'Undone'}: {self.describe()}"

    def describe(self) -> str:
        """What the undo did, in words: "1,074 changes restored; 1 change kept: its row was changed since"."""
        kept = self.skipped_changed_later
        why = "its row was" if kept == 1 else "their rows were"
        text = f"{counted(self.restored, 'change')} restored" + (
            f"; {counted(kept, 'change')} kept: {why} changed since{_by(self.changed_by)}" if kept else ""
        )
        if self.questions_kept:
            text += f"; {counted(self.questions_kept, 'question')} kept as changed since"
        return text


def undo(store: Store, batch_id: str, *, actor: str | None = None) -> UndoResult:
    """Revert a batch as a new batch. Rows changed again since keep their newer state; a schema
    question is merged with what later changes did to it (:func:`revert_question`). An append (an
    ingest into an existing dataset) is reverted by taking its rows out, kept for an undo of the undo."""
    with store.transaction() as conn:
        info = conn.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if info is None:
            raise NotFoundError(f"No action with id {batch_id} in the history.")
        if info["undone_by"]:
            raise ConflictError(f"That action was already undone (by {info['undone_by']}).")
        added = _added_rows(conn, info) if info["action"] == "ingest" else []
        events = conn.execute(
            "SELECT row_id, attr, old, new FROM events WHERE batch_id = ? ORDER BY seq DESC", (batch_id,)
        ).fetchall()
        new_id = uuid.uuid4().hex[:12]
        action, description = undo_action(info["action"], info["description"])
        conn.execute(
            "INSERT INTO batches(id, dataset_id, action, description, actor, created_at, undoes) VALUES(?,?,?,?,?,?,?)",
            (new_id, info["dataset_id"], action, description, current_actor(actor), now(), batch_id),
        )
        batch = Batch(conn, new_id, info["dataset_id"])
        skipped, kept_rows, back = 0, [], []
        if added:  # an append: its rows leave the dataset, kept whole (core/history/state.py, write_removed)
            changed = _changed_since_ingest(conn, added)
            for row_id in added:
                if row_id in changed:
                    skipped += 1
                    kept_rows.append(row_id)
                    continue
                _write(conn, row_id, "removed", True, new_id)
                batch._record(row_id, "removed", False, True)
        # Rows first: a question's class list is merged with the labels as they are after the undo.
        for row_id, attr, old_json, new_json in events:
            if attr.startswith("schema:"):
                continue
            old, new = json.loads(old_json), json.loads(new_json)
            current = _read(conn, row_id, attr)
            if current != new:
                skipped += 1
                kept_rows.append(row_id)
                continue
            if attr == "removed" and not old:
                _check_id_free(conn, row_id)
            _write(conn, row_id, attr, old, new_id)
            batch._record(row_id, attr, new, old)
            if attr == "removed" and not old:
                back.append(row_id)
        if back:
            _reopen_jobs(conn, back)
        if added or back:  # an append's rows left or came back: its folder leaves the image root or rejoins it
            store.fit_image_root(conn, info["dataset_id"])
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
        changed_by = _later_actions(conn, kept_rows, info["created_at"], (batch_id, new_id))
        if batch.n_events == 0 and (skipped or questions_kept):
            raise ConflictError(
                f"Everything that action changed ({counted(skipped + questions_kept, 'change')}) has been"
                f" changed again since{_by(changed_by)}; nothing to undo."
            )
        _close_batch(conn, batch)
        if batch.n_events:
            conn.execute("UPDATE batches SET undone_by = ? WHERE id = ?", (new_id, batch_id))
    return UndoResult(
        batch_id=new_id if batch.n_events else None,
        restored=batch.n_events,
        skipped_changed_later=skipped,
        questions_kept=questions_kept,
        redo=action == "redo",
        changed_by=changed_by,
    )


def _later_actions(
    conn: sqlite3.Connection, row_ids: Sequence[int], since: str, leave_out: tuple[str, str]
) -> tuple[str, ...]:
    """The standing actions after ``since`` that changed any of ``row_ids``, oldest first (at most 3):
    what to undo first for an undo to go through in full ("Auto-label 25 new rows" after an append)."""
    found: dict[str, str] = {}
    for part in chunked(list(dict.fromkeys(row_ids))):
        marks = ",".join("?" * len(part))
        for created, description in conn.execute(
            "SELECT DISTINCT batches.created_at, batches.description FROM events JOIN batches"
            f" ON batches.id = events.batch_id WHERE events.row_id IN ({marks}) AND batches.created_at >= ?"
            " AND batches.id NOT IN (?, ?) AND batches.undone_by IS NULL",
            [*part, since, *leave_out],
        ):
            found.setdefault(description, created)
    return tuple(sorted(found, key=found.get)[:3])


def _by(actions: Sequence[str]) -> str:
    """ " by 'A' and 'B' (undo them first to undo all of it)", or nothing."""
    if not actions:
        return ""
    names = " and ".join(f"'{a}'" for a in actions)
    return f" by {names} (undo {'it' if len(actions) == 1 else 'them'} first to undo all of this)"


def _added_rows(conn: sqlite3.Connection, info: sqlite3.Row) -> list[int]:
    """The rows an ingest added, if it can be undone: an append (to a dataset's first ingest the dataset
    itself is the undo: the trash) that no run is embedding now. A paused or interrupted one is undone as
    it stands: its rows still to embed leave with the rest, and its job is no longer offered for Resume
    (:func:`core.ingest.unfinished_jobs` lists only jobs with rows in the dataset) until a redo."""
    first = conn.execute(
        "SELECT id FROM batches WHERE dataset_id = ? AND action = 'ingest' ORDER BY created_at, rowid LIMIT 1",
        (info["dataset_id"],),
    ).fetchone()
    if first is None or first[0] == info["id"]:
        raise InputError(
            "A dataset's first ingest is undone by moving the dataset to the trash (History › Datasets);"
            " restore it from there any time."
        )
    job = conn.execute("SELECT id, status, updated_at FROM jobs WHERE batch_id = ?", (info["id"],)).fetchone()
    if job is None:
        raise NotFoundError("The rows of that ingest are not recorded; nothing was changed.")
    if job["status"] == JobStatus.EMBEDDING:
        silent = (datetime.fromisoformat(now()) - datetime.fromisoformat(job["updated_at"])).total_seconds()
        if silent < SILENT_RUN_S:  # a run may be embedding its rows now: it would put vectors back
            raise ConflictError(
                "That ingest is being embedded now: press Pause on Upload (or let it finish), then undo it."
            )
    return [r[0] for r in conn.execute("SELECT id FROM rows WHERE job_id = ? ORDER BY id", (job["id"],))]


def _check_id_free(conn: sqlite3.Connection, row_id: int) -> None:
    """A row coming back keeps its id from the source; refuse (nothing changed) when a row added since
    holds it, naming the action that added that row (its ids were the file's own: the same file again)."""
    clash = conn.execute(
        "SELECT rows.source_id, batches.description FROM removed_rows JOIN rows ON rows.dataset_id ="
        " removed_rows.dataset_id AND rows.source_id = removed_rows.source_id LEFT JOIN jobs ON jobs.id ="
        " rows.job_id LEFT JOIN batches ON batches.id = jobs.batch_id WHERE removed_rows.id = ?",
        (row_id,),
    ).fetchone()
    if clash is not None:
        raise ConflictError(
            f"The rows of that ingest cannot come back: id '{clash[0]}' is taken by a row added since"
            f"{_by([clash[1]]) if clash[1] else ''}. Nothing was changed."
        )


def _reopen_jobs(conn: sqlite3.Connection, row_ids: Sequence[int]) -> None:
    """Rows a redo brought back that are still to embed: their job is unfinished again, so Resume is
    offered for them (a run while they were out, a Resume drawn before the undo, found none and ended it)."""
    for part in chunked(list(row_ids)):
        marks = ",".join("?" * len(part))
        conn.execute(
            "UPDATE jobs SET status = ?, message = ?, updated_at = ? WHERE status = ? AND id IN"
            f" (SELECT DISTINCT job_id FROM rows WHERE id IN ({marks}) AND embedded = 0)",
            [JobStatus.PAUSED, "rows brought back by a redo are still to embed", now(), JobStatus.DONE, *part],
        )


def _changed_since_ingest(conn: sqlite3.Connection, row_ids: Sequence[int]) -> set[int]:
    """Rows whose label, suggestion, tags or exclusion differ from what their ingest stored: the first
    event on each attribute holds the ingest's state as its old side (an ingest writes no row events; an
    append's class-list events are on row 0, which is never among ``row_ids``)."""
    changed: set[int] = set()
    for part in chunked(list(row_ids)):
        marks = ",".join("?" * len(part))
        first_events = conn.execute(
            "SELECT events.row_id, events.attr, events.old FROM events JOIN (SELECT MIN(seq) AS seq FROM events"
            f" WHERE row_id IN ({marks}) AND attr != 'removed' GROUP BY row_id, attr) AS f ON f.seq = events.seq",
            part,
        ).fetchall()
        for row_id, attr, old in first_events:
            if row_id not in changed and _read(conn, row_id, attr) != json.loads(old):
                changed.add(row_id)
    return changed


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
