"""``Store``: the workspace's SQLite file, opened per operation, and its queries on datasets, classes and rows.

The tables it reads and writes, and the upgrades of older workspaces, are in ``core/store/tables.py``;
the values it stores (label sources, the dataset record, the multi-label encoding) in ``core/store/values.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import ConflictError, InputError, NotFoundError
from core.store.tables import (
    _ARCHIVE,
    _SCHEMA,
    SCHEMA_VERSION,
    _add_missing_columns,
    _audits_keyed_by_row,
    _audits_per_question,
)
from core.store.values import (
    DEFAULT_LABEL_FIELD,
    MAX_NAME_CHARS,
    Dataset,
    LabelSource,
    _dataset,
    as_classes,
    casefold,
    chunked,
    now,
    stored_value,
)

# What a listing reads of a row (Browse, Search's table, the review panels): its content, its state for one
# question of the label schema and its tags.
_ROW_COLUMNS = (
    "rows.id, rows.source_id, rows.position, rows.modality, rows.text, rows.image_path, rows.job_id,"
    " rows.fields_json, rows.excluded, rows.embedded, rows.problem, rows.thumb, labels.given,"
    " labels.value AS label, labels.source AS label_source, labels.confidence, labels.suggested,"
    " labels.suggested_confidence,"
    " (SELECT group_concat(tag, ', ') FROM tags WHERE tags.row_id = rows.id) AS tags"
)


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
            legacy = conn.execute("SELECT 1 FROM datasets LIMIT 1").fetchone() is not None
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES('chroma_prefix', ?)",
                ("" if legacy else f"w{uuid.uuid4().hex[:8]}-",),
            )
            if _audits_keyed_by_row(conn):
                with self.transaction() as upgrade:
                    _audits_per_question(upgrade)

    def collection_prefix(self) -> str:
        """This workspace's start of every Chroma collection name (``w1a2b3c4d-``), made with the
        workspace and kept. A workspace that held datasets before prefixes existed has "" (its
        collections have plain names)."""
        with self.connect() as conn:
            return conn.execute("SELECT value FROM meta WHERE key = 'chroma_prefix'").fetchone()[0]

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.create_function("casefold", 1, casefold, deterministic=True)  # see contains_sql
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
        if len(name) > MAX_NAME_CHARS:
            raise InputError(f"Dataset names are at most {MAX_NAME_CHARS} characters.")
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

    def ingest_image_roots(self, dataset_id: int) -> dict[int, Path]:
        """Each image ingest's own folder (job id → folder), for the ingests that kept it in their job
        (older ones did not): how a row's path is shown (:class:`core.images.ImageRoots`)."""
        with self.connect() as conn:
            jobs = conn.execute("SELECT id, settings_json FROM jobs WHERE dataset_id = ?", (dataset_id,)).fetchall()
        roots = {job_id: json.loads(settings or "{}").get("image_root") for job_id, settings in jobs}
        return {job_id: Path(root) for job_id, root in roots.items() if root}

    def fit_image_root(self, conn: sqlite3.Connection, dataset_id: int) -> None:
        """Set an image dataset's root to the folder holding the folders of the ingests that have rows in
        it: after an undone append from another folder its rows are out, and the root it widened narrows
        back (so paths read ``cat/x.jpg`` again, not ``first/cat/x.jpg``); the redo widens it again.
        Left as it is when an ingest made before ingests kept their folder (``image_root`` in the job's
        settings) has rows in the dataset, or for a text dataset."""
        roots = []
        for (settings,) in conn.execute(
            "SELECT settings_json FROM jobs WHERE dataset_id = ? AND EXISTS(SELECT 1 FROM rows WHERE rows.job_id"
            " = jobs.id) ORDER BY id",
            (dataset_id,),
        ):
            root = json.loads(settings).get("image_root")
            if root is None:
                return
            roots.append(root)
        if roots:
            self.update_info(conn, dataset_id, image_root=os.path.commonpath(roots))

    def problem_rows(self, dataset_id: int, *, job_id: int | None = None, limit: int = 5) -> tuple[list[dict], int]:
        """The first ``limit`` rows that could not be embedded (unreadable image, empty text), in
        dataset order, with their source id, image path and problem, and how many there are in all."""
        where = "dataset_id = ? AND problem IS NOT NULL" + (" AND job_id = ?" if job_id is not None else "")
        args = [dataset_id] + ([job_id] if job_id is not None else [])
        with self.connect() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM rows WHERE {where}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT id, source_id, image_path, job_id, problem FROM rows WHERE {where} ORDER BY position LIMIT ?",
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
            # Further questions (core/labelschema/); an imported export's label_source.<question>,
            # suggested_label.<question>, confidence.<question>, model_id.<question> and
            # suggested_by.<question> with them.
            answers = row.get("answers") or {}
            answered_by = row.get("answer_sources") or {}
            suggestions = row.get("answer_suggestions") or {}
            confidences = row.get("answer_confidences") or {}
            models = row.get("answer_models") or {}
            suggesters = row.get("answer_suggesters") or {}
            for field in dict.fromkeys([*answers, *suggestions]):
                value, suggested = answers.get(field), suggestions.get(field)
                if value is None and suggested is None:
                    continue
                stored = json.dumps(sorted(value)) if isinstance(value, list) else value
                source = answered_by.get(field)
                source = source if source in set(LabelSource) else LabelSource.ORIGINAL
                # Only the file's own answer is its given one: an exported answer a person, a bulk action
                # or a model made is not what the data came with (and "keep the given" must not keep it).
                given = stored if value is not None and source == LabelSource.ORIGINAL else None
                confidence = confidences.get(field)
                conn.execute(
                    "INSERT INTO labels(row_id, field, given, value, source, confidence, model_id, updated_at,"
                    " suggested, suggested_confidence, suggested_by) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        cur.lastrowid,
                        field,
                        given,
                        stored,
                        source if value is not None else None,
                        confidence if value is not None else None,
                        models.get(field) if value is not None else None,
                        stamp,
                        json.dumps(sorted(suggested)) if isinstance(suggested, list) else suggested,
                        confidence if value is None else None,
                        suggesters.get(field) if suggested is not None else None,
                    ),
                )
            label = row.get("label")
            if isinstance(label, list):  # multi-label: stored as a sorted JSON list (core/history/)
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

    def tag_counts(self, dataset_id: int) -> dict[str, int]:
        """Every tag the dataset's rows carry, with how many rows carry it, most used first."""
        with self.connect() as conn:
            return dict(
                conn.execute(
                    "SELECT tags.tag, COUNT(*) FROM tags JOIN rows ON rows.id = tags.row_id"
                    " WHERE rows.dataset_id = ? GROUP BY tags.tag ORDER BY COUNT(*) DESC, tags.tag",
                    (dataset_id,),
                ).fetchall()
            )

    def rows_page(
        self, dataset_id: int, *, offset: int = 0, limit: int = 100, field: str = DEFAULT_LABEL_FIELD
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows in dataset order with their current state for the question ``field``, and how many rows
        the dataset has. Filtered pages (Browse) come from ``core.search.rows_page``."""
        with self.connect() as conn:
            total = conn.execute("SELECT COUNT(*) FROM rows WHERE dataset_id = ?", (dataset_id,)).fetchone()[0]
            page = conn.execute(
                f"SELECT {_ROW_COLUMNS} FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                " WHERE rows.dataset_id = ? ORDER BY rows.position LIMIT ? OFFSET ?",
                (field, dataset_id, limit, offset),
            ).fetchall()
        return [dict(r) for r in page], total

    def job_settings(self, job_id: int) -> dict[str, Any] | None:
        """The settings an ingest ran with (its column mapping, model id), or None for an unknown job."""
        with self.connect() as conn:
            found = conn.execute("SELECT settings_json FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return json.loads(found[0]) if found else None

    def ingest_settings(self, dataset_id: int) -> list[dict[str, Any]]:
        """The settings of every ingest that has rows in the dataset (an undone append has none), oldest first."""
        with self.connect() as conn:
            found = conn.execute(
                "SELECT settings_json FROM jobs WHERE dataset_id = ? AND EXISTS(SELECT 1 FROM rows WHERE"
                " rows.job_id = jobs.id) ORDER BY id",
                (dataset_id,),
            ).fetchall()
        return [json.loads(settings) for (settings,) in found]

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
                    f"SELECT {_ROW_COLUMNS} FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                    f" WHERE rows.id IN ({marks})",
                    [field, *part],
                ):
                    found[r["id"]] = dict(r)
        return [found[r] for r in row_ids if r in found]

    def row_states(self, row_ids: Sequence[int], field: str = DEFAULT_LABEL_FIELD) -> dict[int, dict[str, Any]]:
        """Current label, source, excluded flag and tags of the given rows."""
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


def _restore_curation(conn: sqlite3.Connection, row_id: int, label: str | None, c: dict[str, Any], stamp: str) -> None:
    """Labels (with source, confidence, model), suggestion (with its model), tags and exclusion of an imported
    export row."""
    if label is not None or c["given"] is not None or c["suggested"] is not None:
        source = c["source"] if c["source"] in set(LabelSource) else LabelSource.ORIGINAL
        # Who made the label and when, as the export says (not the importer, not now); the import's batch is
        # not the label's (batch_id stays empty, as for a file's own labels), and a later change here replaces
        # both (core/history/state.py: write_label).
        made_by = c.get("labeled_by") if label is not None and source != LabelSource.ORIGINAL else None
        conn.execute(
            "INSERT INTO labels(row_id, field, given, value, source, confidence, model_id, updated_at, suggested,"
            " suggested_confidence, suggested_by, labeled_by) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row_id,
                DEFAULT_LABEL_FIELD,
                c["given"],
                label,
                source if label is not None else None,
                c["confidence"] if label is not None else None,
                c["model_id"] if label is not None else None,
                (c.get("labeled_at") or stamp) if label is not None else stamp,
                c["suggested"],
                c["confidence"] if label is None and c["suggested"] is not None else None,
                c.get("suggested_by") if c["suggested"] is not None else None,
                made_by,
            ),
        )
    for tag in c["tags"]:
        conn.execute("INSERT OR IGNORE INTO tags(row_id, tag) VALUES(?, ?)", (row_id, tag))
    if c["excluded"]:
        conn.execute("UPDATE rows SET excluded = 1 WHERE id = ?", (row_id,))
