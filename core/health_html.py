"""The health report's HTML: sentences beside the numbers, plotly charts, a gallery of fixes.

Everything is inline (plotly.js once, CSS, thumbnails as data: URIs) so the file opens offline. Row
texts and class names are untrusted: every one goes through ``_e`` (HTML escaping).
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime

import plotly.graph_objects as go
import plotly.offline

from core.health import (
    COLOURS,
    FIX_WORDS,
    ISSUE_COLOURS,
    ISSUE_FIX_MODEL,
    MAX_CLASSES_CHARTED,
    SNIPPET_CHARS,
    SOURCE_COLOURS,
    SOURCE_WORDS,
    AutoLabelHealth,
    HealthReport,
    IssueHealth,
    QuestionHealth,
)
from core.wording import counted


def render(report: HealthReport) -> str:
    """The whole document for one report."""
    return _render(report)


def _e(value: object) -> str:
    return html.escape(str(value))


def _pct(share: float) -> str:
    return f"{share:.1%}"


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _listing(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _render(report: HealthReport) -> str:
    d = report.dataset
    charts = [_class_chart(report), _source_chart(report)]
    sections = [_overview(report), _labels_section(report, charts[0], charts[1])]
    audit_chart = _audit_chart(report.auto)
    sections.append(_auto_section(report.auto, audit_chart))
    issue_charts = _issue_charts(report.issues) if report.issues else []
    sections.append(_issues_section(report.issues, issue_charts))
    if report.questions:
        sections.append(_questions_section(report))
    sections.append(_gallery(report))
    title = f"Data health report: {d.name}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
<script>{plotly.offline.get_plotlyjs()}</script>
</head>
<body>
<main>
<header>
<h1>{_e(title)}</h1>
<p class="meta">{_e(d.modality.capitalize())} dataset · {report.rows:,} rows · embedded with {_e(d.embedding_model)}
 · generated {report.generated_at.strftime("%Y-%m-%d %H:%M UTC")} by Curator</p>
</header>
{"".join(sections)}
<footer>Counts are taken from the workspace when the report was generated. "Kept" rows are those not
excluded; excluded rows stay in the workspace but are left out of exports.</footer>
</main>
</body>
</html>
"""


def _card(value: str, label: str, note: str) -> str:
    return f'<div class="card"><div class="value">{value}</div><div class="label">{label}</div><p>{note}</p></div>'


def _overview(r: HealthReport) -> str:
    auto, issues = r.auto, r.issues
    if auto.audit.checked:
        low, high = auto.audit.interval()
        audited = _card(
            _pct(auto.audit.precision),
            "auto-label precision, audited",
            f"{auto.audit.correct:,} of {counted(auto.audit.checked, 'checked auto label')}"
            f" {'was' if auto.audit.correct == 1 else 'were'} right"
            f" (95% interval {low:.0%} to {high:.0%}).",
        )
    else:
        audited = _card("–", "auto-label precision, audited", "No auto label has been checked by a person yet.")
    if issues is None:
        fixed = _card("–", "issues fixed", "No issue check has run on this dataset yet.")
    else:
        fixed = _card(
            f"{issues.rows_fixed:,} / {issues.rows_found:,}",
            "flagged rows fixed",
            f"The last issue check flagged {counted(issues.rows_found, 'row')};"
            f" {issues.rows_fixed:,} {'has' if issues.rows_fixed == 1 else 'have'} been dealt with.",
        )
    cards = [
        _card(
            f"{r.rows:,}",
            "rows",
            f"{r.excluded:,} excluded, {r.kept:,} kept." if r.excluded else "None excluded.",
        ),
        _card(
            f"{_pct(r.labeled_share_before)} → {_pct(r.labeled_share_after)}",
            "labeled, before → now",
            f"{counted(r.labeled_before, 'row')} came with a label;"
            f" {r.labeled_after:,} of the kept rows {'has' if r.labeled_after == 1 else 'have'} one now.",
        ),
        _card(
            _pct(auto.share),
            "auto-labeled",
            f"{counted(auto.rows, 'row')} of the {r.kept:,} kept"
            f" {'carries' if auto.rows == 1 else 'carry'} an auto label.",
        ),
        audited,
        fixed,
    ]
    return f'<section class="cards">{"".join(cards)}</section>'


