"""Read a dataset's label schema from the store: its questions, its version and every earlier one,
rows per class, and how far each question is answered (a sub-question only where it is asked)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

from core.history import read_question
from core.labelschema.questions import LabelSchema, Question, SchemaVersion
from core.store import DEFAULT_LABEL_FIELD, Store, as_classes, stored_value


def label_schema(store: Store, dataset_id: int) -> LabelSchema:
    with store.connect() as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM label_fields WHERE dataset_id = ?", (dataset_id,))]
        questions = [Question.from_spec(n, read_question(conn, dataset_id, n) or {}) for n in names]
    questions.sort(key=lambda q: (q.name != DEFAULT_LABEL_FIELD, q.position, q.name))
    return LabelSchema(dataset_id, schema_version(store, dataset_id), tuple(questions))


def schema_version(store: Store, dataset_id: int) -> int:
    with store.connect() as conn:
        return 1 + conn.execute(f"SELECT COUNT(*) FROM ({_SCHEMA_BATCHES})", _args(dataset_id)).fetchone()[0]


# Batches of one dataset with a schema event (events on row 0: a partial index finds them).
_SCHEMA_BATCHES = (
    "SELECT batches.* FROM batches WHERE batches.dataset_id = ? AND batches.id IN"
    " (SELECT batch_id FROM events WHERE row_id = 0 AND attr LIKE ?)"
)


def _args(dataset_id: int) -> tuple[int, str]:
    return dataset_id, f"schema:{dataset_id}:%"


def schema_versions(store: Store, dataset_id: int) -> list[SchemaVersion]:
    """Every version, oldest first: the upload's, then one per schema-changing batch."""
    with store.connect() as conn:
        created = conn.execute("SELECT created_at FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        batches = conn.execute(_SCHEMA_BATCHES + " ORDER BY created_at, rowid", _args(dataset_id)).fetchall()
    out = [SchemaVersion(1, None, "Created from the upload", created[0] if created else "", False)]
    for i, b in enumerate(batches, start=2):
        out.append(SchemaVersion(i, b["id"], b["description"], b["created_at"], bool(b["undone_by"])))
    return out


def answer_counts(store: Store, dataset_id: int, question: str) -> tuple[Counter[str], int]:
    """Rows per class for one question (a multi-choice row counts once per class it has), and how
    many rows have an answer at all."""
    counts: Counter[str] = Counter()
    answered = 0
    with store.connect() as conn:
        for value, n in conn.execute(
            "SELECT labels.value, COUNT(*) FROM labels JOIN rows ON rows.id = labels.row_id"
            " WHERE rows.dataset_id = ? AND labels.field = ? AND labels.value IS NOT NULL GROUP BY labels.value",
            (dataset_id, question),
        ):
            answered += n
            for c in as_classes(stored_value(value)):
                counts[c] += n
    return counts, answered


@dataclass(frozen=True)
class QuestionStatus:
    """How far one question is answered: of the rows it is asked of, how many have an answer, how many
    have none and are excluded, and how many are still open."""

    asked: int
    answered: int
    excluded: int

    @property
    def unanswered(self) -> int:
        return self.asked - self.answered - self.excluded


def question_status(store: Store, dataset_id: int, question: Question) -> QuestionStatus:
    """Counts for ``question`` (a sub-question is asked only where its parent's answer holds)."""
    with store.connect() as conn:
        asked = asked_rows(conn, dataset_id, question)
        answers = {
            row_id: excluded
            for row_id, excluded in conn.execute(
                "SELECT rows.id, rows.excluded FROM labels JOIN rows ON rows.id = labels.row_id"
                " WHERE rows.dataset_id = ? AND labels.field = ? AND labels.value IS NOT NULL",
                (dataset_id, question.name),
            )
        }
        if asked is None:
            n_asked, n_excluded = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(excluded), 0) FROM rows WHERE dataset_id = ?", (dataset_id,)
            ).fetchone()
            n_excluded -= sum(1 for excluded in answers.values() if excluded)
        else:
            excluded_rows = {
                r[0] for r in conn.execute("SELECT id FROM rows WHERE dataset_id = ? AND excluded", (dataset_id,))
            }
            n_asked = len(asked)
            n_excluded = len((asked - answers.keys()) & excluded_rows)
    answered = len(answers) if asked is None else len(answers.keys() & asked)
    return QuestionStatus(asked=n_asked, answered=answered, excluded=n_excluded)


def asked_rows(conn: sqlite3.Connection, dataset_id: int, question: Question) -> set[int] | None:
    """Rows a sub-question applies to (its parent's answer holds, inside a multi-label list too), read
    on ``conn`` (an open batch sees its own answers); None: the question is asked of every row."""
    if question.parent is None:
        return None
    parent, answer = question.parent
    return {
        r[0]
        for r in conn.execute(
            "SELECT labels.row_id FROM labels JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ?"
            " AND labels.field = ? AND (labels.value = ? OR (labels.value LIKE '[%' AND EXISTS"
            " (SELECT 1 FROM json_each(labels.value) WHERE json_each.value = ?)))",
            (dataset_id, parent, answer, answer),
        )
    }
