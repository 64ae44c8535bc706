"""Search-page components: the inputs of each way to find rows, the result's header, the results
table and the select-all / clear buttons over the selectable grid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd
import streamlit as st

from core.embedders import DEFAULT_TEXT_MODEL, EMBEDDERS, parse_model_id
from core.errors import CuratorError
from core.images import ImageProblem
from core.search import Filters, SearchResult, search_similar, search_text, search_vector
from core.wording import counted
from ui.grid import thumb_uri
from ui.resources import embedder, row_contents, session, workspace
from ui.selection import results_grid, save_search_form, shown_value

if TYPE_CHECKING:
    from core.store import Dataset

MODES = ["meaning", "similarity to the selection", "an example"]


class Found(NamedTuple):
    """A search's result (None: no search ran, or it failed) and what saving it as a filter needs."""

    result: SearchResult | None = None
    query: str | None = None  # by meaning: the words typed
    examples: list[int] | None = None  # by similarity: the selected rows
    text_embedder: Any = None  # by meaning: the model that embedded the words

    @property
    def saveable(self) -> bool:
        return self.result is not None and (self.query is not None or self.examples is not None)


def find_rows(dataset: Dataset, mode: str, *, filters: Filters, limit: int) -> Found:
    """Draw the input of ``mode`` (one of ``MODES``) and run its search once it has one; a problem is
    shown as an error and no result."""
    ws, s = workspace(), session()
    try:
        if mode == "meaning":
            query = st.text_input(
                "Describe what you are looking for",
                key="search.query",
                placeholder="e.g. a football match result" if dataset.modality == "text" else "e.g. a red sports car",
            )
            if query.strip():
                own_model_reads_text = "text" in EMBEDDERS[parse_model_id(dataset.embedding_model)[0]].modalities
                model = embedder(dataset.embedding_model if own_model_reads_text else DEFAULT_TEXT_MODEL)
                result = search_text(ws, dataset, query, text_embedder=model, filters=filters, n=limit)
                return Found(result, query=query, text_embedder=model)
        elif mode == "similarity to the selection":
            how = st.radio(
                "Combine the examples by",
                ["centroid", "union"],
                horizontal=True,
                key="search.simmode",
                help="centroid: rows like the average example; union: rows close to any one example",
            )
            if s.selected:
                examples = sorted(s.selected)
                result = search_similar(ws, dataset, examples, mode=how, filters=filters, n=limit)
                return Found(result, examples=examples)
            st.caption("Select rows below first (search by meaning, or browse with filters).")
        elif dataset.modality == "text":
            example = st.text_area("Paste an example text", key="search.example")
            if example.strip():
                vector = embedder(dataset.embedding_model).embed_texts([example])[0]
                how = "similarity to the pasted text"
                return Found(search_vector(ws, dataset, vector, filters=filters, n=limit, how=how))
        else:
            upload = st.file_uploader("An example image", type=["jpg", "jpeg", "png", "webp", "bmp"], key="search.img")
            if upload is not None:
                from core.images import load_image, thumbnail_jpeg

                image = load_image(upload)
                st.image(thumbnail_jpeg(image, size=128), caption=f"Searching for images like {upload.name}")
                vector = embedder(dataset.embedding_model).embed_images([image])[0]
                how = "similarity to the example image"
                return Found(search_vector(ws, dataset, vector, filters=filters, n=limit, how=how))
    except CuratorError as exc:
        st.error(str(exc))
    except ImageProblem as exc:  # an upload that is not a readable image
        st.error(f"The example image cannot be used: {exc}.")
    return Found()


def result_header(dataset: Dataset, found: Found) -> None:
    """How many results, who answered, a warning when none is close, and the form to save the search."""
    result = found.result
    st.caption(f"{counted(len(result), 'result')}, best first · answered by {result.how}")
    for note in result.notes:
        st.info(note)
    if result.no_close_match:
        st.info(result.no_close_match_note())
    if found.saveable:
        save_search_form(dataset, result, query=found.query, examples=found.examples, text_embedder=found.text_embedder)


def results_frame(
    dataset: Dataset, rows: list[dict], scores: dict[int, float], filters: Filters, *, examples: Sequence[int] = ()
) -> pd.DataFrame:
    """The rows as the results table shows them, with a column per picked issue check next to the label.
    ``examples``: the rows a similarity search started from, marked (they come first, scoring ~1)."""
    marked = set(examples)
    frame = pd.DataFrame(
        {
            "row": [r["id"] for r in rows],
            **({"score": [round(scores[r["id"]], 3) for r in rows]} if scores else {}),
            **({"example": ["example" if r["id"] in marked else "" for r in rows]} if marked else {}),
            "id": [r["source_id"] for r in rows],
            **({"thumbnail": [thumb_uri(r["thumb"]) for r in rows]} if dataset.modality == "image" else {}),
            "text": row_contents(dataset.id, rows),
            "label": [shown_value(r["label"]) for r in rows],
            "suggested": [shown_value(r["suggested"]) for r in rows],
            "source": [r["label_source"] or "" for r in rows],
            "tags": [r["tags"] or "" for r in rows],
        }
    )
    if filters.issues:  # which of the picked checks flagged each row (and a label issue's suggested class)
        from ui.issues import current_report, insert_flag_columns

        insert_flag_columns(frame, current_report(dataset.id, filters.question), list(frame["row"]), filters.issues)
    return frame


def selectable_results(dataset_id: int, frame: pd.DataFrame, *, everything: list[int], searched: bool) -> None:
    """Select-all and clear buttons, the grid to tick rows in, and how many rows are selected.

    ``everything``: what "Select all" takes (a search's results, else every row matching the filters);
    ``searched``: a search answered, so the buttons speak of results."""
    s = session()
    c1, c2, c3 = st.columns([1.3, 1.3, 3])
    if c1.button(
        "Nothing to select"
        if not everything
        else f"Select all {counted(len(everything), 'result')}"
        if searched
        else f"Select all {len(everything):,} matching",
        key="search.selectall",
        disabled=not everything,
        help="Every result of the search (clear it to select every row matching the filters)"
        if searched
        else "Every row matching the filters, not only the rows shown",
    ):
        s.selected = set(everything)
        s.selection_epoch, s.grid_preselected = s.selection_epoch + 1, set(s.selected)
    if c2.button("Clear selection", key="search.clear", disabled=not s.selected):
        s.selected = set()
        s.selection_epoch, s.grid_preselected = s.selection_epoch + 1, set()
    # The grid keeps its own ticks between clicks; it is redrawn (new key) when a button sets the selection
    # or the rows change (another query, the similarity of a new selection), and then starts with the
    # selection ticked: a grid drawn unticked reported the next tick alone and dropped the rest.
    grid_key = f"search.grid.{dataset_id}.{s.selection_epoch}.{hash(tuple(frame['row']))}"
    if grid_key != s.grid_key:
        s.grid_key, s.grid_preselected = grid_key, set(s.selected)
    chosen = results_grid(frame, key=grid_key, selected=s.grid_preselected)
    if chosen is not None:
        shown = set(frame["row"])
        s.selected = (s.selected - shown) | chosen
    hidden = len(s.selected - set(frame["row"]))
    not_shown = f" · {hidden:,} of them not in the table" if hidden else ""
    c3.markdown(f"**{counted(len(s.selected), 'row')} selected**" + not_shown)
