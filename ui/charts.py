"""Plotly figures used on several pages."""

from __future__ import annotations

import plotly.graph_objects as go

HEIGHT = 280


def class_distribution(counts: dict[str, int], *, title: str = "Labels per class") -> go.Figure:
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig = go.Figure(
        go.Bar(
            x=[n for _, n in items],
            y=[c for c, _ in items],
            orientation="h",
            text=[f"{n:,}" for _, n in items],
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            marker_color="#4C78A8",
            hovertemplate="%{y}: %{x:,} rows<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=max(HEIGHT, 26 * len(items) + 80),
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="rows",
        yaxis=dict(type="category"),
    )
    return fig


def labeled_share(labeled: int, unlabeled: int) -> go.Figure:
    fig = go.Figure(
        go.Pie(
            labels=["labeled", "unlabeled"],
            values=[labeled, unlabeled],
            hole=0.55,
            sort=False,
            marker_colors=["#4C78A8", "#D8DEE6"],
            text=[f"{v:,}<br>{v / max(1, labeled + unlabeled):.0%}" if v else "" for v in (labeled, unlabeled)],
            textinfo="text",
            hovertemplate="%{label}: %{value:,} rows<extra></extra>",
        )
    )
    fig.update_layout(title="Labeled vs unlabeled", height=HEIGHT, margin=dict(l=10, r=10, t=40, b=10))
    return fig
