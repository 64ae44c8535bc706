"""Plotly figures used on several pages."""

from __future__ import annotations

import math

import numpy as np
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


def precision_coverage(curve: dict, *, threshold: float, target: float | None) -> go.Figure:
    """Expected precision against the share of rows auto-labeled, the chosen threshold marked."""
    step = max(1, len(curve["rows"]) // 2000)  # a smooth line needs no more points than pixels
    fig = go.Figure(
        go.Scatter(
            x=curve["coverage"][::step],
            y=curve["precision"][::step],
            customdata=list(zip(curve["rows"][::step], curve["threshold"][::step], strict=True)),
            mode="lines",
            line=dict(color="#4C78A8", width=2),
            hovertemplate="%{customdata[0]:,} rows (%{x:.0%}) at confidence ≥ %{customdata[1]:.3f}:"
            " expected precision %{y:.1%}<extra></extra>",
        )
    )
    if "lower" in curve and len(curve["lower"]) == len(curve["rows"]):
        x = curve["coverage"][::step]
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([x, x[::-1]]),
                y=np.concatenate([curve["upper"][::step], curve["lower"][::step][::-1]]),
                fill="toself",
                fillcolor="rgba(76,120,168,0.18)",
                line=dict(width=0),
                hoverinfo="skip",
                name="10-90% band",
            )
        )
    chosen = curve["threshold"] >= threshold
    if chosen.any():
        i = int(chosen.sum()) - 1
        fig.add_trace(
            go.Scatter(
                x=[curve["coverage"][i]],
                y=[curve["precision"][i]],
                mode="markers",
                marker=dict(size=11, color="#E45756"),
                hovertemplate="threshold: %{x:.0%} of rows, %{y:.1%} expected precision<extra></extra>",
            )
        )
    if target is not None:
        fig.add_hline(y=target, line_dash="dot", line_color="#888", annotation_text=f"target {target:.0%}")
    fig.update_layout(
        title="Expected precision vs coverage",
        height=HEIGHT + 40,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(title="share of unlabeled rows auto-labeled", tickformat=".0%", range=[0, 1]),
        yaxis=dict(title="expected precision", tickformat=".0%"),
        showlegend=False,
    )
    return fig


def confidence_histogram(
    confidence, *, threshold: float | None, title: str = "Confidence of the predictions", x_min: float = 0.0
) -> go.Figure:
    """Rows per confidence bin, the threshold (if any: None draws no line) marked."""
    # Binned here, not by plotly.js, so a rerun ships 50 bars rather than every confidence.
    size = max(0.005, (1 - x_min) / 50)
    edges = np.arange(x_min, 1.0001 + size, size)
    counts, _ = np.histogram(np.clip(np.asarray(confidence, dtype=float), x_min, 1.0), bins=edges)
    fig = go.Figure(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=size * 0.95,
            marker_color="#4C78A8",
            customdata=np.stack([edges[:-1], edges[1:]], axis=1),
            hovertemplate="confidence %{customdata[0]:.3f}-%{customdata[1]:.3f}: %{y:,} rows<extra></extra>",
        )
    )
    if threshold is not None:
        fig.add_vline(
            x=threshold,
            line_color="#E45756",
            line_width=2,
            annotation_text=f"threshold {threshold:.3f}",
            # Label on the side with room: left of the line, unless the line is near the left edge.
            annotation_position="top left" if threshold - x_min > 0.25 * (1 - x_min) else "top right",
        )
    fig.update_layout(
        title=title,
        height=HEIGHT + 40,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(title="confidence", range=[x_min, 1.01]),
        yaxis_title="rows",
    )
    return fig


