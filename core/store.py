"""The workspace database: datasets, rows, labels, tags, jobs and the append-only history.

SQLite is the one source of truth for everything but vectors (see docs/decisions.md): it gives
atomic multi-row transactions, which is what makes a bulk action all-or-nothing after a kill -9
and an undo exact. ChromaDB holds the vectors plus a derived copy of a few filter fields, kept
in step through the ``mirror_pending`` outbox written in the same transaction as the change.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from core.errors import ConflictError, InputError, NotFoundError

SCHEMA_VERSION = 1
DEFAULT_LABEL_FIELD = "label"
# SQLite's limit on bound variables is 32766 here; stay far below for IN (...) lists.
CHUNK = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS datasets(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    modality TEXT NOT NULL,
    embedding_model TEXT NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    info_json TEXT NOT NULL DEFAULT '{}'
);
-- One classification question per row of this table; the first is "label". Kind "multi" stores a
-- JSON list as the value; class names may be hierarchical ("Shoes > Running").
CREATE TABLE IF NOT EXISTS label_fields(
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'single',
    classes_json TEXT NOT NULL DEFAULT '[]',
    spec_json TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY(dataset_id, name)
);
CREATE TABLE IF NOT EXISTS rows(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    source_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    modality TEXT NOT NULL,
    text TEXT,
    image_path TEXT,
    fields_json TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    excluded INTEGER NOT NULL DEFAULT 0,
    job_id INTEGER,
    embedded INTEGER NOT NULL DEFAULT 0,
    problem TEXT,
    thumb BLOB,
    UNIQUE(dataset_id, source_id)
);
CREATE INDEX IF NOT EXISTS rows_pending ON rows(job_id, embedded);
CREATE INDEX IF NOT EXISTS rows_dataset ON rows(dataset_id, position);
CREATE INDEX IF NOT EXISTS rows_hash ON rows(dataset_id, content_hash);
CREATE INDEX IF NOT EXISTS rows_excluded ON rows(dataset_id, excluded);
CREATE TABLE IF NOT EXISTS labels(
    row_id INTEGER NOT NULL REFERENCES rows(id),
    field TEXT NOT NULL,
    given TEXT,
    value TEXT,
    source TEXT,
    confidence REAL,
    model_id TEXT,
    batch_id TEXT,
    updated_at TEXT,
    suggested TEXT,
    suggested_confidence REAL,
    suggested_by TEXT,
    PRIMARY KEY(row_id, field)
);
CREATE INDEX IF NOT EXISTS labels_value ON labels(field, value);
CREATE TABLE IF NOT EXISTS tags(
    row_id INTEGER NOT NULL REFERENCES rows(id),
    tag TEXT NOT NULL,
    PRIMARY KEY(row_id, tag)
);
CREATE TABLE IF NOT EXISTS batches(
    id TEXT PRIMARY KEY,
    dataset_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    description TEXT NOT NULL,
    actor TEXT,
    created_at TEXT NOT NULL,
    n_events INTEGER NOT NULL DEFAULT 0,
    undoes TEXT,
    undone_by TEXT
);
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id TEXT NOT NULL REFERENCES batches(id),
    row_id INTEGER NOT NULL,
    attr TEXT NOT NULL,
    old TEXT,
    new TEXT
);
CREATE INDEX IF NOT EXISTS events_batch ON events(batch_id);
-- Label-schema changes are events on row 0 (core/labelschema.py): few, found without a scan.
CREATE INDEX IF NOT EXISTS events_schema ON events(batch_id) WHERE row_id = 0;
CREATE TABLE IF NOT EXISTS jobs(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    message TEXT,
    batch_id TEXT
);
CREATE TABLE IF NOT EXISTS mirror_pending(row_id INTEGER PRIMARY KEY);
-- Saved searches (core/saved.py): a query vector + threshold, and every row's score against it.
CREATE TABLE IF NOT EXISTS saved_searches(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    space TEXT NOT NULL,
    vector BLOB NOT NULL,
    threshold REAL NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE(dataset_id, name)
);
-- Saved runs (core/runs.py): a model's output over a dataset; arrays live in runs/<id>.npz.
CREATE TABLE IF NOT EXISTS runs(
    id TEXT PRIMARY KEY,
    dataset_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    dataset_version INTEGER NOT NULL,
    settings_json TEXT NOT NULL,
    summary_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- Audits (core/audit.py): a person's verdict on an auto label (of one question of the label schema),
-- to measure the promised precision.
CREATE TABLE IF NOT EXISTS audits(
    dataset_id INTEGER NOT NULL,
    row_id INTEGER NOT NULL,
    field TEXT NOT NULL DEFAULT 'label',
    predicted TEXT NOT NULL,
    model_id TEXT,
    correct INTEGER NOT NULL,
    corrected_to TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY(dataset_id, row_id, field)
);
CREATE TABLE IF NOT EXISTS saved_search_scores(
    search_id INTEGER NOT NULL,
    row_id INTEGER NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY(search_id, row_id)
);
"""


