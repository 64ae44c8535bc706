"""Browse: the stored rows of the current dataset, page by page, with counts and filters."""

import pandas as pd
import streamlit as st

from core.labelschema import label_schema, question_status
from core.search import matching_row_ids, rows_page
from core.store import DEFAULT_LABEL_FIELD
from core.wording import counted
from ui.browse import browse_filters, click_hint, nothing_matches, row_details
from ui.charts import class_distribution, labeled_share
from ui.grid import show_table, thumb_uri
from ui.issues import current_report, insert_flag_columns
from ui.resources import current_dataset_id, question_picker, require_shell, row_contents, workspace
from ui.selection import shown_value

require_shell()

PAGE_SIZE = 100


def _first_page() -> None:
    """A changed filter starts on its first page (a callback: it runs before the page box is drawn)."""
    st.session_state["browse.page"] = 1


ws = workspace()
dataset_id = current_dataset_id()
if dataset_id is None:
    st.title("Browse")
    st.info("No dataset yet.")
    st.page_link("pages/upload.py", label="Upload one or load a demo", icon=":material/upload:")
    st.stop()

status = ws.status(dataset_id)
st.title(status.dataset.name)
field = question_picker(
    dataset_id, key="browse.question", help="Whose answers the counts, chart and table show", on_change=_first_page
)
if field == DEFAULT_LABEL_FIELD:
    asked, labeled = status.rows, status.labeled
else:  # counts are cached per dataset version (every label change bumps it)
    question = label_schema(ws.store, dataset_id).question(field)
    counts = ws.derived(dataset_id, ("question_status", field), lambda: question_status(ws.store, dataset_id, question))
    asked, labeled = counts.asked, counts.answered
m = st.columns(5)
m[0].metric("Rows" if asked == status.rows else "Rows asked", f"{asked:,}")
m[1].metric(f"Labeled · {labeled / asked if asked else 0:.0%}", f"{labeled:,}")
m[2].metric("Unlabeled", f"{asked - labeled:,}")
m[3].metric("Excluded", f"{status.excluded:,}", help="Of all the rows; counted as labeled or unlabeled too.")
m[4].metric(
    "Not embedded",
    f"{status.not_embedded:,}",
    help=f"{status.pending:,} waiting to be embedded (resume the ingest on the Upload page) and"
    f" {status.problems:,} that could not be embedded (empty text, unreadable image; the table's 'problem'"
    " column says why). All are kept and exported, but search, auto-label and the issue checks cannot see them."
    " The 'Not embedded only' filter below lists them.",
)

# Paging does not recount 100k rows: counts are cached per dataset version.
distribution = ws.derived(
    dataset_id, ("label-distribution", field), lambda: ws.store.label_distribution(dataset_id, field)
)
left, right = st.columns([3, 2])
if distribution:
    left.plotly_chart(class_distribution(dict(list(distribution.items())[:40])), key="browse.classes")
right.plotly_chart(labeled_share(labeled, asked - labeled), key="browse.share")

filters = browse_filters(
    dataset_id, field, not_embedded=status.not_embedded, needs_review=status.needs_review, on_change=_first_page
)
total = len(matching_row_ids(ws, dataset_id, filters))  # cached per dataset version and filters
if not total:  # an empty grid said "No Rows To Show" under its shifted headers
    st.info("This dataset has no rows." if not status.rows else nothing_matches(dataset_id, filters))
    st.stop()
pages = max(1, -(-total // PAGE_SIZE))
# Past the last page (another dataset, rows changed elsewhere): the last page. Set before the box is drawn.
page = st.session_state["browse.page"] = min(max(1, int(st.session_state.get("browse.page", 1))), pages)
rows, total = rows_page(ws, dataset_id, filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
st.caption(
    f"{counted(total, 'matching row')} · page {page:,} of {pages:,} (in file order; sorting a column orders this"
    " page only: Search filters and ranks every row)"
)
frame = pd.DataFrame(
    {
        "id": [r["source_id"] for r in rows],
        **({"thumbnail": [thumb_uri(r["thumb"]) for r in rows]} if status.dataset.modality == "image" else {}),
        "text": row_contents(dataset_id, rows),
        "problem": [r["problem"] or "" for r in rows],  # beside the content, where it is read in full
        "label": [shown_value(r["label"]) for r in rows],
        "given label": [shown_value(r["given"]) for r in rows],
        "source": [r["label_source"] or "" for r in rows],
        "tags": [r["tags"] or "" for r in rows],
        "excluded": [bool(r["excluded"]) for r in rows],
    }
)
if filters.issues:  # which of the picked checks flagged each row
    insert_flag_columns(frame, current_report(dataset_id, field), [r["id"] for r in rows], filters.issues)
if status.dataset.modality == "image":
    frame = frame.rename(columns={"text": "file"})
frame = frame.drop(columns=[c for c in ("tags", "problem") if not frame[c].any()])
picked = show_table(
    frame, key=f"browse.grid.{dataset_id}.{page}", thumbnail_column="thumbnail", height=560, pick_one=True
)
st.columns([1, 4])[0].number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1, key="browse.page")
chosen = next((r for r in rows if r["source_id"] == picked), None)
if chosen is None:
    st.caption(click_hint(dataset_id, status.dataset.modality))
else:
    row_details(dataset_id, chosen)
