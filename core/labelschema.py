"""A dataset's label schema: the classification questions asked of every row, and its versions.

A question is single-choice (one class per row) or multi-choice (a list of classes per row), required
or optional, and may apply only when a parent question has a given answer (a sub-question). Class
names may be hierarchical, ``"Shoes > Running > Red"``: the parent of a class is its name up to the
last separator, and metrics roll up to any depth (:func:`roll_up`).

The first question, ``label``, comes from the upload's label column. Every schema change (a new
question, renamed / merged / split classes) is one undoable batch in the history: the question's
definition is recorded like a row attribute, and the labels it migrates are ordinary label events in
the same batch, so undo restores both together, in any order (core.history.revert_question). The
schema's version is 1 plus the number of batches that changed it (undo included); exports name the
version they follow.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.errors import ConflictError, InputError, NotFoundError
from core.history import read_question
from core.review import NEEDS_REVIEW
from core.store import DEFAULT_LABEL_FIELD, Store, as_classes, stored_value
from core.workspace import Workspace

SEPARATOR = " > "
MULTI_SEPARATOR = "|"
MAX_QUESTIONS = 20


class Kind(StrEnum):
    SINGLE = "single"  # one class per row (multi-class)
    MULTI = "multi"  # any number of classes per row (multi-label)


@dataclass(frozen=True)
class Question:
    name: str
    kind: Kind
    classes: tuple[str, ...]
    required: bool = False
    parent: tuple[str, str] | None = None  # (question, answer): asked only when that answer is chosen
    description: str = ""
    position: int = 0

    @property
    def hierarchical(self) -> bool:
        return any(SEPARATOR in c for c in self.classes)

    @property
    def nodes(self) -> list[str]:
        """The classes and every ancestor they imply ("Shoes" for "Shoes > Trail"), parents first."""
        out: dict[str, None] = {}
        for c in self.classes:
            parts = c.split(SEPARATOR)
            for depth in range(1, len(parts) + 1):
                out[SEPARATOR.join(parts[:depth])] = None
        return list(out)

    def spec(self) -> dict[str, Any]:
        """What the history stores (and undo restores) for this question."""
        return {
            "kind": str(self.kind),
            "classes": list(self.classes),
            "required": self.required,
            "parent": list(self.parent) if self.parent else None,
            "description": self.description,
            "position": self.position,
        }

    @classmethod
    def from_spec(cls, name: str, spec: dict[str, Any]) -> Question:
        parent = spec.get("parent")
        return cls(
            name=name,
            kind=Kind(spec.get("kind", Kind.SINGLE)),
            classes=tuple(spec.get("classes", [])),
            required=bool(spec.get("required", name == DEFAULT_LABEL_FIELD)),
            parent=(parent[0], parent[1]) if parent else None,
            description=spec.get("description", ""),
            position=int(spec.get("position", 0)),
        )

    def applies(self, answers: dict[str, Any]) -> bool:
        """Whether a row with these answers (question -> value or list) is asked this question."""
        if self.parent is None:
            return True
        value = answers.get(self.parent[0])
        chosen = value if isinstance(value, list) else [value]
        return self.parent[1] in chosen

    def check_value(self, value: str | list[str] | None) -> str | list[str] | None:
        """A value this question can hold (multi: a sorted list without repeats); raises InputError."""
        if value is None:
            return None
        if self.kind is Kind.MULTI:
            values = parse_multi(value) if isinstance(value, str) else [str(v).strip() for v in value]
            values = sorted({v for v in values if v})
            return values or None
        if not isinstance(value, str):
            raise InputError(f"'{self.name}' takes one class, not a list.")
        return value.strip() or None


@dataclass(frozen=True)
class LabelSchema:
    dataset_id: int
    version: int
    questions: tuple[Question, ...]

    def question(self, name: str) -> Question:
        for q in self.questions:
            if q.name == name:
                return q
        raise NotFoundError(f"No question '{name}' in this dataset's label schema.")

    @property
    def names(self) -> list[str]:
        return [q.name for q in self.questions]

    def to_dict(self) -> dict[str, Any]:
        """For export manifests: the version and every question."""
        return {"version": self.version, "questions": {q.name: q.spec() for q in self.questions}}


@dataclass(frozen=True)
class SchemaVersion:
    version: int
    batch_id: str | None  # None: the schema the upload created
    description: str
    created_at: str
    undone: bool


@dataclass(frozen=True)
class Migration:
    batch_id: str
    rows_changed: int
    version: int


# ---- reading -----------------------------------------------------------------------------------------


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


# ---- values --------------------------------------------------------------------------------------------


def parse_multi(value: Any) -> list[str]:
    """A multi-label cell: a JSON list (``["a", "b"]``) or names joined by ``|``."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v).strip() for v in parsed if str(v).strip()]
    return [v.strip() for v in text.split(MULTI_SEPARATOR) if v.strip()]


