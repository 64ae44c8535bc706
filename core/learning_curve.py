"""Learning curves: model quality against labels used, for a sampling strategy vs random.

``learning_curve`` simulates labeling with a strategy on rows whose labels are known, and
``labels_saved`` reads off how many labels a strategy needed to match random sampling
(docs/active_learning.md). ``labeled_rows_curves`` is what the app draws from the labels so far.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

from core.errors import InputError
from core.sampling import SamplingStrategy, create_strategy
from core.wording import counted


class Classifier(Protocol):
    """What ``learning_curve`` needs from a model: scikit-learn's fit / predict_proba / classes_."""

    classes_: np.ndarray

    def fit(self, X: np.ndarray, y: np.ndarray) -> Any: ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


def default_classifier() -> Classifier:
    """Logistic regression: on sentence embeddings it is fast (tens of ms for 2,000 rows) and strong."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


@dataclass(frozen=True)
class LearningCurve:
    """Quality on held-out rows after each simulated labeling step.

    ``n_labels[i]`` rows were labeled (the seed set included) when ``quality[i]`` was measured;
    ``quality`` is ``metric`` ("roc_auc" for two classes, else "accuracy"), ``accuracy`` is always
    there. ``seconds`` is the wall time of the simulation (summed over runs for an average).
    """

    strategy: str
    metric: str
    n_labels: np.ndarray
    quality: np.ndarray
    accuracy: np.ndarray
    seconds: float
    runs: int = 1
    per_run_quality: np.ndarray | None = None  # (runs, steps) before averaging: the seeds' spread


@dataclass(frozen=True)
class LabelSavings:
    """How many labels a strategy needed to reach random sampling's final quality.

    ``labels_needed`` is interpolated linearly between steps at the first step reaching
    ``target_quality``; it, ``labels_saved`` and ``share_saved`` are ``None`` when the strategy never
    got there within its curve.
    """

    target_quality: float
    labels_random: int
    labels_needed: float | None
    labels_saved: float | None
    share_saved: float | None


def learning_curve(
    X: np.ndarray,
    y: np.ndarray,
    *,
    strategy: str | SamplingStrategy,
    batch_size: int = 100,
    n_batches: int | None = None,
    initial_size: int | None = None,
    test_size: float = 0.1,
    metric: Literal["auto", "roc_auc", "accuracy"] = "auto",
    make_model: Callable[[], Classifier] = default_classifier,
    seed: int = 0,
) -> LearningCurve:
    """Simulate labeling ``X`` batch by batch with ``strategy``, using the known labels ``y``.

    A stratified ``test_size`` share is held out for evaluation; the rest is the pool. Labeling
    starts from ``initial_size`` random pool rows (at least one per class), then repeats: train
    ``make_model()`` on the labeled rows, score it on the held-out rows, predict the pool, let the
    strategy pick ``batch_size`` rows and reveal their labels. The same ``seed`` gives every
    strategy the same split and seed set, so curves from different strategies are paired.

    Two uses: a benchmark on a fully labeled dataset (``bench/active_learning.py``), and, in the app,
    a curve over the rows a user has already labeled (the labeled rows are the pool; see
    ``labeled_rows_curves``, which picks sizes for that case).

    Parameters
    ----------
    X
        Features, shape (n_rows, dim); embeddings also serve strategies that need them.
    y
        Known labels, shape (n_rows,), any hashable values (strings are fine).
    strategy
        A registered strategy name or a strategy object.
    batch_size
        Rows revealed per step.
    n_batches
        Steps after the seed set; ``None`` runs until the pool is used up.
    initial_size
        Random rows labeled before the first step; defaults to ``batch_size``.
    test_size
        Share of rows held out for evaluation (stratified by label).
    metric
        "auto" means ROC-AUC for two classes, accuracy otherwise.
    make_model
        Returns a fresh, unfitted classifier with ``fit`` / ``predict_proba`` / ``classes_``.
    seed
        Seeds the split, the seed set and the strategy's tie-breaking and random picks.

    Returns
    -------
    LearningCurve
        One point per step: labels so far and held-out quality.
    """
    started = time.perf_counter()
    X = np.asarray(X, dtype=np.float32)
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    if X.ndim != 2 or len(X) != len(codes):
        raise InputError(f"X must have one row per label: got X {X.shape} and {len(codes)} labels.")
    if len(classes) < 2:
        raise InputError("A learning curve needs at least two different labels.")
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}.")
    sampler = create_strategy(strategy) if isinstance(strategy, str) else strategy
    metric = _resolve_metric(metric, len(classes))
    initial_size = batch_size if initial_size is None else initial_size

    pool, test = _stratified_split(codes, test_size=test_size, seed=seed)
    X_pool, y_pool, X_test, y_test = X[pool], codes[pool], X[test], codes[test]
    labeled = np.zeros(len(pool), dtype=bool)
    labeled[_seed_rows(y_pool, initial_size, np.random.default_rng([seed, 0]))] = True
    query_rng = np.random.default_rng([seed, 1])

    n_labels, quality, accuracy = [], [], []
    step = 0
    # Small fits are faster on one thread; on a busy 2-core machine the default BLAS/OpenMP threads
    # made a 2,000-row logistic regression 50x slower (0.9 s against 18 ms) and k-means 8x (measured).
    with threadpool_limits(limits=1), warnings.catch_warnings():
        # A seed set of one row per class is a classification problem, not the regression sklearn suspects.
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        while True:
            model = make_model()
            model.fit(X_pool[labeled], y_pool[labeled])
            test_probabilities = _aligned_probabilities(model, X_test, len(classes))
            n_labels.append(int(labeled.sum()))
            quality.append(_score(metric, y_test, test_probabilities))
            accuracy.append(float(np.mean(test_probabilities.argmax(axis=1) == y_test)))
            if labeled.all() or (n_batches is not None and step >= n_batches):
                break
            pool_probabilities = _aligned_probabilities(model, X_pool, len(classes))
            picked = sampler.query(
                pool_probabilities, batch_size, embeddings=X_pool, labeled_mask=labeled, rng=query_rng
            )
            labeled[picked] = True
            step += 1
    return LearningCurve(
        strategy=sampler.name,
        metric=metric,
        n_labels=np.asarray(n_labels),
        quality=np.asarray(quality),
        accuracy=np.asarray(accuracy),
        seconds=time.perf_counter() - started,
    )


def average_curves(curves: Sequence[LearningCurve]) -> LearningCurve:
    """Pointwise mean of curves run with the same sizes (e.g. one per seed); ``runs`` counts them."""
    if not curves:
        raise InputError("No learning curves to average.")
    first = curves[0]
    for curve in curves[1:]:
        if curve.metric != first.metric or not np.array_equal(curve.n_labels, first.n_labels):
            raise InputError("Only curves with the same metric and label counts can be averaged.")
    return LearningCurve(
        strategy=first.strategy,
        metric=first.metric,
        n_labels=first.n_labels.copy(),
        quality=np.mean([c.quality for c in curves], axis=0),
        accuracy=np.mean([c.accuracy for c in curves], axis=0),
        seconds=float(sum(c.seconds for c in curves)),
        runs=sum(c.runs for c in curves),
        per_run_quality=np.vstack([_per_run(c) for c in curves]),
    )


def labels_saved(curve_strategy: LearningCurve, curve_random: LearningCurve) -> LabelSavings:
    """Labels ``curve_strategy`` needed to reach ``curve_random``'s final quality, and the share saved.

    The first step at or above the target is interpolated linearly with the step before it. Average
    several seeds first (``average_curves``): a single noisy curve can touch the target early (on
    sentiment140, random sampling "saves" 4% against itself per seed that way).

    Parameters
    ----------
    curve_strategy
        The curve of the strategy being judged.
    curve_random
        The random-sampling curve (same metric); its last point is the target.

    Returns
    -------
    LabelSavings
        Target quality, random's label count, labels needed and saved (``None`` if never reached).
    """
    if curve_strategy.metric != curve_random.metric:
        raise InputError(f"Cannot compare a {curve_strategy.metric} curve with a {curve_random.metric} curve.")
    target = float(curve_random.quality[-1])
    labels_random = int(curve_random.n_labels[-1])
    n, q = curve_strategy.n_labels.astype(float), curve_strategy.quality
    reached = np.flatnonzero(q >= target)
    if len(reached) == 0:
        return LabelSavings(target, labels_random, None, None, None)
    i = int(reached[0])
    needed = float(n[0])
    if i > 0:  # q[i - 1] < target <= q[i]: the denominator is positive
        needed = float(n[i - 1] + (target - q[i - 1]) / (q[i] - q[i - 1]) * (n[i] - n[i - 1]))
    saved = labels_random - needed
    return LabelSavings(target, labels_random, needed, saved, saved / labels_random)


def _per_run(curve: LearningCurve) -> np.ndarray:
    return curve.quality[None] if curve.per_run_quality is None else curve.per_run_quality


@dataclass(frozen=True)
class CurveComparison:
    """Is a strategy's curve above random's by more than the seeds' own noise?

    ``gain`` is the mean over seeds of the strategy's quality minus random's, averaged over the steps
    after the seed set (the same seed gives both the same split and seed set: the differences are
    paired). ``noise`` is the one-sided 95% t bound on that mean from its spread over the seeds.
    """

    gain: float
    noise: float
    runs: int

    @property
    def clear(self) -> bool:
        """The strategy is better beyond the noise (never with fewer than two seeds)."""
        return self.runs >= 2 and self.gain > self.noise


def compare_curves(curve_strategy: LearningCurve, curve_random: LearningCurve) -> CurveComparison:
    """Whether ``curve_strategy`` beats ``curve_random`` beyond the spread of their seeds.

    With the few hundred labels of the app's curves, a 20% held-out set of 50-100 rows moves the
    accuracy by several points from seed to seed, and the averaged curves cross back and forth: a
    "labels saved" read off them is noise unless the paired per-seed differences say otherwise (a
    one-sided t test at 95%, on the mean difference over the steps). It costs nothing: the seeds are
    the ones drawn already.
    """
    from scipy.stats import t

    if curve_strategy.per_run_quality is None or curve_random.per_run_quality is None:
        return CurveComparison(float(np.mean(curve_strategy.quality - curve_random.quality)), float("inf"), 1)
    a, b = curve_strategy.per_run_quality, curve_random.per_run_quality
    if a.shape != b.shape:
        raise InputError("Only curves from the same seeds and label counts can be compared.")
    steps = slice(1, None) if a.shape[1] > 1 else slice(None)  # the seed set is the same for both
    per_seed = (a[:, steps] - b[:, steps]).mean(axis=1)
    runs = len(per_seed)
    if runs < 2:
        return CurveComparison(float(per_seed.mean()), float("inf"), runs)
    noise = float(t.ppf(0.95, runs - 1) * per_seed.std(ddof=1) / np.sqrt(runs))
    return CurveComparison(float(per_seed.mean()), noise, runs)


def describe_savings(curve_strategy: LearningCurve, curve_random: LearningCurve) -> str:
    """The labels a strategy saved against random sampling, in words, claimed only when the curves are
    apart beyond their seeds' noise (``compare_curves``); otherwise "no clear difference yet"."""
    name = curve_strategy.strategy.replace("-", " ").capitalize()
    saved = labels_saved(curve_strategy, curve_random)
    versus = compare_curves(curve_strategy, curve_random)
    metric = curve_random.metric.replace("_", "-")
    spread = f"noise ±{100 * versus.noise:.1f}" if np.isfinite(versus.noise) else "one seed: no noise estimate"
    gain = f"{100 * versus.gain:+.1f} points of {metric} on average over {counted(versus.runs, 'seed')}, {spread}"
    if versus.clear and saved.labels_saved is not None and saved.labels_saved > 0:
        return (
            f"{name} sampling reached random sampling's final {metric} ({saved.target_quality:.3f}) with about"
            f" {saved.labels_needed:,.0f} of {saved.labels_random:,} labels: {saved.share_saved:.0%} fewer ({gain})."
        )
    if versus.clear:
        return f"{name} sampling is ahead of random sampling ({gain}), but saved no labels at the end of the curve."
    if versus.gain < -versus.noise:
        return f"{name} sampling did worse than random sampling on these labels ({gain})."
    return (
        f"No clear difference yet at {saved.labels_random:,} labels between {name.lower()} and random sampling"
        f" ({gain}): no labels saved can be claimed."
    )


