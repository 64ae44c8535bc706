"""Selecting rows on the embedding map by box or lasso, over *all* rows (the drawing may be a
sample above ~50k points; the selection never is)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_DRAWN_POINTS = 50_000


def drawn_sample(n: int, *, limit: int = MAX_DRAWN_POINTS, seed: int = 0) -> np.ndarray:
    """Indices of the points to draw: all of them, or a seeded sample above ``limit``."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def in_box(xy: np.ndarray, x_range: Sequence[float], y_range: Sequence[float]) -> np.ndarray:
    x0, x1 = sorted(x_range)
    y0, y1 = sorted(y_range)
    return (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)


def in_polygon(xy: np.ndarray, xs: Sequence[float], ys: Sequence[float]) -> np.ndarray:
    """Even-odd ray casting, vectorised over points (a lasso is a closed polygon)."""
    px, py = xy[:, 0], xy[:, 1]
    inside = np.zeros(len(xy), dtype=bool)
    xs, ys = list(xs), list(ys)
    for i in range(len(xs)):
        x1, y1, x2, y2 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_at)
    return inside


def rows_in_selection(row_ids: Sequence[int], xy: np.ndarray, selection: dict) -> list[int]:
    """Row ids inside the box(es) / lasso(s) of a Plotly selection event, over all rows."""
    mask = np.zeros(len(xy), dtype=bool)
    for box in selection.get("box", []) or []:
        mask |= in_box(xy, box["x"], box["y"])
    for lasso in selection.get("lasso", []) or []:
        mask |= in_polygon(xy, lasso["x"], lasso["y"])
    return [row_ids[i] for i in np.flatnonzero(mask)]
