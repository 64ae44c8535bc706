"""How many rows can be auto-labeled at a target precision, and how sure we are of it.

The promise ("N rows will be auto-labeled; we expect about M of them to be wrong") rests on
calibrated confidences. Calibration is learned from OUT-OF-FOLD predictions on the labeled rows
(``cross_val_proba``: each fold's rows are hidden, i.e. treated as unlabeled, while the labeler is
refitted), with one parameter, a softmax temperature.

With ~80 labeled rows the temperature is uncertain, and the precision of the top rows moves a lot
with it, so the temperature gets a posterior on a grid (a weak log-normal prior times the
out-of-fold likelihood). Every quantity below is averaged over that posterior:

- each row's calibrated confidence is its posterior-mean probability of being right;
- the expected precision of the rows above a threshold is the mean of their calibrated
  confidences; its interval is predictive: the posterior's spread plus the luck of those rows;
- the threshold is the lowest one at which the posterior probability that the precision reaches
  the target is at least ``credibility`` (0.9 by default: a conservative choice, because
  over-reaching costs far more precision than under-reaching costs coverage).

The promise is only as good as the labeled rows are representative: rows a person picked by
searching are not a random sample. Say so in the UI; an audit of accepted rows checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import betainc
from sklearn.base import clone

from core.autolabel.base import AutoLabelData, AutoLabeler, check_labels, softmax
from core.errors import InputError

LOG_TEMPERATURES = np.linspace(-2.5, 3.5, 61)  # T from 0.08 (sharpen) to 33 (flatten)


def cross_val_proba(
    labeler: AutoLabeler,
    data: AutoLabelData,
    y: np.ndarray,
    *,
    n_folds: int = 5,
    seed: int = 0,
    on_fit: Callable[[], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities for the labeled rows.

    Folds are stratified by class. For each fold a fresh copy of ``labeler`` is fitted on all rows
    with that fold's labels removed (so semi-supervised labelers see those rows as unlabeled, as
    they will see the rows they auto-label). A labeler that ignores labels is fitted once.
    ``on_fit`` is called after each fit (``cross_val_fits`` of them), for a progress bar.

    Returns
    -------
    rows, proba
        Indices of the labeled rows and their (n_labeled, n_classes) out-of-fold probabilities.
    """
    y = check_labels(y, data)
    rows = np.flatnonzero(y >= 0)
    if len(rows) < 2:
        raise InputError("Estimating precision needs at least two labeled rows.")
    done = on_fit or (lambda: None)
    if not labeler.uses_labels:
        proba = clone(labeler).fit(data, y).proba_[rows]
        done()
        return rows, proba
    rng = np.random.default_rng(seed)
    n_folds = int(min(n_folds, len(rows)))
    fold = np.empty(len(rows), dtype=np.int64)
    for c in np.unique(y[rows]):
        members = np.flatnonzero(y[rows] == c)
        rng.shuffle(members)
        fold[members] = (np.arange(len(members)) + rng.integers(n_folds)) % n_folds
    proba = np.zeros((len(rows), data.n_classes))
    for f in range(n_folds):
        held = fold == f
        if held.any():
            y_fold = y.copy()
            y_fold[rows[held]] = -1
            proba[held] = clone(labeler).fit(data, y_fold).proba_[rows[held]]
        done()  # an empty fold too: the count of fits announced stays the count reported
    return rows, proba


def cross_val_fits(labeler: AutoLabeler, y: np.ndarray, *, n_folds: int = 5) -> int:
    """How many fits ``cross_val_proba`` makes (and reports through ``on_fit``): the work is known ahead,
    so a progress bar can say how much is done and how long is left."""
    return int(min(n_folds, int((np.asarray(y) >= 0).sum()))) if labeler.uses_labels else 1


