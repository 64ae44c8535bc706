"""Active learning on sentiment140 (8,000 tweets): labels each strategy needs to match random sampling.

    python bench/active_learning.py                          # 10 seeds, 100-label batches, 4,000 labels
    python bench/active_learning.py --seeds 5 --budget 2000 --cache-dir /tmp/emb
    python bench/active_learning.py --dataset ag_news_train_subset_10k --skip-app-timing

Texts are cleaned as the app does (``clean_text``) and embedded with MiniLM once; the vectors are
cached as ``<dataset>.cleantext.minilm.npy`` in ``--cache-dir`` (default ``$CURATOR_EMB_CACHE`` or
``bench/.cache``). Per seed, 10% of the rows are held out (stratified); labeling starts from 100
random rows and adds 100-row batches chosen by each strategy, training a logistic regression after
each. Curves are averaged over seeds; "labels to match" is where a strategy's mean curve first
reaches random sampling's mean quality (ROC-AUC for two classes, else accuracy) at the budget,
interpolated. The same is read off at smaller budgets by cutting the curves. Last, the app-side
curve over already-labeled rows (``labeled_rows_curves``) is timed for 100 to 2,000 labeled rows.

With two classes least-confidence, margin and entropy rank rows identically; the 4-class AG News
option (``--dataset ag_news_train_subset_10k``) shows where they differ.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = Path(os.environ.get("CURATOR_SHARED_DATA", REPO.parent / "shared" / "data"))
# name: (file under the shared data folder, text column, label column)
DATASETS = {
    "sentiment140_8k": ("sentiment140/sentiment140_8k.csv", "text", "label"),
    "ag_news_train_subset_10k": ("ag_news/train_subset_10k.csv", "description", "label"),
}

from core.learning_curve import (  # noqa: E402  (after the sys.path line above)
    LearningCurve,
    average_curves,
    labeled_rows_curves,
    labels_saved,
    learning_curve,
)
from core.sampling import STRATEGIES  # noqa: E402
from core.textclean import clean_text  # noqa: E402


def load_dataset(name: str, cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """MiniLM vectors of the cleaned texts (cached as ``<name>.cleantext.minilm.npy``) and the labels."""
    relative, text_column, label_column = DATASETS[name]
    frame = pd.read_csv(SHARED / relative, keep_default_na=False)
    texts = [clean_text(text) for text in frame[text_column].to_numpy()]
    return load_embeddings(texts, cache_dir / f"{name}.cleantext.minilm.npy"), frame[label_column].to_numpy()


def load_embeddings(texts: list[str], path: Path) -> np.ndarray:
    """MiniLM vectors of ``texts``, computed once and cached (written atomically: temp file + rename)."""
    if path.exists():
        vectors = np.load(path)
        if len(vectors) == len(texts):
            return vectors
        print(f"ignoring {path}: {len(vectors)} rows, expected {len(texts)}", file=sys.stderr)
    from core.embedders import load_embedder

    started = time.perf_counter()
    vectors = load_embedder("minilm-l6-v2").embed_texts(texts, batch_size=64)
    print(f"embedded {len(texts)} texts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{os.getpid()}.npy"
    np.save(temporary, vectors)
    os.replace(temporary, path)
    return vectors


def cut(curve: LearningCurve, max_labels: int) -> LearningCurve:
    """The part of a curve up to ``max_labels`` labels (a smaller labeling budget)."""
    keep = curve.n_labels <= max_labels
    return replace(curve, n_labels=curve.n_labels[keep], quality=curve.quality[keep], accuracy=curve.accuracy[keep])


def fmt_labels(value: float | None) -> str:
    return "not reached" if value is None else f"{value:,.0f}"


def fmt_share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="sentiment140_8k")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--budget", type=int, default=4000, help="labels at the end of each curve")
    parser.add_argument("--test-size", type=float, default=0.1)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(os.environ.get("CURATOR_EMB_CACHE", REPO / "bench" / ".cache"))
    )
    parser.add_argument("--skip-app-timing", action="store_true")
    args = parser.parse_args()

    X, y = load_dataset(args.dataset, args.cache_dir)
    n_batches = args.budget // args.batch_size - 1  # the seed set is one batch
    print(
        f"{args.dataset}: {len(y)} rows, {len(set(y))} classes, MiniLM 384-d, logistic regression; "
        f"{args.test_size:.0%} held out; "
        f"seed set {args.batch_size} + {n_batches} batches of {args.batch_size} = {args.budget} labels; "
        f"{args.seeds} seeds; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n"
    )

    runs: dict[str, list[LearningCurve]] = {}
    for name in STRATEGIES:
        runs[name] = [
            learning_curve(
                X, y, strategy=name, batch_size=args.batch_size, n_batches=n_batches, test_size=args.test_size, seed=s
            )
            for s in range(args.seeds)
        ]
        print(f"  {name}: {sum(c.seconds for c in runs[name]):.1f} s", file=sys.stderr)
    mean = {name: average_curves(curves) for name, curves in runs.items()}

    metric = "ROC-AUC" if mean["random"].metric == "roc_auc" else "accuracy"
    print(f"Labels needed to match random sampling's mean {metric} at {args.budget:,} labels")
    header = (
        f"{'strategy':<17}{'final ± sd':>16}{'gain ± se':>17}{'labels to match':>17}{'share saved':>13}"
        f"{'per seed':>22}{'s/seed':>8}{'s/step':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, curve in mean.items():
        finals = np.array([c.quality[-1] for c in runs[name]])
        savings = labels_saved(curve, mean["random"])
        paired = [labels_saved(c, r).share_saved for c, r in zip(runs[name], runs["random"], strict=True)]
        # A seed where the strategy never reached random's final quality counts as the worst outcome.
        median = float(np.median([-np.inf if s is None else s for s in paired]))
        reached = sum(s is not None for s in paired)
        per_seed = f"{fmt_share(median if np.isfinite(median) else None)} ({reached}/{len(paired)} reached)"
        seconds = np.mean([c.seconds for c in runs[name]])
        print(
            f"{name:<17}{finals.mean():>9.4f} ±{finals.std():.3f}{paired_gain(runs[name], runs['random']):>17}"
            f"{fmt_labels(savings.labels_needed):>17}{fmt_share(savings.share_saved):>13}{per_seed:>22}"
            f"{seconds:>8.1f}{seconds / len(curve.n_labels):>8.2f}"
        )
    print(
        f"(final: {metric} at the budget; sd: its spread over seeds; gain: final minus random's on the same seed,\n"
        " mean ± standard error; labels to match and share saved: on the seed-averaged curves; per seed: median\n"
        " share saved on paired runs, a seed that never reached random's final quality counting as worst)\n"
    )

    budgets = sorted({b for b in (500, 1000, 2000, 3000, 4000, args.budget) if b <= args.budget})
    budgets = [b for b in budgets if b % args.batch_size == 0]
    print(f"Share of labels saved against random at smaller budgets (same curves, cut), with the paired {metric} gain")
    print(f"{'strategy':<17}" + "".join(f"{f'{b:,} labels':>22}" for b in budgets))
    for name in mean:
        if name == "random":
            continue
        cells = []
        for b in budgets:
            share = labels_saved(cut(mean[name], b), cut(mean["random"], b)).share_saved
            gain = paired_gain([cut(c, b) for c in runs[name]], [cut(c, b) for c in runs["random"]])
            cells.append(f"{fmt_share(share)} ({gain})")
        print(f"{name:<17}" + "".join(f"{cell:>22}" for cell in cells))
    print()

    points = [p for p in (100, 200, 300, 500, 1000, 1500, 2000, 3000, 4000, 5000) if p <= args.budget]
    print(f"Mean {metric} by labels")
    print(f"{'strategy':<17}" + "".join(f"{p:>8,}" for p in points))
    for name, curve in mean.items():
        at = dict(zip(curve.n_labels.tolist(), curve.quality, strict=True))
        print(f"{name:<17}" + "".join(f"{at[p]:>8.4f}" if p in at else f"{'':>8}" for p in points))
    print()

    if not args.skip_app_timing:
        time_app_side(X, y)


def paired_gain(curves: list[LearningCurve], random: list[LearningCurve]) -> str:
    """Final quality minus random's on the same seed: mean ± standard error."""
    gains = np.array([c.quality[-1] - r.quality[-1] for c, r in zip(curves, random, strict=True)])
    se = gains.std(ddof=1) / np.sqrt(len(gains)) if len(gains) > 1 else float("nan")
    return f"{gains.mean():+.4f}±{se:.4f}"


