"""The embedding map on the Search page: a stored 2-D projection drawn with scattergl; box or lasso
selection feeds the same selection as the table."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.errors import CuratorError
from core.mapselect import drawn_sample, rows_in_selection
from core.projection import get_or_compute_projection, stored_projection
from core.wording import counted
from ui.resources import session, workspace

# Tableau 10 with its grey swapped for a dark teal: grey is kept for "(none)", the rows without a value.
PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D", "#1F5F5B"]


def embedding_map(dataset_id: int, scores: dict[int, float]) -> None:
    ws, s = workspace(), session()
    projection = stored_projection(ws, dataset_id)
    if projection is None:
        st.caption("The map is computed once per version of the dataset's vectors, then reloaded.")
        if not st.button("Compute the embedding map", key="search.map.compute"):
            return
        bar = st.progress(0.0, text="Projecting...")
        try:
            projection = get_or_compute_projection(
                ws, dataset_id, on_progress=lambda f, msg: bar.progress(min(1.0, f), text=msg)
            )
        except CuratorError as exc:
            st.error(str(exc))
            return
        bar.empty()
    color_by = st.radio(
        "Colour by", ["label", "label source", "search score"], horizontal=True, key="search.map.color", disabled=False
    )
    states = ws.store.row_states(projection.row_ids)
    idx = drawn_sample(len(projection.row_ids))
    ids = [projection.row_ids[i] for i in idx]
    xy = projection.xy[idx]
    fig = go.Figure()
    if color_by == "search score" and scores:
        values = np.array([scores.get(r, np.nan) for r in ids])
        fig.add_trace(
            go.Scattergl(
                x=xy[:, 0],
                y=xy[:, 1],
                mode="markers",
                customdata=ids,
                name="rows",
                marker=dict(
                    size=5,
                    color=np.nan_to_num(values, nan=-1),
                    colorscale="Viridis",
                    cmin=0,
                    cmax=1,
                    colorbar=dict(title="score"),
                ),
                hovertemplate="score %{marker.color:.3f}<extra></extra>",
            )
        )
    else:
        key = "label" if color_by != "label source" else "label_source"
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(ids):
            groups.setdefault(states[r][key] or "(none)", []).append(i)
        for n, (name, members) in enumerate(sorted(groups.items(), key=lambda kv: (kv[0] == "(none)", kv[0]))):
            m = np.array(members)
            fig.add_trace(
                go.Scattergl(
                    x=xy[m, 0],
                    y=xy[m, 1],
                    mode="markers",
                    name=name,
                    customdata=[ids[i] for i in members],
                    marker=dict(size=5, color="#C9CED6" if name == "(none)" else PALETTE[n % len(PALETTE)]),
                    hovertemplate=f"{name}<extra></extra>",
                )
            )
    picked = [i for i, r in enumerate(ids) if r in s.selected]
    if picked:  # the table's selection, ringed on top of the colours
        fig.add_trace(
            go.Scattergl(
                x=xy[picked, 0],
                y=xy[picked, 1],
                mode="markers",
                name=f"selected ({len(picked):,})",
                customdata=[ids[i] for i in picked],
                marker=dict(size=9, color="rgba(0,0,0,0)", line=dict(width=1.5, color="#111111")),
                hovertemplate="selected<extra></extra>",
            )
        )
    fig.update_layout(
        height=520,
        margin=dict(l=0, r=0, t=30, b=0),
        dragmode="lasso",
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
        legend=dict(itemsizing="constant"),
    )
    drawn = "" if len(idx) == len(projection.row_ids) else f" (drawing {len(idx):,} of {len(projection.row_ids):,})"
    st.caption(f"{projection.method}{drawn}. Draw a box or lasso to select rows.")
    event = st.plotly_chart(
        fig, key=f"search.map.{projection.key}.{color_by}", on_select="rerun", selection_mode=("box", "lasso")
    )
    selection = (event or {}).get("selection") or {}
    if selection.get("box") or selection.get("lasso"):
        chosen = rows_in_selection(projection.row_ids, projection.xy, selection)
        if st.button(
            f"Use {'this' if len(chosen) == 1 else 'these'} {counted(len(chosen), 'row')} as the selection",
            key="search.map.use",
        ):
            s.selected = set(chosen)
            s.selection_epoch, s.grid_preselected = s.selection_epoch + 1, set(chosen)
            st.rerun()