def _labels_section(r: HealthReport, class_chart: str, source_chart: str) -> str:
    d = r.dataset
    size = f"<b>{_e(d.name)}</b> holds {counted(r.rows, _e(d.modality) + ' row')}, embedded with"
    size += f" {_e(d.embedding_model)}."
    if r.excluded:
        were = "was" if r.excluded == 1 else "were"
        size += (
            f" {counted(r.excluded, 'row')} ({_pct(r.excluded / r.rows)}) {were} excluded during curation,"
            f" leaving {r.kept:,}."
        )
    else:
        size += " No row was excluded."
    before = (
        f"Before curation, <b>{r.labeled_before:,} of {counted(r.rows, 'row')} ({_pct(r.labeled_share_before)})</b>"
        " came with a label."
    )
    sources = [f"{n:,} {SOURCE_WORDS.get(s, _e(s))}" for s, n in r.by_source.items() if n]
    after = (
        f"Now <b>{r.labeled_after:,} of the {counted(r.kept, 'row')} kept ({_pct(r.labeled_share_after)})</b>"
        f" {'has' if r.labeled_after == 1 else 'have'} a label" + (f": {_listing(sources)}." if sources else ".")
    )
    relabeled = f"{counted(r.relabeled, 'row')} that came with a label now {'carries' if r.relabeled == 1 else 'carry'}"
    changed = f" {relabeled} a different one." if r.relabeled else ""
    table = "".join(
        f"<tr><td>{_e(s)}</td><td>{SOURCE_WORDS.get(s, '')}</td><td class=num>{n:,}</td>"
        f"<td class=num>{_pct(n / r.labeled_after) if r.labeled_after else '–'}</td></tr>"
        for s, n in r.by_source.items()
    )
    return f"""<section>
<h2>Dataset and labels</h2>
<p>{size}</p>
<p>{before} {after}{changed}</p>
<div class="grid2">{class_chart}<div>{source_chart}
<table><thead><tr><th>label source</th><th>meaning</th><th class=num>rows</th><th class=num>share</th></tr></thead>
<tbody>{table}</tbody></table></div></div>
</section>"""


