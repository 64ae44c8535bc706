"""Schema-page forms: add a question, edit one, rename / merge / split its classes."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.errors import CuratorError
from core.labelschema import (
    Kind,
    LabelSchema,
    Migration,
    Question,
    add_question,
    merge_classes,
    rename_class,
    split_class,
    update_question,
)
from core.wording import counted
from ui.resources import session, workspace

ALWAYS = "(always)"
# Widget values to set on the next run, before the widgets are drawn (a drawn widget's value cannot be set).
RESET = "schema.reset"


def _names(text: str) -> list[str]:
    """Class names typed one per line, or on one line separated by commas: typed over several lines, a comma
    is part of a name ("Arts, Culture"), which could not otherwise be typed at all."""
    lines = text.splitlines()
    parts = lines if len([line for line in lines if line.strip()]) > 1 else text.split(",")
    return [n.strip() for n in parts if n.strip()]


def _done(migration: Migration | None, what: str, *, reset: dict[str, Any] | None = None) -> None:
    """Remember the change for the Undo button and rerun so every widget shows the new schema.

    ``reset`` gives the form's widgets their values for the next run (emptied boxes, the class just made
    selected): a form left filled in would, submitted again, apply its inputs to the changed schema."""
    if migration is None:
        st.info("Nothing to change.")
        return
    moved = f"; {counted(migration.rows_changed, 'row')} relabeled" if migration.rows_changed else ""
    message = f"{what} (schema version {migration.version}{moved})"
    session().last_batch = (migration.batch_id, what)
    session().notices.append(message)
    st.session_state[RESET] = reset or {}
    st.rerun()


def _apply_reset() -> None:
    """Set the widget values a change asked for (see ``_done``); call before drawing the widgets."""
    for key, value in st.session_state.pop(RESET, {}).items():
        st.session_state[key] = value


def class_changes_form(dataset_id: int, q: Question) -> None:
    if not q.classes:
        st.info(f"'{q.name}' has no classes yet: add some under Edit question.")
        return
    _apply_reset()
    how = st.radio("Change", ["rename", "merge", "split"], horizontal=True, key="schema.how")
    with st.form("schema.classes", border=False):
        try:
            if how == "rename":
                c1, c2 = st.columns(2)
                old = c1.selectbox("Class (or a parent in the hierarchy)", q.nodes, key="schema.rename.old")
                new = c2.text_input("New name", key="schema.rename.new")
                if st.form_submit_button("Rename", type="primary"):
                    if not new.strip():  # e.g. a click on Rename right after Enter already renamed
                        st.info("Type the new name, then press Enter or Rename.")
                    else:
                        _done(
                            rename_class(workspace(), dataset_id, q.name, old, new),
                            f"Renamed '{old}' to '{new.strip()}'",
                            reset={"schema.rename.old": new.strip(), "schema.rename.new": ""},
                        )
            elif how == "merge":
                c1, c2 = st.columns(2)
                sources = c1.multiselect("Classes to merge", list(q.classes), key="schema.merge.sources")
                into = c2.text_input("Into (an existing or a new class)", key="schema.merge.into")
                if st.form_submit_button("Merge", type="primary"):
                    if not sources and not into.strip():
                        st.info("Choose the classes to merge and the class they go into.")
                    else:
                        _done(
                            merge_classes(workspace(), dataset_id, q.name, sources, into),
                            # The target may be among the chosen classes: it is not merged into itself.
                            f"Merged {counted(len(set(sources) - {into.strip()}), 'class')} into '{into.strip()}'",
                            reset={"schema.merge.sources": [], "schema.merge.into": ""},
                        )
            else:
                c1, c2 = st.columns(2)
                old = c1.selectbox("Class to split", list(q.classes), key="schema.split.old")
                parts = c2.text_area("New classes (one per line)", key="schema.split.parts", height=100)
                review = st.checkbox(
                    "Tag its rows needs-review so the review queue sorts them",
                    value=True,
                    key="schema.split.review",
                )
                st.caption("Its rows go to the first new class until someone (or the wizard) sorts them.")
                if st.form_submit_button("Split", type="primary"):
                    if not _names(parts):
                        st.info("Type the new classes, one per line.")
                    else:
                        _done(
                            split_class(workspace(), dataset_id, q.name, old, _names(parts), mark_for_review=review),
                            f"Split '{old}'",
                            reset={"schema.split.old": _names(parts)[0], "schema.split.parts": ""},
                        )
        except CuratorError as exc:
            st.error(str(exc))


def edit_question_form(dataset_id: int, q: Question) -> None:
    _apply_reset()
    with st.form(f"schema.edit.{q.name}", border=False):
        required = st.checkbox("Required", value=q.required, key=f"schema.edit.required.{q.name}")
        description = st.text_input("Description", value=q.description, key=f"schema.edit.desc.{q.name}")
        more = st.text_area(
            "Add classes (one per line, or comma-separated on one line)", key=f"schema.edit.add.{q.name}"
        )
        if st.form_submit_button("Save", type="primary"):
            try:
                _done(
                    update_question(
                        workspace(),
                        dataset_id,
                        q.name,
                        required=required,
                        description=description,
                        add_classes=_names(more),
                    ),
                    f"Edited question '{q.name}'",
                    reset={f"schema.edit.add.{q.name}": ""},
                )
            except CuratorError as exc:
                st.error(str(exc))


def add_question_form(dataset_id: int, schema: LabelSchema) -> None:
    _apply_reset()
    parents = {
        ALWAYS: None,
        **{f"{p.name} = {c}": (p.name, c) for p in schema.questions for c in p.classes[:200]},
    }
    with st.form("schema.add", border=False):
        c1, c2, c3 = st.columns([2, 1.2, 1])
        name = c1.text_input("Question name", key="schema.add.name", placeholder="e.g. sentiment")
        kind = c2.radio("Answers", ["single-choice", "multi-choice"], horizontal=True, key="schema.add.kind")
        required = c3.checkbox("Required", key="schema.add.required")
        classes = st.text_area(
            "Classes (one per line, or comma-separated on one line; 'Parent > Child' for a hierarchy)",
            key="schema.add.classes",
            height=100,
        )
        c4, c5 = st.columns(2)
        parent = c4.selectbox("Asked only when", list(parents), key="schema.add.parent")
        description = c5.text_input("Description", key="schema.add.desc")
        if st.form_submit_button("Add question", type="primary"):
            try:
                _done(
                    add_question(
                        workspace(),
                        dataset_id,
                        name,
                        kind=Kind.MULTI if kind == "multi-choice" else Kind.SINGLE,
                        classes=_names(classes),
                        required=required,
                        parent=parents[parent],
                        description=description,
                    ),
                    f"Added question '{name.strip()}'",
                    reset={key: "" for key in ("schema.add.name", "schema.add.classes", "schema.add.desc")},
                )
            except CuratorError as exc:
                st.error(str(exc))
