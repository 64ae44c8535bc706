"""The workspace database: datasets, rows, labels, tags, jobs and the append-only history.

SQLite is the one source of truth for everything but vectors (see docs/decisions.md): it gives
atomic multi-row transactions, which is what makes a bulk action all-or-nothing after a kill -9
and an undo exact. ChromaDB holds only the vectors; those of rows an undone append took out (or
its redo brought back) follow through the ``mirror_pending`` outbox, written in the same
transaction as the change.

The package: ``values`` (what is stored and how it is encoded), ``tables`` (the SQL schema and the
upgrades of older workspaces) and ``database`` (the ``Store`` class). Import from ``core.store``.
"""

from core.store.database import Store
from core.store.tables import SCHEMA_VERSION
from core.store.values import (
    CHUNK,
    DEFAULT_LABEL_FIELD,
    ISSUE_FIX_MODEL,
    MAX_NAME_CHARS,
    Dataset,
    JobStatus,
    LabelSource,
    as_classes,
    chunked,
    contains_sql,
    normalize_label,
    now,
    stored_value,
)

__all__ = [
    "CHUNK",
    "DEFAULT_LABEL_FIELD",
    "ISSUE_FIX_MODEL",
    "MAX_NAME_CHARS",
    "SCHEMA_VERSION",
    "Dataset",
    "JobStatus",
    "LabelSource",
    "Store",
    "as_classes",
    "chunked",
    "contains_sql",
    "normalize_label",
    "now",
    "stored_value",
]