# Made after the older workspaces' upgrade (``_add_missing_columns``), so they copy every column.
_ARCHIVE = """
-- Rows an undone append took out (core/history/state.py, attribute "removed"), kept whole so that undoing
-- the undo brings them back with the same ids, labels, tags, saved-search scores and vectors. Nothing reads
-- them but that: every listing, count, search and export sees only the table "rows".
CREATE TABLE IF NOT EXISTS removed_rows AS SELECT * FROM rows WHERE 0;
CREATE TABLE IF NOT EXISTS removed_labels AS SELECT * FROM labels WHERE 0;
CREATE TABLE IF NOT EXISTS removed_tags AS SELECT * FROM tags WHERE 0;
CREATE TABLE IF NOT EXISTS removed_scores AS SELECT * FROM saved_search_scores WHERE 0;
CREATE INDEX IF NOT EXISTS removed_rows_id ON removed_rows(id);
CREATE INDEX IF NOT EXISTS removed_labels_row ON removed_labels(row_id);
CREATE INDEX IF NOT EXISTS removed_tags_row ON removed_tags(row_id);
CREATE INDEX IF NOT EXISTS removed_scores_row ON removed_scores(row_id);
CREATE TABLE IF NOT EXISTS removed_vectors(row_id INTEGER NOT NULL, space TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY(row_id, space));
"""


class LabelSource(StrEnum):
    ORIGINAL = "original"
    HUMAN = "human"
    AUTO = "auto"
    SUGGESTION_ACCEPTED = "suggestion_accepted"
    BULK = "bulk"


# Model id prefix of the labels the Issues page's auto-fix writes (source "auto", model id
# "label-issues:<run id>"): model-made like the wizard's auto labels, but from another model, so the
# wizard's figures and its audit leave them out; they have an audit of their own (core/audit.py,
# AuditedLabels.ISSUE_FIXES; docs/decisions.md, "Label-issue detection").
ISSUE_FIX_MODEL = "label-issues:"