def _auto_section(a: AutoLabelHealth, chart: str) -> str:
    if a.rows:
        parts = []
        if a.rows - a.from_issue_fixes:
            parts.append(f"{a.rows - a.from_issue_fixes:,} from the auto-label wizard")
        if a.from_issue_fixes:
            fixes = f"{a.from_issue_fixes:,} taken from the label-issue check's suggestion"
            if a.fix_audit is not None and a.fix_audit.checked:  # their own audit, never mixed with the wizard's
                low, high = a.fix_audit.interval()
                fixes += (
                    f" (audited: {a.fix_audit.correct:,} of {a.fix_audit.checked:,} checked right,"
                    f" 95% interval {low:.0%} to {high:.0%})"
                )
            parts.append(fixes)
        carry = "carries" if a.rows == 1 else "carry"
        coverage = (
            f"<b>{counted(a.rows, 'row')} ({_pct(a.share)} of the rows kept)</b> {carry} an auto label:"
            f" {_listing(parts)}."
        )
    else:
        coverage = "No row carries an auto label: every label came from the file or from a person."
    if a.run_created_at is None:
        promise = "The auto-label wizard has not been run on this dataset, so no precision was promised."
    elif a.promised_precision is None:
        promise = (
            f"The latest auto-label run ({_when(a.run_created_at)}) could not estimate its precision:"
            " it had no labeled rows to measure it on."
        )
    else:
        likely = (
            f" (likely {a.promised_interval[0]:.0%} to {a.promised_interval[1]:.0%})" if a.promised_interval else ""
        )
        promise = (
            f"The latest auto-label run ({_e(a.labeler)}, {_when(a.run_created_at)}) aimed at"
            f" {a.target_precision:.0%} precision and <b>promised {_pct(a.promised_precision)}</b>{likely}"
            f" for the {counted(a.promised_rows, 'row')} at confidence ≥ {a.threshold:.3f}."
        )
    if not a.audit.checked:
        audit = (
            "No auto label has been audited yet, so the promise is not checked: on the Auto-label page,"
            " step 3, a person checks a random sample."
            if a.rows
            else "There are no auto labels to audit."
        )
    else:
        low, high = a.audit.interval()
        audit = (
            f"A person checked a random sample: <b>{a.audit.correct:,} of {counted(a.audit.checked, 'auto label')}"
            f" {'was' if a.audit.correct == 1 else 'were'} right, a measured precision of {_pct(a.audit.precision)}</b>"
            f" (95% interval {low:.0%} to {high:.0%})."
        )
        if a.promised_precision is not None:
            if low <= a.promised_precision <= high:
                audit += " The promise lies inside that interval: the audit agrees with it."
            elif a.promised_precision > high:
                audit += (
                    " The promise lies above that interval: the auto labels are less precise than promised;"
                    " raise the threshold or label more rows and train again."
                )
            else:
                audit += " The auto labels did better than promised."
    return f"""<section>
<h2>Auto-labeling</h2>
<div class="{"grid2" if chart else ""}"><div><p>{coverage}</p>
<p>{promise}</p>
<p>{audit}</p></div>
{chart}</div>
</section>"""


def _issues_section(issues: IssueHealth | None, charts: list[str]) -> str:
    if issues is None:
        return (
            "<section><h2>Issues found and fixed</h2><p>No issue check has run on this dataset yet: on the Issues"
            " page, <i>Find issues</i> looks for mislabeled rows, outliers and duplicates.</p></section>"
        )
    share = issues.rows_found / issues.checked_rows if issues.checked_rows else 0.0
    how = [f"{n:,} {FIX_WORDS[k]}" for k, n in issues.fixes.items() if n]
    found = (
        f"The last issue check ({_when(issues.created_at)}) looked at {counted(issues.checked_rows, 'row')} and"
        f" <b>flagged {counted(issues.rows_found, 'row')} ({_pct(share)})</b> for at least one issue."
    )
    if issues.rows_found == 0:
        fixed = "Nothing to fix."
    elif issues.rows_fixed:
        fixed = f"<b>{issues.rows_fixed:,} of them have been dealt with since</b>: {_listing(how)}."
    else:
        fixed = "None of them has been fixed yet."
    table = "".join(
        f"<tr><td>{_e(t.title)}</td><td class=rule>{_e(t.rule)}</td><td class=num>{t.found:,}</td>"
        f"<td class=num>{t.fixed:,}</td></tr>"
        for t in issues.types
    )
    return f"""<section>
<h2>Issues found and fixed</h2>
<p>{found} {fixed} A row counts as fixed when it was excluded, relabeled, confirmed by a person or marked for
review after the check.</p>
<table><thead><tr><th>issue</th><th>rule</th><th class=num>found</th><th class=num>fixed</th></tr></thead>
<tbody>{table}</tbody></table>
<div class="grid2">{"".join(charts)}</div>
</section>"""


