"""Browse-page components: the filters."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.review import NEEDS_REVIEW
from core.search import Filters
from core.store import DEFAULT_LABEL_FIELD
from ui.resources import workspace
from ui.selection import excluded_filter, issue_filter, tag_filter, with_ancestors


def browse_filters(
    dataset_id: int, field: str, *, not_embedded: int, needs_review: int, on_change: Callable[[], None]
) -> Filters:
    """Browse's filters on the question ``field``: the same ``Filters`` as Search's, with the same words.
    Excluded rows are shown until asked otherwise (Browse lists every stored row; Search hides them)."""
    ws = workspace()
    per_question = "" if field == DEFAULT_LABEL_FIELD else f".{field}"  # each question keeps its own class filter
    f1, f2 = st.columns([2, 3])
    label = f1.selectbox(
        "Label",
        ["(any)", *with_ancestors(ws.store.classes(dataset_id, field))],
        key=f"browse.label{per_question}",
        on_change=on_change,
        help="A parent class also matches its sub-classes; a class matches inside multi-choice answers",
    )
    contains = f2.text_input("Text contains", key="browse.contains", on_change=on_change)
    # Three to a row: 'Not embedded only (1,234)' and the radio's three choices must not be cut.
    f3, f4, f5 = st.columns(3)
    issues, issue_run = issue_filter(f3, dataset_id, field, key=f"browse.issues{per_question}", on_change=on_change)
    tags = tag_filter(
        f4, dataset_id, key="browse.tags", leave_out=(NEEDS_REVIEW,), label="Other tags", on_change=on_change
    )
    excluded = excluded_filter(f5, key="browse.excluded", default="show", on_change=on_change)
    t1, t2, t3 = st.columns(3)
    unlabeled = t1.toggle("Unlabeled only", key="browse.unlabeled", on_change=on_change)
    pending = t2.toggle(
        f"Not embedded only ({not_embedded:,})",
        key="browse.not_embedded",
        on_change=on_change,
        disabled=not not_embedded and not st.session_state.get("browse.not_embedded"),
        help="Rows waiting for an unfinished ingest or flagged with a problem (unreadable image, empty text).",
    )
    review = t3.toggle(
        f"Needs review ({needs_review:,})",
        key="browse.needs_review",
        on_change=on_change,
        help="Rows tagged needs-review (by Review, Issues or a bulk action on Search)",
    )
    return Filters(
        labels=[] if label == "(any)" else [label],
        labeled=False if unlabeled else None,
        tags=[NEEDS_REVIEW, *tags] if review else tags,
        excluded=excluded,
        keyword=contains or None,
        question=field,
        issues=issues,
        issue_run=issue_run,
        not_embedded=pending,
    )
