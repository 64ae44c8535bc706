"""The Issues page's parts: run the checks, the charts that filter the table and the filters (the summary
cards are in ``ui.issue_summary``, the flagged rows' table and review in ``ui.issue_rows``)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.embedders.base import near_duplicate_cosine
from core.errors import CuratorError
from core.issues import (
    DETECTORS,
    IssueReport,
    compare_reports,
    find_issues,
)
from core.issues import previous_report as load_previous
from core.store import DEFAULT_LABEL_FIELD
from core.wording import duration, utc_time
from ui.charts import confusion_pairs, issues_by_class
from ui.progress import eta_bar
from ui.resources import workspace

ANY = "(any)"
UNLABELED = "(unlabeled)"  # what by_class calls rows without a label


def current_report(dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> IssueReport | None:
    """The newest issue run for a question, its arrays read from disk once per run (not on every rerun)."""
    from core.runs import latest_run

    run = latest_run(workspace(), dataset_id, "issues", question=field)
    return _loaded(run.id) if run else None


def flag_columns(report: IssueReport, row_ids: list[int], issues: list[str]) -> dict[str, list[str]]:
    """Columns for a table of rows filtered by what ``report`` flagged: which of ``issues`` flagged each
    row and, for a label issue, the class the check suggests with its out-of-fold probability."""
    at = [report.index(r) for r in row_ids]
    flags = {n: report.arrays[f"is_{n}_issue"] for n in issues}
    out = {"flagged as": [", ".join(report.title(n) for n, f in flags.items() if i is not None and f[i]) for i in at]}
    if "label" in flags:
        label = flags["label"]
        tips = [report.suggestion(r) if i is not None and label[i] else None for r, i in zip(row_ids, at, strict=True)]
        out["check suggests"] = [f"{tip[0]} ({tip[1]:.0%})" if tip else "" for tip in tips]
    return out


def insert_flag_columns(frame: pd.DataFrame, report: IssueReport, row_ids: list[int], issues: list[str]) -> None:
    """The :func:`flag_columns` of ``frame``'s rows (``row_ids``), put right after the label they question."""
    for name, column in reversed(flag_columns(report, row_ids, issues).items()):
        frame.insert(frame.columns.get_loc("label") + 1, name, column)


@st.cache_resource(max_entries=8, show_spinner=False)
def _loaded(run_id: str) -> IssueReport:  # shared and read-only: a run never changes once stored
    from core.runs import get_run

    run = get_run(workspace(), run_id)
    return IssueReport(run, run.arrays())


def run_panel(dataset_id: int, report: IssueReport | None, field: str = DEFAULT_LABEL_FIELD) -> None:
    """Run (or re-run on corrected data) every check, with a progress bar and time left."""
    ws = workspace()
    if report is None:
        st.info(
            "No issue run yet. The checks: "
            + "; ".join(
                f"**{c.title}**: {c.description[0].lower()}{c.description[1:].rstrip('.')}" for c in DETECTORS.values()
            )
            + ". Auto labels count as unlabeled here: they are the model's own guesses (the Auto-label audit"
            " checks them)."
        )
        verb, primary = "Find issues", True
    elif report.is_stale(ws):
        st.warning(
            "The data changed since this run (rows fixed, relabeled or added). **Improve issues found** runs every"
            " check again on the corrected data: labels a person set or confirmed train the label check,"
            " excluded rows drop out. Auto-fixed rows hold a model's label, not a person's: the check leaves"
            " them out (neither trains on them nor flags them again), so review them one by one (Hide fixed"
            " rows off) before running the checks if you want them checked."
        )
        verb, primary = "Improve issues found", True
    else:
        verb, primary = "Run again", False
    settings = _settings(near_duplicate_cosine(ws.store.dataset(dataset_id).embedding_model))
    if st.button(verb, type="primary" if primary else "secondary", key="issues.run", icon=":material/troubleshoot:"):
        report_progress, close = eta_bar("Loading the rows and their embeddings")
        try:
            new = find_issues(ws, dataset_id, settings=settings, progress=report_progress, field=field)
        except CuratorError as exc:
            close()
            st.error(str(exc))
            return
        close()
        if report is not None and new.run.id == report.run.id:
            st.toast("Nothing changed since this run (same data, same settings): results are current.")
        st.rerun()