def learning_curves(curves: dict) -> go.Figure:
    """Model quality against labels used, one line per sampling strategy."""
    colours = ["#9D9D9D", "#4C78A8", "#F58518", "#54A24B", "#B279A2"]
    fig = go.Figure()
    ordered = sorted(curves.items(), key=lambda kv: kv[0] != "random")
    for (name, curve), colour in zip(ordered, colours * 2, strict=False):  # more strategies than colours: reuse
        fig.add_trace(
            go.Scatter(
                x=curve.n_labels,
                y=curve.quality,
                mode="lines+markers",
                name=name,
                line=dict(color=colour, dash="dash" if name == "random" else "solid"),
                hovertemplate=f"{name}: %{{x:,}} labels → {curve.metric} %{{y:.3f}}<extra></extra>",
            )
        )
    metric = next(iter(curves.values())).metric if curves else ""
    fig.update_layout(
        title="Learning curve (on the rows labeled so far)",
        height=HEIGHT + 40,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis_title="labels used",
        yaxis_title=metric.replace("_", "-"),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


ISSUE_COLORS = ["#E45756", "#4C78A8", "#F58518", "#72B7B2", "#B279A2", "#9D755D", "#54A24B"]


def issues_by_class(counts, titles: dict[str, str]) -> go.Figure:  # noqa: ANN001  (a DataFrame: class, issue, rows)
    """Horizontal bars per class, one stacked segment per issue type; each segment is clickable
    (its customdata is (class, issue))."""
    order = counts.groupby("class")["rows"].sum().sort_values().index.tolist()
    fig = go.Figure()
    for color, (issue, title) in zip(ISSUE_COLORS * 3, titles.items(), strict=False):
        part = counts[counts.issue == issue].set_index("class")["rows"].reindex(order, fill_value=0)
        if not part.any():
            continue
        fig.add_trace(
            go.Bar(
                x=part,
                y=order,
                orientation="h",
                name=title,
                marker_color=color,
                customdata=[[c, issue] for c in order],
                hovertemplate=f"%{{y}}: %{{x:,}} rows with {title.lower()} (click to show them)<extra></extra>",
            )
        )
    # The legend sits at the foot of the figure (container coordinates) in a bottom margin sized for
    # its lines, under the axis title: placed in plot coordinates (y=-0.25) the two overlapped.
    legend_lines = math.ceil(len(fig.data) / 3)  # about three issue types to a line in a half-width column
    fig.update_layout(
        title="Issues by class (click a bar to filter the table)",
        barmode="stack",
        height=max(HEIGHT, 30 * len(order) + 120) + 24 * legend_lines,
        margin=dict(l=10, r=10, t=40, b=56 + 24 * legend_lines),
        xaxis_title="rows flagged",
        yaxis=dict(type="category"),
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left"),
        clickmode="event+select",
    )
    return fig


def confusion_pairs(pairs) -> go.Figure:  # noqa: ANN001  (a DataFrame: given, suggested, rows)
    """Label issues as a given → suggested heatmap. Drawn as square markers rather than a
    ``go.Heatmap`` because Streamlit's click selection works on points, not heatmap cells."""
    given = sorted(pairs["given"].unique())
    suggested = sorted(pairs["suggested"].unique())
    top = float(pairs["rows"].max()) if len(pairs) else 1.0
    size = 56 if max(len(given), len(suggested)) <= 6 else 34
    fig = go.Figure(
        go.Scatter(
            x=pairs["suggested"],
            y=pairs["given"],
            mode="markers+text",
            text=[f"{n:,}" for n in pairs["rows"]],
            textfont=dict(color="white", size=12),
            marker=dict(
                symbol="square",
                size=size,
                color=pairs["rows"],
                colorscale=[[0, "#F4A6A6"], [1, "#B2182B"]],
                cmin=0,
                cmax=top,
                showscale=False,
            ),
            customdata=list(zip(pairs["given"], pairs["suggested"], strict=True)),
            hovertemplate="given %{y} → suggested %{x}: %{text} rows (click to show them)<extra></extra>",
        )
    )
    fig.update_layout(
        title="Confusion pairs: given → suggested label",
        height=max(HEIGHT, (size + 8) * len(given) + 140),
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(title="suggested label", type="category", categoryorder="array", categoryarray=suggested),
        yaxis=dict(title="given label", type="category", categoryorder="array", categoryarray=given),
        clickmode="event+select",
        modebar_orientation="v",  # down the right side: across the top it covers this narrow chart's title
    )
    return fig


def score_histogram(
    values: np.ndarray,
    flagged: np.ndarray,
    *,
    title: str,
    axis: str = "score (lower = more likely an issue)",
    cutoff: float | None = None,
) -> go.Figure:
    """Where the flagged rows sit among all rows, in the quantity named by ``axis`` (a score in [0, 1]
    by default); ``cutoff``, the rule's line, is drawn when given."""
    # Binned here, not by plotly.js: a histogram trace ships every score (100k rows: ~1 MB per rerun).
    low = min(0.0, float(values.min(initial=0.0)))
    high = max(1.0, float(values.max(initial=1.0)))
    edges = np.linspace(low, high, 41)
    fig = go.Figure()
    for mask, name, color in ((~flagged, "not flagged", "#9ECAE9"), (flagged, "flagged", "#E45756")):
        counts, _ = np.histogram(np.clip(values[mask], low, high), bins=edges)
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=counts,
                width=edges[1] - edges[0],
                name=name,
                marker_color=color,
                customdata=np.stack([edges[:-1], edges[1:]], axis=1),
                hovertemplate="%{customdata[0]:.3f}-%{customdata[1]:.3f}: %{y:,} rows<extra>%{fullData.name}</extra>",
            )
        )
    if cutoff is not None:
        fig.add_vline(x=cutoff, line_dash="dash", line_color="#444", annotation_text=f"cutoff {cutoff:.2f}")
    fig.update_layout(
        title=title,
        barmode="stack",
        bargap=0,
        height=HEIGHT - 40,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(title=axis, range=[low, high]),
        yaxis_title="rows",
        legend=dict(orientation="h", y=-0.3),
    )
    return fig