@dataclass(frozen=True)
class TemperaturePosterior:
    """Posterior weights over a grid of log-temperatures."""

    log_temperatures: np.ndarray
    weights: np.ndarray
    n_labeled: int

    @property
    def temperature(self) -> float:
        """Posterior mean temperature (for display)."""
        return float(self.weights @ np.exp(self.log_temperatures))

    def sample_log_temperatures(self, n_samples: int = 100) -> np.ndarray:
        """Grid indices of ``n_samples`` stratified draws (inverse CDF at evenly spaced quantiles)."""
        quantiles = (np.arange(n_samples) + 0.5) / n_samples
        return np.searchsorted(np.cumsum(self.weights), quantiles).clip(0, len(self.weights) - 1)

    def calibrate(self, proba: np.ndarray, *, n_samples: int = 100) -> np.ndarray:
        """Posterior-mean calibrated probabilities (same shape as ``proba``), averaged over the
        same draws ``estimate_threshold`` uses, so both agree on every row's confidence."""
        logp = np.log(np.clip(proba, 1e-12, 1.0))
        draws = self.sample_log_temperatures(n_samples)
        out = np.zeros_like(logp)
        for g, count in zip(*np.unique(draws, return_counts=True), strict=True):
            out += (count / n_samples) * softmax(logp / np.exp(self.log_temperatures[g]))
        return out


def fit_temperature(oof_proba: np.ndarray, oof_labels: np.ndarray, *, prior_sd: float = 1.0) -> TemperaturePosterior:
    """Posterior over the softmax temperature from out-of-fold predictions.

    Prior: log T ~ Normal(0, prior_sd) (T = 1 trusts the model as it is). Likelihood: the
    out-of-fold probability of each row's true class after dividing the log-probabilities by T.
    """
    oof_labels = np.asarray(oof_labels, dtype=np.int64)
    logp = np.log(np.clip(np.asarray(oof_proba, dtype=np.float64), 1e-12, 1.0))
    rows = np.arange(len(oof_labels))
    loglik = np.array([np.log(softmax(logp / np.exp(lt))[rows, oof_labels] + 1e-12).sum() for lt in LOG_TEMPERATURES])
    logpost = loglik - 0.5 * (LOG_TEMPERATURES / prior_sd) ** 2
    w = np.exp(logpost - logpost.max())
    return TemperaturePosterior(LOG_TEMPERATURES, w / w.sum(), len(oof_labels))


@dataclass(frozen=True)
class PrecisionCurve:
    """Expected precision vs coverage, most confident rows first (for the wizard's plot)."""

    coverage: np.ndarray
    rows: np.ndarray
    threshold: np.ndarray
    expected_precision: np.ndarray
    lower: np.ndarray  # 10% posterior quantile
    upper: np.ndarray  # 90% posterior quantile


@dataclass(frozen=True)
class ThresholdEstimate:
    """The promise at a target precision; row indices refer to the ``proba`` rows given."""

    target_precision: float
    threshold: float  # calibrated confidence at or above which rows are auto-labeled
    n_candidates: int
    n_auto: int
    expected_precision: float | None  # None when nothing can be auto-labeled
    precision_interval: tuple[float, float] | None  # 10-90% predictive: calibration and the rows' own luck
    temperature: float
    n_labeled: int
    selected: np.ndarray
    calibrated_confidence: np.ndarray
    curve: PrecisionCurve
    labeled_curve: dict[str, np.ndarray]  # out-of-fold: threshold, rows, precision
    n_labeled_above: int  # labeled rows at least as confident (out of fold) as the threshold
    labeled_precision_above: float | None  # their out-of-fold precision: the direct check
    why_none: str  # when n_auto is 0: why, in words, and what to do (WHY_NONE, WHY_NONE_ADVICE)
    per_class: dict[int, dict[str, float]] = field(default_factory=dict)
    why_none_reason: str = ""  # the why alone, without the advice

    @property
    def coverage(self) -> float:
        return self.n_auto / self.n_candidates if self.n_candidates else 0.0

    @property
    def expected_wrong(self) -> int:
        return 0 if self.expected_precision is None else round(self.n_auto * (1 - self.expected_precision))

    @property
    def wrong_interval(self) -> tuple[int, int] | None:
        if self.precision_interval is None:
            return None
        low, high = self.precision_interval
        return round(self.n_auto * (1 - high)), round(self.n_auto * (1 - low))

    def describe(self) -> str:
        if not self.n_auto:
            return f"No rows are auto-labeled: {self.why_none}."
        low, high = self.wrong_interval or (0, 0)
        return (
            f"{self.n_auto:,} of {self.n_candidates:,} rows ({self.coverage:.0%}) will be auto-labeled;"
            f" we expect about {self.expected_wrong:,} of them to be wrong (likely {low:,} to {high:,};"
            f" estimated from {self.n_labeled} labeled rows, {self.n_labeled_above} of them this confident)."
        )