#: Fewer labeled rows than this give a curve of noise (a 20% held-out set of 8 rows).
MIN_LABELED_ROWS = 40
MIN_ROWS_PER_CLASS = 5


def labeled_rows_curves(
    X: np.ndarray,
    y: np.ndarray,
    *,
    strategies: Sequence[str] = ("random", "margin"),
    repeats: int = 5,
    seed: int = 0,
    make_model: Callable[[], Classifier] = default_classifier,
    on_progress: Callable[[float, str], None] | None = None,
) -> dict[str, LearningCurve]:
    """Learning curves over the rows a user has already labeled, one averaged curve per strategy.

    The app cannot reveal labels nobody gave, so the pool is the labeled rows themselves: 20% are
    held out, the other 80% are "labeled" in about ten steps (seed set and batches of a tenth of the
    pool) until all are used. The curve answers "is quality still rising with more labels?", and
    ``labels_saved`` on the result tells how many of those labels a strategy would have needed to
    reach the quality of all of them (every strategy ends at the same point: the whole pool).
    ``repeats`` seeds are averaged because small held-out sets are noisy. If the user chose rows to
    label by hand rather than at random, "random" here means "random among those rows".

    Parameters
    ----------
    X
        Embeddings of the labeled rows, shape (n_labeled, dim).
    y
        Their labels; at least ``MIN_LABELED_ROWS`` rows and ``MIN_ROWS_PER_CLASS`` per class.
    strategies
        Registered strategy names; include "random" to compare against it.
    repeats
        Seeds averaged per strategy (seed, seed + 1, ...).
    seed
        First seed.
    make_model
        Returns a fresh, unfitted classifier.
    on_progress
        Called with (fraction, message) before each simulation (strategies x repeats, alike in cost),
        so a bar can say how long is left.

    Returns
    -------
    dict[str, LearningCurve]
        One seed-averaged curve per strategy name, in the order given.
    """
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    if len(classes) < 2:
        raise InputError("Label rows of at least two classes to draw a learning curve.")
    if counts.min() < MIN_ROWS_PER_CLASS or len(y) < MIN_LABELED_ROWS:
        raise InputError(
            f"A learning curve needs at least {MIN_LABELED_ROWS} labeled rows and {MIN_ROWS_PER_CLASS} of every "
            f"class; '{classes[counts.argmin()]}' has {counts.min():,} of {counted(len(y), 'labeled row')}."
        )
    test_size = 0.2
    n_pool = len(y) - max(len(classes), round(test_size * len(y)))
    batch_size = max(len(classes), int(np.ceil(n_pool / 10)))
    report = on_progress or (lambda f, m: None)
    curves: dict[str, LearningCurve] = {}
    for s, name in enumerate(strategies):
        runs = []
        for repeat in range(repeats):
            done = (s * repeats + repeat) / (len(strategies) * repeats)
            report(done, f"Simulating labeling with {name} sampling: run {repeat + 1} of {repeats}")
            runs.append(
                learning_curve(
                    X,
                    y,
                    strategy=name,
                    batch_size=batch_size,
                    test_size=test_size,
                    make_model=make_model,
                    seed=seed + repeat,
                )
            )
        curves[name] = average_curves(runs)
    return curves


