"""Search and bulk-action latency on sentiment140 (100,000 tweets); prints the figures for the README.

    python bench/search.py                      # workspace cached in bench/.cache/search-100k
    python bench/search.py --workspace DIR

The first run ingests the whole file with MiniLM (6-10 min on 2 cores, progress on stderr) into a
persistent workspace; later runs reuse it (an interrupted ingest is resumed). Then, after one
warm-up call each: ~50 natural-language queries through ``search_text`` (n=100), split into query
embedding and the rest (the filter plan: over-fetch or id-restricted, see
core/search.py), unfiltered, with a label filter and with a keyword filter; "more like these"
(centroid of 5 rows); select-all-N-matching over 100k rows; and a bulk label of 10,000 rows and its undo.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))
SOURCE = SHARED / "sentiment140" / "sentiment140_100k.csv"
DATASET = "sentiment140-100k"
N_RESULTS = 100
BULK_ROWS = 10_000

QUERIES = [
    "so tired of work today",
    "happy birthday",
    "I miss you so much",
    "can't sleep again",
    "going to the beach this weekend",
    "my phone battery died",
    "the new Harry Potter movie",
    "stuck in traffic on the way home",
    "I hate Mondays",
    "finally summer vacation",
    "feeling sick with a cold",
    "watching the game with friends",
    "just finished my exams",
    "coffee time",
    "raining all day",
    "my dog is the cutest",
    "lost my keys",
    "great concert last night",
    "need more sleep",
    "thanks for following me",
    "headache won't go away",
    "love this song",
    "broke up with my boyfriend",
    "homework is due tomorrow",
    "the weather is beautiful",
    "flight got delayed",
    "eating pizza for dinner",
    "my computer crashed",
    "going shopping with mom",
    "bored at home",
    "first day at the new job",
    "twitter is down again",
    "good morning everyone",
    "missed the bus",
    "the Lakers won",
    "can't wait for the weekend",
    "I'm so hungry",
    "my car broke down",
    "watching a movie in bed",
    "graduation party tonight",
    "sunburn hurts",
    "studying for finals",
    "new haircut",
    "the hospital visit went well",
    "sad that the show got cancelled",
    "working out at the gym",
    "happy mother's day",
    "listening to music on the train",
    "my internet is so slow",
    "goodnight twitter",
]


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.array(seconds) * 1000, q))


def spread(seconds: list[float]) -> str:
    """p50, p95 and max in ms."""
    return ", ".join(f"{k} {percentile_ms(seconds, q):.0f} ms" for k, q in (("p50", 50), ("p95", 95), ("max", 100)))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def open_dataset(ws, embedder):
    """The finished 100k dataset in the workspace: reused, resumed or ingested now."""
    from core.ingest import load_source, run_ingest, start_ingest, unfinished_jobs
    from core.schema import infer_mapping

    def progress(p) -> None:
        if p.done % 5120 < 512 or p.done == p.total:
            print(f"  {p.describe()}", file=sys.stderr, flush=True)

    if DATASET not in {d.name for d in ws.datasets()}:
        print(f"ingesting {SOURCE} into {ws.root} (6-10 min on 2 cores)", file=sys.stderr, flush=True)
        table = load_source(ws, SOURCE)
        job_id = start_ingest(ws, table, infer_mapping(table), DATASET, source=SOURCE.name)
        run_ingest(ws, job_id, embedder, on_progress=progress)
    for job in unfinished_jobs(ws):
        if job["dataset"] == DATASET:
            print(f"resuming the interrupted ingest (job {job['id']})", file=sys.stderr, flush=True)
            run_ingest(ws, int(job["id"]), embedder, on_progress=progress)
    status = ws.status(DATASET)
    in_chroma = ws.vectors.count(status.dataset.id, status.dataset.embedding_model)
    if status.embedded + status.problems != status.rows or in_chroma != status.embedded:
        raise SystemExit(
            f"{ws.root}: dataset '{DATASET}' is incomplete ({status.embedded:,} of {status.rows:,} rows embedded,"
            f" {in_chroma:,} vectors in Chroma); delete the folder and run again"
        )
    return status.dataset


def undo_leftover_bulk_labels(ws, dataset) -> None:
    """A run killed between the bulk label and its undo leaves the label behind: revert it first."""
    from core.history import history

    for batch in history(ws.store, dataset.id):
        if batch.action == "bulk_label" and batch.undone_by is None and f"on {BULK_ROWS:,} rows" in batch.description:
            print(f"undoing a bulk label left by an interrupted run ({batch.id})", file=sys.stderr)
            ws.undo(batch.id)


def query_latency(ws, dataset, embedder, filters) -> dict:
    """Per query: the whole search_text call, then its two parts timed on their own."""
    from core.search import _query, query_space, search_text

    space, _ = query_space(dataset, embedder)

    def chroma(vector):
        """Everything after the query embedding: the filter plan (SQLite candidates, Chroma)."""
        return _query(ws, dataset, space, vector, filters, N_RESULTS, "")

    search_text(ws, dataset, "warm up", text_embedder=embedder, filters=filters, n=N_RESULTS)
    chroma(embedder.embed_texts(["warm up"])[0])
    total, embed, query, hits = [], [], [], []

    def search_and_fetch(q: str):
        """What the page does: embed, query Chroma, then fetch the page of result rows from SQLite."""
        result = search_text(ws, dataset, q, text_embedder=embedder, filters=filters, n=N_RESULTS)
        ws.store.rows_by_ids(result.row_ids)
        return result

    for q in QUERIES:
        seconds, result = timed(lambda q=q: search_and_fetch(q))
        total.append(seconds)
        hits.append(len(result))
        seconds, vectors = timed(lambda q=q: embedder.embed_texts([q]))
        embed.append(seconds)
        query.append(timed(lambda v=vectors[0]: chroma(v))[0])
    return {"total": total, "embed": embed, "chroma": query, "min_hits": min(hits)}


def describe_query(name: str, r: dict) -> str:
    t = r["total"]
    return (
        f"{name}: {spread(t)}"
        f" (p50 embed {percentile_ms(r['embed'], 50):.0f} ms + plan/Chroma {percentile_ms(r['chroma'], 50):.0f} ms;"
        f" Chroma p95 {percentile_ms(r['chroma'], 95):.0f} ms; {len(t)} queries, >= {r['min_hits']} hits each)"
    )


def similarity_latency(ws, dataset) -> list[float]:
    from core.search import search_similar

    ids = ws.store.row_ids(dataset.id)
    rng = random.Random(0)
    search_similar(ws, dataset, rng.sample(ids, 5), n=N_RESULTS)
    return [timed(lambda: search_similar(ws, dataset, rng.sample(ids, 5), n=N_RESULTS))[0] for _ in QUERIES]


def recall_at_10(ws, ds, minilm, queries: list[str]) -> float:
    """Share of the exact top-10 (numpy over every stored vector) that Chroma's HNSW returns."""
    from core.projection import dataset_vectors

    row_ids, matrix = dataset_vectors(ws, ds.id)
    ids = np.asarray(row_ids)
    recalls = []
    for vector in minilm.embed_texts(queries):
        exact = set(ids[np.argsort(-(matrix @ vector))[:10]].tolist())
        approx = {r for r, _ in ws.vectors.query(ds.id, ds.embedding_model, vector, n=10)}
        recalls.append(len(exact & approx) / 10)
    return float(np.mean(recalls))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, default=REPO / "bench" / ".cache" / "search-100k")
    args = parser.parse_args()

    from core.actions import bulk_classify
    from core.embedders import create_embedder
    from core.search import Filters, matching_row_ids
    from core.workspace import Workspace

    # Two runs on one workspace would undo each other's bulk label: the second waits.
    args.workspace.mkdir(parents=True, exist_ok=True)
    lock = (args.workspace / ".bench-search.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for another bench/search.py run on {args.workspace}", file=sys.stderr, flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    embedder = create_embedder("minilm-l6-v2").setup()
    ws = Workspace(args.workspace)
    t0 = time.perf_counter()
    dataset = open_dataset(ws, embedder)
    print(f"dataset ready in {time.perf_counter() - t0:.1f} s: {ws.status(dataset.id).rows:,} rows", file=sys.stderr)
    undo_leftover_bulk_labels(ws, dataset)
    rows = f"{ws.status(dataset.id).rows:,} rows"
    # Other processes on the machine inflate every figure below; say how busy it was.
    print(f"machine: {os.cpu_count()} cores, 1-min load average {os.getloadavg()[0]:.1f} before timing", flush=True)

    plain = query_latency(ws, dataset, embedder, Filters())
    print(describe_query(f"natural-language query ({rows})", plain), flush=True)
    r = query_latency(ws, dataset, embedder, Filters(labels=["positive"]))
    print(describe_query("  + label filter (labels=['positive'])", r), flush=True)
    r = query_latency(ws, dataset, embedder, Filters(keyword="work"))
    print(describe_query("  + keyword filter (keyword='work')", r), flush=True)
    # Control: no where clause at all (effective_filters already drops 'hide excluded' while none is).
    r = query_latency(ws, dataset, embedder, Filters(excluded=None))
    print(describe_query("  no filter at all (excluded=None)", r), flush=True)

    recall = recall_at_10(ws, dataset, embedder, list(QUERIES))
    print(
        f"recall@10 of Chroma's HNSW vs exact numpy search ({rows}, {len(QUERIES)} queries): {recall:.3f}"
        " (target >= 0.95)",
        flush=True,
    )

    t = similarity_latency(ws, dataset)
    print(
        f"more like these (centroid of 5 rows, {rows}): {spread(t)} ({len(t)} selections)",
        flush=True,
    )

    labeled = Filters(labeled=True)
    matching_row_ids(ws, dataset.id, labeled)
    t, n = [], 0
    for _ in range(10):
        seconds, ids = timed(lambda: matching_row_ids(ws, dataset.id, labeled))
        t.append(seconds)
        n = len(ids)
    print(
        f"select all N matching (labeled=True, N = {n:,}): p50 {percentile_ms(t, 50):.0f} ms,"
        f" max {percentile_ms(t, 100):.0f} ms (10 calls)",
        flush=True,
    )

    # Relabel 10,000 negative tweets as "positive" (an existing class, so undo leaves no trace).
    targets = matching_row_ids(ws, dataset.id, Filters(labels=["negative"]))[:BULK_ROWS]
    marks: list[float] = []
    t0 = time.perf_counter()
    result = bulk_classify(
        ws, dataset.id, targets, "positive", on_progress=lambda done, total: marks.append(time.perf_counter())
    )
    bulk_s = time.perf_counter() - t0
    rows_s = marks[-1] - t0  # the row-by-row loop ends at the last tick; then the commit and the outbox
    undo_s, undone = timed(lambda: ws.undo(result.batch_id))
    print(
        f"bulk label {result.changed:,} rows: {bulk_s:.1f} s (rows {rows_s:.1f} s, commit and outbox"
        f" {bulk_s - rows_s:.1f} s); undo {undo_s:.1f} s ({undone.restored:,} restored)",
        flush=True,
    )
    print(f"machine: 1-min load average {os.getloadavg()[0]:.1f} after timing", flush=True)


if __name__ == "__main__":
    main()
