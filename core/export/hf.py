"""The Hugging Face ``datasets`` folder: the export as Parquet under ``data/`` plus a dataset card
(README.md) whose front matter tells ``load_dataset`` where the data is and whose text explains
the provenance columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from core.export.columns import image_column_name
from core.export.writers import _write_parquet
from core.workspace import Workspace


def _write_hf(ws: Workspace, dataset_id: int, chunks: Iterator[pd.DataFrame], tmp: Path) -> None:
    """``datasets.load_dataset(str(folder))`` reads this: data/train-*.parquet plus a dataset card."""
    import shutil

    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "data").mkdir(parents=True)
    _write_parquet(ws, dataset_id, chunks, tmp / "data" / "train-00000-of-00001.parquet", hf=True)
    dataset = ws.store.dataset(dataset_id)
    images = ""
    if dataset.modality == "image":
        images = (
            f"\nThe images are stored in the Parquet files: `{image_column_name(ws, dataset_id)}` is a"
            " `datasets.Image` column (each image's bytes and its path). Image paths are relative to the folder"
            " the images were uploaded from (their class folders included, e.g. `dog/train_2590.jpg`).\n"
        )
    (tmp / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n"
        "    path: data/train-*.parquet\n---\n\n"
        f"# {dataset.name}\n\nExported by Curator with label provenance: `curated_text` is the text as shown and"
        " embedded (repaired), `label` the curated label,"
        " `given_label` the one the data came with, `label_source` where the label came from (original / human"
        " / auto / suggestion_accepted / bulk; a renamed or merged class keeps its source, and `batch_id` names"
        " that change and `labeled_by` who made it), `model_id` the model behind auto labels,"
        " `suggested_label` a model's suggestion and `suggested_by` that model, `label.<question>`,"
        " `label_source.<question>`, `suggested_label.<question>`, `confidence.<question>`, `model_id.<question>`"
        " and `suggested_by.<question>` the same for each further question of the label schema, and `excluded`,"
        " `is_label_issue`, `outlier_score`, `is_near_duplicate` what curation found.\n" + images,
        encoding="utf-8",
    )
