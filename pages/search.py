"""Search: find rows by meaning or by example, filter, select any way, act on them in bulk, undo."""

import pandas as pd
import streamlit as st

from core.embedders import DEFAULT_TEXT_MODEL, EMBEDDERS, parse_model_id
from core.errors import CuratorError
from core.images import ImageProblem
from core.search import matching_row_ids, search_similar, search_text, search_vector
from core.store import DEFAULT_LABEL_FIELD
from core.wording import counted
from ui.embedding_map import embedding_map
from ui.grid import thumb_uri
from ui.resources import (
    current_dataset_id,
    embedder,
    require_shell,
    row_contents,
    session,
    undo_last_batch_button,
    workspace,
)
from ui.selection import bulk_panel, filters_panel, results_grid, save_search_form, shown_value

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
own_model_reads_text = "text" in EMBEDDERS[parse_model_id(dataset.embedding_model)[0]].modalities
status = ws.status(dataset_id)
if status.pending:
    st.warning(
        f"Only {status.embedded:,} of {counted(status.rows, 'row')} are embedded yet: search covers those."
        " Resume the ingest on the Upload page."
    )

mode = st.radio(
    "Find rows by", ["meaning", "similarity to the selection", "an example"], horizontal=True, key="search.mode"
)
filters = filters_panel(dataset_id)
limit = st.select_slider("Results", [50, 100, 200, 500, 1000], value=200, key="search.limit")
result = None
try:
    if mode == "meaning":
        query = st.text_input(
            "Describe what you are looking for",
            key="search.query",
            placeholder="e.g. a football match result" if dataset.modality == "text" else "e.g. a red sports car",
        )
        if query.strip():
            model = embedder(dataset.embedding_model if own_model_reads_text else DEFAULT_TEXT_MODEL)
            result = search_text(ws, dataset, query, text_embedder=model, filters=filters, n=limit)
    elif mode == "similarity to the selection":
        how = st.radio(
            "Combine the examples by",
            ["centroid", "union"],
            horizontal=True,
            key="search.simmode",
            help="centroid: rows like the average example; union: rows close to any one example",
        )
        if s.selected:
            result = search_similar(ws, dataset, sorted(s.selected), mode=how, filters=filters, n=limit)
        else:
            st.caption("Select rows below first (search by meaning, or browse with filters).")
    elif dataset.modality == "text":
        example = st.text_area("Paste an example text", key="search.example")
        if example.strip():
            vector = embedder(dataset.embedding_model).embed_texts([example])[0]
            result = search_vector(ws, dataset, vector, filters=filters, n=limit, how="similarity to the pasted text")
    else:
        upload = st.file_uploader("An example image", type=["jpg", "jpeg", "png", "webp", "bmp"], key="search.img")
        if upload is not None:
            from core.images import load_image, thumbnail_jpeg

            image = load_image(upload)
            st.image(thumbnail_jpeg(image, size=128), caption=f"Searching for images like {upload.name}")
            vector = embedder(dataset.embedding_model).embed_images([image])[0]
            result = search_vector(ws, dataset, vector, filters=filters, n=limit, how="similarity to the example image")
except CuratorError as exc:
    st.error(str(exc))
except ImageProblem as exc:  # an upload that is not a readable image
    st.error(f"The example image cannot be used: {exc}.")

matching = matching_row_ids(ws, dataset_id, filters)  # cached per dataset version and filters
if s.saved_filter is not None:
    st.caption("Filtered by the saved search chosen in the sidebar.")
if result is not None:
    st.caption(f"{counted(len(result), 'result')}, best first · answered by {result.how}")
    if result.no_close_match:
        st.info(
            f"No close match: the best score is {result.scores[0]:.2f}, and rows that match a query usually"
            f" score {result.close_match_score:.2f} or more. These are only the least unlike rows."
        )
    if mode == "meaning" or (mode == "similarity to the selection" and s.selected):
        save_search_form(
            dataset,
            result,
            query=query if mode == "meaning" else None,
            examples=None if mode == "meaning" else sorted(s.selected),
            text_embedder=model if mode == "meaning" else None,
        )
    rows = ws.store.rows_by_ids(result.row_ids, filters.question)
    scores = dict(zip(result.row_ids, result.scores, strict=True))