def _settings(near: float) -> dict[str, dict]:
    """The check settings; ``near``: the near-duplicate cosine the slider starts at (the model's)."""
    with st.expander("Check settings"):
        c1, c2, c3, c4 = st.columns(4)
        threshold = c1.slider(
            "Near-duplicate cosine ≥",
            0.80,
            1.0,
            near,
            0.01,
            key=f"issues.near.{near}",  # a dataset in another model's space starts at its own default
            help="Starts at this embedding model's default: 0.95 for text (MiniLM), 0.88 for images"
            " (EfficientNet, where a re-saved JPEG keeps about 0.90).",
        )
        method = c2.selectbox(
            "Label score",
            ["self_confidence", "normalized_margin"],
            key="issues.method",
            help="Self-confidence: the probability the model gives the row's label. Normalised margin: that"
            " minus the best other class's, scaled to [0, 1].",
        )
        folds = c3.number_input("Cross-validation folds (3 to 10)", 3, 10, 5, key="issues.folds")
        words = c4.number_input("Too short: fewer words than (1 to 10)", 1, 10, 2, key="issues.words")
    return {
        "near_duplicate": {"threshold": float(threshold)},
        "label": {"method": method, "n_folds": int(folds)},
        "text_quality": {"min_words": int(words)},
    }


def run_caption(report: IssueReport) -> None:
    run = report.run
    view = run.summary["checks"].get("label", {}).get("view")
    st.caption(
        f"Run {run.id} · {utc_time(run.created_at)} · {report.n_rows:,} rows checked"
        f" (excluded rows are left out) · {duration(run.summary.get('seconds', 0))}"
        + (f" · label model: logistic regression on the {view} view" if view else "")
    )


def reliability_warning(report: IssueReport) -> None:
    """Say so when the label check's flags cannot be trusted (too few labels per class, or a weak model)."""
    why = report.label_check_unreliable()
    if why:
        st.warning(
            f"**Label flags are unreliable here**: {why}. Many flagged labels are likely right and the"
            " suggested classes guesses, so Clean Top K starts on *Mark needs-review*, not Auto-fix. Label more"
            " rows of each class, then run the checks again.",
            icon=":material/warning:",
        )


def changes_panel(report: IssueReport) -> None:
    """After "Improve issues found": per issue type, flagged before and after."""
    try:
        before = load_previous(workspace(), report)
    except CuratorError:
        return
    if before is None:
        return
    st.markdown(f"**What changed since the previous run** ({before.run.id})")
    st.dataframe(compare_reports(before, report), hide_index=True, width="content")
    st.caption(
        "**Resolved**: flagged before, not now, and dealt with in between: the label changed (by a person or a"
        " fix), a person confirmed it, or the row was excluded. Marking a row needs-review does not resolve it."
        " **No longer flagged without a change**: nobody changed these rows; the new run simply stopped flagging"
        " them (model noise, they may come back). **New**: flagged only now."
    )


@dataclass(frozen=True)
class View:
    issue: str
    label: str
    suggested: str
    hide_fixed: bool


def charts(report: IssueReport) -> None:
    """Issues by class and the confusion pairs; a click sets the table's filters below."""
    epoch = st.session_state.get("issues.chart_epoch", 0)
    left, right = st.columns([3, 2])
    counts = report.by_class()
    titles = {n: report.title(n) for n in report.issue_names}
    if len(counts):
        event = left.plotly_chart(
            issues_by_class(counts, titles),
            key=f"issues.bars.{report.run.id}.{epoch}",
            on_select="rerun",
            selection_mode="points",
        )
        _apply_click(event, lambda c: {"issues.type": c[1], "issues.label": c[0], "issues.suggested": ANY}, "bars")
    else:
        left.success("No issues flagged in this run.")
    pairs = report.confusion_pairs()
    if len(pairs):
        event = right.plotly_chart(
            confusion_pairs(pairs),
            key=f"issues.pairs.{report.run.id}.{epoch}",
            on_select="rerun",
            selection_mode="points",
        )
        _apply_click(event, lambda c: {"issues.type": "label", "issues.label": c[0], "issues.suggested": c[1]}, "pairs")
    elif "label" in report.issue_names:
        right.info("No label issues: every given label agrees with the model or is confirmed.")


