"""A dataset's health report for stakeholders: one self-contained HTML file, readable offline.

``health_report`` gathers the numbers (labeled share before and after curation, where the labels
came from, auto-label coverage and its audited precision next to the promised one, issues found
and fixed, examples of fixes); ``render_health_report`` turns them into one HTML document with
plain-language sentences beside the numbers and plotly charts; ``write_health_report`` stores it.

The file carries everything it needs (plotly.js inline once, CSS inline, thumbnails as data:
URIs), so it can be mailed or archived and still opens with no network. Row texts and class names
are untrusted user data: every one is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.audit import AuditedLabels, AuditSummary, audit_summary
from core.errors import InputError
from core.issues import latest_report
from core.issues.report import REVIEWED_SOURCES, checked_label
from core.labelschema import Kind, QuestionStatus, label_schema, question_status
from core.review import NEEDS_REVIEW
from core.store import DEFAULT_LABEL_FIELD, ISSUE_FIX_MODEL, Dataset, LabelSource
from core.wizard import latest_prediction
from core.workspace import Workspace

EXAMPLES = 8  # fixes shown in the gallery
MAX_CLASSES_CHARTED = 30  # more bars than this is unreadable; the rest are summed in words
SNIPPET_CHARS = 280
SOURCE_ORDER = ("original", "human", "suggestion_accepted", "bulk", "auto")
SOURCE_WORDS = {  # read after a count, one or many: "1 accepted from a suggestion", "120 auto-labeled"
    "original": "came with the file",
    "human": "set by a person",
    "suggestion_accepted": "accepted from a suggestion",
    "bulk": "set in bulk",
    "auto": "auto-labeled",
    "unknown": "of unknown origin",
}
FIX_WORDS = {
    "relabeled": "relabeled",
    "excluded": "excluded",
    "confirmed": "confirmed by a person",
    "needs_review": "marked for review",
}
COLOURS = {"before": "#A7BBD3", "after": "#4C78A8", "found": "#E45756", "fixed": "#54A24B"}
SOURCE_COLOURS = {
    "original": "#A7BBD3",
    "human": "#54A24B",
    "suggestion_accepted": "#88D27A",
    "bulk": "#B279A2",
    "auto": "#F58518",
    "unknown": "#BAB0AC",
}
ISSUE_COLOURS = ["#E45756", "#F58518", "#ECA82C", "#72B7B2", "#4C78A8", "#B279A2", "#9D755D", "#BAB0AC"]


@dataclass(frozen=True)
class AutoLabelHealth:
    """Auto labels now in the dataset, what the wizard promised for them and what an audit measured."""

    rows: int  # kept rows whose current label source is "auto"
    from_issue_fixes: int  # of those, written by the Issues page's auto-fix (the rest by the wizard)
    kept_rows: int
    audit: AuditSummary
    run_created_at: str | None = None  # the latest auto-label run, if any
    labeler: str | None = None
    target_precision: float | None = None
    threshold: float | None = None
    promised_rows: int | None = None
    promised_precision: float | None = None  # None: the run could not estimate it
    promised_interval: tuple[float, float] | None = None  # 10-90% predictive interval
    fix_audit: AuditSummary | None = None  # the audit of the Issues page's auto-fixes, apart from the wizard's

    @property
    def share(self) -> float:
        """Auto-labeled share of the rows kept (not excluded)."""
        return self.rows / self.kept_rows if self.kept_rows else 0.0


@dataclass(frozen=True)
class IssueTypeHealth:
    name: str
    title: str
    rule: str
    found: int
    fixed: int


@dataclass(frozen=True)
class IssueClassHealth:
    label: str  # the row's label when the check ran; "(unlabeled)" for none
    issue: str
    found: int
    fixed: int


@dataclass(frozen=True)
class IssueHealth:
    """The latest issue run, and how many of the rows it flagged have been dealt with since."""

    run_id: str
    created_at: str
    checked_rows: int
    stale: bool  # the data changed since the run (fixes count as changes)
    types: list[IssueTypeHealth]
    by_class: list[IssueClassHealth]
    rows_found: int  # distinct rows flagged by at least one check
    rows_fixed: int
    fixes: dict[str, int]  # how the fixed rows were dealt with (FIX_WORDS keys)


@dataclass(frozen=True)
class ExampleFix:
    row_id: int
    source_id: str
    text: str | None
    thumb: bytes | None  # JPEG
    given: str
    now: str
    source: str
    model_id: str | None


@dataclass(frozen=True)
class QuestionHealth:
    """One further question of the label schema: how far it is answered, and its audit."""

    name: str
    kind: str  # "single" or "multi"
    status: QuestionStatus
    auto: int  # answers whose source is "auto"
    audit: AuditSummary
    promised_precision: float | None  # the latest auto-label run's promise (None: no run)
    # The latest issue run of this question: rows flagged by any check, and those decided on since
    # (None: no issue run for it).
    issues_found: int | None = None
    issues_fixed: int = 0


@dataclass(frozen=True)
class HealthReport:
    """Everything the report shows, as numbers (rendered by :func:`render_health_report`)."""

    dataset: Dataset
    generated_at: datetime
    rows: int
    excluded: int
    labeled_before: int  # rows that came with a label (any row, excluded or not)
    labeled_after: int  # kept rows with a current label
    by_source: dict[str, int]  # kept rows' current labels per label source
    classes_before: dict[str, int]
    classes_after: dict[str, int]
    auto: AutoLabelHealth
    issues: IssueHealth | None  # None: no issue check has run
    relabeled: int  # kept rows whose current label differs from the one they came with
    examples: list[ExampleFix] = field(default_factory=list)
    questions: list[QuestionHealth] = field(default_factory=list)  # the label schema's further questions

    @property
    def kept(self) -> int:
        return self.rows - self.excluded

    @property
    def labeled_share_before(self) -> float:
        """Share of all rows that came with a label."""
        return self.labeled_before / self.rows if self.rows else 0.0

    @property
    def labeled_share_after(self) -> float:
        """Share of the rows kept that have a label now."""
        return self.labeled_after / self.kept if self.kept else 0.0


def health_report(ws: Workspace, dataset_id: int, *, examples: int = EXAMPLES) -> HealthReport:
    """The numbers of a dataset's health report, read from the store and the latest saved runs.

    Nothing is computed again: the issue and auto-label figures come from their stored runs, so the
    report is cheap and shows what people actually saw and acted on.

    Raises
    ------
    NotFoundError
        If the dataset does not exist.
    InputError
        If the dataset has no rows yet.
    """
    if examples < 0:
        raise InputError("The number of example fixes to show is 0 or more.")
    dataset = ws.store.dataset(dataset_id)
    with ws.store.connect() as conn:
        rows, excluded, labeled_before = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(rows.excluded), 0), COALESCE(SUM(labels.given IS NOT NULL), 0)"
            " FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ? WHERE rows.dataset_id = ?",
            (DEFAULT_LABEL_FIELD, dataset_id),
        ).fetchone()
        if rows == 0:
            raise InputError(f"Dataset '{dataset.name}' has no rows yet: finish the upload, then make the report.")
        kept_labels = (
            " FROM labels JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ? AND labels.field = ?"
            " AND rows.excluded = 0 AND labels.value IS NOT NULL"
        )
        params = (dataset_id, DEFAULT_LABEL_FIELD)
        sources = dict(
            conn.execute(f"SELECT COALESCE(labels.source, 'unknown'), COUNT(*){kept_labels} GROUP BY 1", params)
        )
        classes_after = dict(conn.execute(f"SELECT labels.value, COUNT(*){kept_labels} GROUP BY 1", params))
        classes_before = dict(
            conn.execute(
                "SELECT labels.given, COUNT(*) FROM labels JOIN rows ON rows.id = labels.row_id"
                " WHERE rows.dataset_id = ? AND labels.field = ? AND labels.given IS NOT NULL GROUP BY 1",
                params,
            )
        )
        from_issue_fixes = conn.execute(
            f"SELECT COUNT(*){kept_labels} AND labels.source = ? AND labels.model_id LIKE ?",
            (*params, str(LabelSource.AUTO), ISSUE_FIX_MODEL + "%"),
        ).fetchone()[0]
        changed = " AND labels.given IS NOT NULL AND labels.value != labels.given"
        relabeled = conn.execute(f"SELECT COUNT(*){kept_labels}{changed}", params).fetchone()[0]
        gallery = conn.execute(
            "SELECT rows.id, rows.source_id, rows.text, rows.thumb, labels.given, labels.value, labels.source,"
            f" labels.model_id{kept_labels}{changed} ORDER BY CASE"
            " WHEN labels.source = 'human' THEN 0 WHEN labels.source = 'suggestion_accepted' THEN 1"
            " WHEN labels.model_id LIKE ? THEN 2 ELSE 3 END, labels.updated_at DESC, rows.id LIMIT ?",
            (*params, ISSUE_FIX_MODEL + "%", examples),
        ).fetchall()
    by_source = {s: sources.get(s, 0) for s in SOURCE_ORDER} | {
        s: n for s, n in sources.items() if s not in SOURCE_ORDER
    }
    return HealthReport(
        dataset=dataset,
        generated_at=datetime.now(UTC),
        rows=rows,
        excluded=excluded,
        labeled_before=labeled_before,
        labeled_after=sum(sources.values()),
        by_source=by_source,
        classes_before=_in_class_order(classes_before, ws.store.classes(dataset_id)),
        classes_after=_in_class_order(classes_after, ws.store.classes(dataset_id)),
        auto=_auto_health(ws, dataset_id, sources.get(str(LabelSource.AUTO), 0), from_issue_fixes, rows - excluded),
        issues=_issue_health(ws, dataset_id),
        relabeled=relabeled,
        examples=[ExampleFix(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "unknown", r[7]) for r in gallery],
        questions=_question_health(ws, dataset_id),
    )


def _question_health(ws: Workspace, dataset_id: int) -> list[QuestionHealth]:
    """Answers, auto answers, audit and promise of every question after the first."""
    from core.multilabel import latest_multi_prediction

    out = []
    for q in label_schema(ws.store, dataset_id).questions[1:]:
        with ws.store.connect() as conn:
            auto = conn.execute(
                "SELECT COUNT(*) FROM labels JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ?"
                " AND labels.field = ? AND labels.source = ? AND labels.value IS NOT NULL AND rows.excluded = 0",
                (dataset_id, q.name, str(LabelSource.AUTO)),
            ).fetchone()[0]
        if q.kind is Kind.MULTI:
            multi = latest_multi_prediction(ws, dataset_id, q.name)
            promised = multi.promise().expected_precision if multi else None
        else:
            single = latest_prediction(ws, dataset_id, q.name)
            promised = single.promise().expected_precision if single else None
        status, audit = question_status(ws.store, dataset_id, q), audit_summary(ws, dataset_id, q.name)
        report, found, fixed = latest_report(ws, dataset_id, q.name), None, 0
        if report is not None:
            flagged = set(report.frame.row_id[report.frame.n_issues > 0].tolist())
            found, fixed = len(flagged), len(flagged & report.fixed_since(ws))
        out.append(QuestionHealth(q.name, str(q.kind), status, auto, audit, promised, found, fixed))
    return out


def _in_class_order(counts: dict[str, int], classes: list[str]) -> dict[str, int]:
    """The dataset's class list first (its own order), then any other label, most frequent first."""
    known = [c for c in classes if c in counts]
    rest = sorted((c for c in counts if c not in set(classes)), key=lambda c: -counts[c])
    return {c: counts[c] for c in known + rest}


