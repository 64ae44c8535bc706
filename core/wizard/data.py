"""What the auto-labelers see: every embedded, not excluded row with its training label, the curated
reference set among them, and class names for a dataset that has no labels yet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InputError
from core.projection import dataset_vectors
from core.store import DEFAULT_LABEL_FIELD, LabelSource
from core.workspace import Workspace


@dataclass(frozen=True)
class TrainingData:
    """Every embedded, not excluded row of a dataset, with its training label (or -1)."""

    row_ids: np.ndarray
    vectors: np.ndarray
    y: np.ndarray  # index into classes, -1 where no person-given label
    classes: list[str]
    texts: list[str] | None  # for text datasets: the lexical (TF-IDF) view
    auto_labeled: np.ndarray  # current label came from the auto-labeler
    zero_shot_vectors: np.ndarray | None = None  # images without CLIP: ConSE vectors in the text space

    @property
    def n_labeled(self) -> int:
        return int((self.y >= 0).sum())


def training_data(ws: Workspace, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> TrainingData:
    """What the auto-labelers see (rows in dataset order) for one single-choice question of the label
    schema. A sub-question covers only the rows whose parent answer holds."""
    from core.labelschema import asked_rows, label_schema

    dataset = ws.store.dataset(dataset_id)
    question = label_schema(ws.store, dataset_id).question(field)
    row_ids, vectors = dataset_vectors(ws, dataset_id)
    with ws.store.connect() as conn:
        info = {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in conn.execute(
                "SELECT rows.id, rows.excluded, rows.text, labels.value, labels.source FROM rows"
                " LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ? WHERE rows.dataset_id = ?",
                (field, dataset_id),
            )
        }
        asked = asked_rows(conn, dataset_id, question)
    keep = [i for i, r in enumerate(row_ids) if not info[r][0] and (asked is None or r in asked)]
    row_ids = np.asarray(row_ids, dtype=np.int64)[keep]
    vectors = vectors[keep] if len(keep) else np.zeros((0, 0), np.float32)
    classes = list(ws.store.classes(dataset_id, field))
    for r in row_ids:  # a label outside the class list (typed in bulk) still counts
        value, source = info[int(r)][2], info[int(r)][3]
        if value is not None and source != LabelSource.AUTO and value not in classes and not value.startswith("["):
            classes.append(value)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array(
        [index.get(info[int(r)][2], -1) if info[int(r)][3] != LabelSource.AUTO else -1 for r in row_ids],
        dtype=np.int64,
    )
    auto = np.array([info[int(r)][3] == LabelSource.AUTO for r in row_ids], dtype=bool)
    texts = [info[int(r)][1] or "" for r in row_ids] if dataset.modality == "text" else None
    return TrainingData(row_ids, vectors, y, classes, texts, auto, _concept_vectors(ws, dataset, row_ids))


def _concept_vectors(ws: Workspace, dataset: Any, row_ids: np.ndarray) -> np.ndarray | None:
    """ConSE vectors of an image dataset embedded without CLIP (None otherwise, or if missing)."""
    from core.concepts import concept_space_id
    from core.embedders import DEFAULT_TEXT_MODEL, EMBEDDERS, parse_model_id
    from core.errors import NotFoundError

    name, _ = parse_model_id(dataset.embedding_model)
    if dataset.modality != "image" or not EMBEDDERS[name].text_queries_via_class_names:
        return None
    space = concept_space_id(dataset.embedding_model)
    try:
        ids, vectors = dataset_vectors(ws, dataset.id, space=space, cache_id=f"{space}|{DEFAULT_TEXT_MODEL}")
    except NotFoundError:
        return None
    position = {r: i for i, r in enumerate(ids)}
    if any(int(r) not in position for r in row_ids):
        return None
    return vectors[[position[int(r)] for r in row_ids]]


REFERENCE_TAG = "reference"


def reference_rows(ws: Workspace, data: TrainingData) -> np.ndarray:
    """Positions (in ``data``) of the curated reference set: labeled rows tagged "reference"."""
    with ws.store.connect() as conn:
        tagged = {r[0] for r in conn.execute("SELECT row_id FROM tags WHERE tag = ?", (REFERENCE_TAG,))}
    return np.array([i for i, r in enumerate(data.row_ids) if int(r) in tagged and data.y[i] >= 0], dtype=np.int64)


def add_classes(ws: Workspace, dataset_id: int, names: list[str]) -> list[str]:
    """Name the classes of a dataset that has no labels yet (zero-shot needs them); returns all."""
    clean = [n.strip() for n in names if n.strip()]
    if not clean:
        raise InputError("Type at least one class name.")
    if any(len(n) > 200 for n in clean):
        raise InputError("A class name is at most 200 characters; put the longer text in its description.")
    with ws.store.transaction() as conn:
        for name in dict.fromkeys(clean):  # one by one: the order typed is kept
            ws.store.add_class(conn, dataset_id, DEFAULT_LABEL_FIELD, name)
    return ws.store.classes(dataset_id)
