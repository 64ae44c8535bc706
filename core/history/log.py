"""Reading the history: the actions of a dataset, newest first, their events, and both in words."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.store import DEFAULT_LABEL_FIELD, Store


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


# Each action name a batch is stored under, as the History page shows it. A name not listed here
# (a new action) is shown with its underscores as spaces rather than hidden.
ACTION_WORDS = {
    "ingest": "Ingest",
    "undo": "Undo",
    "redo": "Redo",
    "bulk_label": "Label rows",
    "bulk_suggestion": "Suggest labels",
    "bulk_tag": "Tag rows",
    "bulk_exclude": "Exclude or include rows",
    "schema": "Label questions",
    "auto_label": "Auto-label",
    "auto_label_new_rows": "Auto-label new rows",
    "promote_references": "Auto-label: reference rows",
    "audit": "Label audit",
    "review_label": "Review: label",
    "review_accept": "Review: accept suggestion",
    "review_needs_review": "Review: needs review",
    "review_keep_given": "Review: keep given label",
    "review_exclude": "Review: exclude",
    "issues_auto_fix": "Issues: auto-fix",
    "issues_exclude": "Issues: exclude",
    "issues_set_label": "Issues: set a label",
    "issues_needs_review": "Issues: needs review",
}
UNDO_PREFIX, REDO_PREFIX = "Undo: ", "Redo: "


def describe_action(action: str) -> str:
    """An action's stored name in words: "bulk_exclude" -> "Exclude or include rows"."""
    return ACTION_WORDS.get(action) or action.replace("_", " ").capitalize()


def undo_action(action: str, description: str) -> tuple[str, str]:
    """The action name and description of the batch that undoes one with ``action`` and ``description``.

    Undoing an undo re-applies the original action, so it is a redo ("Redo: Exclude 6 rows", not
    "Undo: Undo: Exclude 6 rows"); undoing that redo is an undo again. However deep the chain, the
    description names the original action once.
    """
    if action not in ("undo", "redo"):
        return "undo", UNDO_PREFIX + description
    original = description.removeprefix(UNDO_PREFIX if action == "undo" else REDO_PREFIX)
    return ("redo", REDO_PREFIX + original) if action == "undo" else ("undo", UNDO_PREFIX + original)


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


def undo_states(batches: Sequence[BatchInfo]) -> dict[str, str]:
    """Each action's state in words, from the undo chain among ``batches`` (a dataset's history): ""
    (never undone), "undone", or "redone" (its Undo was undone, so it holds its changes again; an Undo of
    that Redo takes them away again, and so on down the chain)."""
    undone_by = {b.id: b.undone_by for b in batches}
    states = {}
    for b in batches:
        undos, by = 0, b.undone_by
        while by:
            undos, by = undos + 1, undone_by.get(by)
        states[b.id] = "" if not undos else "undone" if undos % 2 else "redone"
    return states


def standing(store: Store, batch_ids: Sequence[str]) -> set[str]:
    """Those of ``batch_ids`` whose changes stand: never undone, or undone and redone (an undo of the
    undo), and so on. A redo leaves the original's ``undone_by`` set and marks the undo instead, so an
    action stands when the chain of undos after it is of even length."""
    found: set[str] = set()
    with store.connect() as conn:
        for batch_id in batch_ids:
            links, current = 0, batch_id
            while True:
                row = conn.execute("SELECT undone_by FROM batches WHERE id = ?", (current,)).fetchone()
                if row is None:  # not in the history (a batch that changed nothing is not kept)
                    links = -1
                    break
                if row[0] is None:
                    break
                links, current = links + 1, row[0]
            if links >= 0 and links % 2 == 0:
                found.add(batch_id)
    return found


def first_ingest(store: Store, dataset_id: int) -> str | None:
    """The id of the ingest that made the dataset: undone by the trash, not from the history."""
    with store.connect() as conn:
        row = conn.execute(
            "SELECT id FROM batches WHERE dataset_id = ? AND action = 'ingest' ORDER BY created_at, rowid LIMIT 1",
            (dataset_id,),
        ).fetchone()
    return row[0] if row else None


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


def unchanged_since(store: Store, dataset_id: int, *, version: int, stamp: str) -> bool:
    """True when the dataset holds what it held at ``version`` (reached at time ``stamp``) although its
    version moved on: every version since is a batch of changes, and together they changed nothing
    (an action and its undo). A saved run made at ``version`` then still describes the data.

    Conservative: a version bump without a batch of events (rows ingested or embedded), a batch made
    before ``stamp`` but after ``version`` was read, or any change still standing, gives False.
    """
    with store.connect() as conn:
        current = conn.execute("SELECT version FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        if current is None or current[0] == version:
            return current is not None
        batches = conn.execute(
            "SELECT id, action, undone_by FROM batches WHERE dataset_id = ? AND created_at >= ? AND n_events > 0"
            " AND action != 'ingest'",
            (dataset_id, stamp),
        ).fetchall()
        if len(batches) != current[0] - version:  # something other than a batch of changes moved it
            return False
        # Cheap first: a change neither undone nor an undo itself still stands.
        if any(b["undone_by"] is None and b["action"] not in ("undo", "redo") for b in batches):
            return False
        first_old: dict[tuple[int, str], str] = {}
        last_new: dict[tuple[int, str], str] = {}
        ids = [b["id"] for b in batches]
        for row_id, attr, old, new in conn.execute(
            f"SELECT row_id, attr, old, new FROM events WHERE batch_id IN ({','.join('?' * len(ids))}) ORDER BY seq",
            ids,
        ):
            first_old.setdefault((row_id, attr), old)
            last_new[(row_id, attr)] = new
    return all(json.loads(first_old[k]) == json.loads(last_new[k]) for k in last_new)


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
    if kind == "removed":  # an undone append's rows, out of the dataset (kept for an undo of the undo)
        return "removed" if state else "in the dataset"
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
            # Row 0 holds label-schema changes (core/labelschema/): listed as the schema, not a row.
            "SELECT events.row_id, COALESCE(rows.source_id, removed_rows.source_id, '(label schema)'), attr, old,"
            " new FROM events LEFT JOIN rows ON rows.id = events.row_id"
            " LEFT JOIN removed_rows ON removed_rows.id = events.row_id WHERE batch_id = ? ORDER BY seq LIMIT ?",
            (batch_id, limit),
        ).fetchall()
    return [
        {"row": r[0], "id": r[1], "attribute": r[2], "before": json.loads(r[3]), "after": json.loads(r[4])}
        for r in rows
    ]
