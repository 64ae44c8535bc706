"""A stored auto-label run as a Prediction: its promise at a threshold, the precision curve, a moved threshold.

``Promise`` says in words what accepting at a threshold means; ``latest_prediction`` reloads the newest
run instead of training again.

The threshold the wizard stands at is derived, not stored: that of the newest accept of the run still
standing in the history (undone accepts do not count; redone ones do), else the estimated one. Each
accept records its threshold in the run's summary under its batch id (``ACCEPTS``), in the transaction
that writes its labels. An undo or redo in History then moves the threshold with the labels, with no
undo hook for runs: a threshold written into the run at accept time (as before) stayed at an undone
accept's value, and rows added later were labeled at it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from core.errors import InputError
from core.runs import Run, latest_run
from core.store import DEFAULT_LABEL_FIELD
from core.wording import counted, decimals_apart, utc_time
from core.workspace import Workspace

KIND = "autolabel"
ACCEPTS = "accepts"  # in a run's summary: batch id of each accept -> the threshold it was made at
# The lowest target precision the wizard offers: below it an auto label is too often wrong to be worth it.
MIN_TARGET_PRECISION = 0.80
# What to do when nothing reaches the target and the target cannot go lower.
AT_LOWEST_TARGET = (
    "label more rows (Review) so that the promise can be checked, or choose the rows by hand (row count) and"
    " audit a sample of them"
)
# Below this many labeled rows the promise's calibration is rough (docs/autolabel.md, "For the product"): on
# rt_polarity 40 labels promised 67.8% (likely 91 to 221 wrong of 500) and 83.2% was measured.
ROUGH_BELOW_LABELS = 200
CREDIBILITY = 0.9  # the threshold asks for the target with this posterior probability (docs/autolabel.md)
Progress = Callable[[float, str], None]  # (fraction done, what is happening)


@dataclass(frozen=True)
class Promise:
    """What accepting at a threshold means, in the words the page uses."""

    threshold: float
    rows: int  # rows that get an auto label
    expected_precision: float | None  # None: no labeled rows to measure it on
    candidates: int  # rows without a person-given label
    interval: tuple[float, float] | None = None  # 10-90% predictive precision (approximated off the estimate)
    why_none: str = ""  # at the estimated threshold with no rows: why the target is out of reach
    lowest_target: bool = False  # the target is the lowest the wizard offers: advice cannot be to lower it

    @property
    def expected_wrong(self) -> int | None:
        if self.expected_precision is None:
            return None
        return round(self.rows * (1 - self.expected_precision))

    @property
    def coverage(self) -> float:
        return self.rows / self.candidates if self.candidates else 0.0

    def describe(self, *, accepted: bool = False) -> str:
        """The promise in words; ``accepted``: these rows hold the auto labels already."""
        verb = "were" if accepted else "will be"
        if self.expected_precision is None:
            return (
                f"{counted(self.rows, 'row')} {verb} auto-labeled. Their precision cannot be estimated without"
                " labeled rows: label a few rows of each class and train again."
            )
        if self.rows == 0 and self.why_none:
            return f"No row is auto-labeled: {self.why_none}."
        if self.rows == 0:
            lower = "" if self.lowest_target else " lower the target precision,"
            return (
                f"No row is confident enough to auto-label at this threshold ({self.threshold:.3f}): label more"
                f" rows (Review),{lower} or move the threshold."
            )
        likely = ""
        if self.interval:
            low, high = round(self.rows * (1 - self.interval[1])), round(self.rows * (1 - self.interval[0]))
            likely = f", likely {low:,} to {high:,}"
        # A few rows below full precision: "about 0 wrong" beside 77% read as a contradiction, "(0%)" as none.
        wrong = (
            "fewer than 1"
            if self.expected_wrong == 0 and self.expected_precision < 1
            else f"about {self.expected_wrong:,}"
        )
        share = "<1%" if 0 < self.coverage < 0.005 else f"{self.coverage:.0%}"
        return (
            f"{self.rows:,} of {counted(self.candidates, 'row')} ({share}) {verb} auto-labeled;"
            f" we expect {wrong} of them to be wrong{likely}"
            f" (estimated precision {self.expected_precision:.1%})."
        )


@dataclass(frozen=True)
class Accepted:
    """The newest accept of a run that stands in the history."""

    batch_id: str
    threshold: float


@dataclass(frozen=True)
class Prediction:
    """A stored auto-label run, ready to draw and to accept."""

    run: Run
    row_ids: np.ndarray
    probabilities: np.ndarray  # (rows, classes), calibrated
    trained: np.ndarray  # rows whose label the model learned from
    arrays: dict[str, np.ndarray]  # everything stored with the run (suggested, precision band)
    accepted: Accepted | None = None  # read from the history when the prediction was made (``_prediction``)

    @property
    def classes(self) -> list[str]:
        return list(self.run.summary["classes"])

    @property
    def field(self) -> str:
        """The label-schema question this run answers."""
        return self.run.summary.get("question", DEFAULT_LABEL_FIELD)

    @property
    def threshold(self) -> float:
        """The threshold of the newest standing accept, else the estimated one (runs stored before accepts
        were recorded: the threshold last written into the run)."""
        return self.accepted.threshold if self.accepted is not None else float(self.run.summary["threshold"])

    @property
    def target_precision(self) -> float:
        return float(self.run.summary["target_precision"])

    @property
    def model_in_words(self) -> str:
        """The model as messages and the History name it: its labeler's short name and when it was trained
        ("semi-supervised model of 2026-11-24 15:09:42 UTC"; to the second, so two retrains in one minute
        read apart). The model id (labeler, settings, run) is for provenance: it stays with every label it wrote,
        in the History's changes and in exports."""
        summary = self.run.summary
        title = summary.get("labeler_title") or str(summary["labeler"]).split("(")[0]  # runs stored before titles
        return f"{title} model of {utc_time(self.run.created_at, seconds=True)}"

    @cached_property
    def suggested(self) -> np.ndarray:
        """Class index per row; -1 where the labeler abstains (reference set below its similarity)."""
        return self.arrays.get("suggested", self.probabilities.argmax(axis=1))

    @cached_property
    def confidence(self) -> np.ndarray:
        """Calibrated probability of the suggested class; 0 where the labeler abstains."""
        return np.where(self.suggested >= 0, self.probabilities.max(axis=1), 0.0)

    @cached_property
    def candidates(self) -> np.ndarray:
        """Rows the wizard may label: no person-given label at training time, and a suggestion."""
        return np.flatnonzero(~self.trained & (self.suggested >= 0))

    @cached_property
    def abstained(self) -> int:
        return int((~self.trained & (self.suggested < 0)).sum())

    def promise(self, threshold: float | None = None) -> Promise:
        """Rows above ``threshold`` (default: the run's) and their expected precision: the mean
        calibrated confidence of those rows (probabilities are calibrated on out-of-fold
        predictions, so each one is the chance that row is right)."""
        threshold = self.threshold if threshold is None else float(threshold)
        conf = self.confidence[self.candidates]
        chosen = conf >= threshold
        summary = self.run.summary
        interval, why_none = None, ""
        if not summary.get("calibrated"):
            precision = None
        elif threshold == summary.get("estimated_threshold") and summary.get("expected_precision") is not None:
            precision = float(summary["expected_precision"])  # the estimate itself (posterior mean)
            interval = tuple(summary["precision_interval"]) if summary.get("precision_interval") else None
        else:
            precision = float(conf[chosen].mean()) if chosen.any() else 1.0
            interval = self._moved_interval(conf[chosen]) if chosen.any() else None
            if threshold == summary.get("estimated_threshold"):
                why_none = summary.get("why_none", "")  # the estimate found no rows: say why
        lowest = self.target_precision <= MIN_TARGET_PRECISION + 1e-9
        if why_none and lowest and summary.get("why_none_reason"):  # "lower the target" cannot be done there
            why_none = f"{summary['why_none_reason']}: {AT_LOWEST_TARGET}"
        return Promise(threshold, int(chosen.sum()), precision, len(conf) + self.abstained, interval, why_none, lowest)

    def audited_promise(self) -> float | None:
        """The precision this run's standing accept promised its auto labels. None when the run has no
        standing accept (trained, never accepted) or its accept labeled no row (the promise of no rows
        reads 100%, and promises nothing). Monitor sets the audit against ``audited_promise`` (the
        function), which asks this of the run behind each audited label."""
        if self.accepted is None:
            return None
        promise = self.promise()
        return promise.expected_precision if promise.rows else None

    def rough_promise(self, promise: Promise) -> str:
        """A hedge for ``promise`` when it rests on fewer than ``ROUGH_BELOW_LABELS`` labeled rows (empty
        otherwise, or when it promises no precision): its likely range then reads firmer than it is."""
        n_labeled = int(self.run.summary.get("n_labeled", 0))
        if not promise.rows or promise.expected_precision is None or n_labeled >= ROUGH_BELOW_LABELS:
            return ""
        return (
            f"This promise rests on {counted(n_labeled, 'labeled row')}: below about {ROUGH_BELOW_LABELS} it is"
            " rough, and the measured precision can fall outside its likely range. Label more rows (Review)"
            " and Retrain to firm it up, and audit a sample after accepting (step 3)."
        )

    def _moved_interval(self, chosen: np.ndarray) -> tuple[float, float] | None:
        """10-90% range of the precision of the ``chosen`` rows' confidences at a threshold the user moved.

        The estimate's own interval is predictive (posterior samples with Bernoulli draws, in
        core/autolabel/threshold.py), but the samples are not stored. This is a normal approximation of
        the same two parts, added in quadrature on each side: the calibration's spread, read from the
        run's stored 10-90% band at this many rows, and the rows' own luck, the 10-90% range of a sum of
        Bernoulli draws, 1.28 standard deviations of sqrt(sum p(1 - p)) / k. Both are rough for a handful
        of rows; the band is interpolated between its ~100 stored points."""
        band = self.arrays
        if "band_rows" not in band or len(band["band_rows"]) < 2:
            return None
        k = len(chosen)
        p = float(chosen.mean())
        lower = float(np.interp(k, band["band_rows"], band["band_lower"]))
        upper = float(np.interp(k, band["band_rows"], band["band_upper"]))
        z = 1.2816  # the 90% quantile of a standard normal: a 10-90% range is +-z standard deviations
        luck = z * float(np.sqrt(np.sum(chosen * (1.0 - chosen)))) / k
        return max(0.0, p - float(np.hypot(max(p - lower, 0.0), luck))), min(
            1.0, p + float(np.hypot(max(upper - p, 0.0), luck))
        )

    def threshold_explained(self) -> str:
        """Why the estimated threshold stops well before the expected-precision curve crosses the target
        (empty when it does not, or nothing was estimated): it asks for the target with ``credibility``."""
        summary = self.run.summary
        estimated = summary.get("estimated_threshold")
        if not summary.get("calibrated") or estimated is None or "band_rows" not in self.arrays:
            return ""
        curve = self.curve()
        reach = np.flatnonzero(curve["precision"] >= self.target_precision)
        if not len(reach):
            return ""
        crossing = float(curve["coverage"][reach.max()])
        chosen = self.promise(estimated).coverage
        if crossing - chosen < 0.02:
            return ""
        from core.autolabel.threshold import MIN_SUPPORT  # not at import: core.autolabel loads sklearn

        target, credibility = self.target_precision, float(summary.get("credibility", CREDIBILITY))
        # Where the band's lower edge leaves the target: the threshold's own rule, unless another one (enough
        # labeled rows as confident, and right often enough) stops it sooner; then say that one too.
        band = np.flatnonzero(np.asarray(self.arrays["band_lower"]) >= target)
        eligible = max(len(curve["rows"]) + self.abstained, 1)
        edge = float(self.arrays["band_rows"][band.max()]) / eligible if len(band) else 0.0
        sooner = edge - chosen >= 0.05
        meets = f"{min(edge, crossing):.0%}" if sooner else f"{chosen:.0%}"
        also = (
            f" It stops sooner still, at {chosen:.0%} of the rows: a promise also needs at least {MIN_SUPPORT}"
            " labeled rows as confident as its threshold, right often enough out of fold, for it to be checked."
            if sooner
            else ""
        )
        return (
            f"Why the threshold is stricter than the curve suggests: the line is the expected precision, and it"
            f" stays above {target:.0%} up to {crossing:.0%} of the rows; the threshold asks for more, a"
            f" {credibility:.0%} probability that the precision reaches {target:.0%}, which is about where the"
            f" lower edge of the shaded 10-90% band meets the target ({meets} of the rows).{also}"
            f" With {counted(int(summary['n_labeled']), 'labeled row')} the calibration is uncertain, and"
            " over-reaching costs more precision than stopping early costs coverage. More labels narrow the band;"
            " you may move the threshold, and the promise and its range follow it."
        )

    def curve(self) -> dict[str, np.ndarray]:
        """Expected precision vs coverage over every possible threshold (most confident first)."""
        conf = np.sort(self.confidence[self.candidates])[::-1]
        k = np.arange(1, len(conf) + 1)
        eligible = max(len(conf) + self.abstained, 1)
        return {"threshold": conf, "rows": k, "coverage": k / eligible, "precision": np.cumsum(conf) / k}

    def cut_decimals(self, threshold: float) -> int:
        """The decimals (3 to 6) at which ``threshold`` and the rows on either side of it all read
        differently: at 3 a 0.9500 row just below a 0.9503 threshold reads "0.950" like the threshold and
        looks as if it should have been taken."""
        conf = np.sort(self.confidence[self.candidates])[::-1]
        split = int((conf >= threshold).sum())
        edge = {float(threshold), *conf[max(0, split - 1) : split + 1].tolist()}  # a threshold row is one of them
        return decimals_apart(sorted(edge))

    def threshold_at_rows(self, rows: int) -> float:
        """The threshold that auto-labels the ``rows`` most confident candidates (the confidence of the last
        of them: rows as confident as it are taken too). For 0 rows, the standing threshold when it labels
        none (so the promise still says why nothing reaches the target), else one just above every row.

        Raises
        ------
        InputError
            ``rows`` outside 0 to the number of rows the model can label."""
        conf = self.curve()["threshold"]
        if not len(conf):
            raise InputError("No row can be auto-labeled: every row has a label from a person, or none is predicted.")
        if not 0 <= rows <= len(conf):
            raise InputError(
                f"Choose from 0 to {len(conf):,} rows (not {rows:,}): the model can label {len(conf):,} rows."
            )
        if rows == 0:
            return self.threshold if self.promise().rows == 0 else float(np.nextafter(conf[0], np.inf))
        return float(conf[rows - 1])

    def roll_up(self, threshold: float | None = None) -> list[dict[str, Any]]:
        """Hierarchical classes: per top-level parent, the rows auto-labeled at ``threshold`` and their
        expected precision for the exact class and for the parent alone (the probability mass of the
        suggested class's siblings); empty when the classes are flat."""
        from core.labelschema import SEPARATOR

        classes = self.classes
        if not any(SEPARATOR in c for c in classes):
            return []
        threshold = self.threshold if threshold is None else float(threshold)
        top = np.array([c.split(SEPARATOR)[0] for c in classes])
        rows = self.candidates[self.confidence[self.candidates] >= threshold]
        suggested = self.suggested[rows]
        same = top[None, :] == top[suggested][:, None]  # (rows, classes): under the suggested parent
        parent_p = (self.probabilities[rows] * same).sum(axis=1)
        out = []
        for parent in sorted(set(top[suggested].tolist())):
            mine = top[suggested] == parent
            out.append(
                {
                    "parent": parent,
                    "rows": int(mine.sum()),
                    "expected precision (class)": round(float(self.confidence[rows][mine].mean()), 3),
                    "expected precision (parent)": round(float(parent_p[mine].mean()), 3),
                }
            )
        return out

    def row_confidence(self) -> dict[int, float]:
        return dict(zip(self.row_ids.tolist(), self.confidence.tolist(), strict=True))