def _resolve_metric(metric: str, n_classes: int) -> str:
    if metric == "auto":
        return "roc_auc" if n_classes == 2 else "accuracy"
    if metric == "roc_auc" and n_classes != 2:
        raise InputError(f"ROC-AUC is computed for two classes; this data has {n_classes}. Use accuracy.")
    if metric not in {"roc_auc", "accuracy"}:
        raise InputError(f"Unknown metric '{metric}': use 'auto', 'roc_auc' or 'accuracy'.")
    return metric


def _score(metric: str, y_true: np.ndarray, probabilities: np.ndarray) -> float:
    if metric == "roc_auc":
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(y_true, probabilities[:, 1]))
    return float(np.mean(probabilities.argmax(axis=1) == y_true))


def _aligned_probabilities(model: Classifier, X: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba with one column per class code, even if the model saw only some classes."""
    probabilities = model.predict_proba(X)
    if probabilities.shape[1] == n_classes:
        return probabilities
    aligned = np.zeros((len(X), n_classes))
    aligned[:, np.asarray(model.classes_, dtype=np.int64)] = probabilities
    return aligned


def _stratified_split(codes: np.ndarray, *, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if not 0 < test_size < 1:
        raise InputError(f"test_size must be between 0 and 1, got {test_size}.")
    n_classes = int(codes.max()) + 1
    n_test = max(n_classes, round(test_size * len(codes)))
    counts = np.bincount(codes)
    if counts.min() < 2 or len(codes) - n_test < n_classes:
        raise InputError(
            f"Too few rows to hold out a test set: every class needs at least 2 rows (smallest has {counts.min()})."
        )
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(codes))
    pool, test = train_test_split(rows, test_size=n_test, stratify=codes, random_state=seed)
    return np.sort(pool), np.sort(test)


def _seed_rows(codes: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` random rows with at least one of every class, so the first model can be trained."""
    classes = np.unique(codes)
    if size < len(classes):
        raise InputError(f"initial_size must be at least the number of classes ({len(classes)}), got {size}.")
    one_per_class = [rng.choice(np.flatnonzero(codes == c)) for c in classes]
    rest = np.setdiff1d(np.arange(len(codes)), one_per_class)
    fill = rng.choice(rest, size=min(size - len(classes), len(rest)), replace=False)
    return np.concatenate([one_per_class, fill]).astype(np.int64)
