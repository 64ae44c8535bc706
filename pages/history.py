"""History: every action on the dataset, newest first; undo any of them; the dataset trash."""

import pandas as pd
import streamlit as st

from core.errors import CuratorError
from core.history import (
    BatchInfo,
    batch_events,
    describe_action,
    describe_change,
    describe_state,
    first_ingest,
    history,
    undo_states,
)
from core.wizard import left_standing_by_undo
from core.wording import counted
from ui.resources import action_done, action_key, clicked_twice, current_dataset_id, require_shell, session, workspace
from ui.review import quote_markdown


def when(b: BatchInfo) -> str:
    return b.created_at[:19].replace("T", " ")


require_shell()

ws = workspace()
st.title("History")
dataset_id = current_dataset_id()
every_dataset = ws.store.datasets(include_deleted=True)
if not every_dataset:
    st.info("No dataset yet: upload one or load a demo first.")
    st.stop()
if dataset_id is None:  # all in the trash: the list below restores them
    st.info("Every dataset is in the trash: restore one below, or upload one.")
else:
    batches = history(ws.store, dataset_id)
    states = undo_states(batches)

    frame = pd.DataFrame(
        {
            "when (UTC)": [when(b) for b in batches],
            "action": [describe_action(b.action) for b in batches],
            "what": [b.description for b in batches],
            "changes": [b.n_events for b in batches],
            "state": [states[b.id] for b in batches],
            "by": [b.actor or "" for b in batches],
            "id": [b.id for b in batches],
        }
    )
    if not any(b.actor for b in batches):  # nobody named (CLI, API, or no name given): no empty column
        frame = frame.drop(columns="by")
    table = st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={"what": st.column_config.TextColumn(width="large", help="Select a row to read it in full")},
        on_select="rerun",
        selection_mode="single-row",
        key=f"history.table.{batches[0].id if batches else ''}",  # a new action moves the rows: a new selection
    )
    selected = [batches[i] for i in table.selection.rows]
    if selected:  # the description in full: a table cell cuts a long one off
        b = selected[0]
        state = counted(b.n_events, "change") + (f", {states[b.id]}" if states[b.id] else "")
        by = f" · {quote_markdown(b.actor)}" if b.actor else ""
        st.markdown(f"**{when(b)} · {describe_action(b.action)}**{by} ({state}): {quote_markdown(b.description)}")
    else:
        st.caption("Select a row to read its description in full.")
    # A dataset's first ingest is undone by the trash (below); an append like any other action.
    made_by = first_ingest(ws.store, dataset_id)
    undoable = [b for b in batches if b.id != made_by and not b.undone_by]
    if made_by is not None:
        description = next((b.description for b in batches if b.id == made_by), "The first ingest")
        st.caption(
            f"'{description}' made this dataset: it is undone by moving the dataset to the trash"
            " (Datasets, below), from where it can be restored."
        )
    if undoable:
        labels = {b.id: f"{when(b)} · {b.description} ({counted(b.n_events, 'change')})" for b in undoable}
        picked = selected[0].id if selected else None
        if picked in labels and st.session_state.get("history.table.picked") != picked:
            st.session_state["history.batch"] = picked  # a row just selected in the table is the action to undo
        st.session_state["history.table.picked"] = picked
        chosen = st.selectbox("Action", list(labels), format_func=labels.get, key="history.batch")
        with st.expander("Changes in this action"):
            events = batch_events(ws.store, chosen, limit=200)
            if not events and next(b for b in undoable if b.id == chosen).action == "ingest":
                st.caption("Undoing it takes the rows it added out of the dataset; undo that to bring them back.")
            changes = pd.DataFrame(
                {
                    "row id": [e["id"] for e in events],
                    "what": [describe_change(e["attribute"]) for e in events],
                    "before": [describe_state(e["attribute"], e["before"]) for e in events],
                    "after": [describe_state(e["attribute"], e["after"]) for e in events],
                }
            )
            st.dataframe(changes, hide_index=True, width="stretch")
            n_events = next(b.n_events for b in undoable if b.id == chosen)
            if len(events) < n_events:
                st.caption(f"The first {len(events):,} of {counted(n_events, 'change')}.")
        clicked = st.button("Undo this action", type="primary", key=action_key("history.undo", dataset_id))
        s = session()
        if clicked and not clicked_twice(s, "history.undo"):  # the undo is first in the picker now: a redo
            try:
                result = ws.undo(chosen)
            except CuratorError as exc:
                st.error(str(exc))
            else:
                left = left_standing_by_undo(ws, chosen)  # an accept's new-rows batch: named, not undone with it
                st.toast(f"{result.headline()}. {left}" if left else result.headline())
                st.rerun()
            finally:
                action_done(s, "history.undo")
    else:
        st.caption("Nothing to undo yet: label, tag or exclude rows and the actions appear here.")

st.subheader("Datasets")
for d in every_dataset:
    c1, c2 = st.columns([4, 1])
    c1.write(f"**{d.name}** · {d.modality} · created {d.created_at[:10]}" + (" · in the trash" if d.deleted_at else ""))
    if d.deleted_at:
        if c2.button("Restore", key=f"history.restore.{d.id}"):
            ws.store.set_deleted(d.id, False)
            st.rerun()
    elif c2.button("Move to trash", key=f"history.trash.{d.id}"):
        ws.store.set_deleted(d.id, True)
        st.toast(f"'{d.name}' moved to the trash; restore it here any time.")
        st.rerun()