else:
    where_ids = matching
    n_match = len(where_ids)
    match = "matches" if n_match == 1 else "match"
    st.caption(f"{counted(n_match, 'row')} {match} the filters (showing the first {min(limit, n_match):,})")
    rows, scores = ws.store.rows_by_ids(where_ids[:limit], filters.question), {}
if filters.question != DEFAULT_LABEL_FIELD:
    st.caption(f"The label, suggested and source columns show the answers to '{filters.question}'.")
frame = pd.DataFrame(
    {
        "row": [r["id"] for r in rows],
        **({"score": [round(scores[r["id"]], 3) for r in rows]} if scores else {}),
        "id": [r["source_id"] for r in rows],
        **({"thumbnail": [thumb_uri(r["thumb"]) for r in rows]} if dataset.modality == "image" else {}),
        "text": row_contents(dataset_id, rows),
        "label": [shown_value(r["label"]) for r in rows],
        "suggested": [shown_value(r["suggested"]) for r in rows],
        "source": [r["label_source"] or "" for r in rows],
        "tags": [r["tags"] or "" for r in rows],
    }
)
if filters.issues:  # which of the picked checks flagged each row (and a label issue's suggested class)
    from ui.issues import current_report, flag_columns

    report = current_report(dataset_id, filters.question)
    for name, column in reversed(flag_columns(report, list(frame["row"]), filters.issues).items()):
        frame.insert(frame.columns.get_loc("label") + 1, name, column)  # next to the label they question
if st.toggle("Embedding map", key="search.map.show", help="A 2-D picture of the dataset; select by box or lasso"):
    embedding_map(dataset_id, scores)
c1, c2, c3 = st.columns([1.3, 1.3, 3])
# With a search, "all" means its results (what the page lists), never the whole dataset behind them.
everything = result.row_ids if result is not None else matching
if c1.button(
    "Nothing to select"
    if not everything
    else f"Select all {counted(len(everything), 'result')}"
    if result is not None
    else f"Select all {len(matching):,} matching",
    key="search.selectall",
    disabled=not everything,
    help="Every result of the search (clear it to select every row matching the filters)"
    if result is not None
    else "Every row matching the filters, not only the rows shown",
):
    s.selected = set(everything)
    s.selection_epoch, s.grid_preselected = s.selection_epoch + 1, set(s.selected)
if c2.button("Clear selection", key="search.clear", disabled=not s.selected):
    s.selected = set()
    s.selection_epoch, s.grid_preselected = s.selection_epoch + 1, set()
# The grid keeps its own ticks between clicks; it is redrawn (new key) only when a button sets the
# selection, with that selection pre-ticked.
grid_key = f"search.grid.{dataset_id}.{s.selection_epoch}.{hash(tuple(frame['row']))}"
chosen = results_grid(frame, key=grid_key, selected=s.grid_preselected)
if chosen is not None:
    shown = set(frame["row"])
    s.selected = (s.selected - shown) | chosen
hidden = len(s.selected - set(frame["row"]))
c3.markdown(
    f"**{counted(len(s.selected), 'row')} selected**" + (f" · {hidden:,} of them not in the table" if hidden else "")
)

done = bulk_panel(dataset_id, sorted(s.selected))
if done is not None and done[0].batch_id:
    s.last_batch = (done[0].batch_id, done[1])
    # Rows the action took out of the filters (labeled under "unlabeled", excluded...) leave the table,
    # so they leave the selection too: a next action must not reach rows nobody sees.
    s.selected &= set(matching_row_ids(ws, dataset_id, filters))  # the action bumped the version: fresh
    s.selection_epoch, s.grid_preselected = s.selection_epoch + 1, set(s.selected)
    st.rerun()
undo_last_batch_button("search.undo")