def _auto_health(ws: Workspace, dataset_id: int, rows: int, from_issue_fixes: int, kept: int) -> AutoLabelHealth:
    prediction = latest_prediction(ws, dataset_id)
    audit = audit_summary(ws, dataset_id)
    fix_audit = audit_summary(ws, dataset_id, labels=AuditedLabels.ISSUE_FIXES)
    if prediction is None:
        return AutoLabelHealth(rows, from_issue_fixes, kept, audit, fix_audit=fix_audit)
    promise = prediction.promise()  # the threshold the user kept, as the wizard shows it
    return AutoLabelHealth(
        rows,
        from_issue_fixes,
        kept,
        audit,
        run_created_at=prediction.run.created_at,
        labeler=str(prediction.run.summary.get("labeler") or ""),
        target_precision=prediction.target_precision,
        threshold=promise.threshold,
        promised_rows=promise.rows,
        promised_precision=promise.expected_precision,
        promised_interval=tuple(promise.interval) if promise.interval else None,
        fix_audit=fix_audit,
    )


def _fix_kind(state: dict | None, label_then: str, touched: bool) -> str | None:
    """How a flagged row was dealt with since the run (None: not yet). ``touched``: the row has a
    history event after the run, so a confirmation or a needs-review tag is not an older one."""
    if state is None:
        return None
    if state["excluded"]:
        return "excluded"
    if checked_label(state) != label_then:  # an auto-fix too: its auto label counts as none to the checks
        return "relabeled"
    if touched and state["label_source"] in REVIEWED_SOURCES:
        return "confirmed"
    if touched and NEEDS_REVIEW in (state["tags"] or []):
        return "needs_review"
    return None


