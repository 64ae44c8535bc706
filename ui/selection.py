"""Search-page components: filters, a selectable results grid and the bulk-action panel."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
from st_aggrid import AgGrid, GridOptionsBuilder

from core.actions import BulkResult, bulk_answer, bulk_classify, bulk_exclude, bulk_tag
from core.errors import CuratorError
from core.labelschema import SEPARATOR, Kind, label_schema, parse_multi
from core.review import NEEDS_REVIEW
from core.saved import save_search
from core.search import Filters
from core.store import DEFAULT_LABEL_FIELD, LabelSource
from core.wording import counted
from ui.grid import THREE_LINES, THUMB_RENDERER, configure_flag_columns
from ui.resources import action_done, clicked_twice, session, workspace

if TYPE_CHECKING:
    from core.issues import IssueReport
    from core.workspace import Workspace

NEW_CLASS = "New class..."
LEAVE = "(leave as is)"

# One rule for Search's keyword and Browse's "Text contains" (core.store.contains_sql).
KEYWORD_HELP = (
    "Rows whose text contains this, ignoring case: the text as shown or as the file had it before the text"
    " repair (AG News' '#39;' finds the apostrophes it stands for)"
)


def filters_panel(dataset_id: int) -> Filters:
    ws = workspace()
    with st.expander("Filters", expanded=False):
        schema = label_schema(ws.store, dataset_id)
        question = DEFAULT_LABEL_FIELD
        if len(schema.names) > 1:
            question = st.selectbox(
                "Question",
                schema.names,
                key="search.f.question",
                help="The label filters and the table's label columns are about this question",
            )
        classes = with_ancestors(ws.store.classes(dataset_id, question))
        per_question = "" if question == DEFAULT_LABEL_FIELD else f".{question}"  # a key per question's classes
        c1, c2, c3 = st.columns(3)
        labels = c1.multiselect(
            "Label",
            classes,
            key=f"search.f.labels{per_question}",
            help="A parent class also matches its sub-classes; a class matches inside multi-choice answers",
        )
        state = c2.radio("Labeled", ["any", "labeled", "unlabeled"], horizontal=True, key="search.f.labeled")
        sources = c3.multiselect("Label source", [s.value for s in LabelSource], key="search.f.sources")
        c4, c5, c6 = st.columns(3)
        tags = tag_filter(c4, dataset_id, key="search.f.tags")
        excluded = excluded_filter(c5, key="search.f.excluded")
        keyword = c6.text_input("Keyword (case-insensitive)", key="search.f.keyword", help=KEYWORD_HELP)
        issues, issue_run = issue_filter(c6, dataset_id, question, key=f"search.f.issues{per_question}")
        suggested = c4.multiselect(
            "Suggested label", ws.store.classes(dataset_id, question), key=f"search.f.suggested{per_question}"
        )
        confidence = c5.slider(
            "Model confidence",
            0.0,
            1.0,
            (0.0, 1.0),
            0.01,
            key="search.f.confidence",
            help="Of the auto label, or of the suggestion on an unlabeled row. Narrow it to filter;"
            " rows without a model confidence then drop out.",
        )
    return Filters(
        labels=labels,
        labeled={"any": None, "labeled": True, "unlabeled": False}[state],
        sources=sources,
        tags=tags,
        excluded=excluded,
        keyword=keyword or None,
        saved_search=session().saved_filter,
        suggested=suggested,
        confidence=None if tuple(confidence) == (0.0, 1.0) else (float(confidence[0]), float(confidence[1])),
        question=question,
        issues=issues,
        issue_run=issue_run,
    )


EXCLUDED = {"hide": False, "show": None, "only": True}  # the excluded filter's choices: Filters.excluded


def excluded_filter(column, *, key: str, default: str = "hide", on_change: Callable | None = None) -> bool | None:  # noqa: ANN001
    """Hide, show or keep only the excluded rows (a ``Filters.excluded``)."""
    options = list(EXCLUDED)
    choice = column.radio(
        "Excluded rows", options, index=options.index(default), horizontal=True, key=key, on_change=on_change
    )
    return EXCLUDED[choice]


def tag_filter(
    column,  # noqa: ANN001
    dataset_id: int,
    *,
    key: str,
    leave_out: tuple[str, ...] = (),
    label: str = "Tags",
    on_change: Callable | None = None,
) -> list[str]:
    """Rows having all of the picked tags, offered with their row counts: needs-review, "reference" (the
    wizard's Promote) and any tag an imported export brought. ``leave_out``: tags a page filters apart."""
    ws = workspace()
    counts = ws.derived(dataset_id, "tag-counts", lambda: ws.store.tag_counts(dataset_id))
    offered = [t for t in dict.fromkeys([NEEDS_REVIEW, *counts]) if t not in leave_out]
    return column.multiselect(
        label,
        offered,
        format_func=lambda t: f"{t} ({counts.get(t, 0):,})",
        key=key,
        on_change=on_change,
        disabled=not offered,
        wrap=True,  # picked tags on more lines, not scrolled sideways and cut (see issue_filter)
        placeholder=None if offered else "No other tag in this dataset",
        help="Rows having every picked tag",
    )


def issue_filter(
    column,  # noqa: ANN001
    dataset_id: int,
    question: str,
    *,
    key: str,
    on_change: Callable | None = None,
) -> tuple[list[str], str | None]:
    """Rows the latest issue run of the question flagged, by check (label issue, outlier, duplicate...)."""
    from ui.issues import current_report

    report = current_report(dataset_id, question)
    if report is None:
        column.multiselect(
            "Flagged as",
            [],
            disabled=True,
            placeholder="No issue run yet",  # not Streamlit's "No options to select": why there are none
            key=f"{key}.none",
            help="No issue run for this question yet: find issues on the Issues page first.",
        )
        return [], None
    # A check that flagged nothing is no filter ("Near-duplicates (0)" finds no row); one picked before stays.
    counts, picked = report.counts(), st.session_state.get(key, [])
    names = [n for n in report.issue_names if counts[n] or n in picked]
    issues = column.multiselect(
        "Flagged as",
        names,
        format_func=lambda n: flagged_option(report, n, workspace()),
        placeholder="Choose options" if names else "The latest run flagged no row",
        key=key,
        on_change=on_change,
        # In a column the chips stayed on one line and scrolled: "Empty / too short / not text" read "mpty / too sh".
        wrap=True,
        help=f"Rows the latest issue run ({report.run.created_at[:16].replace('T', ' ')}) flagged with any of"
        " these checks and nobody has fixed, excluded or confirmed since: a row whose label changed since"
        " leaves every type it was flagged as, so a count can be below the Issues page's card.",
    )
    return issues, report.run.id


def flagged_option(report: IssueReport, name: str, ws: Workspace) -> str:
    """An issue type as Search filters it: its rows still open, and the run's count beside it when
    rows were fixed since (the Issues page's card counts the run: "Outliers (20 open of 21)")."""
    open_now = report.counts(leave_out=report.fixed_since(ws))[name]
    flagged = report.counts()[name]
    return (
        f"{report.title(name)} ({open_now:,})"
        if open_now == flagged
        else f"{report.title(name)} ({open_now:,} open of {flagged:,})"
    )


def shown_value(value: str | None) -> str:
    """A stored answer as a table cell: a multi-choice list as "a, b"."""
    classes = parse_multi(value) if value and value.startswith("[") else None
    return ", ".join(classes) if classes is not None else (value or "")


def with_ancestors(classes: list[str]) -> list[str]:
    """Hierarchical classes with their parents, each parent just before its first descendant."""
    out: dict[str, None] = {}
    for name in classes:
        parts = name.split(SEPARATOR)
        for depth in range(1, len(parts)):
            out.setdefault(SEPARATOR.join(parts[:depth]), None)
        out.setdefault(name, None)
    return list(out)


def results_grid(frame: pd.DataFrame, *, key: str, selected: set[int]) -> set[int] | None:
    """A grid with checkbox multi-select (shift-click selects ranges). Returns the selected row ids
    among the shown rows, or None if the grid has not reported yet."""
    frame = frame[[c for c in frame.columns if c != "row"] + ["row"]]  # the checkbox goes in the first column
    builder = GridOptionsBuilder.from_dataframe(frame)
    builder.configure_default_column(resizable=True, sortable=True, filter=True, minWidth=100)
    builder.configure_column("row", hide=True)
    if "text" in frame:
        builder.configure_column(
            "text", wrapText=True, flex=5, minWidth=360, tooltipField="text", cellStyle=THREE_LINES
        )
    if "thumbnail" in frame:
        builder.configure_column("thumbnail", headerName="image", cellRenderer=THUMB_RENDERER, width=90, filter=False)
    if "score" in frame:
        builder.configure_column("score", type=["numericColumn"], width=90, maxWidth=100)
    for col in ("id", "label", "suggested", "source", "tags"):
        if col in frame:
            builder.configure_column(col, flex=1, minWidth=90, maxWidth=170)
    configure_flag_columns(builder, frame)
    # AG Grid's row ids are the frame's index as text; ``selected`` must stay the same between clicks
    # (it is the selection as of the last button that set it), or the grid would rebuild and forget.
    preselected = [str(i) for i, row_id in enumerate(frame["row"]) if row_id in selected]
    builder.configure_selection(
        "multiple",
        use_checkbox=True,
        header_checkbox=True,
        pre_selected_rows=preselected or None,
        suppressRowClickSelection=True,
    )
    builder.configure_grid_options(rowHeight=72, tooltipShowDelay=300)
    response = AgGrid(
        frame,
        gridOptions=builder.build(),
        height=520,
        update_on=["selectionChanged"],
        allow_unsafe_jscode=True,
        theme="streamlit",
        key=key,
        show_toolbar=False,
        show_download_button=False,
        show_search=False,
    )
    rows = response.selected_rows
    if rows is None:
        return None if response.grid_response in (None, {}) else set()
    return {int(r) for r in pd.DataFrame(rows)["row"]}


def bulk_panel(dataset_id: int, selected: list[int]) -> tuple[BulkResult, str] | None:
    """Classify / tag / exclude the selection as one undoable batch with a progress bar. After a Classify
    every answer starts empty again (docs/decisions.md): the next selection gets only what is chosen for it."""
    ws = workspace()
    schema = label_schema(ws.store, dataset_id)
    first = schema.questions[0]
    others = schema.questions[1:]
    if session().clear_bulk_answers:  # before the answers are drawn, the only moment they may be set
        session().clear_bulk_answers = False
        _clear_answers(first, others)
    c1, c2, c3 = st.columns([2, 1.4, 1.4])
    classes = ws.store.classes(dataset_id)
    if first.kind is Kind.MULTI:
        value = c1.multiselect("Classes", classes, key="search.bulk.classes", help="Several classes per row")
    else:
        # With further questions, the first one starts on "leave as is": answering only another question must
        # not also overwrite every selected row's label with whichever class happened to be listed first.
        # Alone, it starts on no class (a placeholder), as after a Classify: never on a class nobody chose.
        options = [LEAVE, *classes, NEW_CLASS] if others else [*classes, NEW_CLASS]
        choice = c1.selectbox(
            "Class", options, index=0 if others else None, placeholder="Choose a class", key="search.bulk.class"
        )
        value = c1.text_input("New class name", key="search.bulk.new") if choice == NEW_CLASS else choice
        value = None if value == LEAVE else value
    answers = other_answers(others, key="search.bulk.q") if others else {}
    as_what = c2.radio(
        "Apply as",
        ["label", "suggestion"],
        horizontal=True,
        key="search.bulk.as",
        help="A suggestion is a pre-label that the review queue offers for acceptance.",
    )
    existing = c3.radio(
        "Rows that already have one", ["overwrite", "skip"], horizontal=True, key="search.bulk.overwrite"
    )
    b1, b2, b3, b4 = st.columns(4)
    n = len(selected)
    action = None
    if b1.button(f"Classify {counted(n, 'row')}", type="primary", disabled=not n, key="search.bulk.classify"):
        action = "classify"
    if b2.button("Tag needs-review", disabled=not n, key="search.bulk.tag"):
        action = "tag"
    if b3.button("Exclude", disabled=not n, key="search.bulk.exclude"):
        action = "exclude"
    if b4.button("Include again", disabled=not n, key="search.bulk.include"):
        action = "include"
    s = session()  # fetched before the action: see action_done
    if action is None or clicked_twice(s, "search.bulk"):
        return None
    try:
        bar = st.progress(0.0, text="Applying...")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"{done:,} of {counted(total, 'row')}")

        try:
            if action == "classify" and (others or first.kind is Kind.MULTI):
                chosen = {first.name: value or None, **answers}
                result = bulk_answer(
                    ws,
                    dataset_id,
                    selected,
                    chosen,
                    as_suggestion=as_what == "suggestion",
                    overwrite=existing == "overwrite",
                    on_progress=progress,
                )
                verb = f"Answered {', '.join(q for q, v in chosen.items() if v)} as {as_what} on"
            elif action == "classify":
                result = bulk_classify(
                    ws,
                    dataset_id,
                    selected,
                    value or "",
                    as_suggestion=as_what == "suggestion",
                    overwrite=existing == "overwrite",
                    on_progress=progress,
                )
                verb = f"Set '{value}' as {as_what} on"
            elif action == "tag":
                result, verb = bulk_tag(ws, dataset_id, selected, "needs-review", on_progress=progress), "Tagged"
            else:
                result = bulk_exclude(ws, dataset_id, selected, excluded=action == "exclude", on_progress=progress)
                verb = "Excluded" if action == "exclude" else "Included"
        except CuratorError as exc:
            bar.empty()
            st.error(str(exc))
            return None
        # Kept before any Streamlit call: a second click's run stops this one at its next one, and the
        # stored action lost its Undo button (the second click then acted on nothing: "Tagged 0").
        message = result.describe(verb)
        if result.batch_id:
            s.last_batch = (result.batch_id, message)
            s.clear_bulk_answers = s.clear_bulk_answers or action == "classify"
        bar.empty()
        st.toast(message)
        return result, message
    finally:
        action_done(s, "search.bulk")


