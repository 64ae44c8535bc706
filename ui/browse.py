"""Browse-page components: the filters, what to loosen when nothing matches, and a row read in full."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.issues import DETECTORS
from core.review import NEEDS_REVIEW
from core.schema import repaired_rows, text_before_repair
from core.search import Filters, matches_without
from core.store import DEFAULT_LABEL_FIELD
from core.wording import counted
from ui.resources import row_contents, workspace
from ui.review import quote_markdown
from ui.selection import KEYWORD_HELP, excluded_filter, issue_filter, tag_filter, with_ancestors


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
    contains = f2.text_input("Text contains", key="browse.contains", on_change=on_change, help=KEYWORD_HELP)
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


def nothing_matches(dataset_id: int, filters: Filters) -> str:
    """ "No row matches", and which one filter to drop to find rows, in the filters' own words."""
    found = matches_without(workspace(), dataset_id, filters)
    if not found:
        return "No row matches the filters, and dropping any one of them alone still finds none: clear several."
    shown = [f"without **{_filter_name(key, filters)}**, {counted(n, 'row')}" for key, n in found.items()]
    return "No row matches the filters. Dropping one of them finds rows: " + "; ".join(shown) + "."


def _filter_name(key: str, filters: Filters) -> str:
    """A ``matches_without`` key as the widget that sets it reads, with its value (as typed, never as
    markdown; the picked checks by their titles)."""
    if key == f"tags:{NEEDS_REVIEW}":
        return "Needs review"
    if key.startswith("tags:"):
        return f"Other tags: {quote_markdown(key.removeprefix('tags:'))}"
    return {
        "labels": f"Label: {quote_markdown(', '.join(filters.labels))}",
        "labeled": "Unlabeled only",
        "keyword": f"Text contains: {quote_markdown(filters.keyword or '')}",
        "not_embedded": "Not embedded only",
        "excluded": "Excluded rows: " + ("only" if filters.excluded else "hide"),
        "issues": "Flagged as: " + ", ".join(DETECTORS[n].title if n in DETECTORS else n for n in filters.issues),
    }.get(key, key)


def click_hint(dataset_id: int, modality: str) -> str:
    """What a click on a row shows: the text as the file had it is promised only where the repair changed
    some row (AG News' entities), not on a dataset stored as it came (SST-2)."""
    if modality == "image":
        return "Click a row to see its image larger, with its file."
    repaired = repaired_rows(workspace().store, dataset_id)
    if not repaired:  # none, or unknown (an ingest from before they were counted): a click still shows it
        return "Click a row to read it in full."
    changed = counted(repaired, "row")
    return f"Click a row to read it in full; for the {changed} the text repair changed, also as the file had it."


def row_details(dataset_id: int, row: dict) -> None:
    """One row read in full, and its text as the file had it when the ingest's repair changed it (mojibake,
    HTML entities, feed markup: the original fields are kept, and exported, as they came)."""
    with st.container(border=True):
        st.markdown(f"**Row {quote_markdown(row['source_id'])}**")
        if row["text"] is None:  # an image: larger than the table's thumbnail, and its file
            if row["thumb"]:
                st.image(row["thumb"], width=160)
            st.text(row_contents(dataset_id, [row])[0])
            return
        st.text(row["text"])
        original = text_before_repair(workspace().store, row)
        if original is None:
            st.caption("Shown as the file had it.")
        else:
            st.caption("As the file had it, before the text repair:")
            st.text(original)