class JobStatus(StrEnum):
    EMBEDDING = "embedding"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    modality: str
    embedding_model: str
    created_at: str
    version: int
    info: dict[str, Any]
    deleted_at: str | None = None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def chunked(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stored_value(text: str | None) -> str | list[str] | None:
    """A stored label or suggestion as the program uses it: a multi-label answer is kept as a sorted
    JSON list (``'["a", "b"]'``) and comes back as a list; a single class comes back as it is."""
    return json.loads(text) if text is not None and text.startswith("[") else text


def as_classes(value: str | list[str] | None) -> list[str]:
    """The classes of a (decoded) label: a multi-label list, one class, or none."""
    return value if isinstance(value, list) else [] if value is None else [value]


def normalize_label(value: Any) -> str | None:
    """Empty, '-', NaN and None mean unlabeled; anything else is the label text, stripped."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = str(value).strip()
    return None if text in {"", "-", "nan", "NaN", "NAN", "<NA>"} else text


class Store:
    """All durable state of one workspace, in one SQLite file opened per operation.

    A connection per operation (cheap for SQLite) keeps the object safe to share between
    Streamlit sessions, which run in different threads.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            _add_missing_columns(conn)
            conn.executescript(_ARCHIVE)
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
            if _audits_keyed_by_row(conn):
                with self.transaction() as upgrade:
                    _audits_per_question(upgrade)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: either everything inside is stored or nothing is."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- datasets -------------------------------------------------------------------------

    def create_dataset(
        self,
        conn: sqlite3.Connection,
        name: str,
        *,
        modality: str,
        embedding_model: str,
        info: dict[str, Any] | None = None,
    ) -> int:
        name = name.strip()
        if not name:
            raise InputError("Give the dataset a name.")
        if len(name) > 100:
            raise InputError("Dataset names are at most 100 characters.")
        taken = conn.execute("SELECT deleted_at FROM datasets WHERE name = ?", (name,)).fetchone()
        if taken is not None:
            where = " (it is in the trash: restore it or pick another name)" if taken[0] else ""
            raise ConflictError(f"A dataset named '{name}' already exists{where}.")
        cur = conn.execute(
            "INSERT INTO datasets(name, modality, embedding_model, created_at, info_json) VALUES(?,?,?,?,?)",
            (name, modality, embedding_model, now(), json.dumps(info or {})),
        )
        dataset_id = int(cur.lastrowid)
        conn.execute(
            "INSERT INTO label_fields(dataset_id, name, kind) VALUES(?, ?, 'single')",
            (dataset_id, DEFAULT_LABEL_FIELD),
        )
        return dataset_id

    def datasets(self, *, include_deleted: bool = False) -> list[Dataset]:
        sql = "SELECT * FROM datasets" + ("" if include_deleted else " WHERE deleted_at IS NULL")
        with self.connect() as conn:
            return [_dataset(r) for r in conn.execute(sql + " ORDER BY id")]

    def dataset(self, key: int | str) -> Dataset:
        column = "id" if isinstance(key, int) else "name"
        with self.connect() as conn:
            row = conn.execute(f"SELECT * FROM datasets WHERE {column} = ?", (key,)).fetchone()
        if row is None:
            raise NotFoundError(f"No dataset '{key}' in this workspace.")
        return _dataset(row)

    def set_deleted(self, dataset_id: int, deleted: bool) -> None:
        """Move a dataset to the trash or back; nothing is erased."""
        with self.transaction() as conn:
            conn.execute("UPDATE datasets SET deleted_at = ? WHERE id = ?", (now() if deleted else None, dataset_id))

    def update_info(self, conn: sqlite3.Connection, dataset_id: int, **info: Any) -> None:
        row = conn.execute("SELECT info_json FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        merged = {**json.loads(row[0]), **info}
        conn.execute("UPDATE datasets SET info_json = ? WHERE id = ?", (json.dumps(merged), dataset_id))

    def image_root(self, dataset_id: int) -> Path | None:
        """The folder an image dataset's paths are read relative to (where its class folders are), or
        None for a text dataset. Stored at ingest; for older datasets, the deepest folder holding every
        image's folder."""
        dataset = self.dataset(dataset_id)
        if dataset.modality != "image":
            return None
        if dataset.info.get("image_root"):
            return Path(dataset.info["image_root"])
        with self.connect() as conn:
            folders = {
                str(Path(r[0]).parent)
                for r in conn.execute(
                    "SELECT DISTINCT image_path FROM rows WHERE dataset_id = ? AND image_path IS NOT NULL",
                    (dataset_id,),
                )
            }
        return Path(os.path.commonpath(sorted(folders))) if folders else None

    def problem_rows(self, dataset_id: int, *, job_id: int | None = None, limit: int = 5) -> tuple[list[dict], int]:
        """The first ``limit`` rows that could not be embedded (unreadable image, empty text), in
        dataset order, with their source id, image path and problem, and how many there are in all."""
        where = "dataset_id = ? AND problem IS NOT NULL" + (" AND job_id = ?" if job_id is not None else "")
        args = [dataset_id] + ([job_id] if job_id is not None else [])
        with self.connect() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM rows WHERE {where}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT id, source_id, image_path, problem FROM rows WHERE {where} ORDER BY position LIMIT ?",
                [*args, limit],
            ).fetchall()
        return [dict(r) for r in rows], total

    def set_classes(self, conn: sqlite3.Connection, dataset_id: int, field: str, classes: Iterable[str]) -> None:
        row = conn.execute(
            "SELECT classes_json FROM label_fields WHERE dataset_id = ? AND name = ?", (dataset_id, field)
        ).fetchone()
        known = json.loads(row[0]) if row else []
        merged = known + sorted(set(classes) - set(known))
        conn.execute(
            "UPDATE label_fields SET classes_json = ? WHERE dataset_id = ? AND name = ?",
            (json.dumps(merged), dataset_id, field),
        )

    def add_class(self, conn: sqlite3.Connection, dataset_id: int, field: str, name: str) -> None:
        """A class typed in by a user joins the field's class list (kept in first-seen order)."""
        self.set_classes(conn, dataset_id, field, [name])

    def classes(self, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> list[str]:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT classes_json FROM label_fields WHERE dataset_id = ? AND name = ?", (dataset_id, field)
            ).fetchone()
        return json.loads(row[0]) if row else []

    # -- rows -----------------------------------------------------------------------------

    def insert_rows(self, conn: sqlite3.Connection, dataset_id: int, job_id: int, rows: list[dict]) -> None:
        """Insert parsed rows (one transaction, owned by the caller) with their given labels."""
        start = conn.execute(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM rows WHERE dataset_id = ?", (dataset_id,)
        ).fetchone()[0]
        # New rows change every count and row list derived from the dataset (Workspace.derived).
        conn.execute("UPDATE datasets SET version = version + 1 WHERE id = ?", (dataset_id,))
        stamp = now()
        for offset, row in enumerate(rows):
            try:
                cur = conn.execute(
                    "INSERT INTO rows(dataset_id, source_id, position, modality, text, image_path, fields_json,"
                    " content_hash, job_id, problem) VALUES(?,?,?,?,?,?,?,?,?,?)",
                    (
                        dataset_id,
                        row["source_id"],
                        start + offset,
                        row["modality"],
                        row.get("text"),
                        row.get("image_path"),
                        json.dumps(row["fields"], ensure_ascii=False),
                        row["content_hash"],
                        job_id,
                        row.get("problem"),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(
                    f"Row id '{row['source_id']}' appears twice (or already exists in this dataset); "
                    "ids must be unique. Pick another id column or none."
                ) from exc
            for field, value in (row.get("answers") or {}).items():  # further questions (core/labelschema.py)
                if value is not None:
                    stored = json.dumps(sorted(value)) if isinstance(value, list) else value
                    conn.execute(
                        "INSERT INTO labels(row_id, field, given, value, source, updated_at) VALUES(?,?,?,?,?,?)",
                        (cur.lastrowid, field, stored, stored, LabelSource.ORIGINAL, stamp),
                    )
            label = row.get("label")
            if isinstance(label, list):  # multi-label: stored as a sorted JSON list (core/history.py)
                label = json.dumps(sorted(label))
            curation = row.get("curation")
            if curation is not None:  # a Curator export: its provenance, as it was
                _restore_curation(conn, cur.lastrowid, label, curation, stamp)
            elif label is not None:
                conn.execute(
                    "INSERT INTO labels(row_id, field, given, value, source, updated_at) VALUES(?,?,?,?,?,?)",
                    (cur.lastrowid, DEFAULT_LABEL_FIELD, label, label, LabelSource.ORIGINAL, stamp),
                )

    def counts(self, dataset_id: int) -> dict[str, int]:
        """Row counts a status line needs: total, embedded, labeled, excluded, problems, tagged."""
        with self.connect() as conn:
            total, embedded, excluded, problems = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(embedded = 1), 0), COALESCE(SUM(excluded), 0),"
                " COALESCE(SUM(problem IS NOT NULL), 0) FROM rows WHERE dataset_id = ?",
                (dataset_id,),
            ).fetchone()
            labeled = conn.execute(
                "SELECT COUNT(*) FROM labels JOIN rows ON rows.id = labels.row_id"
                " WHERE rows.dataset_id = ? AND labels.field = ? AND labels.value IS NOT NULL",
                (dataset_id, DEFAULT_LABEL_FIELD),
            ).fetchone()[0]
            needs_review = conn.execute(
                "SELECT COUNT(*) FROM tags JOIN rows ON rows.id = tags.row_id"
                " WHERE rows.dataset_id = ? AND tags.tag = 'needs-review'",
                (dataset_id,),
            ).fetchone()[0]
        return {
            "rows": total,
            "embedded": embedded,
            "labeled": labeled,
            "unlabeled": total - labeled,
            "excluded": excluded,
            "problems": problems,
            "needs_review": needs_review,
        }

    def label_distribution(self, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> dict[str, int]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT labels.value, COUNT(*) FROM labels JOIN rows ON rows.id = labels.row_id"
                " WHERE rows.dataset_id = ? AND labels.field = ? AND labels.value IS NOT NULL"
                " GROUP BY labels.value ORDER BY COUNT(*) DESC",
                (dataset_id, field),
            ).fetchall()
        counts: dict[str, int] = {}
        for value, n in rows:  # a multi-label row counts once for each of its classes
            for name in as_classes(stored_value(value)):
                counts[name] = counts.get(name, 0) + n
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def rows_page(
        self,
        dataset_id: int,
        *,
        offset: int = 0,
        limit: int = 100,
        label: str | None = None,
        unlabeled_only: bool = False,
        contains: str | None = None,
        not_embedded: bool = False,
        total: int | None = None,
        field: str = DEFAULT_LABEL_FIELD,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of rows with their current state for the question ``field``, and how many rows
        match in all (``total``: a count the caller already knows, e.g. cached, so paging does not
        count again)."""
        sql_from, args = _page_filter(dataset_id, label, unlabeled_only, contains, field, not_embedded)
        with self.connect() as conn:
            if total is None:
                total = conn.execute("SELECT COUNT(*)" + sql_from, args).fetchone()[0]
            page = conn.execute(
                "SELECT rows.id, rows.source_id, rows.position, rows.modality, rows.text, rows.image_path,"
                " rows.fields_json, rows.excluded, rows.embedded, rows.problem, rows.thumb,"
                " labels.given, labels.value AS label, labels.source AS label_source, labels.confidence,"
                " labels.suggested, labels.suggested_confidence,"
                " (SELECT group_concat(tag, ', ') FROM tags WHERE tags.row_id = rows.id) AS tags"
                + sql_from
                + " ORDER BY rows.position LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [dict(r) for r in page], total

    def count_rows(
        self,
        dataset_id: int,
        *,
        label: str | None = None,
        unlabeled_only: bool = False,
        contains: str | None = None,
        not_embedded: bool = False,
        field: str = DEFAULT_LABEL_FIELD,
    ) -> int:
        """How many rows :meth:`rows_page` pages through with these filters."""
        sql_from, args = _page_filter(dataset_id, label, unlabeled_only, contains, field, not_embedded)
        with self.connect() as conn:
            return conn.execute("SELECT COUNT(*)" + sql_from, args).fetchone()[0]

    def source_id(self, row_id: int) -> str:
        """The row's id in its source file (what people know it by; ``row_id`` is internal)."""
        with self.connect() as conn:
            found = conn.execute("SELECT source_id FROM rows WHERE id = ?", (row_id,)).fetchone()
        return found[0] if found else str(row_id)

    def rows_by_ids(self, row_ids: Sequence[int], field: str = DEFAULT_LABEL_FIELD) -> list[dict[str, Any]]:
        """Rows with their current label state for the question ``field``, in the order of ``row_ids``."""
        found: dict[int, dict[str, Any]] = {}
        with self.connect() as conn:
            for part in chunked(list(row_ids)):
                marks = ",".join("?" * len(part))
                for r in conn.execute(
                    "SELECT rows.id, rows.source_id, rows.text, rows.image_path, rows.thumb, rows.excluded,"
                    " rows.problem, labels.value AS label, labels.source AS label_source, labels.suggested,"
                    " (SELECT group_concat(tag, ', ') FROM tags WHERE tags.row_id = rows.id) AS tags"
                    " FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                    f" WHERE rows.id IN ({marks})",
                    [field, *part],
                ):
                    found[r["id"]] = dict(r)
        return [found[r] for r in row_ids if r in found]

    def row_states(self, row_ids: Sequence[int], field: str = DEFAULT_LABEL_FIELD) -> dict[int, dict[str, Any]]:
        """Current label, source, excluded flag and tags of the given rows (for the vector mirror)."""
        out: dict[int, dict[str, Any]] = {}
        with self.connect() as conn:
            for part in chunked(list(row_ids)):
                marks = ",".join("?" * len(part))
                for r in conn.execute(
                    "SELECT rows.id, rows.excluded, labels.value, labels.source, labels.suggested,"
                    " CASE WHEN labels.value IS NOT NULL THEN labels.confidence ELSE labels.suggested_confidence END"
                    " FROM rows"
                    " LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                    f" WHERE rows.id IN ({marks})",
                    [field, *part],
                ):
                    out[r[0]] = {
                        "excluded": bool(r[1]),
                        "label": r[2],
                        "label_source": r[3],
                        "suggested": r[4],
                        "confidence": r[5],
                        "tags": [],
                    }
                for row_id, tag in conn.execute(f"SELECT row_id, tag FROM tags WHERE row_id IN ({marks})", part):
                    out[row_id]["tags"].append(tag)
        return out

    def row_ids(self, dataset_id: int) -> list[int]:
        with self.connect() as conn:
            return [
                r[0] for r in conn.execute("SELECT id FROM rows WHERE dataset_id = ? ORDER BY position", (dataset_id,))
            ]


# Columns added after a workspace may have been created: (table, column, declaration).
_ADDED_COLUMNS = [
    ("labels", "suggested", "TEXT"),
    ("labels", "suggested_confidence", "REAL"),
    ("labels", "suggested_by", "TEXT"),
    # A question's other settings (core/labelschema.py): required, parent answer, description, position.
    ("label_fields", "spec_json", "TEXT NOT NULL DEFAULT '{}'"),
]


def _page_filter(
    dataset_id: int,
    label: str | None,
    unlabeled_only: bool,
    contains: str | None,
    field: str = DEFAULT_LABEL_FIELD,
    not_embedded: bool = False,
) -> tuple[str, list[Any]]:
    """FROM and WHERE of the Browse filters (a label, unlabeled rows, a substring of text or file name,
    rows not embedded: waiting or flagged with a problem) on the question ``field``."""
    where = ["rows.dataset_id = ?"]
    args: list[Any] = [field, dataset_id]
    if label is not None:  # a class, also inside a multi-label list
        where.append(
            "(labels.value = ? OR (labels.value LIKE '[%'"
            " AND EXISTS (SELECT 1 FROM json_each(labels.value) WHERE json_each.value = ?)))"
        )
        args += [label, label]
    if unlabeled_only:
        where.append("labels.value IS NULL")
    if not_embedded:
        where.append("rows.embedded != 1")
    if contains:
        where.append("(rows.text LIKE ? ESCAPE '\\' OR rows.image_path LIKE ? ESCAPE '\\')")
        pattern = "%" + contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        args += [pattern, pattern]
    sql_from = " FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ? WHERE " + " AND ".join(
        where
    )
    return sql_from, args


def _restore_curation(conn: sqlite3.Connection, row_id: int, label: str | None, c: dict[str, Any], stamp: str) -> None:
    """Labels (with source, confidence, model), suggestion, tags and exclusion of an imported export row."""
    if label is not None or c["given"] is not None or c["suggested"] is not None:
        source = c["source"] if c["source"] in set(LabelSource) else LabelSource.ORIGINAL
        conn.execute(
            "INSERT INTO labels(row_id, field, given, value, source, confidence, model_id, updated_at, suggested,"
            " suggested_confidence) VALUES(?,?,?,?,?,?,?,?,?,?)",
            (
                row_id,
                DEFAULT_LABEL_FIELD,
                c["given"],
                label,
                source if label is not None else None,
                c["confidence"] if label is not None else None,
                c["model_id"] if label is not None else None,
                stamp,
                c["suggested"],
                c["confidence"] if label is None and c["suggested"] is not None else None,
            ),
        )
    for tag in c["tags"]:
        conn.execute("INSERT OR IGNORE INTO tags(row_id, tag) VALUES(?, ?)", (row_id, tag))
    if c["excluded"]:
        conn.execute("UPDATE rows SET excluded = 1 WHERE id = ?", (row_id,))


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Upgrade an older workspace in place (SQLite adds a nullable column instantly)."""
    for table, column, declaration in _ADDED_COLUMNS:
        present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _audits_keyed_by_row(conn: sqlite3.Connection) -> bool:
    """True for an older workspace whose audits keep one verdict per row, whatever the question."""
    return "field" not in {r[1] for r in conn.execute("PRAGMA table_info(audits)")}


def _audits_per_question(conn: sqlite3.Connection) -> None:
    """Upgrade, inside a transaction, an older workspace's audits to one verdict per row and question
    (a primary key cannot be altered in SQLite: the table is rebuilt, its verdicts kept)."""
    if not _audits_keyed_by_row(conn):  # another process upgraded it meanwhile
        return
    conn.execute("ALTER TABLE audits RENAME TO audits_before_questions")
    conn.execute(_SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS audits(") :].split(";", 1)[0])
    conn.execute(
        "INSERT INTO audits(dataset_id, row_id, field, predicted, model_id, correct, corrected_to, created_at)"
        " SELECT dataset_id, row_id, ?, predicted, model_id, correct, corrected_to, created_at"
        " FROM audits_before_questions",
        (DEFAULT_LABEL_FIELD,),
    )
    conn.execute("DROP TABLE audits_before_questions")


def _dataset(row: sqlite3.Row) -> Dataset:
    return Dataset(
        id=row["id"],
        name=row["name"],
        modality=row["modality"],
        embedding_model=row["embedding_model"],
        created_at=row["created_at"],
        version=row["version"],
        info=json.loads(row["info_json"]),
        deleted_at=row["deleted_at"],
    )
