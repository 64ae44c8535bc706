"""The health report's plotly charts: rows per class, label sources, the audit against the promise,
issues by type and by class. Each is a titled HTML figure; plotly.js itself is inlined once."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from core.health import (
    COLOURS,
    ISSUE_COLOURS,
    MAX_CLASSES_CHARTED,
    SOURCE_COLOURS,
    SOURCE_WORDS,
    AutoLabelHealth,
    HealthReport,
    IssueHealth,
)
from core.wording import counted


def _figure_html(fig: go.Figure, div_id: str, title: str, height: int) -> str:
    """A figure as a titled div + script; plotly.js itself is inlined once in the page head. The
    title is HTML (escaped by the caller) so that long titles wrap instead of hiding the legend."""
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=20, t=30, b=10),
        template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left"),
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12),
    )
    div = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<figure class="chart"><figcaption>{title}</figcaption>{div}</figure>'


def _label(text: str) -> str:
    """Plotly draws text as pseudo-HTML (<b>, <br>); escaped, a class name shows as typed."""
    return html.escape(text, quote=False)


def _class_chart(r: HealthReport) -> str:
    names = list(dict.fromkeys([*r.classes_after, *r.classes_before]))
    names.sort(key=lambda c: -max(r.classes_after.get(c, 0), r.classes_before.get(c, 0)))
    total = len(names)
    names = names[:MAX_CLASSES_CHARTED]
    fig = go.Figure()
    for key, name, counts in (
        ("before", "given (before curation)", r.classes_before),
        ("after", "now (kept rows)", r.classes_after),
    ):
        fig.add_bar(
            y=[_label(c) for c in names],
            x=[counts.get(c, 0) for c in names],
            name=name,
            orientation="h",
            marker_color=COLOURS[key],
            hovertemplate="%{y}: %{x:,} rows<extra>" + name + "</extra>",
        )
    fig.update_layout(barmode="group", yaxis=dict(type="category", autorange="reversed", automargin=True))
    title = "Rows per class: labels given vs labels now"
    if total > len(names):
        title += f" (the {len(names):,} largest of {counted(total, 'class')})"
    return _figure_html(fig, "chart-classes", title, max(260, 70 + 40 * len(names)))


def _source_chart(r: HealthReport) -> str:
    items = [(s, n) for s, n in r.by_source.items() if n]
    fig = go.Figure(
        go.Bar(
            x=[n for _, n in items],
            y=[SOURCE_WORDS.get(s, _label(s)) for s, _ in items],
            orientation="h",
            marker_color=[SOURCE_COLOURS.get(s, SOURCE_COLOURS["unknown"]) for s, _ in items],
            text=[f"{n:,}" for _, n in items],
            textposition="auto",
            hovertemplate="%{y}: %{x:,} rows<extra></extra>",
        )
    )
    fig.update_layout(yaxis=dict(autorange="reversed", automargin=True))
    return _figure_html(fig, "chart-sources", "Where the current labels came from", max(180, 60 + 44 * len(items)))


def _audit_chart(a: AutoLabelHealth) -> str:
    """Promised and measured precision as points with their intervals (a bar would have to start at 0)."""
    if not a.audit.checked:
        return ""
    low, high = a.audit.interval()
    points = [("measured by the audit", a.audit.precision, low, high, "#54A24B", "95% interval")]
    if a.promised_precision is not None:
        p_low, p_high = a.promised_interval or (a.promised_precision, a.promised_precision)
        points.insert(0, ("promised by the wizard", a.promised_precision, p_low, p_high, "#F58518", "10-90% band"))
    fig = go.Figure(
        go.Scatter(
            x=[p[0] for p in points],
            y=[p[1] for p in points],
            mode="markers+text",
            marker=dict(size=16, color=[p[4] for p in points]),
            error_y=dict(
                type="data",
                symmetric=False,
                array=[p[3] - p[1] for p in points],
                arrayminus=[p[1] - p[2] for p in points],
                thickness=2,
                width=10,
                color="#555",
            ),
            text=[f"  {p[1]:.1%}" for p in points],
            textposition="middle right",
            customdata=[[p[2], p[3], p[5]] for p in points],
            hovertemplate="%{x}: %{y:.1%} (%{customdata[2]} %{customdata[0]:.0%} to %{customdata[1]:.0%})"
            "<extra></extra>",
        )
    )
    if a.target_precision is not None:
        fig.add_hline(
            y=a.target_precision,
            line_dash="dash",
            line_color="#888",
            annotation_text=f"target {a.target_precision:.0%}",
            annotation_position="bottom left",
        )
    floor = max(0.0, min(p[2] for p in points) - 0.05)
    fig.update_layout(
        xaxis=dict(range=[-0.5, len(points) - 0.5]),  # room beside each point for its value
        yaxis=dict(range=[floor, 1.02], tickformat=".0%"),
        showlegend=False,
    )
    title = "Auto-label precision: promised vs measured (lines: intervals)"
    return _figure_html(fig, "chart-audit", title, 300)


def _issue_charts(issues: IssueHealth) -> list[str]:
    if not issues.types:
        return []
    fig = go.Figure()
    titles = [t.title for t in issues.types]
    for key, name, values in (
        ("found", "found", [t.found for t in issues.types]),
        ("fixed", "fixed since", [t.fixed for t in issues.types]),
    ):
        fig.add_bar(
            y=titles,
            x=values,
            name=name,
            orientation="h",
            marker_color=COLOURS[key],
            hovertemplate="%{y}: %{x:,} rows<extra>" + name + "</extra>",
        )
    fig.update_layout(barmode="group", yaxis=dict(autorange="reversed", automargin=True))
    by_type = _figure_html(fig, "chart-issue-types", "Issues by type: found vs fixed", 70 + 40 * len(titles))

    by_class = go.Figure()
    classes = sorted({c.label for c in issues.by_class})
    for i, t in enumerate(issues.types):
        counts = {c.label: c.found for c in issues.by_class if c.issue == t.name}
        if counts:
            by_class.add_bar(
                x=[_label(c) for c in classes],
                y=[counts.get(c, 0) for c in classes],
                name=t.title,
                marker_color=ISSUE_COLOURS[i % len(ISSUE_COLOURS)],
                hovertemplate="%{x}: %{y:,} rows<extra>" + t.title + "</extra>",
            )
    by_class.update_layout(barmode="stack", xaxis=dict(type="category", automargin=True), yaxis_title="rows flagged")
    title = "Issues by class (the row's label when checked)"
    return [by_type, _figure_html(by_class, "chart-issue-classes", title, 70 + 40 * len(titles))]