MIN_SUPPORT = 10  # labeled rows as confident as a threshold, at least, for a promise to be checked

WHY_NONE = {
    "unreached": "even the most confident rows are not expected to reach {target:.0%} precision",
    "uncertain": (
        "the most confident rows reach {target:.0%} on average, but {n} labeled rows leave too much doubt"
        " (it must be at least {credibility:.0%} likely)"
    ),
    "support": (
        "{target:.0%} is reached only where fewer than {min_support} labeled rows are as confident,"
        " too few to check the promise"
    ),
    "contradicted": (
        "the labeled rows as confident as the rows that would reach {target:.0%} are right less often"
        " than that (out of fold)"
    ),
}
# What to do about each reason; kept apart so that a caller whose target cannot go lower can say otherwise.
WHY_NONE_ADVICE = {
    "unreached": "",
    "uncertain": "label more rows or lower the target",
    "support": "label more rows or lower the target",
    "contradicted": "lower the target or label more rows",
}


def _prefix_precision(conf: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(samples, len(order)) precision of the top-k rows of ``order`` under each posterior sample."""
    return np.cumsum(conf[:, order], axis=1) / np.arange(1, len(order) + 1)


def _largest_prefix(
    cum: np.ndarray, target: float, credibility: float, support: np.ndarray, min_support: int, plausible: np.ndarray
) -> tuple[int, str]:
    """Longest prefix whose precision reaches ``target`` in at least ``credibility`` of the samples,
    whose threshold at least ``min_support`` labeled rows reach, and where those rows do not
    contradict the target (``plausible``); when there is none, why not (a key of ``WHY_NONE``)."""
    credible = (cum >= target).mean(axis=0) >= credibility
    supported = credible & (support >= min_support)
    ok = np.flatnonzero(supported & plausible)
    if len(ok):
        return int(ok.max()) + 1, ""
    if not credible.any():
        return 0, "uncertain" if (cum.mean(axis=0) >= target).any() else "unreached"
    return 0, "contradicted" if supported.any() else "support"


def _support(calibrated: np.ndarray, order: np.ndarray, oof_conf: np.ndarray) -> np.ndarray:
    """For each prefix of ``order``: labeled rows whose out-of-fold confidence reaches its threshold."""
    return len(oof_conf) - np.searchsorted(np.sort(oof_conf), calibrated[order], side="left")


def _plausible(support: np.ndarray, cum_hits: np.ndarray, target: float, credibility: float) -> np.ndarray:
    """For each prefix: do the labeled rows that reach its threshold leave the target plausible?

    The direct check on the calibration. One temperature can fit a model's confidences on average and
    still be wrong at the top (logistic regression on the AG News demo: promised 98.3%, measured
    94.6%). The ``n`` labeled rows as confident as a threshold, ``h`` of them right out of fold, give
    a Beta(h + 1/2, n - h + 1/2) posterior (Jeffreys) on the precision there; the target stays
    plausible while its upper tail P(precision >= target) is at least 1 - ``credibility``.
    """
    hits = cum_hits[support]
    return 1.0 - betainc(hits + 0.5, support - hits + 0.5, target) >= 1.0 - credibility


def _sample_confidences(
    posteriors: dict[int, TemperaturePosterior], default: TemperaturePosterior, proba: np.ndarray, n_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated confidence of each row's predicted class: (n_samples, n_rows) per posterior
    sample (float32), and its mean over the samples (float64, summed in the same order as
    ``TemperaturePosterior.calibrate`` so both give identical numbers).

    Temperatures are drawn by stratified inverse-CDF sampling of the grid posterior; a class with
    its own posterior gets an independent (shuffled, seeded) draw, the others share the default's.
    """
    logp = np.log(np.clip(proba, 1e-12, 1.0))
    pred = proba.argmax(axis=1)
    grid_index = np.tile(default.sample_log_temperatures(n_samples)[:, None], (1, proba.shape[1]))
    rng = np.random.default_rng(0)
    for c, post in posteriors.items():
        grid_index[:, c] = rng.permutation(post.sample_log_temperatures(n_samples))
    conf = np.zeros((n_samples, len(proba)), dtype=np.float32)
    mean = np.zeros(len(proba))
    rows = np.arange(len(proba))
    by_class = [np.flatnonzero(pred == c) for c in range(proba.shape[1])]
    for g in np.unique(grid_index):
        at_g = softmax(logp / np.exp(LOG_TEMPERATURES[g]))[rows, pred]
        for c, members in enumerate(by_class):
            samples = np.flatnonzero(grid_index[:, c] == g)
            if len(samples) and len(members):
                conf[np.ix_(samples, members)] = at_g[members]
                mean[members] += (len(samples) / n_samples) * at_g[members]
    return conf, mean


def _precision_interval(conf: np.ndarray, quantiles: tuple[float, float] = (0.1, 0.9)) -> tuple[float, float]:
    """Predictive interval of the precision the rows of ``conf`` (samples, rows) will actually have.

    Two uncertainties add up: the calibration's (which temperature: the rows of ``conf``) and the
    rows' own (each is right with its calibrated probability, so 28 rows promised 86% can hold 1 or
    7 errors). The second dominates for a few dozen rows, the first for thousands. Each posterior
    sample draws its count of wrong rows: exactly (Bernoulli draws) up to a few thousand rows,
    beyond that from the normal approximation, whose error is then under a row.
    """
    n_samples, n = conf.shape
    p_wrong = 1.0 - conf.astype(np.float64)
    rng = np.random.default_rng(0)
    draws = 40
    if n <= 4000:
        wrong = np.stack([(rng.random((n_samples, n)) < p_wrong).sum(axis=1) for _ in range(draws)])
    else:
        mean, sd = p_wrong.sum(axis=1), np.sqrt((p_wrong * (1 - p_wrong)).sum(axis=1))
        wrong = (mean + sd * rng.standard_normal((draws, n_samples))).round().clip(0, n)
    few, many = np.quantile(wrong, quantiles, method="nearest")
    return 1.0 - many / n, 1.0 - few / n


def _threshold_between(calibrated: np.ndarray, selected: np.ndarray) -> float:
    """A threshold halfway between the least confident selected row and the most confident other
    row, so storing the confidences as float32 does not move a row across it."""
    if len(selected) == 0:
        return 1.0
    lowest_in = float(calibrated[selected].min())
    rest = np.delete(calibrated, selected)
    below = rest[rest < lowest_in]
    return (lowest_in + float(below.max())) / 2 if len(below) else lowest_in


def estimate_threshold(
    oof_proba: np.ndarray,
    oof_labels: np.ndarray,
    proba: np.ndarray,
    *,
    target_precision: float = 0.95,
    credibility: float = 0.9,
    per_class: bool = False,
    min_labeled_per_class: int = 50,
    min_support: int = MIN_SUPPORT,
    prior_sd: float = 1.0,
    n_samples: int = 100,
    n_curve_points: int = 101,
) -> ThresholdEstimate:
    """Choose the confidence threshold for a target precision and say what it promises.

    Parameters
    ----------
    oof_proba, oof_labels
        Out-of-fold probabilities of the labeled rows and their labels (``cross_val_proba``).
    proba
        Probabilities of the rows that may be auto-labeled (the unlabeled ones).
    target_precision
        Share of auto labels that should be right.
    credibility
        Posterior probability with which the chosen rows must reach the target (0.5: the
        expected precision meets it; higher: more conservative).
    per_class
        One threshold per predicted class, each class meeting the target on its own. A class with
        at least ``min_labeled_per_class`` out-of-fold rows predicted as it is also calibrated
        with its own temperature; smaller classes share the global one.
    min_support
        Never promise where fewer labeled rows than this are as confident (out of fold) as the
        threshold: there the promise would be an extrapolation of the calibration, unchecked.
        On sentiment data, where the most confident rows are no more accurate than the rest, such
        extrapolated promises were off by 10-20 points.
    prior_sd
        Standard deviation of the log-temperature prior.
    n_samples
        Posterior samples of the temperature used for expectations and intervals.

    Returns
    -------
    ThresholdEstimate
        Threshold, rows auto-labeled (``selected``), expected precision and wrong labels with a
        10-90% predictive interval, and the curves to draw.
    """
    if not 0.5 <= target_precision < 1:
        raise InputError("Choose a target precision between 50% and 99.9%.")
    if not 0 < credibility < 1:
        raise InputError("Credibility is a probability between 0 and 1.")
    oof_proba, proba = np.asarray(oof_proba, dtype=np.float64), np.asarray(proba, dtype=np.float64)
    oof_labels = np.asarray(oof_labels, dtype=np.int64)
    if len(oof_proba) == 0:
        raise InputError("Estimating precision needs labeled rows; label a few rows of each class.")
    posterior = fit_temperature(oof_proba, oof_labels, prior_sd=prior_sd)
    own: dict[int, TemperaturePosterior] = {}
    if per_class:
        oof_pred = oof_proba.argmax(axis=1)
        for c in range(proba.shape[1]):
            if (oof_pred == c).sum() >= min_labeled_per_class:
                own[c] = fit_temperature(oof_proba[oof_pred == c], oof_labels[oof_pred == c], prior_sd=prior_sd)
    conf, calibrated = _sample_confidences(own, posterior, proba, n_samples)
    oof_conf = posterior.calibrate(oof_proba, n_samples=n_samples).max(axis=1)
    order = np.argsort(-calibrated, kind="stable")
    cum = _prefix_precision(conf, order)
    oof_order = np.argsort(-oof_conf, kind="stable")
    hits = (oof_proba.argmax(axis=1) == oof_labels)[oof_order]
    cum_hits = np.concatenate([[0], np.cumsum(hits)])  # right among the n most confident labeled rows

    def checks(members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        support = _support(calibrated, members, oof_conf)
        return support, _plausible(support, cum_hits, target_precision, credibility)

    classes: dict[int, dict[str, float]] = {}
    if per_class:
        pred = proba.argmax(axis=1)
        parts, reasons = [], []
        for c in np.unique(pred):
            members = order[pred[order] == c]
            support, plausible = checks(members)
            kc, why = _largest_prefix(
                _prefix_precision(conf, members), target_precision, credibility, support, min_support, plausible
            )
            reasons.append(why)
            parts.append(members[:kc])
            classes[int(c)] = {
                "n_auto": kc,
                "threshold": float(calibrated[members[kc - 1]]) if kc else 1.0,
                "expected_precision": float(conf[:, members[:kc]].mean()) if kc else float("nan"),
                "own_calibration": float(c in own),
            }
        selected = np.concatenate(parts)
        why_none = max(filter(None, reasons), key=list(WHY_NONE).index, default="unreached")
    else:
        support, plausible = checks(order)
        k, why_none = _largest_prefix(cum, target_precision, credibility, support, min_support, plausible)
        selected = order[:k]
    k = len(selected)
    sel_prec = conf[:, selected].mean(axis=1) if k else None
    idx = np.unique(np.linspace(0, len(order) - 1, n_curve_points).round().astype(int)) if len(order) else []
    cols = cum[:, idx]
    curve = PrecisionCurve(
        coverage=(np.asarray(idx) + 1) / max(len(order), 1),
        rows=np.asarray(idx) + 1,
        threshold=calibrated[order[idx]],
        expected_precision=cols.mean(axis=0),
        lower=np.quantile(cols, 0.1, axis=0) if cols.size else np.zeros(0),
        upper=np.quantile(cols, 0.9, axis=0) if cols.size else np.zeros(0),
    )
    threshold = _threshold_between(calibrated, selected)
    reason = (
        ""
        if k
        else WHY_NONE[why_none].format(
            target=target_precision, n=posterior.n_labeled, credibility=credibility, min_support=min_support
        )
    )
    above = hits[: int((oof_conf >= threshold).sum())] if k else hits[:0]
    return ThresholdEstimate(
        target_precision=float(target_precision),
        threshold=threshold,
        n_candidates=len(proba),
        n_auto=k,
        expected_precision=float(sel_prec.mean()) if k else None,
        precision_interval=_precision_interval(conf[:, selected]) if k else None,
        temperature=posterior.temperature,
        n_labeled=posterior.n_labeled,
        selected=np.sort(selected),
        calibrated_confidence=calibrated,
        curve=curve,
        labeled_curve={
            "threshold": oof_conf[oof_order],
            "rows": np.arange(1, len(oof_order) + 1),
            "precision": np.cumsum(hits) / np.arange(1, len(oof_order) + 1),
        },
        n_labeled_above=len(above),
        labeled_precision_above=float(above.mean()) if len(above) else None,
        why_none="" if k else ": ".join(filter(None, (reason, WHY_NONE_ADVICE[why_none]))),
        per_class=classes,
        why_none_reason=reason,
    )
