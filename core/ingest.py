"""Ingest as a resumable job: stage the source, store every row at once, then embed in chunks.

Phase 1 (:func:`start_ingest`) parses and validates the whole source and stores all rows in one
transaction: after a crash the rows are either all there or none are. Phase 2
(:func:`run_ingest`) embeds pending rows chunk by chunk; each chunk's vectors are upserted into
Chroma by row id and then the rows are marked done in SQLite. A run killed at any point resumes
from the rows not yet marked: upserting a row twice leaves one copy, so nothing is duplicated and
nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.embedders import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL, Embedder
from core.errors import ConflictError, InputError, NotFoundError
from core.history import read_question, record_ingest, write_question
from core.images import ImageProblem, image_roots, load_image, thumbnail_jpeg
from core.pacing import ChunkPlan
from core.provenance import QUESTION_PREFIX
from core.readers import (
    IMAGE_SUFFIXES,
    Table,
    check_upload_name,
    read_image_folder,
    read_table,
    safe_extract_zip,
    zip_root,
)
from core.schema import ColumnMapping, build_rows
from core.store import JobStatus, now
from core.wording import counted, first_few, per_second, time_left
from core.workspace import Workspace

PENDING, EMBEDDED, SKIPPED = 0, 1, 2
# The most rows per embedding chunk (per transaction and store): on an idle 2-core machine 2-7 s of work
# (MiniLM embeds 75 news texts/s to 250 tweets/s; EfficientNet ~50 images/s with decoding and thumbnails).
# Each chunk is sized to about 3 s at the pace measured so far (core/pacing.py), so a progress report comes
# every few seconds on a busy machine too, and grows to these on a quick one.
TEXT_CHUNK, IMAGE_CHUNK = 512, 64
# The first chunk is small, so the bar moves within a few seconds even on a busy machine (512 news texts
# took ~27 s under load before the first update). Later chunks are no smaller than 8 texts or 4 images, and
# whole batches of the embedder's 32 texts (8 images) when they can be.
FIRST_TEXT_CHUNK, FIRST_IMAGE_CHUNK = 32, 8
LEAST_TEXT_CHUNK, LEAST_IMAGE_CHUNK = 8, 4
TEXT_STEP, IMAGE_STEP = 32, 8
TEXT_ROW_WORK = 40  # the cost of one text beyond its length, in characters (measured with MiniLM on sentiment140)
# A row whose vector is cached costs about this share of computing it (reading the vector and storing it; an
# image is still decoded for its thumbnail). Without it a Resume after Pause, whose first rows the paused run
# had embedded and cached, read their pace as the machine's and made a chunk of 240 texts that took 15 s.
CACHED_WORK_SHARE = 0.05


@dataclass(frozen=True)
class IngestProgress:
    job_id: int
    done: int
    total: int
    rows_per_s: float
    eta_s: float | None
    unit: str = "row"  # what a row is, in words: "row", or "image" for an image dataset

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def describe(self) -> str:
        """ "Embedded 544 of 10,001 rows (37 rows/s, about 3 min 57 s left)"; a slow pace reads "1.4 images/s",
        or "2.5 s per image" under one a second (it read "1 rows/s")."""
        eta = "estimating the time left" if self.eta_s is None else time_left(self.eta_s)
        pace = ", ".join(filter(None, [per_second(self.rows_per_s, self.unit), eta]))
        return f"Embedded {self.done:,} of {counted(self.total, self.unit)} ({pace})"


@dataclass(frozen=True)
class JobReport:
    job_id: int
    dataset_id: int
    status: str
    total: int
    embedded: int
    skipped: int
    computed: int  # vectors computed by the model in this run
    from_cache: int  # rows of this run whose vector was already cached
    embedded_before: int  # rows embedded by an earlier, interrupted run
    seconds: float


# -- sources --------------------------------------------------------------------------------


def stage_upload(ws: Workspace, filename: str, data: bytes, *, max_bytes: int | None = None) -> Path:
    """Keep an uploaded file inside the workspace, so a resumed ingest can read it again. A file whose
    extension no reader takes (an image, a PDF) is refused with what to upload instead."""
    check_upload_name(filename)
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(f"{filename} is {len(data) / 1e6:.1f} MB; the upload limit is {max_bytes / 1e6:.0f} MB.")
    if not data:
        raise InputError(f"{filename} is empty (0 bytes).")
    safe = re.sub(r"[^\w.\-]+", "_", Path(filename).name).strip("._") or "upload"
    folder = ws.uploads_dir / hashlib.sha1(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe
    if not target.exists():
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


def load_source(ws: Workspace, path: Path, *, has_header: bool | None = None, display_name: str | None = None) -> Table:
    """A table file, an image ZIP (extracted safely into the workspace) or an image folder."""
    path = Path(path)
    if path.is_dir():
        return _read_hf_folder(path, display_name or path.name) or read_image_folder(path, display_name=display_name)
    if path.suffix.lower() == ".zip":
        # Extract once per distinct ZIP into the workspace; a half-extracted folder never counts.
        dest = ws.media_dir / hashlib.sha1(path.read_bytes()).hexdigest()[:16]
        notes: list[str] = []
        if not dest.exists():
            tmp = ws.media_dir / f".{dest.name}.part"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            try:
                notes = safe_extract_zip(path, tmp)
            except Exception:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            tmp.replace(dest)
        table = _read_extracted(path, dest)
        table.notes.extend(notes)
        return table
    return read_table(path, has_header=has_header, display_name=display_name)


def _read_hf_folder(root: Path, name: str) -> Table | None:
    """A Hugging Face ``datasets`` folder (Curator's HF export: ``data/*.parquet``, no images beside it) is
    read as its Parquet table; None for any other folder. Its ZIP is what the Export page downloads."""
    shards = sorted((root / "data").glob("*.parquet"))
    if not shards or any(p.suffix.lower() in IMAGE_SUFFIXES for p in root.rglob("*")):
        return None
    if len(shards) > 1:
        raise InputError(
            f"{name} is a Hugging Face datasets folder of {len(shards)} Parquet files: upload one of them"
            f" ({first_few([p.name for p in shards])}), or join them first."
        )
    table = read_table(shards[0], display_name=f"{name} (data/{shards[0].name})")
    table.notes.append(f"a Hugging Face datasets folder: read data/{shards[0].name}")
    return table


def _read_extracted(zip_path: Path, dest: Path) -> Table:
    root, notes = zip_root(dest)
    hf = _read_hf_folder(root, zip_path.name)
    if hf is not None:
        return hf
    table = read_image_folder(root, display_name=zip_path.name)
    table.notes.extend(notes)
    return table


# -- phase 1 ---------------------------------------------------------------------------------


def start_ingest(
    ws: Workspace,
    table: Table,
    mapping: ColumnMapping,
    dataset_name: str,
    *,
    source: str,
    embedding_model: str | None = None,
    append: bool = False,
) -> int:
    """Validate and store every row (one transaction); returns the job id to run."""
    model_id = embedding_model or (DEFAULT_IMAGE_MODEL if mapping.modality == "image" else DEFAULT_TEXT_MODEL)
    existing = {d.name: d for d in ws.store.datasets()}
    prefix = ""
    if append:
        if dataset_name not in existing:
            raise NotFoundError(f"No dataset '{dataset_name}' to add rows to.")
        target = existing[dataset_name]
        if target.modality != mapping.modality:
            raise InputError(f"'{dataset_name}' holds {target.modality} rows; this file has {mapping.modality} rows.")
        model_id = target.embedding_model
        prefix = _added_rows_prefix(ws, target.id, source) if not mapping.id_column else ""
    rows = build_rows(table, mapping, id_prefix=prefix)
    own_root = root = _image_root(table.base_dir, rows) if mapping.modality == "image" else None
    if append and root is not None:  # rows from another folder: the root is the folder holding both
        before = ws.store.image_root(existing[dataset_name].id)
        root = Path(os.path.commonpath([before, root])) if before is not None else root
    settings = {"mapping": mapping.to_dict(), "model_id": model_id}
    # Counted once here, where both texts are at hand: Browse's hint depends on it (core.schema.repaired_rows).
    settings["repaired_rows"] = sum(bool(r.get("repaired")) for r in rows)
    if own_root is not None:  # this ingest's own folder: an undo of it narrows the root back (Store.fit_image_root)
        settings["image_root"] = str(own_root)
    with ws.store.transaction() as conn:
        questions_before = None
        if append:
            dataset_id = existing[dataset_name].id
            questions_before = {
                name: read_question(conn, dataset_id, name)
                for (name,) in conn.execute("SELECT name FROM label_fields WHERE dataset_id = ?", (dataset_id,))
            }
            if root is not None:
                ws.store.update_info(conn, dataset_id, image_root=str(root))
        else:
            info = {"source": source, "mapping": mapping.to_dict()}
            dataset_id = ws.store.create_dataset(
                conn,
                dataset_name,
                modality=mapping.modality,
                embedding_model=model_id,
                info=info | ({"image_root": str(root)} if root is not None else {}),
            )
        stamp = now()
        job_id = int(
            conn.execute(
                "INSERT INTO jobs(dataset_id, kind, status, source, settings_json, total, created_at, updated_at)"
                " VALUES(?,?,?,?,?,?,?,?)",
                (
                    dataset_id,
                    "ingest",
                    JobStatus.EMBEDDING,
                    source,
                    json.dumps(settings),
                    len(rows),
                    stamp,
                    stamp,
                ),
            ).lastrowid
        )
        ws.store.insert_rows(conn, dataset_id, job_id, rows)
        conn.execute("UPDATE rows SET embedded = ? WHERE job_id = ? AND problem IS NOT NULL", (SKIPPED, job_id))
        # An export that carries its schema (Parquet) gets its questions back as they were, before the
        # classes found in the rows join them; only a new dataset (an append keeps the dataset's own schema).
        exported = table.label_schema if mapping.restore_curation and not append else None
        if exported is not None:
            _write_exported_questions(conn, dataset_id, exported, table, multi_label=mapping.multi_label)
        classes = {c for r in rows if r["label"] is not None for c in _as_list(r["label"])}
        # An imported export's given labels and suggestions are classes too; but a given label its schema
        # no longer lists was renamed or merged away before the export, and stays so.
        kinds = ("given", "suggested") if exported is None or "label" not in exported["questions"] else ("suggested",)
        for r in rows:
            classes |= {r["curation"][k] for k in kinds if r.get("curation") and r["curation"][k]}
        ws.store.set_classes(conn, dataset_id, "label", classes)
        if mapping.multi_label:
            conn.execute(
                "UPDATE label_fields SET kind = 'multi' WHERE dataset_id = ? AND name = ?", (dataset_id, "label")
            )
        _restore_questions(conn, ws, dataset_id, rows)
        batch_id = record_ingest(
            conn,
            dataset_id,
            f"Ingest {counted(len(rows), 'row')} from {source}",
            len(rows),
            questions_before=questions_before,
        )
        conn.execute("UPDATE jobs SET batch_id = ? WHERE id = ?", (batch_id, job_id))
    return job_id


def _added_rows_prefix(ws: Workspace, dataset_id: int, source: str) -> str:
    """Ids for added rows that have none of their own: the file's name and the row number
    (``more_news-1``), as the first file's rows are numbered ``1``, ``2``...; a second file of the same
    name, or the same file again, gets ``more_news.2-1``. Readable where ids are shown (tables, export).
    The rows of an undone append count as taken: its redo brings them back under their ids."""
    stem = re.sub(r"[^\w.]+", "_", Path(source).stem).strip("_.") or "added"
    with ws.store.connect() as conn:
        taken = {
            r[0].split("-", 1)[0]
            for r in conn.execute(
                "SELECT source_id FROM rows WHERE dataset_id = ? AND source_id LIKE ? UNION SELECT source_id"
                " FROM removed_rows WHERE dataset_id = ? AND source_id LIKE ?",
                (dataset_id, f"{stem}%-%", dataset_id, f"{stem}%-%"),
            )
        }
    prefix, k = stem, 1
    while prefix in taken:
        k += 1
        prefix = f"{stem}.{k}"
    return f"{prefix}-"


def _image_root(base_dir: Path | None, rows: list[dict]) -> Path | None:
    """The folder the images were read from (where the class folders are): the source's folder when
    every image lies under it, else the deepest folder holding all of them."""
    folders = {str(Path(r["image_path"]).parent) for r in rows}
    if not folders:
        return base_dir
    if base_dir is not None and all(Path(f).is_relative_to(base_dir) for f in folders):
        return base_dir
    return Path(os.path.commonpath(sorted(folders)))


def problem_summary(ws: Workspace, dataset_id: int, *, job_id: int | None = None, shown: int = 5) -> str:
    """The rows that could not be embedded, by name with the reason, the first ``shown`` and a count:
    "frog/broken.jpg (not a readable image file)". Empty when there are none."""
    rows, total = ws.store.problem_rows(dataset_id, job_id=job_id, limit=shown)
    roots = image_roots(ws.store, dataset_id)
    named = [f"{roots.of(r) if r['image_path'] else 'row ' + r['source_id']} ({r['problem']})" for r in rows]
    return first_few(named, total, shown=shown)


# -- phase 2 ---------------------------------------------------------------------------------


def unfinished_jobs(ws: Workspace) -> list[dict]:
    """Ingests to offer for Resume: not finished, in a dataset out of the trash, with rows in it (an
    undone append's rows are out of the dataset: nothing to resume until a redo brings them back)."""
    with ws.store.connect() as conn:
        rows = conn.execute(
            "SELECT jobs.*, datasets.name AS dataset FROM jobs JOIN datasets ON datasets.id = jobs.dataset_id"
            " WHERE jobs.status IN (?, ?, ?) AND datasets.deleted_at IS NULL"
            " AND EXISTS(SELECT 1 FROM rows WHERE rows.job_id = jobs.id) ORDER BY jobs.id",
            (JobStatus.EMBEDDING, JobStatus.PAUSED, JobStatus.FAILED),
        ).fetchall()
    return [dict(r) for r in rows]


def job_counts(ws: Workspace, job_id: int) -> tuple[int, int, int]:
    """(total, embedded, skipped) of one job, counted from the rows themselves."""
    with ws.store.connect() as conn:
        total, embedded, skipped = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(embedded = 1), 0), COALESCE(SUM(embedded = 2), 0)"
            " FROM rows WHERE job_id = ?",
            (job_id,),
        ).fetchone()
    return total, embedded, skipped