def latest_prediction(ws: Workspace, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> Prediction | None:
    """The newest run answering ``field`` (a question of the label schema)."""
    run = latest_run(ws, dataset_id, KIND, question=field)
    return None if run is None else _prediction(ws, run)


def audited_promise(ws: Workspace, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> float | None:
    """The precision promised to the auto labels the audit of ``field`` checked, to set the audit against.

    Each verdict names the model whose auto label it checked, and each model is one run: its standing
    accept wrote that label, at the promise ``Prediction.audited_promise`` reads. Verdicts on labels of
    several runs (a Retrain and Accept after an earlier accept) get the mean of their runs' promises,
    weighted by the verdicts of each: the audit's precision is a mean over those same verdicts. The
    current run alone was asked before, so after a Retrain not accepted yet the audit of the earlier
    accept's labels showed no promise at all. None before any verdict, or when a verdict's run or its
    promise is gone (a pruned run, an accept of no rows): a part of the promise would be no promise.
    """
    from collections import Counter

    from core.audit import standing_verdicts  # not at import: core.audit is the wizard's client

    checked = Counter(v.model_id for v in standing_verdicts(ws, dataset_id, field))
    if not checked:
        return None
    promised = 0.0
    for model_id, n in checked.items():
        precision = ws.derived(dataset_id, ("accept-promise", model_id), lambda m=model_id: _accept_promise(ws, m))
        if precision is None:
            return None
        promised += n * precision
    return promised / checked.total()


def _accept_promise(ws: Workspace, model_id: str | None) -> float | None:
    """The promise of the standing accept of the wizard run whose model id is ``model_id``."""
    with ws.store.connect() as conn:
        row = conn.execute(
            "SELECT id FROM runs WHERE kind = ? AND json_extract(summary_json, '$.model_id') = ?", (KIND, model_id)
        ).fetchone()
    if row is None:
        return None
    from core.runs import get_run

    return _prediction(ws, get_run(ws, row[0])).audited_promise()


def _prediction(ws: Workspace, run: Run, arrays: dict[str, np.ndarray] | None = None) -> Prediction:
    """A run as a Prediction at the threshold that stands (module docstring); ``arrays``: the run's arrays
    already loaded (a UI cache keyed by run id, since a stored run's arrays never change; its summary and
    the history are read fresh)."""
    arrays = run.arrays() if arrays is None else arrays
    return Prediction(
        run, arrays["row_ids"], arrays["probabilities"], arrays["trained"], arrays, standing_accept(ws, run)
    )


def standing_accept(ws: Workspace, run: Run) -> Accepted | None:
    """The newest accept of ``run`` whose labels stand in the history (None: none does). Read once per
    dataset version: every accept, undo and redo is a batch that bumps it."""
    from core.history import standing

    accepts = {str(k): float(v) for k, v in (run.summary.get(ACCEPTS) or {}).items()}
    if not accepts:
        return None

    def compute() -> tuple[str, float] | None:
        kept = standing(ws.store, list(accepts))
        newest = [b for b in accepts if b in kept]  # recorded oldest first (a JSON object keeps its order)
        return (newest[-1], accepts[newest[-1]]) if newest else None

    # The recorded accepts are in the key: the run's summary may gain one after the version was read.
    found = ws.derived(run.dataset_id, ("standing-accept", run.id, tuple(accepts)), compute)
    return None if found is None else Accepted(*found)
