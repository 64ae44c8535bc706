"""The health report's HTML: sentences beside the numbers, plotly charts, a gallery of fixes.

Everything is inline (plotly.js once, CSS, thumbnails as data: URIs) so the file opens offline. Row
texts and class names are untrusted: every one goes through ``_e`` (HTML escaping).

The package: this module lays out the document and its style; ``sections`` writes each section's
sentences, cards and tables, ``charts`` draws the plotly figures. Import ``render`` from here.
"""

from __future__ import annotations

import plotly.offline

from core.health import HealthReport
from core.health_html.charts import _audit_chart, _class_chart, _issue_charts, _source_chart
from core.health_html.sections import (
    _auto_section,
    _e,
    _gallery,
    _issues_section,
    _labels_section,
    _overview,
    _questions_section,
)


def render(report: HealthReport) -> str:
    """The whole document for one report."""
    return _render(report)


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
