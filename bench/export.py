"""Export benchmark: wall time, peak memory and file size exporting sentiment140's 100,000 tweets.

    python bench/export.py                         # workspace cached in bench/.cache/export-100k
    python bench/export.py --repeat 3 --formats csv parquet

An export reads the store only (no vectors), so the workspace holds the rows without embeddings:
``start_ingest`` stores them (about 10 s) and ``run_ingest`` is never called. It is curated once,
so the provenance columns are not trivial: 10,000 negative tweets relabeled "positive" in one bulk
batch, 5,000 other rows given auto labels with a confidence and a model id, "needs-review" tagged
on 1,000 rows and 500 rows excluded. Later runs reuse the workspace.

Each export runs in a fresh child process, so each format's peak RSS (that child's high-water
mark, ``VmHWM``) is its own; the baseline child imports the same modules and opens the same workspace but exports
nothing, so "above baseline" is what the export itself costs. Every row is exported (``rows="all"``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))
SOURCE = SHARED / "sentiment140" / "sentiment140_100k.csv"
DATASET = "sentiment140-100k"
FORMATS = ("csv", "jsonl", "parquet", "hf")
RELABEL, AUTO, TAGGED, EXCLUDED = 10_000, 5_000, 1_000, 500


def prepare(root: Path) -> None:
    """Store and curate the 100k rows once (no embeddings); reuse them on later runs."""
    from core.actions import bulk_classify, bulk_exclude, bulk_tag
    from core.history import history
    from core.ingest import load_source, start_ingest
    from core.review import NEEDS_REVIEW
    from core.schema import infer_mapping
    from core.workspace import Workspace

    ws = Workspace(root)
    if DATASET not in {d.name for d in ws.datasets()}:
        t0 = time.perf_counter()
        table = load_source(ws, SOURCE)
        start_ingest(ws, table, infer_mapping(table), DATASET, source=SOURCE.name)
        print(f"stored {len(table.frame):,} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    dataset = ws.dataset(DATASET)
    done = {b.action for b in history(ws.store, dataset.id) if b.undone_by is None}
    if "bulk_exclude" in done:
        return
    t0 = time.perf_counter()
    row_ids = ws.store.row_ids(dataset.id)  # the file holds 50k negative, then 50k positive tweets
    bulk_classify(ws, dataset.id, row_ids[:RELABEL], "positive")
    # Auto labels with varied classes and confidences (0.50-0.99), as a wizard would leave them.
    predicted = {
        r: ("negative" if i % 2 else "positive", 0.5 + (i % 50) / 100)
        for i, r in enumerate(row_ids[60_000 : 60_000 + AUTO])
    }
    with ws.batch(dataset.id, action="auto_label", description=f"Bench: auto-label {AUTO:,} rows") as batch:
        batch.set_predictions(predicted, model_id="bench-model", as_suggestion=False)
    bulk_tag(ws, dataset.id, row_ids[RELABEL : RELABEL + TAGGED], NEEDS_REVIEW)
    bulk_exclude(ws, dataset.id, row_ids[-EXCLUDED:])
    print(f"curated in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)


def child(root: Path, fmt: str, out: Path) -> None:
    """One export (or, with fmt "none", only the set-up) in this process; prints JSON."""
    from core.export import SUFFIX, export_dataset
    from core.workspace import Workspace

    ws = Workspace(root)
    dataset = ws.dataset(DATASET)
    result = None
    if fmt != "none":
        result = export_dataset(ws, dataset.id, out / f"{DATASET}{SUFFIX[fmt]}", fmt=fmt, rows="all")
    print(
        json.dumps(
            {
                "rows": result.rows if result else 0,
                "seconds": result.seconds if result else 0.0,
                "bytes": result.bytes if result else 0,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` keeps the parent's peak across fork + exec
    (a child of a 250 MB parent reports >= 250 MB), so read the new image's own high-water mark."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux; not here


def measure(root: Path, fmt: str, out: Path) -> dict:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", fmt, "--workspace", str(root), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"export to {fmt} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - t0
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, default=REPO / "bench" / ".cache" / "export-100k")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--repeat", type=int, default=3, help="exports per format (time: median; RSS: max)")
    parser.add_argument("--child", choices=[*FORMATS, "none"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.workspace, args.child, args.out)
        return

    prepare(args.workspace)
    print(f"machine: {os.cpu_count()} cores, 1-min load average {os.getloadavg()[0]:.1f} before timing", flush=True)
    out = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        baseline = max(measure(args.workspace, "none", out)["peak_rss_mb"] for _ in range(args.repeat))
        lines = [
            "| format | rows | export time (median, range) | rows/s | size | peak RSS | above baseline |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for fmt in args.formats:
            runs = [measure(args.workspace, fmt, out) for _ in range(args.repeat)]
            seconds = [r["seconds"] for r in runs]
            median, peak = statistics.median(seconds), max(r["peak_rss_mb"] for r in runs)
            lines.append(
                f"| {fmt} | {runs[0]['rows']:,} | {median:.1f} s ({min(seconds):.1f}-{max(seconds):.1f})"
                f" | {runs[0]['rows'] / median:,.0f} | {runs[0]['bytes'] / 1e6:.1f} MB | {peak:.0f} MB"
                f" | +{peak - baseline:.0f} MB |"
            )
            print(f"{fmt}: done ({len(runs)} runs)", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"baseline (a child that imports core.export and opens the workspace): peak RSS {baseline:.0f} MB")
    print("\n".join(lines))
    print(f"machine: 1-min load average {os.getloadavg()[0]:.1f} after timing", flush=True)


if __name__ == "__main__":
    main()