@dataclass(frozen=True)
class JobInfo:
    """What an ingest job brings in, as it was started: for the page that shows it running."""

    job_id: int
    dataset_id: int
    dataset: str
    source: str  # the file's name
    total: int
    model_id: str
    mapping: ColumnMapping
    append: bool  # rows added to a dataset an earlier ingest made


def job_info(ws: Workspace, job_id: int) -> JobInfo:
    """The job's file, dataset, columns and model, read from the job itself (so a Resume after a restart
    shows them too)."""
    with ws.store.connect() as conn:
        job = conn.execute(
            "SELECT jobs.*, datasets.name AS dataset,"
            " EXISTS(SELECT 1 FROM jobs AS earlier WHERE earlier.dataset_id = jobs.dataset_id"
            " AND earlier.id < jobs.id) AS append_"
            " FROM jobs JOIN datasets ON datasets.id = jobs.dataset_id WHERE jobs.id = ?",
            (job_id,),
        ).fetchone()
    if job is None:
        raise NotFoundError(f"No ingest job {job_id}.")
    settings = json.loads(job["settings_json"])
    return JobInfo(
        job_id,
        int(job["dataset_id"]),
        job["dataset"],
        job["source"],
        int(job["total"]),
        settings["model_id"],
        ColumnMapping.from_dict(settings["mapping"]),
        bool(job["append_"]),
    )