def time_app_side(X: np.ndarray, y: np.ndarray) -> None:
    """Wall time of ``labeled_rows_curves`` (5 repeats) on random subsets standing for a user's labels."""
    print("App-side curves over already-labeled rows (labeled_rows_curves, 5 repeats, ~10 steps)")
    print(f"{'labeled rows':>12}{'random+margin s':>17}{'diverse-margin s':>18}", end="")
    print(f"{'margin saved':>14}{'diverse saved':>15}")
    rng = np.random.default_rng(0)
    for n_labeled in (100, 500, 1000, 2000):
        rows = rng.choice(len(y), size=n_labeled, replace=False)
        started = time.perf_counter()
        curves = labeled_rows_curves(X[rows], y[rows], strategies=("random", "margin"))
        default_seconds = time.perf_counter() - started
        started = time.perf_counter()
        curves |= labeled_rows_curves(X[rows], y[rows], strategies=("diverse-margin",))
        diverse_seconds = time.perf_counter() - started
        margin = labels_saved(curves["margin"], curves["random"]).share_saved
        diverse = labels_saved(curves["diverse-margin"], curves["random"]).share_saved
        print(
            f"{n_labeled:>12,}{default_seconds:>17.1f}{diverse_seconds:>18.1f}"
            f"{fmt_share(margin):>14}{fmt_share(diverse):>15}"
        )


if __name__ == "__main__":
    main()
