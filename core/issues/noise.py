"""Planted label noise, for measuring how well a detector finds it (tests and bench/label_issues.py)."""

from __future__ import annotations

import numpy as np


def flip_labels(labels: np.ndarray, n_classes: int, share: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded share of labels moved to a random other class: (noisy labels, which rows were flipped)."""
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(labels), round(share * len(labels)), replace=False)
    noisy = labels.copy()
    noisy[flipped] = (noisy[flipped] + rng.integers(1, n_classes, len(flipped))) % n_classes
    truth = np.zeros(len(labels), bool)
    truth[flipped] = True
    return noisy, truth
