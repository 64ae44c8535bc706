"""What the history records of a row, attribute by attribute (a label or suggestion per question, a tag,
excluded, and a label-schema question on row 0): read and write its current state."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from core.store import now, stored_value

LabelState = dict[str, Any] | None  # {"value", "source", "confidence", "model_id"} or None


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
    # A change made here is the batch's (its actor): an imported export's labeled_by no longer applies.
    conn.execute(
        "INSERT INTO labels(row_id, field, value, source, confidence, model_id, batch_id, updated_at)"
        " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(row_id, field) DO UPDATE SET value = excluded.value,"
        " source = excluded.source, confidence = excluded.confidence, model_id = excluded.model_id,"
        " batch_id = excluded.batch_id, updated_at = excluded.updated_at, labeled_by = NULL",
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
    # updated_at is the label's time (the export's labeled_at): a suggestion leaves it as it is.
    conn.execute(
        "INSERT INTO labels(row_id, field, suggested, suggested_confidence, suggested_by)"
        " VALUES(?,?,?,?,?) ON CONFLICT(row_id, field) DO UPDATE SET suggested = excluded.suggested,"
        " suggested_confidence = excluded.suggested_confidence, suggested_by = excluded.suggested_by",
        (row_id, field, *values),
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


def read_removed(conn: sqlite3.Connection, row_id: int) -> bool:
    """True for a row an undone append took out of its dataset (kept in ``removed_rows``)."""
    return conn.execute("SELECT 1 FROM removed_rows WHERE id = ?", (row_id,)).fetchone() is not None


def write_removed(conn: sqlite3.Connection, row_id: int, removed: bool) -> None:
    """Move a row with its labels, tags and saved-search scores out of its dataset or back, ids kept.

    Its vectors follow after the commit (``Workspace._sync_vectors``: the row is in the outbox)."""
    if read_removed(conn, row_id) == removed:
        return
    moves = [
        ("rows", "removed_rows", "id"),
        ("labels", "removed_labels", "row_id"),
        ("tags", "removed_tags", "row_id"),
        ("saved_search_scores", "removed_scores", "row_id"),
    ]
    for live, kept, key in moves:  # the row first, then what references it
        src, dst = (live, kept) if removed else (kept, live)
        conn.execute(f"INSERT INTO {dst} SELECT * FROM {src} WHERE {key} = ?", (row_id,))
    for live, kept, key in reversed(moves):  # what references the row first, then the row
        conn.execute(f"DELETE FROM {live if removed else kept} WHERE {key} = ?", (row_id,))


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
    if attr == "removed":
        return read_removed(conn, row_id)
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
    elif attr == "removed":
        write_removed(conn, row_id, bool(value))
    else:
        raise ValueError(f"unknown attribute {attr}")
