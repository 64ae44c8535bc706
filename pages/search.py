"""Search: find rows by meaning or by example, filter, select any way, act on them in bulk, undo."""

import streamlit as st

from core.search import matching_row_ids
from core.store import DEFAULT_LABEL_FIELD
from core.wording import counted
from ui.embedding_map import embedding_map
from ui.resources import current_dataset_id, require_shell, session, undo_last_batch_button, workspace
from ui.search import MODES, find_rows, result_header, results_frame, selectable_results
from ui.selection import bulk_panel, filters_panel

require_shell()

ws, s = workspace(), session()
dataset_id = current_dataset_id()
st.title("Search")
if dataset_id is None:
    st.info("No dataset yet: upload one or load a demo first.")
    st.stop()
dataset = ws.dataset(dataset_id)
if s.selected_dataset != dataset_id:
    s.selected, s.selected_dataset = set(), dataset_id
status = ws.status(dataset_id)
if status.pending:
    st.warning(
        f"Only {status.embedded:,} of {counted(status.rows, 'row')} are embedded yet: search covers those."
        " Resume the ingest on the Upload page."
    )

how, size = st.columns([3, 1])  # how many results: a setting beside the mode, not a step before the query
mode = how.radio("Find rows by", MODES, horizontal=True, key="search.mode")
limit = size.select_slider("Results", [50, 100, 200, 500, 1000], value=200, key="search.limit")
filters = filters_panel(dataset_id)
found = find_rows(dataset, mode, filters=filters, limit=limit)
result = found.result

matching = matching_row_ids(ws, dataset_id, filters)  # cached per dataset version and filters
if s.saved_filter is not None:
    st.caption("Filtered by the saved search chosen in the sidebar.")
if result is not None:
    result_header(dataset, found)
    rows = ws.store.rows_by_ids(result.row_ids, filters.question)
    scores = dict(zip(result.row_ids, result.scores, strict=True))
else:
    n_match = len(matching)
    match = "matches" if n_match == 1 else "match"
    shown = f" (showing the first {limit:,})" if n_match > limit else ""  # not "the first 0" of none
    st.caption(f"{counted(n_match, 'row')} {match} the filters{shown}" if n_match else "No row matches the filters.")
    rows, scores = ws.store.rows_by_ids(matching[:limit], filters.question), {}
if filters.question != DEFAULT_LABEL_FIELD:
    st.caption(f"The label, suggested and source columns show the answers to '{filters.question}'.")
frame = results_frame(dataset, rows, scores, filters, examples=found.examples or ())
if st.toggle("Embedding map", key="search.map.show", help="A 2-D picture of the dataset; select by box or lasso"):
    embedding_map(dataset_id, scores)
# With a search, "all" means its results (what the page lists), never the whole dataset behind them.
everything = result.row_ids if result is not None else matching
selection_before = set(s.selected)
selectable_results(dataset_id, frame, everything=everything, searched=result is not None)
if mode == "similarity to the selection" and s.selected != selection_before:
    # The search ran before the grid reported the tick: search again with the selection as it is now.
    st.rerun()

done = bulk_panel(dataset_id, sorted(s.selected))
if done is not None and done[0].batch_id:
    s.last_batch = (done[0].batch_id, done[1])
    # Rows the action took out of the filters (labeled under "unlabeled", excluded...) leave the table,
    # so they leave the selection too: a next action must not reach rows nobody sees.
    s.selected &= set(matching_row_ids(ws, dataset_id, filters))  # the action bumped the version: fresh
    s.selection_epoch, s.grid_preselected = s.selection_epoch + 1, set(s.selected)
    st.rerun()
undo_last_batch_button("search.undo")
