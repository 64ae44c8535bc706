"""Box and lasso selection on the map apply to every row, not only the drawn sample."""

import numpy as np

from core.mapselect import drawn_sample, in_polygon, rows_in_selection


def test_box_and_lasso_select_all_rows_inside():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-1, 1, size=(120_000, 2)).astype(np.float32)
    row_ids = list(range(1000, 1000 + len(xy)))
    drawn = drawn_sample(len(xy))
    assert len(drawn) == 50_000 and len(set(drawn.tolist())) == 50_000
    box = rows_in_selection(row_ids, xy, {"box": [{"x": [0, 1], "y": [0, 1]}]})
    expected = {row_ids[i] for i in np.flatnonzero((xy[:, 0] >= 0) & (xy[:, 1] >= 0))}
    assert set(box) == expected and len(box) > 25_000  # far more than the drawn share of that corner
    triangle = {"lasso": [{"x": [0, 1, 0], "y": [0, 0, 1]}]}
    inside = rows_in_selection(row_ids, xy, triangle)
    ok = (xy[:, 0] >= 0) & (xy[:, 1] >= 0) & (xy[:, 0] + xy[:, 1] <= 1)
    assert abs(len(inside) - ok.sum()) <= 5  # points exactly on an edge may go either way


def test_polygon_edge_cases():
    square = np.array([[0.5, 0.5], [2, 2], [-0.1, 0.5]])
    assert in_polygon(square, [0, 1, 1, 0], [0, 0, 1, 1]).tolist() == [True, False, False]
    assert rows_in_selection([1, 2, 3], square, {}) == []