def _apply_click(event, to_filters, name: str) -> None:  # noqa: ANN001
    """Set the table filters from a clicked bar or cell, once per new click."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    if not points or "customdata" not in points[0]:
        return
    clicked = tuple(points[0]["customdata"])
    if st.session_state.get(f"issues.clicked.{name}") != clicked:
        st.session_state[f"issues.clicked.{name}"] = clicked
        st.session_state.update(to_filters(clicked))


def filters(report: IssueReport) -> View:
    names, counts, default = report.issue_names, report.counts(), _default_issue(report)
    if st.session_state.get("issues.type") not in ["any", *names]:  # first visit, or a check this run lacks
        st.session_state["issues.type"] = default
    # A check that flagged nothing is no filter (as in Search's "Flagged as"); the one picked stays (picked on
    # the run before, which found rows there), so the page does not jump.
    offered = [n for n in names if counts[n] or n == st.session_state["issues.type"]]
    classes = [ANY, *report.classes, UNLABELED]
    for key, options in (("issues.label", classes), ("issues.suggested", classes[:-1])):
        if st.session_state.get(key, ANY) not in options:
            st.session_state[key] = ANY
    c1, c2, c3, c4, c5 = st.columns([2, 1.5, 1.5, 1.3, 0.8], vertical_alignment="bottom")
    issue = c1.selectbox(
        "Issue type",
        ["any", *offered],
        format_func=lambda n: "any issue" if n == "any" else report.title(n),
        key="issues.type",
    )
    label = c2.selectbox("Given label", classes, key="issues.label")
    suggested = c3.selectbox("Suggested label", classes[:-1], key="issues.suggested")
    hide = c4.toggle(
        "Hide fixed rows", True, key="issues.hide_fixed", help="Rows excluded, relabeled or reviewed since this run"
    )
    c5.button(
        "Clear",
        key="issues.clear",
        help="Clear the filters and the chart selections",
        on_click=_clear_filters,
        args=(default,),
    )
    return View(issue, label, suggested, hide)


def _clear_filters(default_issue: str) -> None:
    """The Clear button's callback: it runs before the next rerun draws the filter widgets, the only
    moment their values may be set."""
    st.session_state["issues.chart_epoch"] = st.session_state.get("issues.chart_epoch", 0) + 1
    for key in ("issues.label", "issues.suggested"):
        st.session_state[key] = ANY
    st.session_state["issues.type"] = default_issue
    for chart in ("bars", "pairs"):  # so clicking the same bar or cell again filters again
        st.session_state.pop(f"issues.clicked.{chart}", None)


def _default_issue(report: IssueReport) -> str:
    """Label issues when the label check flagged rows, else any issue."""
    return "label" if report.counts().get("label") else "any"


def hidden_fixed(report: IssueReport, view: View) -> int:
    """How many rows matching the filters "Hide fixed rows" leaves out (0 when it is off)."""
    if not view.hide_fixed:
        return 0
    return len(view_rows(report, View(view.issue, view.label, view.suggested, False))) - len(view_rows(report, view))


def view_rows(report: IssueReport, view: View) -> pd.DataFrame:
    """The flagged rows matching the filters, most likely issue first (Clean Top K's order)."""
    f = report.frame
    if view.issue == "any":
        f = f[f["n_issues"] > 0]
        f = f.assign(
            _worst=f[[f"{n}_score" for n in report.issue_names]]
            .where(f[[f"is_{n}_issue" for n in report.issue_names]].to_numpy())
            .min(axis=1)
        )
        f = f.sort_values(["n_issues", "_worst"], ascending=[False, True], kind="stable")
    else:
        f = f[f[f"is_{view.issue}_issue"]].sort_values(f"{view.issue}_score", kind="stable")
    if view.label != ANY:
        f = f[f["given"] == ("" if view.label == UNLABELED else view.label)]
    if view.suggested != ANY and "suggested" in f:
        f = f[f["suggested"] == view.suggested]
    if view.hide_fixed and len(f):
        f = f[~f["row_id"].isin(report.fixed_since(workspace()))]
    return f