def looks_multi(values: Iterable[Any]) -> bool:
    """Whether a label column holds several classes per row: JSON lists, or ``a|b`` in at least 5% of the
    labeled rows (a class name with a ``|`` now and then is not enough)."""
    labeled = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not labeled:
        return False
    lists = sum(v.startswith("[") and isinstance(_json_list(v), list) for v in labeled)
    piped = sum(MULTI_SEPARATOR in v for v in labeled)
    return lists / len(labeled) >= 0.5 or piped / len(labeled) >= 0.05


def _json_list(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def parent_of(name: str) -> str | None:
    """``"Shoes > Running > Red"`` -> ``"Shoes > Running"``; a top-level class has no parent."""
    head, sep, _ = name.rpartition(SEPARATOR)
    return head if sep else None


def at_depth(name: str | None, depth: int) -> str | None:
    """The ancestor of ``name`` at ``depth`` (1 = top level); a shallower name is returned as it is."""
    if name is None:
        return None
    return SEPARATOR.join(name.split(SEPARATOR)[:depth])


def roll_up(values: Sequence[str | None], depth: int = 1) -> Counter[str]:
    """Counts per ancestor at ``depth`` (unlabeled rows left out)."""
    return Counter(v for v in (at_depth(x, depth) for x in values) if v is not None)


def roll_up_accuracy(truth: Sequence[str], predicted: Sequence[str], depth: int = 1) -> dict[str, dict[str, float]]:
    """Per ancestor at ``depth`` (of the true class): rows, accuracy of the exact class and accuracy at that
    level (a "Shoes > Running" row predicted "Shoes > Trail" is wrong exactly, right at depth 1)."""
    out: dict[str, dict[str, float]] = {}
    groups: dict[str, list[tuple[str, str]]] = {}
    for t, p in zip(truth, predicted, strict=True):
        groups.setdefault(at_depth(t, depth) or "", []).append((t, p))
    for parent, pairs in sorted(groups.items()):
        out[parent] = {
            "rows": len(pairs),
            "exact": sum(t == p for t, p in pairs) / len(pairs),
            "rolled_up": sum(at_depth(p, depth) == parent for _, p in pairs) / len(pairs),
        }
    return out


# ---- changes (each one undoable batch) -------------------------------------------------------------------


def add_question(
    ws: Workspace,
    dataset_id: int,
    name: str,
    *,
    kind: Kind | str = Kind.SINGLE,
    classes: Sequence[str] = (),
    required: bool = False,
    parent: tuple[str, str] | None = None,
    description: str = "",
) -> Migration:
    name = name.strip()
    schema = label_schema(ws.store, dataset_id)
    if not name or any(c in name for c in ":[]"):
        raise InputError("A question needs a name without ':', '[' or ']'.")
    if name in schema.names:
        raise ConflictError(f"There is already a question named '{name}'.")
    if len(schema.questions) >= MAX_QUESTIONS:
        raise InputError(f"A schema holds at most {MAX_QUESTIONS} questions.")
    classes = _clean_classes(classes)
    if parent is not None and parent[1] not in schema.question(parent[0]).classes:
        raise InputError(f"'{parent[1]}' is not a class of '{parent[0]}'.")
    question = Question(
        name,
        Kind(kind),
        tuple(classes),
        required=required,
        parent=parent,
        description=description.strip(),
        position=max((q.position for q in schema.questions), default=0) + 1,
    )
    with ws.batch(dataset_id, action="schema", description=f"Add question '{name}' ({Kind(kind)}-choice)") as b:
        b.set_question(name, question.spec())
    return Migration(b.id, 0, schema.version + 1)


def update_question(
    ws: Workspace,
    dataset_id: int,
    name: str,
    *,
    required: bool | None = None,
    description: str | None = None,
    add_classes: Sequence[str] = (),
) -> Migration | None:
    """Change a question's settings or add classes (no label changes); None when nothing changed."""
    q = label_schema(ws.store, dataset_id).question(name)
    spec = q.spec()
    if required is not None:
        spec["required"] = required
    if description is not None:
        spec["description"] = description.strip()
    spec["classes"] = list(q.classes) + [c for c in _clean_classes(add_classes) if c not in q.classes]
    if spec == q.spec():
        return None
    with ws.batch(dataset_id, action="schema", description=f"Edit question '{name}'") as b:
        b.set_question(name, spec)
    return Migration(b.id, 0, schema_version(ws.store, dataset_id))


def rename_class(ws: Workspace, dataset_id: int, question: str, old: str, new: str) -> Migration:
    """Rename a class or a parent in the hierarchy (with its descendants); its rows follow."""
    new = new.strip()
    q = label_schema(ws.store, dataset_id).question(question)
    if old not in q.nodes:
        raise NotFoundError(f"'{old}' is not a class of '{question}'.")
    if not new:
        raise InputError("The new name is empty.")
    if new in q.nodes:
        raise ConflictError(f"'{new}' is already a class of '{question}': merge the two instead.")
    renamed = {c: new + c[len(old) :] for c in q.classes if c == old or c.startswith(old + SEPARATOR)}
    return _migrate(ws, dataset_id, q, renamed, f"Rename '{old}' to '{new}' in '{question}'")


def merge_classes(ws: Workspace, dataset_id: int, question: str, sources: Sequence[str], into: str) -> Migration:
    """Every row of the ``sources`` classes takes ``into`` (an existing or a new class)."""
    into = into.strip()
    q = label_schema(ws.store, dataset_id).question(question)
    sources = [s for s in dict.fromkeys(sources) if s != into]
    if not into:
        raise InputError("Name the class to merge into.")
    if not sources:
        raise InputError("Choose at least one class to merge.")
    for s in sources:
        _known_class(ws, dataset_id, question, s)
    names = ", ".join(f"'{s}'" for s in sources)
    return _migrate(ws, dataset_id, q, dict.fromkeys(sources, into), f"Merge {names} into '{into}' in '{question}'")


def split_class(
    ws: Workspace,
    dataset_id: int,
    question: str,
    old: str,
    parts: Sequence[str],
    *,
    rows_go_to: str | None = None,
    mark_for_review: bool = True,
) -> Migration:
    """Replace a class with several. Its rows cannot be sorted without a person or a model, so they go to
    ``rows_go_to`` (default: the first part) and are tagged needs-review, for the review queue and the
    wizard to sort out (a decision recorded in docs/decisions.md)."""
    q = _known_class(ws, dataset_id, question, old)
    parts = [p for p in dict.fromkeys(_clean_classes(parts))]
    if len(parts) < 2:
        raise InputError("A split needs at least two new classes.")
    clash = [p for p in parts if p in q.classes and p != old]
    if clash:
        raise ConflictError(f"{', '.join(clash)} already exist in '{question}': merge into them instead.")
    target = rows_go_to or parts[0]
    if target not in parts:
        raise InputError(f"'{target}' is not one of the new classes.")
    return _migrate(
        ws,
        dataset_id,
        q,
        {old: target},
        f"Split '{old}' into {', '.join(repr(p) for p in parts)} in '{question}'",
        extra_classes=parts,
        review_tag=mark_for_review,
    )


def _known_class(ws: Workspace, dataset_id: int, question: str, name: str) -> Question:
    q = label_schema(ws.store, dataset_id).question(question)
    if name not in q.classes:
        raise NotFoundError(f"'{name}' is not a class of '{question}'.")
    return q


def _clean_classes(classes: Iterable[str]) -> list[str]:
    out = []
    for c in classes:
        c = SEPARATOR.join(part.strip() for part in str(c).split(">")).strip()
        if c and c not in out:
            out.append(c)
    return out


def _migrate(
    ws: Workspace,
    dataset_id: int,
    q: Question,
    mapping: dict[str, str],
    description: str,
    *,
    extra_classes: Sequence[str] = (),
    review_tag: bool = False,
) -> Migration:
    """One batch: the question's new class list, then every label and suggestion mapped."""

    def change(value: Any) -> Any:
        if isinstance(value, list):
            return sorted({mapping.get(v, v) for v in value})
        return mapping.get(value, value)

    classes: list[str] = []
    for c in q.classes:
        if c in mapping:
            c = mapping[c]
            if c not in extra_classes:
                classes.append(c)
            continue
        classes.append(c)
    for c in extra_classes:
        classes.append(c)
    spec = {**q.spec(), "classes": list(dict.fromkeys(classes))}
    # Sub-questions asked when a renamed or merged class is chosen follow the new name.
    children = [
        (c.name, {**c.spec(), "parent": [q.name, mapping[c.parent[1]]]})
        for c in label_schema(ws.store, dataset_id).questions
        if c.parent and c.parent[0] == q.name and c.parent[1] in mapping
    ]
    # Each class taken out went to its new name, its merge target or (a split) all of the parts.
    moved = {c: list(extra_classes) or [t] for c, t in mapping.items() if c not in spec["classes"]}
    with ws.batch(dataset_id, action="schema", description=description) as b:
        b.set_question(q.name, spec, moved=moved)
        for name, child in children:
            b.set_question(name, child)
        changed = b.map_labels(q.name, change)
        if review_tag and changed:
            b.set_tag(changed, NEEDS_REVIEW)
    return Migration(b.id, len(changed), schema_version(ws.store, dataset_id))
