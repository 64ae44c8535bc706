"""Ingest throughput and memory on the full shared files; prints the figures for the README.

    python bench/ingest.py            # all parts
    python bench/ingest.py --part ratio|rss|pace

Part 1 (AG News train subset, 10,001 rows): rows/s of the whole ingest (parse, store, embed,
Chroma, cache) as a ratio to raw SentenceTransformer.encode on the same texts, measured in the
same run (target >= 0.9). Part 2 (sentiment140, 100,000 rows): wall time and peak RSS of a full
ingest in a fresh process (target peak RSS < 3 GB). Part 3 (AG News, the first 2,000 rows): rows/s, rows
per CPU-second (steadier than wall time on a shared machine) and the seconds between progress reports
(target: every 2-7 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))


def ratio() -> dict:
    from core.embedders import create_embedder
    from core.ingest import load_source, run_ingest, start_ingest
    from core.schema import build_rows, infer_mapping
    from core.workspace import Workspace

    path = SHARED / "ag_news" / "train_subset_10k.csv"
    embedder = create_embedder("minilm-l6-v2").setup()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        table = load_source(ws, path)
        texts = [r["text"] for r in build_rows(table, infer_mapping(table))]
        embedder.model_.encode(texts[:64], batch_size=32)  # warm up both the same way

        def raw_encode() -> float:
            t0 = time.perf_counter()
            embedder.model_.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
            return time.perf_counter() - t0

        # raw, ingest, raw: the mean of the two raw runs brackets the ingest, so a change in machine
        # load during the run moves both sides of the ratio alike.
        raw_before = raw_encode()
        t0 = time.perf_counter()
        table = load_source(ws, path)
        job = start_ingest(ws, table, infer_mapping(table), "agnews", source=path.name)
        report = run_ingest(ws, job, embedder)
        ingest_s = time.perf_counter() - t0
        raw_s = (raw_before + raw_encode()) / 2
    n = len(texts)
    return {
        "rows": n,
        "raw_encode_rows_per_s": round(n / raw_s, 1),
        "ingest_rows_per_s": round(report.embedded / ingest_s, 1),
        "ratio": round((report.embedded / ingest_s) / (n / raw_s), 3),
    }


def pace(n: int = 2000) -> dict:
    import dataclasses
    import statistics

    from core.embedders import create_embedder
    from core.ingest import load_source, run_ingest, start_ingest
    from core.schema import infer_mapping
    from core.workspace import Workspace

    path = SHARED / "ag_news" / "train_subset_10k.csv"
    embedder = create_embedder("minilm-l6-v2").setup()
    embedder.model_.encode(["warm up"] * 64, batch_size=32)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        table = load_source(ws, path)
        table = dataclasses.replace(table, frame=table.frame.iloc[:n].reset_index(drop=True))
        wall, cpu, reports = time.perf_counter(), time.process_time(), []
        job = start_ingest(ws, table, infer_mapping(table), "agnews", source=path.name)
        report = run_ingest(ws, job, embedder, on_progress=lambda p: reports.append(time.perf_counter()))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    gaps = [b - a for a, b in zip(reports, reports[1:], strict=False)]
    return {
        "rows": report.embedded,
        "rows_per_s": round(report.embedded / wall, 1),
        "rows_per_cpu_s": round(report.embedded / cpu, 1),
        "reports": len(reports),
        "max_gap_s": round(max(gaps), 1),
        "median_gap_s": round(statistics.median(gaps), 1),
    }


def rss_child() -> None:
    from core.embedders import create_embedder
    from core.ingest import load_source, run_ingest, start_ingest
    from core.schema import infer_mapping
    from core.workspace import Workspace

    path = SHARED / "sentiment140" / "sentiment140_100k.csv"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ws = Workspace(Path(tmp) / "ws")
        table = load_source(ws, path)
        job = start_ingest(ws, table, infer_mapping(table), "tweets", source=path.name)
        stored_s = time.perf_counter() - t0
        report = run_ingest(ws, job, create_embedder("minilm-l6-v2").setup())
        wall = time.perf_counter() - t0
        disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": report.embedded,
                "distinct_texts_computed": report.computed,
                "phase1_store_s": round(stored_s, 1),
                "wall_s": round(wall, 1),
                "rows_per_s": round(report.embedded / wall, 1),
                "peak_rss_gb": round(peak_kb / 1024**2, 2),
                "workspace_disk_mb": round(disk / 1e6),
            }
        )
    )


def rss() -> dict:
    out = subprocess.run([sys.executable, __file__, "--part", "rss-child"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["all", "ratio", "rss", "pace", "rss-child"], default="all")
    part = parser.parse_args().part
    if part == "rss-child":
        rss_child()
        return
    if part in ("all", "ratio"):
        r = ratio()
        print(
            f"AG News 10k: raw encode {r['raw_encode_rows_per_s']} rows/s, ingest {r['ingest_rows_per_s']} rows/s,"
            f" ratio {r['ratio']} (target >= 0.9)"
        )
    if part in ("all", "rss"):
        r = rss()
        print(
            f"sentiment140 100k: {r['rows']:,} rows in {r['wall_s']} s ({r['rows_per_s']} rows/s;"
            f" {r['distinct_texts_computed']:,} distinct texts encoded; rows stored in {r['phase1_store_s']} s),"
            f" peak RSS {r['peak_rss_gb']} GB (target < 3 GB), workspace {r['workspace_disk_mb']} MB on disk"
        )
    if part in ("all", "pace"):
        r = pace()
        print(
            f"AG News {r['rows']:,}: {r['rows_per_s']} rows/s, {r['rows_per_cpu_s']} rows per CPU-second;"
            f" {r['reports']} progress reports, at most {r['max_gap_s']} s apart (median {r['median_gap_s']} s;"
            " target 2-7 s)"
        )


if __name__ == "__main__":
    main()