def _questions_section(r: HealthReport) -> str:
    """The label schema's further questions: answered share, auto answers, audit against promise."""
    rows = []
    for q in r.questions:
        st, a = q.status, q.audit
        asked = st.asked - st.excluded
        audit = f"{a.correct:,} of {a.checked:,} right ({_pct(a.precision)})" if a.checked else "not audited"
        rows.append(
            f"<tr><td>{_e(q.name)}</td><td>{'several classes' if q.kind == 'multi' else 'one class'}</td>"
            f"<td class=num>{st.answered:,} of {asked:,} ({_pct(st.answered / asked) if asked else '–'})</td>"
            f"<td class=num>{q.auto:,}</td>"
            f"<td class=num>{_pct(q.promised_precision) if q.promised_precision is not None else '–'}</td>"
            f"<td class=num>{audit}</td>"
            f"<td class=num>{_question_issues(q)}</td></tr>"
        )
    return f"""<section>
<h2>Further questions</h2>
<p>The label schema asks more than the label. A multi-choice question's promise and audit count classes, not rows.</p>
<table><thead><tr><th>question</th><th>answers</th><th class=num>rows answered</th><th class=num>auto answers</th>
<th class=num>promised precision</th><th class=num>audited</th><th class=num>issues (latest check)</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
</section>"""


def _question_issues(q: QuestionHealth) -> str:
    if q.issues_found is None:
        return "not checked"
    return f"{counted(q.issues_found, 'row')} flagged, {q.issues_fixed:,} dealt with since"


def _gallery(r: HealthReport) -> str:
    if not r.examples:
        return (
            "<section><h2>Examples of fixes</h2><p>No row that came with a label carries a different one now."
            "</p></section>"
        )
    tiles = []
    for x in r.examples:
        if x.thumb:
            content = (
                f'<img alt="row {_e(x.source_id)}" src="data:image/jpeg;base64,{base64.b64encode(x.thumb).decode()}">'
            )
        else:
            text = x.text or ""
            snippet = text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"
            content = f'<p class="text">{_e(snippet)}</p>'
        how = "auto-fix from the issue check" if (x.model_id or "").startswith(ISSUE_FIX_MODEL) else x.source
        tiles.append(
            f'<figure class="fix"><figcaption>given <b>{_e(x.given)}</b> → now <b>{_e(x.now)}</b>'
            f' <span class="src">{_e(SOURCE_WORDS.get(how, how))} · row {_e(x.source_id)}</span></figcaption>'
            f"{content}</figure>"
        )
    shown = f"{len(r.examples):,} of them" if r.relabeled > len(r.examples) else "all of them"
    carry = "carries" if r.relabeled == 1 else "carry"
    return f"""<section>
<h2>Examples of fixes</h2>
<p>{counted(r.relabeled, "row")} that came with a label now {carry} a different one; here are {shown}, decisions by
a person first.</p>
<div class="gallery">{"".join(tiles)}</div>
</section>"""


# -- charts ----------------------------------------------------------------------------------


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


_CSS = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #e3e8ee; --accent: #4C78A8; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 24px 40px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
.meta { color: var(--muted); margin: 0 0 18px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px;
  margin-bottom: 18px; }
h2 { font-size: 19px; margin: 0 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px;
  background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.card .value { font-size: 22px; white-space: nowrap; font-weight: 650; color: var(--accent); }
.card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card p { margin: 6px 0 0; font-size: 13px; color: var(--muted); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; align-items: start; }
.chart { margin: 0; }
.chart figcaption { font-weight: 600; font-size: 14px; margin: 6px 0 2px; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
table { border-collapse: collapse; width: 100%; margin: 10px 0; font-size: 14px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.rule { color: var(--muted); font-size: 13px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(250px, 1fr)); gap: 12px; }
.fix { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: #fbfcfd;
  display: flex; flex-direction: column; gap: 8px; }
.fix img { width: 96px; height: 96px; object-fit: cover; border-radius: 4px; image-rendering: auto; }
.fix .text { margin: 0; font-size: 13px; white-space: pre-wrap; overflow-wrap: anywhere; }
.fix figcaption { font-size: 13px; }
.fix .src { display: block; color: var(--muted); font-size: 12px; }
footer { color: var(--muted); font-size: 12px; margin-top: 8px; }
@media print { body { background: #fff; } section, .card { break-inside: avoid; } }
"""
