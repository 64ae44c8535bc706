"""The workspace database's tables, and the in-place upgrades of workspaces made by older versions.

:class:`core.store.Store` runs these when it opens a workspace: ``_SCHEMA`` first, then
``_add_missing_columns``, then ``_ARCHIVE`` (made from the upgraded tables), then the audits upgrade.
"""

from __future__ import annotations

import sqlite3

from core.store.values import DEFAULT_LABEL_FIELD

SCHEMA_VERSION = 1

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
    -- Who made the label, as an imported Curator export says (its labeled_by); NULL once the label changes
    -- here: then the History's batch (batch_id) says who. Without it a round trip named nobody.
    labeled_by TEXT,
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
-- Label-schema changes are events on row 0 (core/labelschema/): few, found without a scan.
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


# Columns added after a workspace may have been created: (table, column, declaration).
_ADDED_COLUMNS = [
    ("labels", "suggested", "TEXT"),
    ("labels", "suggested_confidence", "REAL"),
    ("labels", "suggested_by", "TEXT"),
    ("labels", "labeled_by", "TEXT"),
    ("removed_labels", "labeled_by", "TEXT"),  # copies labels' columns in order (write_removed)
    # A question's other settings (core/labelschema/): required, parent answer, description, position.
    ("label_fields", "spec_json", "TEXT NOT NULL DEFAULT '{}'"),
]


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Upgrade an older workspace in place (SQLite adds a nullable column instantly). A table not made yet
    (an archive table, made after this from the upgraded tables) has nothing to upgrade."""
    for table, column, declaration in _ADDED_COLUMNS:
        present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if present and column not in present:
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