def run_ingest(
    ws: Workspace,
    job_id: int,
    embedder: Embedder,
    *,
    text_embedder: Embedder | None = None,
    on_progress: Callable[[IngestProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk_size: int | None = None,
) -> JobReport:
    """Embed the job's pending rows; safe to call again after any interruption.

    For image datasets embedded without CLIP, pass ``text_embedder`` (MiniLM) so each image also
    gets a concept vector for text search (see core/concepts.py). ``chunk_size`` is the rows per
    transaction and per progress report; by default about 3 s of work at the pace measured so far (at most 512
    texts or 64 images: core/pacing.py), after a small first chunk (the 32 shortest texts, or 8 images) so that
    the first report comes within seconds.
    """
    with ws.store.connect() as conn:
        job = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if job is None:
        raise NotFoundError(f"No ingest job {job_id}.")
    dataset = ws.store.dataset(int(job["dataset_id"]))
    if embedder.model_id != dataset.embedding_model:
        raise ConflictError(
            f"Dataset '{dataset.name}' is embedded with {dataset.embedding_model}, not {embedder.model_id}."
        )
    _set_status(ws, job_id, JobStatus.EMBEDDING)
    with ws.store.connect() as conn:
        lengths, hashes = {}, {}
        for row_id, n, content_hash in conn.execute(
            "SELECT id, length(COALESCE(text, '')) AS n, content_hash FROM rows WHERE job_id = ? AND embedded = 0"
            " ORDER BY n DESC, id",
            (job_id,),
        ):
            lengths[row_id], hashes[row_id] = n, content_hash
    pending = list(lengths)
    cached = ws.cache.cached(embedder.model_id, list(hashes.values()))
    # The time left is estimated from work, not rows: a text costs about its length plus a fixed part
    # (sentiment140 8k: after the first 512 rows, the longest, a per-row estimate said 49 s for 28 s
    # left, this one 32 s). Images cost about the same each. The pace is measured from the first report
    # on: the first chunk's time is mostly setting up (a new Chroma collection, the first writes), so
    # from it a 10-minute ingest of 100k tweets said 50 minutes; it reports progress, not a time.
    work = {
        r: (1 if dataset.modality == "image" else n + TEXT_ROW_WORK) * (CACHED_WORK_SHARE if hashes[r] in cached else 1)
        for r, n in lengths.items()
    }
    work_total = sum(work.values())
    total, done_before, skipped_before = job_counts(ws, job_id)
    image = dataset.modality == "image"
    if chunk_size is None:
        plan = ChunkPlan(
            pending,
            work,
            first=FIRST_IMAGE_CHUNK if image else FIRST_TEXT_CHUNK,
            least=LEAST_IMAGE_CHUNK if image else LEAST_TEXT_CHUNK,
            step=IMAGE_STEP if image else TEXT_STEP,
            most=IMAGE_CHUNK if image else TEXT_CHUNK,
        )
    else:
        plan = ChunkPlan(pending, work, least=chunk_size, most=chunk_size, every_s=None)
    unit = "image" if image else "row"
    started = time.perf_counter()
    concepts = _concepts_for(ws, embedder, text_embedder) if pending else None
    computed = 0
    processed = work_computed = 0
    paced_from: tuple[float, int, int] | None = None  # (time, work computed, rows stored) at the first report
    done = done_before + skipped_before
    # Chunk k is stored (Chroma upsert, then its rows marked done) on a second thread while chunk k+1
    # is embedded: storing took ~10% of an ingest that waited for it (bench/ingest.py). One store at a
    # time, in order, and each finished before the next starts, so "marked done" still means "in
    # Chroma" (resume and kill -9 rely on it); vectors are in the cache before their store begins, so
    # a run killed in between recomputes nothing.
    storing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-store")
    pending_store: Future[None] | None = None
    stored_ids: list[int] = []

    def wait_for_store() -> None:
        nonlocal pending_store, done, processed, paced_from
        if pending_store is None:
            return
        pending_store.result()
        pending_store = None
        done += len(stored_ids)
        processed += len(stored_ids)
        if on_progress is not None:
            now_s = time.perf_counter()
            # Rows/s are read from the first report on too (none before: the report says nothing of it): 8
            # images in 22 s of setting up (the models, ImageNet's class names) read "2.8 s per image" for a
            # run that then embedded 5 images/s.
            rate = 0.0
            if paced_from is not None and now_s > paced_from[0]:
                rate = (processed - paced_from[2]) / (now_s - paced_from[0])
            eta = None
            if work_computed == work_total:  # the rest is storing the last chunk
                eta = 0.0
            elif paced_from is None:
                paced_from = (now_s, work_computed, processed)
            elif now_s > paced_from[0] and work_computed > paced_from[1]:
                pace = (work_computed - paced_from[1]) / (now_s - paced_from[0])
                eta = (work_total - work_computed) / pace
            on_progress(IngestProgress(job_id, done, total, rate, eta, unit))

    try:
        try:
            while ids := plan.next():
                if should_stop is not None and should_stop():
                    wait_for_store()
                    _set_status(ws, job_id, JobStatus.PAUSED, "paused by the user")
                    break
                began = time.perf_counter()
                chunk = _compute_chunk(ws, embedder, ids, concepts)
                computed += chunk.computed
                work_computed += sum(work[r] for r in ids)
                wait_for_store()
                stored_ids = ids
                pending_store = storing.submit(_store_chunk, ws, dataset.id, model_id=embedder.model_id, chunk=chunk)
                if processed == 0:
                    wait_for_store()  # the first (small) chunk reports at once: the bar moves within seconds
                # From this chunk's start to here (its embedding, and the store of the one before) is the time
                # between two reports: the plan sizes the next chunk by it.
                plan.record(ids, time.perf_counter() - began)
            else:
                wait_for_store()
                _set_status(ws, job_id, JobStatus.DONE)
                from core.saved import rescore

                rescore(ws, dataset.id)  # saved searches cover the new rows too
        finally:
            storing.shutdown(wait=True)  # a store under way finishes: its rows are then correctly done
    except Exception as exc:
        _set_status(ws, job_id, JobStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    except BaseException:  # Ctrl-C, or Streamlit stopping the run because the page was left or rerun
        mark_interrupted(ws, job_id)
        raise
    total, embedded, skipped = job_counts(ws, job_id)
    with ws.store.connect() as conn:
        status = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    newly_embedded = embedded - done_before
    return JobReport(
        job_id,
        dataset.id,
        status,
        total,
        embedded,
        skipped,
        computed,
        from_cache=max(0, newly_embedded - computed),
        embedded_before=done_before,
        seconds=time.perf_counter() - started,
    )


def mark_paused(ws: Workspace, job_id: int) -> None:
    """Record that a person paused this job (its run was stopped from outside); resume continues it."""
    with ws.store.transaction() as conn:
        conn.execute(
            "UPDATE jobs SET status = ?, message = ?, updated_at = ? WHERE id = ? AND status IN (?, ?)",
            (JobStatus.PAUSED, "paused by the user", now(), job_id, JobStatus.EMBEDDING, JobStatus.PAUSED),
        )


def mark_interrupted(ws: Workspace, job_id: int) -> None:
    """A run stopped from outside: paused, unless a person's Pause already said so (either may come first)."""
    with ws.store.transaction() as conn:
        conn.execute(
            "UPDATE jobs SET status = ?, message = ?, updated_at = ? WHERE id = ? AND status = ?",
            (JobStatus.PAUSED, "interrupted before it finished", now(), job_id, JobStatus.EMBEDDING),
        )


def _set_status(ws: Workspace, job_id: int, status: JobStatus, message: str | None = None) -> None:
    with ws.store.transaction() as conn:
        conn.execute(
            "UPDATE jobs SET status = ?, message = ?, updated_at = ? WHERE id = ?",
            (status, message, now(), job_id),
        )


@dataclass
class _Concepts:
    """What image chunks need to also store ConSE concept vectors (text search without CLIP)."""

    space: str
    cache_id: str
    class_vectors: np.ndarray


def _concepts_for(ws: Workspace, embedder: Embedder, text_embedder: Embedder | None) -> _Concepts | None:
    if text_embedder is None or not embedder.text_queries_via_class_names:
        return None
    from core.concepts import class_name_vectors, concept_space_id

    space = concept_space_id(embedder.model_id)
    return _Concepts(space, f"{space}|{text_embedder.model_id}", class_name_vectors(text_embedder, ws.cache))


@dataclass
class _Chunk:
    """One chunk's rows with their vectors, ready to store."""

    ids: list[int]
    rows: list[sqlite3.Row]  # those of ``ids`` still in the dataset
    vectors: dict[str, np.ndarray]  # content hash -> vector
    concept_vectors: dict[str, np.ndarray]
    concepts: _Concepts | None
    problems: dict[int, str]  # row id -> why it could not be embedded
    thumbs: dict[int, bytes]
    computed: int  # vectors computed (not from the cache)


def _compute_chunk(ws: Workspace, embedder: Embedder, ids: list[int], concepts: _Concepts | None = None) -> _Chunk:
    """Vectors for one chunk's rows: from the cache, or computed (each distinct content once) and cached."""
    marks = ",".join("?" * len(ids))
    with ws.store.connect() as conn:
        rows = conn.execute(
            f"SELECT id, modality, text, image_path, content_hash FROM rows WHERE id IN ({marks})", ids
        ).fetchall()
    model_id = embedder.model_id
    hashes = [r["content_hash"] for r in rows]
    cached = ws.cache.get(model_id, hashes)
    cached_concepts = ws.cache.get(concepts.cache_id, hashes) if concepts else {}
    problems: dict[int, str] = {}
    thumbs: dict[int, bytes] = {}
    to_compute: dict[str, object] = {}  # content hash -> text or image, each distinct content once
    for r in rows:
        h = r["content_hash"]
        if r["modality"] == "image":
            try:
                image = load_image(r["image_path"])
            except ImageProblem as exc:
                problems[r["id"]] = str(exc)
                continue
            thumbs[r["id"]] = thumbnail_jpeg(image)
            if h not in cached or (concepts and h not in cached_concepts):
                to_compute[h] = image
        elif h not in cached:
            to_compute[h] = r["text"]
    if to_compute:
        items = list(to_compute.values())
        if concepts:
            from core.concepts import concept_vectors

            vectors, probabilities = embedder.embed_images_and_probabilities(items)
            mixed = concept_vectors(probabilities, concepts.class_vectors)
            ws.cache.put(concepts.cache_id, list(to_compute), mixed)
            cached_concepts.update(zip(to_compute, mixed, strict=True))
        elif rows[0]["modality"] == "image":
            vectors = embedder.embed_images(items)
        else:
            vectors = embedder.embed_texts(items)
        ws.cache.put(model_id, list(to_compute), vectors)
        cached.update(zip(to_compute, vectors, strict=True))
    return _Chunk(ids, rows, cached, cached_concepts, concepts, problems, thumbs, len(to_compute))


def _store_chunk(ws: Workspace, dataset_id: int, *, model_id: str, chunk: _Chunk) -> None:
    """Upsert one chunk's vectors into Chroma, then mark its rows done (or flagged) in SQLite."""
    good = [r for r in chunk.rows if r["id"] not in chunk.problems]
    if good:
        good_ids = [r["id"] for r in good]
        ws.vectors.upsert(dataset_id, model_id, good_ids, np.stack([chunk.vectors[r["content_hash"]] for r in good]))
        if chunk.concepts:
            ws.vectors.upsert(
                dataset_id,
                chunk.concepts.space,
                good_ids,
                np.stack([chunk.concept_vectors[r["content_hash"]] for r in good]),
            )
    with ws.store.transaction() as conn:
        conn.executemany(
            "UPDATE rows SET embedded = 1, thumb = COALESCE(?, thumb) WHERE id = ?",
            [(chunk.thumbs.get(r["id"]), r["id"]) for r in good],
        )
        conn.executemany(
            "UPDATE rows SET embedded = 2, problem = ? WHERE id = ?", [(p, i) for i, p in chunk.problems.items()]
        )
        conn.execute(
            "UPDATE jobs SET updated_at = ? WHERE id = (SELECT job_id FROM rows WHERE id = ?)",
            (now(), chunk.ids[0]),
        )
        # Newly embedded rows are searchable: values derived from the dataset are stale.
        conn.execute("UPDATE datasets SET version = version + 1 WHERE id = ?", (dataset_id,))
        # An undo may have taken the append's rows out while this chunk was embedded (it waits only for
        # a run silent for minutes): their vectors follow them out, kept for the redo, as the undo's own do.
        marks = ",".join("?" * len(chunk.ids))
        gone = conn.execute(
            f"INSERT OR IGNORE INTO mirror_pending(row_id) SELECT id FROM removed_rows WHERE id IN ({marks})",
            chunk.ids,
        ).rowcount
    if gone:
        ws.sync_vectors()


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def _write_exported_questions(
    conn: sqlite3.Connection, dataset_id: int, exported: dict, table: Table, *, multi_label: bool
) -> None:
    """The questions of an export's schema that the file has columns for: kind, classes (unanswered ones
    too), required, description, order and the parent answer they depend on."""
    columns = set(table.frame.columns)
    present = {
        name: spec
        for name, spec in exported["questions"].items()
        if isinstance(spec, dict) and (name == "label" or QUESTION_PREFIX + name in columns)
    }
    for name, spec in present.items():
        parent = spec.get("parent")
        kind = ("multi" if multi_label else "single") if name == "label" else spec.get("kind", "single")
        write_question(
            conn,
            dataset_id,
            name,
            {
                "kind": kind if kind in ("single", "multi") else "single",
                "classes": [str(c) for c in spec.get("classes", [])],
                "required": bool(spec.get("required", name == "label")),
                "description": str(spec.get("description", "")),
                "parent": list(parent) if parent and parent[0] in present else None,
                "position": int(spec.get("position", 0)),
            },
        )


def _restore_questions(conn: sqlite3.Connection, ws: Workspace, dataset_id: int, rows: list[dict]) -> None:
    """Further questions (label columns chosen at upload, or an imported export's label.<question>
    columns) with their classes; a question with any list answer is multi-choice."""
    found: dict[str, tuple[bool, set[str]]] = {}
    for r in rows:
        suggested = (r.get("answer_suggestions") or {}).items()  # an export's suggestions are classes too
        for name, value in [*(r.get("answers") or {}).items(), *suggested]:
            multi, classes = found.setdefault(name, (False, set()))
            if value is not None:
                classes |= set(_as_list(value))
                found[name] = (multi or isinstance(value, list), classes)
    for position, (name, (multi, classes)) in enumerate(found.items(), start=1):
        conn.execute(
            "INSERT OR IGNORE INTO label_fields(dataset_id, name, kind, spec_json) VALUES(?, ?, ?, ?)",
            (dataset_id, name, "multi" if multi else "single", json.dumps({"position": position})),
        )
        ws.store.set_classes(conn, dataset_id, name, classes)
