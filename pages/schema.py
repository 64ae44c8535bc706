"""Schema: the questions asked of every row, their classes, and the schema's versions."""

from collections import Counter

import pandas as pd
import streamlit as st

from core.labelschema import answer_counts, at_depth, label_schema, schema_versions
from core.wording import counted
from ui.charts import class_distribution
from ui.resources import session, start_page, undo_last_batch_button, workspace
from ui.schema import add_question_form, class_changes_form, edit_question_form

dataset_id = start_page("Label schema")
ws, s = workspace(), session()
schema = label_schema(ws.store, dataset_id)
rows = ws.status(dataset_id).rows
st.caption(
    f"Version {schema.version} · {counted(len(schema.questions), 'question')}."
    " Every change is one undoable step in the History; renaming, merging and splitting classes move the"
    " labels with them. Exports carry one column per question and the schema version."
)

overview = []
for q in schema.questions:
    counts, answered = ws.derived(
        dataset_id, ("answer-counts", q.name), lambda q=q: answer_counts(ws.store, dataset_id, q.name)
    )
    overview.append(
        {
            "question": q.name,
            "kind": "multi-choice" if q.kind == "multi" else "single-choice",
            "required": q.required,
            "asked when": f"{q.parent[0]} = {q.parent[1]}" if q.parent else "always",
            "classes": len(q.classes),
            "answered rows": f"{answered:,} ({answered / rows:.0%})" if rows else "0",
            "description": q.description,
        }
    )
st.dataframe(pd.DataFrame(overview), hide_index=True, width="stretch")

names = schema.names
chosen = st.selectbox("Question", names, key="schema.question")
q = schema.question(chosen)
counts, _ = ws.derived(dataset_id, ("answer-counts", q.name), lambda: answer_counts(ws.store, dataset_id, q.name))
left, right = st.columns([3, 2])
with left:
    if counts:
        title = f"'{q.name}': rows per class" + (" (a row may have several)" if q.kind == "multi" else "")
        left.plotly_chart(class_distribution(dict(counts.most_common(40)), title=title), key="schema.counts")
    else:
        st.info(f"No row answers '{q.name}' yet: answer it on Search (bulk) or in a review panel.")
with right:
    if q.hierarchical and counts:
        parents = Counter()
        for c, n in counts.items():
            parents[at_depth(c, 1)] += n
        right.plotly_chart(class_distribution(dict(parents), title="Rolled up to the top level"), key="schema.rollup")
    unused = [c for c in q.classes if c not in counts]
    if unused:
        right.caption(f"Classes without rows: {', '.join(unused[:30])}{' ...' if len(unused) > 30 else ''}")

tab_classes, tab_edit, tab_add, tab_versions = st.tabs(
    ["Rename, merge or split classes", "Edit question", "Add a question", "Versions"]
)
with tab_classes:
    class_changes_form(dataset_id, q)
with tab_edit:
    edit_question_form(dataset_id, q)
with tab_add:
    add_question_form(dataset_id, schema)
with tab_versions:
    versions = schema_versions(ws.store, dataset_id)
    st.dataframe(
        pd.DataFrame(
            {
                "version": [v.version for v in versions],
                "change": [v.description for v in versions],
                "when (UTC)": [v.created_at[:19].replace("T", " ") for v in versions],
                "undone": [v.undone for v in versions],
                "batch": [v.batch_id or "" for v in versions],
            }
        ).iloc[::-1],
        hide_index=True,
        width="stretch",
    )
undo_last_batch_button("schema.undo")
