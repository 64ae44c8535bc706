"""The health report's sections as sentences, cards and tables (overview, labels, auto-labeling,
issues, further questions, the gallery of fixes), with the escaping and wording they share."""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime

from core.health import (
    FIX_WORDS,
    ISSUE_FIX_MODEL,
    SNIPPET_CHARS,
    SOURCE_WORDS,
    AutoLabelHealth,
    HealthReport,
    IssueHealth,
    QuestionHealth,
)
from core.wording import counted


def _e(value: object) -> str:
    return html.escape(str(value))


def _pct(share: float) -> str:
    return f"{share:.1%}"


def _when(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _listing(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


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