def _clear_answers(first, others) -> None:  # noqa: ANN001
    """Every answer of the bulk panel back to where it starts. Set, not deleted: a widget whose state is
    deleted keeps showing (and sends back) the value the browser holds."""
    answers: dict[str, object] = {"search.bulk.new": ""}
    if first.kind is Kind.MULTI:
        answers["search.bulk.classes"] = []
    else:
        answers["search.bulk.class"] = LEAVE if others else None
    answers |= {f"search.bulk.q.{q.name}": [] if q.kind is Kind.MULTI else LEAVE for q in others}
    st.session_state.update(answers)


def other_answers(questions, *, key: str) -> dict[str, str | list[str] | None]:  # noqa: ANN001
    """One input per further question of the label schema; unanswered ones are left as they are."""
    out: dict[str, str | list[str] | None] = {}
    st.caption("Other questions: only the ones you answer change.")
    cols = st.columns(min(3, len(questions)))
    for i, q in enumerate(questions):
        col = cols[i % len(cols)]
        help_text = " · ".join(
            x
            for x in (
                q.description,
                f"asked when {q.parent[0]} is {q.parent[1]}" if q.parent else "",
                "required" if q.required else "",
            )
            if x
        )
        if q.kind is Kind.MULTI:
            out[q.name] = col.multiselect(q.name, list(q.classes), key=f"{key}.{q.name}", help=help_text or None)
        else:
            choice = col.selectbox(q.name, [LEAVE, *q.classes], key=f"{key}.{q.name}", help=help_text or None)
            out[q.name] = None if choice == LEAVE else choice
    return out


