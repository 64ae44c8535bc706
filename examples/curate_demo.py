"""Curate the shipped AG News demo end to end with the Python API (core/api.py), no app needed.

    python examples/curate_demo.py                       # a new temporary workspace (kept, path printed)
    python examples/curate_demo.py --workspace DIR --out DIR

Steps: ingest demo/ag_news_1500.csv (1,500 news items, 28% labeled) → search "oil prices" →
auto-label at 95% target precision and accept → find issues → auto-fix the 10 likeliest label
issues → export the rows not excluded as CSV → write the health report. Each step prints a short
summary; progress goes to stderr. About 1-2 minutes on 2 cores, most of it embedding the rows.
Open the result in the app afterwards: ``CURATOR_WORKSPACE=DIR streamlit run app.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core import api  # noqa: E402  (after the path set-up, so the example runs from a clone)
from core.demo import demo  # noqa: E402
from core.wording import duration  # noqa: E402

QUERY = "oil prices"
TARGET_PRECISION = 0.95
FIX_TOP = 10


def progress(fraction: float, message: str) -> None:
    print(f"\r  {fraction:4.0%} {message[:90]:<90}", end="", file=sys.stderr, flush=True)


def step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.perf_counter()


def done(started: float) -> None:
    print(f"   ({duration(time.perf_counter() - started)})", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, help="workspace folder (default: a new temporary folder)")
    parser.add_argument("--out", type=Path, help="where the export and report go (default: WORKSPACE/exports)")
    args = parser.parse_args(argv)
    root = args.workspace or Path(tempfile.mkdtemp(prefix="curator-demo-"))
    out = args.out or root / "exports"
    news = demo("news")

    ws = api.open_workspace(root)
    print(f"workspace: {ws.root}")

    t = step(f"1. Ingest {news.path.name}")
    if news.name in {d.name for d in ws.datasets()}:
        dataset = ws.dataset(news.name)
        print(f"   '{news.name}' is already in this workspace: reusing it")
    else:
        dataset = api.ingest(ws, news.path, dataset=news.name, progress=progress)
        print(file=sys.stderr)
    status = ws.status(dataset.id)
    print(
        f"   {status.rows:,} rows, {status.embedded:,} embedded with {dataset.embedding_model},"
        f" {status.labeled:,} labeled ({status.labeled_share:.0%})"
    )
    done(t)

    t = step(f'2. Search "{QUERY}"')
    hits = api.search(ws, dataset, QUERY, k=5)
    for hit in hits.itertuples():
        label = hit.label or "(unlabeled)"
        print(f"   {hit.score:.3f}  {label:<10} {textwrap.shorten(hit.text, 80)}")
    done(t)

    t = step(f"3. Auto-label at {TARGET_PRECISION:.0%} target precision, accept")
    result = api.auto_label(ws, dataset, target_precision=TARGET_PRECISION, accept=True, progress=progress)
    print(file=sys.stderr)
    print(f"   labeler: {result.prediction.run.summary['labeler']}; threshold {result.prediction.threshold:.3f}")
    print(f"   {result.promise.describe()}")
    promise, accepted = result.promise, result.accepted
    print(
        f"   accepted: {promise.rows:,} auto labels, {promise.candidates - promise.rows:,} suggestions;"
        f" {accepted.changed:,} rows changed (batch {accepted.batch_id})"
    )
    done(t)

    t = step("4. Find issues")
    report = api.find_issues(ws, dataset, progress=progress)
    print(file=sys.stderr)
    print(f"   {report.n_rows:,} rows checked")
    for name, n in report.counts().items():
        print(f"   {report.title(name):<28}{n:>6,}")
    done(t)

    t = step(f"5. Auto-fix the top {FIX_TOP} label issues")
    top = api.top_issues(report, issue="label", n=FIX_TOP)
    for row in top.itertuples():
        print(f"   {row.source_id:<14} {row.given:<10} -> {row.suggested:<10} ({row.suggested_confidence:.0%})")
    fixed = api.fix_issues(ws, dataset, report, top.row_id.tolist(), fix="auto_fix")
    print(f"   {fixed.describe('Auto-fixed')} (batch {fixed.batch_id})")
    done(t)

    t = step("6. Export CSV (rows not excluded)")
    exported = api.export(ws, dataset, out / "ag_news_curated.csv", fmt="csv", rows="not_excluded")
    print(
        f"   {exported.rows:,} rows, {len(exported.columns)} columns, {exported.bytes / 1e6:.2f} MB -> {exported.path}"
    )
    sources = pd.read_csv(exported.path, usecols=["label_source"])["label_source"].fillna("(unlabeled)")
    print("   label_source: " + ", ".join(f"{s} {n:,}" for s, n in sources.value_counts().items()))
    done(t)

    t = step("7. Health report")
    if importlib.util.find_spec("core.health") is None:
        print("   skipped: this installation has no core/health.py")
    else:
        path = api.health_report(ws, dataset, out / "ag_news_health.html")
        print(f"   {path.stat().st_size / 1e6:.2f} MB -> {path}")
    done(t)

    print(f"\nOpen it in the app: CURATOR_WORKSPACE={ws.root} streamlit run app.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
