"""Export: the curated dataset with provenance (CSV, JSONL, Parquet, HF folder, image ZIP) and a health report."""

import streamlit as st

from ui.export import choices, export_button, preview_panel, report_panel
from ui.resources import current_dataset_id, require_shell, workspace

require_shell()

ws = workspace()
dataset_id = current_dataset_id()
st.title("Export")
if dataset_id is None:
    st.info("No dataset yet: upload one or load a demo first.")
    st.stop()

st.caption(
    "Every row carries its original fields and its provenance: the given label, the final label and where it"
    " came from (original / human / auto / suggestion accepted / bulk), the suggestion and confidence, the"
    " latest issue scores, tags, exclusion, the batch that last set the label and when, and the model ids."
    " CSV cells starting with = + - @ (or tab / carriage return) get a leading ' so spreadsheets do not run"
    " them as formulas; the other formats are lossless. Importing an export restores all of it."
)
if ws.dataset(dataset_id).modality == "image":
    st.caption(
        "Image paths (`image_path`) are written relative to the folder the images were uploaded from, class folders"
        " included (`dog/train_2590.jpg`): put a CSV, JSONL or Parquet export in that folder to import it again."
        " The Hugging Face folder also holds the images themselves (an `image` column that `datasets` decodes) and"
        " the ZIP holds them in a folder per class."
    )
fmt, rows, filters, columns = choices(dataset_id)
total = preview_panel(dataset_id, rows, filters, columns)
if total:
    export_button(dataset_id, fmt, rows, filters, columns)
st.divider()
report_panel(dataset_id)
