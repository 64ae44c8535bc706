"""AgGrid tables. Cell values are always rendered as text by AgGrid, never as HTML; the one
custom renderer builds an <img> element and only sets its src to our own data: URI."""

from __future__ import annotations

import base64

import pandas as pd
from st_aggrid import AgGrid, GridOptionsBuilder, JsCode

THUMB_RENDERER = JsCode(
    """
class ThumbRenderer {
  init(params) {
    this.eGui = document.createElement('img');
    const v = params.value;
    if (typeof v === 'string' && v.startsWith('data:image/jpeg;base64,')) { this.eGui.src = v; }
    this.eGui.style.height = '64px';
    this.eGui.style.marginTop = '3px';
    this.eGui.style.imageRendering = 'pixelated';
    this.eGui.alt = '';
  }
  getGui() { return this.eGui; }
}
"""
)

# Three whole lines that fit a 72 px row, the third ending in "…" when the text goes on (the theme's 26 px
# lines would show two and a half).
THREE_LINES = {
    "lineHeight": "20px",
    "paddingTop": "6px",
    "display": "-webkit-box",
    "WebkitLineClamp": 3,
    "WebkitBoxOrient": "vertical",
    "overflow": "hidden",
}


def configure_flag_columns(builder: GridOptionsBuilder, frame: pd.DataFrame) -> None:
    """The issue checks' columns (ui.issues.flag_columns): as wide as "Business (62%)" needs, never
    cut to "Business (…", and no wider (the table's own columns stay in view)."""
    for col in ("flagged as", "check suggests"):
        if col in frame:
            builder.configure_column(col, flex=1, minWidth=135, maxWidth=200, tooltipField=col)


def thumb_uri(jpeg: bytes | None) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii") if jpeg else ""


def show_table(
    frame: pd.DataFrame,
    *,
    key: str,
    height: int = 480,
    thumbnail_column: str | None = None,
    pick_one: bool = False,
) -> str | None:
    """A read-only, sortable, resizable table; long text wraps to a few lines. ``pick_one``: a click on a
    row picks it (the page reruns) and its ``id`` cell is returned; None while no row is picked."""
    builder = GridOptionsBuilder.from_dataframe(frame)
    builder.configure_default_column(resizable=True, sortable=True, filter=True, wrapText=False, minWidth=110)
    for col in frame.columns:
        if col == thumbnail_column:  # a data: URI, drawn as an image: its text is no tooltip
            continue
        if frame[col].dtype == object or str(frame[col].dtype).startswith(("str", "string")):
            longest = frame[col].astype(str).str.len().max() if len(frame) else 0
            if longest and longest > 60:
                # Fixed-height rows (3 lines, full text in the tooltip): autoHeight re-measures late and
                # rows overlap while the grid settles.
                builder.configure_column(
                    col, wrapText=True, flex=3, minWidth=280, tooltipField=col, cellStyle=THREE_LINES
                )
            elif longest and longest > 24:
                builder.configure_column(col, flex=2, minWidth=200, tooltipField=col)
    if "problem" in frame.columns:  # why a row was not embedded: read whole, never cut to "not a reada…"
        builder.configure_column(
            "problem", wrapText=True, flex=2, minWidth=260, tooltipField="problem", cellStyle=THREE_LINES
        )
    configure_flag_columns(builder, frame)
    if "id" in frame.columns:
        longest = int(frame["id"].astype(str).str.len().max()) if len(frame) else 0
        # Room for the whole id next to a selection checkbox ("agtest-1720" was cut to "agtest-…").
        builder.configure_column("id", flex=0, width=min(260, max(130, 8 * longest + 70)), minWidth=90)
    if thumbnail_column and thumbnail_column in frame.columns:
        builder.configure_column(
            thumbnail_column,
            headerName="image",
            cellRenderer=THUMB_RENDERER,
            width=90,
            maxWidth=100,
            sortable=False,
            filter=False,
            autoHeight=True,
            pinned="left",
        )
    row_height = (
        72
        if thumbnail_column in frame.columns
        or ("problem" in frame.columns and len(frame) and frame["problem"].astype(str).str.len().max() > 30)
        or any(frame[c].astype(str).str.len().max() > 60 for c in frame.columns if len(frame))
        else 36
    )
    builder.configure_grid_options(
        suppressCellFocus=False,
        enableCellTextSelection=True,
        ensureDomOrder=True,
        rowHeight=row_height,
        tooltipShowDelay=300,
        suppressFieldDotNotation=True,  # a column named `label.topic` (an export's) is a name, not a path
    )
    if pick_one:
        builder.configure_selection("single", use_checkbox=False)
    response = AgGrid(
        frame,
        gridOptions=builder.build(),
        height=height,
        allow_unsafe_jscode=True,
        theme="streamlit",
        key=key,
        show_toolbar=False,
        show_download_button=False,
        show_search=False,
        **({"update_on": ["selectionChanged"]} if pick_one else {}),
    )
    picked = response.selected_rows if pick_one else None
    return None if picked is None or picked.empty else str(picked["id"].iloc[0])