def _issue_health(ws: Workspace, dataset_id: int) -> IssueHealth | None:
    report = latest_report(ws, dataset_id)
    if report is None:
        return None
    frame = report.frame
    flagged = frame[frame["n_issues"] > 0]
    states = ws.store.row_states([int(r) for r in flagged["row_id"]])
    with ws.store.connect() as conn:
        touched = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT events.row_id FROM events JOIN batches ON batches.id = events.batch_id"
                " WHERE batches.dataset_id = ? AND batches.created_at >= ?",
                (dataset_id, report.run.created_at),
            )
        }
    kinds = {
        int(r): _fix_kind(states.get(int(r)), g, int(r) in touched)
        for r, g in zip(flagged["row_id"], flagged["given"], strict=True)
    }
    fixed = frame["row_id"].map(lambda r: kinds.get(int(r)) is not None)
    types, by_class = [], []
    for name in report.issue_names:
        hit = frame[f"is_{name}_issue"]
        types.append(
            IssueTypeHealth(name, report.title(name), report.rule(name), int(hit.sum()), int((hit & fixed).sum()))
        )
        for label, part in frame[hit].groupby("given", sort=True):
            n_fixed = int(fixed[part.index].sum())
            by_class.append(IssueClassHealth(label or "(unlabeled)", name, len(part), n_fixed))
    fixes: dict[str, int] = {k: 0 for k in FIX_WORDS}
    for kind in kinds.values():
        if kind is not None:
            fixes[kind] += 1
    return IssueHealth(
        run_id=report.run.id,
        created_at=report.run.created_at,
        checked_rows=report.n_rows,
        stale=report.is_stale(ws),
        types=types,
        by_class=by_class,
        rows_found=len(flagged),
        rows_fixed=sum(fixes.values()),
        fixes=fixes,
    )


# -- rendering -----------------------------------------------------------------------------


def render_health_report(ws: Workspace, dataset_id: int) -> str:
    """The whole health report as one self-contained HTML document (plotly.js inline, no network)."""
    from core.health_html import render

    return render(health_report(ws, dataset_id))


def write_health_report(ws: Workspace, dataset_id: int, path: Path) -> Path:
    """Write the report to ``path`` (a temporary file replaced at the end, so a reader never sees
    half a file and an interrupted run leaves the previous report whole). Returns the path.

    Raises
    ------
    InputError
        If ``path`` is a folder.
    """
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise InputError(f"{path} is a folder: give a file name, such as {path / 'health_report.html'}.")
    document = render_health_report(ws, dataset_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(document, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
