"""The audit's parts: draw a uniform sample of auto labels, check it one row at a time (Y right / X
wrong and the right class), and the measured precision. Auto-label › Monitor audits the wizard's auto
labels; the Issues page audits its auto-fixes. Each has its own widget keys, sample and verdicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from core.audit import (
    AuditedLabels,
    AuditSummary,
    audit_sample,
    audit_summary,
    audited_rows,
    auto_labeled_rows,
    record_verdict,
)
from core.errors import CuratorError
from core.history import read_label
from core.wording import counted
from ui.resources import row_contents, workspace
from ui.review import next_row

WIZARD_KEY = "autolabel.audit"
ISSUE_FIX_KEY = "issues.audit"


@st.fragment
def audit_panel(
    dataset_id: int,
    field: str,
    checked: int,
    *,
    key: str = WIZARD_KEY,
    labels: AuditedLabels = AuditedLabels.WIZARD,
    empty: str = "No unchecked auto labels to draw from: accept some in step 1 first.",
) -> None:
    """The sample's next row with Y right / X wrong. A fragment: a verdict reruns this panel alone
    (ui.review's reason); the page's figures catch up when the sample is done. ``empty``: what to say
    when there is nothing left to sample."""
    ws = workspace()
    rows = sample_controls(dataset_id, field, checked, key=key, labels=labels, empty=empty)
    if not rows:
        return
    row, given = show_audit_row(dataset_id, rows, field, lambda value: f"Auto label: **{value}**")
    b = st.columns([1, 1, 2])
    try:
        if b[0].button("Right", key=f"{key}.{row['id']}.ok", shortcut="Y", type="primary"):
            record_verdict(ws, dataset_id, row["id"], correct=True, field=field)
            next_row(page_too=len(rows) == 1)
        classes = ["", *(c for c in ws.store.classes(dataset_id, field) if c != given)]
        fix = right_class_select(b[2], classes, key=f"{key}.fix.{row['id']}")
        if b[1].button("Wrong", key=f"{key}.{row['id']}.bad", shortcut="X", disabled=not fix):
            record_verdict(ws, dataset_id, row["id"], correct=False, corrected_to=fix, field=field)
            next_row(page_too=len(rows) == 1)
    except CuratorError as exc:
        st.error(str(exc))


def right_class_select(column, classes: list[str], *, key: str) -> str:  # noqa: ANN001  (a column)
    """ "Wrong: the right class is", whose choice is confirmed with X (or Wrong). Streamlit gives the
    keys typed in a select box to the box, and the box kept the focus after a choice, so X did nothing:
    a choice draws the box anew under a new key (the value carried over), and the browser drops the
    focus with the old one. A choice alone records nothing: a verdict slipped in a list has no Undo key
    here, and it moves the audited precision."""
    chosen = st.session_state.get(key, "")
    shown = f"{key}.{st.session_state.get(f'{key}.draws', 0)}"
    column.selectbox(
        "Wrong: the right class is",
        classes,
        index=classes.index(chosen) if chosen in classes else 0,
        key=shown,
        on_change=_class_chosen,
        args=(key, shown),
    )
    return st.session_state.get(key, "")


def _class_chosen(key: str, shown: str) -> None:
    st.session_state[key] = st.session_state[shown]
    st.session_state[f"{key}.draws"] = st.session_state.get(f"{key}.draws", 0) + 1


def show_audit_row(
    dataset_id: int, rows: list[int], field: str, describe: Callable[[Any], str]
) -> tuple[dict[str, Any], Any]:
    """The sample's next row (text, or an image named by its file as in the review panel) and
    ``describe(its auto answer)``; returns (row, answer)."""
    ws = workspace()
    row = ws.store.rows_by_ids(rows[:1])[0]
    with ws.store.connect() as conn:
        value = (read_label(conn, row["id"], field) or {}).get("value")
    with st.container(border=True):
        if row["image_path"]:
            st.image(row["image_path"], width=224)
            st.caption(row_contents(dataset_id, [row])[0])
        else:
            st.text(row["text"] or "")
        st.markdown(f"{describe(value)} · {len(rows)} left in this sample")
    return row, value


def audited_precision(column, label: str, audit: AuditSummary, promised: float | None) -> None:  # noqa: ANN001
    """The audit's measured precision, with its difference from the promise in points: coloured only
    once the audit's 95% interval leaves out the promise (a few checks cannot tell them apart)."""
    if audit.precision is None or not promised:
        column.metric(label, f"{audit.precision:.0%}" if audit.precision is not None else "-", help=audit.describe())
        return
    low, high = audit.interval()
    apart = not low <= promised <= high
    column.metric(
        label,
        f"{audit.precision:.0%}",
        delta=f"{100 * (audit.precision - promised):+.1f} points vs promised {promised:.0%}",
        delta_color="normal" if apart else "off",
        help=f"{audit.describe()} "
        + (
            "The promise is outside this interval: the model does worse (or better) than it said."
            if apart
            else "The promise is inside this interval: too few checks to tell them apart."
        ),
    )


def sample_controls(
    dataset_id: int,
    field: str,
    checked: int,
    *,
    key: str = WIZARD_KEY,
    labels: AuditedLabels = AuditedLabels.WIZARD,
    empty: str = "No unchecked auto labels to draw from.",
) -> list[int]:
    """How many rows to check and "Draw a sample"; the sample's rows nobody has checked yet."""
    c1, c2 = st.columns([1, 3])
    k = c1.number_input("Rows to check (5 to 200)", 5, 200, 20, step=5, key=f"{key}.k")
    if c2.button("Draw a sample", key=f"{key}.draw"):
        sample = audit_sample(workspace(), dataset_id, k=int(k), seed=checked, field=field, labels=labels)
        st.session_state[f"{key}.rows.{field}"] = sample
        if not sample:
            st.info(empty)
    done = audited_rows(workspace(), dataset_id, field, labels=labels)
    # Rows whose auto label went since the draw (an undone accept, a relabel) have nothing left to check.
    standing = set(auto_labeled_rows(workspace(), dataset_id, field=field, labels=labels))
    return [r for r in st.session_state.get(f"{key}.rows.{field}", []) if r not in done and r in standing]


def issue_fix_audit(dataset_id: int, field: str) -> None:
    """The Issues page's "Audit the auto-fixes": a uniform sample of the rows Auto-fix labeled, checked
    one at a time, and their measured precision, counted apart from the wizard's audit."""
    ws = workspace()
    fixes = AuditedLabels.ISSUE_FIXES
    with st.expander("Audit the auto-fixes"):
        n_fixed = len(auto_labeled_rows(ws, dataset_id, field=field, labels=fixes))
        audit = audit_summary(ws, dataset_id, field, labels=fixes)
        if not n_fixed and not audit.checked:
            st.info(
                "No auto-fixed rows to audit: Clean Top K's **Auto-fix** (label issues) has not labeled any row"
                " of this question, or its labels were undone or replaced since."
            )
            return
        m = st.columns(3)
        m[0].metric("Auto-fixed rows", f"{n_fixed:,}", help="Rows whose label is an auto-fix now (not excluded)")
        m[1].metric("Checked", f"{audit.checked:,}", help="Auto-fixes a person has judged, that still stand")
        audited_precision(m[2], "Audited precision of the auto-fixes", audit, None)
        st.caption(
            f"{audit.describe()} A uniform sample of the {counted(n_fixed, 'auto-fixed row')}, checked by a"
            " person, measures how often Auto-fix was right. Counted apart from the Auto-label audit: another"
            " model, on rows picked because their label looked wrong. Keys: Y right · X wrong (choose the"
            " right class first); a wrong one is relabeled as one action, undoable on the History page."
        )
        audit_panel(
            dataset_id,
            field,
            audit.checked,
            key=ISSUE_FIX_KEY,
            labels=fixes,
            empty="No unchecked auto-fixes left to draw from: every one has a verdict.",
        )
