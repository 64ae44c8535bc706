"""The wizard's learning curve: the review step's sampling strategy against random, on the labels so far.

Each strategy's seed-averaged curve is a saved run (core/runs.py) keyed on the dataset version and its
settings, the strategy included: a rerun, or switching back to a strategy already drawn, reads it
instead of simulating again, and random's curve serves every strategy compared with it (the same seeds
give every strategy the same splits, so the curves stay paired for ``compare_curves``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core.learning_curve import LearningCurve
from core.runs import find_run, prune_runs, run_key, save_run
from core.sampling import create_strategy
from core.store import DEFAULT_LABEL_FIELD
from core.wizard.data import training_data
from core.workspace import Workspace

LEARNING_CURVE_KIND = "learning_curve"
# Runs kept per dataset: the random baseline and each strategy tried, for a few questions.
CURVE_RUNS_KEPT = 12
BASELINE = "random"


def learning_curve_settings(
    ws: Workspace, dataset_id: int, *, strategy: str, field: str = DEFAULT_LABEL_FIELD, repeats: int = 5, seed: int = 0
) -> dict[str, Any]:
    """What a strategy's curve is computed from, besides the dataset version (the run's settings)."""
    return {
        "strategy": strategy,
        "question": field,
        "repeats": repeats,
        "seed": seed,
        "embedding": ws.dataset(dataset_id).embedding_model,
        "classifier": "logistic-regression",
    }


def learning_curve_key(
    ws: Workspace, dataset_id: int, *, strategy: str, field: str = DEFAULT_LABEL_FIELD, repeats: int = 5, seed: int = 0
) -> str:
    """The saved-run key of a strategy's curve at the dataset's current version."""
    settings = learning_curve_settings(ws, dataset_id, strategy=strategy, field=field, repeats=repeats, seed=seed)
    return run_key(ws.dataset(dataset_id).version, settings)


def strategy_learning_curves(
    ws: Workspace,
    dataset_id: int,
    *,
    strategy: str,
    field: str = DEFAULT_LABEL_FIELD,
    repeats: int = 5,
    seed: int = 0,
    on_progress: Callable[[float, str], None] | None = None,
) -> dict[str, LearningCurve]:
    """Learning curves of random sampling and of ``strategy`` over the rows labeled so far.

    Parameters
    ----------
    ws, dataset_id
        The dataset; its people-given labels of ``field`` are the pool (``labeled_rows_curves``).
    strategy
        The sampling strategy the user chose to review with (a registered name); "random" alone gives
        only the baseline's curve.
    field
        The single-choice question of the label schema.
    repeats, seed
        Seeds ``seed`` to ``seed + repeats - 1`` are averaged; their spread is the noise that
        ``compare_curves`` measures.
    on_progress
        Called with (fraction, message) as the curves not saved yet are simulated (each alike in cost).

    Returns
    -------
    dict[str, LearningCurve]
        ``{"random": ..., strategy: ...}``, random first; each read from its saved run when one exists
        for this dataset version and these settings, else simulated and saved.

    Raises
    ------
    InputError
        Unknown strategy, or too few labeled rows (``labeled_rows_curves`` says how many are needed).
    """
    create_strategy(strategy)  # an unknown name fails here, with the known ones listed
    version = ws.dataset(dataset_id).version
    data = None
    curves: dict[str, LearningCurve] = {}
    used: list[str] = []
    names = list(dict.fromkeys([BASELINE, strategy]))
    settings = {
        n: learning_curve_settings(ws, dataset_id, strategy=n, field=field, repeats=repeats, seed=seed) for n in names
    }
    saved = {n: find_run(ws, dataset_id, LEARNING_CURVE_KIND, run_key(version, settings[n])) for n in names}
    to_simulate = [n for n in names if saved[n] is None]  # the bar measures the work left, not the curves read
    report = on_progress or (lambda f, m: None)
    for name in names:
        run = saved[name]
        if run is not None:
            curves[name] = _curve_from_run(run.summary, run.arrays())
            used.append(run.id)
            continue
        from core.learning_curve import labeled_rows_curves

        i = to_simulate.index(name)

        def part(fraction: float, message: str, i: int = i) -> None:
            report((i + fraction) / len(to_simulate), message)

        if data is None:
            data = training_data(ws, dataset_id, field)
        labeled = data.y >= 0
        curve = labeled_rows_curves(
            data.vectors[labeled], data.y[labeled], strategies=(name,), repeats=repeats, seed=seed, on_progress=part
        )[name]
        run = save_run(
            ws,
            dataset_id,
            LEARNING_CURVE_KIND,
            dataset_version=version,
            settings=settings[name],
            summary={"strategy": name, "metric": curve.metric, "seconds": curve.seconds, "runs": curve.runs},
            arrays={
                "n_labels": curve.n_labels,
                "quality": curve.quality,
                "accuracy": curve.accuracy,
                "per_run_quality": curve.per_run_quality,
            },
        )
        curves[name] = curve
        used.append(run.id)
    # Each new label, question or strategy makes new curves; only recent ones are read again.
    prune_runs(ws, dataset_id, LEARNING_CURVE_KIND, keep=CURVE_RUNS_KEPT, spare=used)
    return curves


def _curve_from_run(summary: dict[str, Any], arrays: dict[str, np.ndarray]) -> LearningCurve:
    return LearningCurve(
        strategy=summary["strategy"],
        metric=summary["metric"],
        n_labels=arrays["n_labels"],
        quality=arrays["quality"],
        accuracy=arrays["accuracy"],
        seconds=float(summary["seconds"]),
        runs=int(summary["runs"]),
        per_run_quality=arrays["per_run_quality"],
    )