def save_search_form(dataset, result, *, query: str | None, examples: list[int] | None, text_embedder) -> None:  # noqa: ANN001
    """Name the current search and a score threshold; it becomes a sidebar filter that also covers
    rows added later."""
    with st.expander("Save this search as a filter"):
        nth = min(len(result.scores), 50)
        score = result.scores[nth - 1] if result.scores else 0.5
        # Rounded down, so the 50th result stays in; shown with the same 3 decimals as it is stored.
        default = math.floor(float(score) * 1000) / 1000
        # Keyed by the search and its default: a new query (or filter) starts again from its own 50th score.
        search_key = hashlib.sha1(repr((query, examples, default)).encode()).hexdigest()[:12]
        c1, c2, c3 = st.columns([2, 1, 1])
        name = c1.text_input("Name", key="search.save.name", placeholder="e.g. late delivery complaints")
        threshold = c2.number_input(
            "Min score (-1 to 1)",
            -1.0,
            1.0,
            value=default,
            step=0.01,
            format="%.3f",
            key=f"search.save.threshold.{search_key}",
            help=f"Cosine similarity; result {nth} of this search scores {default:.3f}." if nth else None,
        )
        if c3.button("Save", key="search.save.go"):
            try:
                saved = save_search(
                    workspace(),
                    dataset,
                    name,
                    query=query,
                    example_row_ids=examples,
                    text_embedder=text_embedder,
                    threshold=threshold,
                )
            except CuratorError as exc:
                st.error(str(exc))
            else:
                st.toast(f"Saved '{saved.name}': {counted(saved.matches, 'matching row')}")
                st.rerun()
