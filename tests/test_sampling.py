"""Sampling strategies pick the rows they promise; learning curves and label savings add up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core.learning_curve import (
    LearningCurve,
    average_curves,
    labeled_rows_curves,
    labels_saved,
    learning_curve,
)
from core.sampling import STRATEGIES, create_strategy
from core.textclean import clean_text
from tests.conftest import shared


def binary(p_positive) -> np.ndarray:
    p_positive = np.asarray(p_positive, dtype=float)
    return np.c_[1 - p_positive, p_positive]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_each_strategy_returns_n_distinct_unlabeled_rows(name):
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3), size=200)
    embeddings = rng.normal(size=(200, 16)).astype(np.float32)
    labeled = rng.random(200) < 0.5
    strategy = create_strategy(name)

    picked = strategy.query(probabilities, 25, embeddings=embeddings, labeled_mask=labeled, rng=1)

    assert picked.dtype == np.int64
    assert len(picked) == 25
    assert len(set(picked.tolist())) == 25
    assert not labeled[picked].any()
    assert strategy.description


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_each_strategy_returns_what_is_left_when_asked_for_more(name):
    rng = np.random.default_rng(1)
    labeled = np.ones(30, dtype=bool)
    labeled[[3, 7, 21]] = False
    picked = create_strategy(name).query(
        binary(rng.random(30)), 10, embeddings=rng.normal(size=(30, 4)), labeled_mask=labeled, rng=0
    )
    assert sorted(picked.tolist()) == [3, 7, 21]


def test_least_confidence_picks_the_unlabeled_rows_nearest_one_half():
    p_positive = np.array([0.02, 0.47, 0.9, 0.5, 0.62, 0.3, 0.55, 0.99, 0.41])
    labeled = np.zeros(len(p_positive), dtype=bool)
    labeled[3] = True  # 0.5 itself is already labeled
    picked = create_strategy("least-confidence").query(binary(p_positive), 3, labeled_mask=labeled)
    assert picked.tolist() == [1, 6, 8]  # 0.47, 0.55, 0.41: most uncertain first


def test_margin_and_entropy_differ_from_least_confidence_with_three_classes():
    probabilities = np.array(
        [
            [0.50, 0.49, 0.01],  # torn between two labels: smallest margin
            [0.40, 0.30, 0.30],  # lowest top probability and spread over all three: highest entropy
            [0.90, 0.05, 0.05],
        ]
    )
    assert create_strategy("margin").query(probabilities, 1).tolist() == [0]
    assert create_strategy("least-confidence").query(probabilities, 1).tolist() == [1]
    assert create_strategy("entropy").query(probabilities, 1).tolist() == [1]


@pytest.mark.parametrize("seed", range(5))
def test_diverse_margin_takes_from_both_of_two_uncertain_clusters(seed):
    rng = np.random.default_rng(seed)
    # Cluster A is the most uncertain, cluster B nearly as uncertain, the rest is confident.
    centre_a, centre_b = np.eye(8)[0] * 5, np.eye(8)[1] * 5
    embeddings = np.vstack(
        [
            centre_a + rng.normal(scale=0.01, size=(10, 8)),
            centre_b + rng.normal(scale=0.01, size=(10, 8)),
            rng.normal(size=(30, 8)),
        ]
    )
    p_positive = np.r_[np.full(10, 0.50), np.full(10, 0.45), np.full(30, 0.03)]

    uncertain_only = create_strategy("least-confidence").query(binary(p_positive), 2, rng=seed)
    diverse = create_strategy("diverse-margin").query(binary(p_positive), 2, embeddings=embeddings, rng=seed)

    assert set(uncertain_only.tolist()) <= set(range(10))  # both from A
    assert sorted(i // 10 for i in diverse) == [0, 1]  # one from A, one from B


def test_strategies_refuse_unusable_inputs():
    with pytest.raises(InputError, match="No sampling strategy"):
        create_strategy("most-fun")
    with pytest.raises(InputError, match="needs the rows' embeddings"):
        create_strategy("diverse-margin").query(binary([0.4, 0.6]), 1)
    with pytest.raises(InputError, match="both columns"):
        create_strategy("margin").query(np.array([0.4, 0.6]), 1)


def curve(n_labels, quality, strategy="x") -> LearningCurve:
    quality = np.asarray(quality, dtype=float)
    return LearningCurve(strategy, "roc_auc", np.asarray(n_labels), quality, quality, 0.0)


def test_labels_saved_interpolates_where_the_strategy_reaches_randoms_final_quality():
    steps = np.arange(100, 1001, 100)
    random = curve(steps, np.linspace(0.70, 0.79, 10))  # final 0.79 at 1,000 labels
    strategy = curve(steps, [0.70, 0.73, 0.75, 0.77, 0.785, 0.795, 0.80, 0.80, 0.81, 0.81])

    savings = labels_saved(strategy, random)

    assert savings.target_quality == pytest.approx(0.79)
    assert savings.labels_random == 1000
    assert savings.labels_needed == pytest.approx(550)  # halfway from 0.785 (500) to 0.795 (600)
    assert savings.labels_saved == pytest.approx(450)
    assert savings.share_saved == pytest.approx(0.45)


def test_labels_saved_is_none_when_the_strategy_never_gets_there_and_first_point_when_it_starts_there():
    steps = [100, 200, 300]
    random = curve(steps, [0.6, 0.7, 0.8])
    assert labels_saved(curve(steps, [0.6, 0.7, 0.79]), random).labels_needed is None
    assert labels_saved(curve(steps, [0.85, 0.9, 0.9]), random).labels_needed == 100


@pytest.fixture(scope="module")
def tweets(minilm):
    """The first 1,200 sentiment140 tweets (balanced, shuffled file) embedded once, cleaned as the app does."""
    frame = pd.read_csv(shared("sentiment140/sentiment140_8k.csv"), keep_default_na=False).head(1200)
    texts = [clean_text(text) for text in frame["text"].to_numpy()]
    return minilm.embed_texts(texts, batch_size=64), frame["label"].to_numpy()


@pytest.mark.slow
def test_uncertainty_sampling_is_not_worse_than_random_on_real_tweets(tweets):
    X, y = tweets
    options = dict(batch_size=100, n_batches=6, test_size=0.25)  # 300 held out, 700 of 900 pool rows labeled
    seeds = range(5)
    runs = {
        name: [learning_curve(X, y, strategy=name, seed=seed, **options) for seed in seeds]
        for name in ("random", "margin")
    }
    random, margin = (average_curves(runs[name]) for name in ("random", "margin"))

    assert random.metric == "roc_auc"
    assert random.n_labels.tolist() == list(range(100, 800, 100))
    for seed in seeds:  # paired: same split and seed set for both strategies
        assert runs["random"][seed].quality[0] == runs["margin"][seed].quality[0]
    assert random.quality[-1] > random.quality[0] + 0.03  # more labels help at all
    # Measured: margin 0.821, random 0.811; a reversed strategy (most confident first) gets 0.801 and fails.
    assert margin.quality[-1] >= random.quality[-1] - 0.005


@pytest.mark.slow
def test_curve_over_labeled_rows_uses_them_all_and_ends_where_random_ends(tweets):
    X, y = tweets
    curves = labeled_rows_curves(X[:300], y[:300], strategies=("random", "margin", "diverse-margin"), repeats=2)

    pool = 300 - 60  # 20% held out
    for name, result in curves.items():
        assert result.strategy == name
        assert result.runs == 2
        assert result.n_labels[-1] == pool
        assert np.all(np.diff(result.n_labels) > 0)
    # Every strategy ends with the whole pool labeled: same training rows, same model, same score.
    assert curves["margin"].quality[-1] == pytest.approx(curves["random"].quality[-1])
    assert labels_saved(curves["margin"], curves["random"]).labels_needed <= pool


def test_learning_curve_refuses_a_single_class():
    with pytest.raises(InputError, match="two different labels"):
        learning_curve(np.zeros((10, 2)), np.array(["a"] * 10), strategy="random")
    with pytest.raises(InputError, match="at least 40 labeled rows"):
        labeled_rows_curves(np.zeros((20, 2)), np.array(["a", "b"] * 10))


def test_labels_saved_are_claimed_only_beyond_the_seeds_noise():
    from core.learning_curve import compare_curves, describe_savings

    steps = [48, 86, 124, 162, 200, 238]
    base = np.array([0.70, 0.76, 0.79, 0.81, 0.82, 0.83])

    def seeds(name, shifts):
        return average_curves([curve(steps, base + np.r_[0, [s] * 5], strategy=name) for s in shifts])

    random = seeds("random", [0, 0, 0, 0, 0])
    # The analyst's case: on average margin touches random's final accuracy early ("19% fewer"), but the
    # seeds disagree on which strategy is ahead.
    noisy = seeds("margin", [0.04, -0.03, 0.05, -0.02, 0.03])
    assert labels_saved(noisy, random).share_saved > 0.1
    assert noisy.per_run_quality.shape == (5, 6) and not compare_curves(noisy, random).clear
    assert describe_savings(noisy, random).startswith("No clear difference yet at 238 labels between margin and random")
    # Every seed ahead by 1-2 points: the labels saved are claimed.
    ahead = seeds("margin", [0.01, 0.02, 0.015, 0.01, 0.02])
    assert compare_curves(ahead, random).clear
    assert describe_savings(ahead, random).startswith("Margin sampling reached random sampling's final roc-auc")
    behind = seeds("margin", [-0.01, -0.02, -0.015, -0.01, -0.02])
    assert describe_savings(behind, random).startswith("Margin sampling did worse than random sampling")
