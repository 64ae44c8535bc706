"""Does a multi-choice question's promise hold? One-vs-rest thresholds on AG News, answers hidden.

    python bench/multilabel.py                  # embeddings shared with bench/autolabel.py
    python bench/multilabel.py --seeds 5

AG News has one topic per row; here it is asked as a multi-choice question ("which topics apply?"), so
each row's true answer is a set of one class. That is the only multi-choice data with thousands of
answers on this machine (the hand-checked fixture has 240 rows). For each seed, ``n`` random rows are
answered and the rest are hidden; ``core.multilabel.fit_one_vs_rest`` (the code behind the Auto-label
page) picks each class's threshold for the target out of fold, and the classes it would add to the
hidden rows are checked against their topic. Precision counts classes, as the promise does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import autolabel as autolabel_bench  # noqa: E402  (bench/autolabel.py: the cached AG News embeddings)

from core.multilabel import fit_one_vs_rest  # noqa: E402


def one_seed(X: np.ndarray, Y: np.ndarray, n: int, target: float, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    answered = np.zeros(len(Y), dtype=bool)
    answered[rng.choice(len(Y), n, replace=False)] = True
    probabilities, thresholds, precision = fit_one_vs_rest(X[answered], Y[answered], X, target)
    cut = np.array([np.nan if t is None else t for t in thresholds])
    promised_per_class = np.array([np.nan if p is None else p for p in precision])
    with np.errstate(invalid="ignore"):
        chosen = (probabilities >= cut[None, :]) & ~answered[:, None]
    added = int(chosen.sum())
    if not added:
        return {"coverage": 0.0, "promised": np.nan, "actual": np.nan}
    return {
        "coverage": chosen.any(axis=1).sum() / (~answered).sum(),
        "promised": 1 - float(np.nansum(chosen.sum(axis=0) * (1 - promised_per_class))) / added,
        "actual": float((chosen & Y).sum()) / added,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--answered", default="100,200,400", help="rows answered, comma-separated")
    parser.add_argument("--cache", type=Path, default=REPO / "bench" / ".cache" / "autolabel")
    args = parser.parse_args()
    X, y, _, _ = autolabel_bench.load(autolabel_bench.AG_NEWS, args.cache)
    Y = np.eye(len(autolabel_bench.AG_NEWS.classes), dtype=bool)[y]
    print(f"AG News train 10k as a multi-choice question, {args.seeds} seeds\n")
    print(
        "| target | rows answered | hidden rows given a class, mean | promised precision | actual precision, mean"
        " (worst seed) | abs(promised - actual), mean | seeds with nothing promised |"
    )
    print("|---|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    for target in (0.90, 0.95):
        for n in (int(a) for a in args.answered.split(",")):
            runs = [one_seed(X, Y, n, target, seed) for seed in range(args.seeds)]
            promised = np.array([r["promised"] for r in runs])
            actual = np.array([r["actual"] for r in runs])
            some = ~np.isnan(promised)
            gap = np.abs(promised - actual)[some]
            line = (
                f"| {target:.0%} | {n} | {np.mean([r['coverage'] for r in runs]):.1%} | "
                + (
                    f"{promised[some].mean():.1%} | {actual[some].mean():.1%} ({actual[some].min():.1%}) | "
                    f"{100 * gap.mean():.1f} points | "
                    if some.any()
                    else "- | - | - | "
                )
                + f"{(~some).sum()} |"
            )
            print(line, flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
