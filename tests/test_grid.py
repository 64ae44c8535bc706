"""The AgGrid tables' options, read from what ``ui.grid`` hands to AgGrid (no browser)."""

import base64

import pandas as pd

import ui.grid
from ui.grid import show_table, thumb_uri


def test_a_thumbnail_column_has_no_tooltip_of_its_data_uri(monkeypatch):
    """Hovering a thumbnail showed its whole `data:image/jpeg;base64,...` text across the grid: the
    thumbnail column is a long string, so it got the long-text tooltip."""
    given = {}
    monkeypatch.setattr(ui.grid, "AgGrid", lambda frame, gridOptions, **kwargs: given.update(gridOptions))
    jpeg = base64.b64decode("/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U" * 2)
    files = ["dog/train_0001.jpg", "cat/train_0002.jpg"]
    frame = pd.DataFrame({"thumbnail": [thumb_uri(jpeg)] * 2, "file": files, "text": ["x" * 80] * 2})
    show_table(frame, key="t", thumbnail_column="thumbnail")
    columns = {c["field"]: c for c in given["columnDefs"]}
    assert "tooltipField" not in columns["thumbnail"]
    assert columns["thumbnail"]["headerName"] == "image"
    assert columns["text"]["tooltipField"] == "text"  # long text still has its tooltip
