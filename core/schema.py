"""Which column holds the text, the image, the label and the id: inferred, then overridable.

:func:`infer_mapping` guesses; the user may change any part; :func:`validate_mapping` checks the
result against the table and says plainly what is wrong; :func:`build_rows` turns the table into
the rows the store keeps.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from core.errors import InputError
from core.history.actor import clean_actor
from core.labelschema import SEPARATOR, looks_multi, parse_multi
from core.provenance import (
    ID_COLUMN,
    MANIFEST_FILE_COLUMN,
    ORIGINAL_PREFIX,
    QUESTION_CONFIDENCE_PREFIX,
    QUESTION_MODEL_PREFIX,
    QUESTION_PREFIX,
    QUESTION_SOURCE_PREFIX,
    QUESTION_SUGGESTED_BY_PREFIX,
    QUESTION_SUGGESTION_PREFIX,
    is_curation_column,
    is_curator_export,
    parse_bool,
    parse_tags,
    parse_time,
    restore_formula,
)
from core.readers import IMAGE_SUFFIXES, Table
from core.readers.delimited import is_number
from core.store import Store, normalize_label
from core.textclean import clean_text

LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "polarity", "y", "topic", "tag")
ID_NAMES = ("id", "uuid", "guid", "key", "row_id", "doc_id", "example_id", "index")
MAX_CLASSES = 1000
TEXT_JOINER = "\n"


@dataclass
class ColumnMapping:
    """The user-facing choice of columns. ``label_names`` maps integer class indices to names."""

    text_columns: list[str] = field(default_factory=list)
    image_column: str | None = None
    label_column: str | None = None
    id_column: str | None = None
    label_names: list[str] | None = None
    clean_text: bool = True
    # A Curator export: restore labels, sources, suggestions, tags and exclusions (core/provenance.py).
    restore_curation: bool = False
    # Several classes per row ("a|b" or a JSON list): the first question is multi-choice.
    multi_label: bool = False
    # Further label columns, each a question of the label schema (multi-choice when its values are).
    question_columns: list[str] = field(default_factory=list)

    @property
    def modality(self) -> str:
        return "image" if self.image_column else "text"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnMapping:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _values(frame: pd.DataFrame, col: str, n: int = 500) -> list[str]:
    return [str(v) for v in frame[col].head(n).tolist()]


def _is_int(value: str) -> bool:
    return bool(re.fullmatch(r"-?\d+", value.strip()))


def _image_like(frame: pd.DataFrame, col: str) -> bool:
    values = [v for v in _values(frame, col, 50) if v]
    return bool(values) and sum(PurePosixPath(v).suffix.lower() in IMAGE_SUFFIXES for v in values) / len(values) > 0.8


def infer_mapping(table: Table) -> ColumnMapping:
    """Pick id, image, label and text columns by name first, then by what the values look like.

    A Curator export is recognised by its provenance columns: its original fields are inferred as
    usual, and its curation (labels with their sources, tags, exclusions) is restored."""
    if is_curator_export(list(table.frame.columns)):
        fields = [c for c in table.frame.columns if not is_curation_column(c)]
        inner = infer_mapping(replace(table, frame=table.frame[fields]))
        text = [c for c in inner.text_columns if c != "file"]
        return replace(
            inner,
            text_columns=text,
            label_column="label",
            id_column=ID_COLUMN,
            restore_curation=True,
            multi_label=looks_multi(table.frame["label"].tolist()),
            label_names=None,
        )
    frame = table.frame
    cols = list(frame.columns)
    lower = {c: c.lower().strip() for c in cols}
    n = len(frame)

    id_col = next((c for c in cols if lower[c] in ID_NAMES and frame[c].is_unique and (frame[c] != "").all()), None)
    image_col = "image_path" if "image_path" in cols else next((c for c in cols if _image_like(frame, c)), None)

    def short_categorical(col: str) -> bool:
        values = _values(frame, col)
        distinct = {v for v in frame[col].head(5000) if normalize_label(v) is not None}
        return bool(values) and max(map(len, values)) <= 40 and 1 <= len(distinct) <= max(2, min(MAX_CLASSES, n // 3))

    taken = {id_col, image_col}

    def has_labels(col: str) -> bool:
        return any(normalize_label(v) is not None for v in frame[col].tolist())

    label_col = next((c for c in cols if lower[c] in LABEL_NAMES and c not in taken and has_labels(c)), None)
    if label_col is None:
        label_col = next(
            (c for c in cols if c not in taken and short_categorical(c) and not _image_like(frame, c)), None
        )
    # Prefer a class-name column that corresponds 1:1 with a numeric label column (SST-2's label_name).
    if label_col is not None and all(_is_int(v) for v in _values(frame, label_col) if v):
        for c in cols:
            if c not in taken and c != label_col and lower[c].startswith(lower[label_col]) and short_categorical(c):
                pairs = frame[[label_col, c]].drop_duplicates()
                if pairs[label_col].is_unique and pairs[c].is_unique:
                    label_col = c
                    break
    taken.add(label_col)
    # Other label-like columns: categorical, with hierarchical ("a > b") or multi-label ("a|b") values.
    questions = [
        c
        for c in cols
        if c not in taken
        and lower[c] not in ID_NAMES
        and (distinct := {v for v in frame[c].head(5000).tolist() if normalize_label(v)})
        and len(distinct) <= min(MAX_CLASSES, max(2, n // 3))
        and (sum(SEPARATOR in str(v) for v in distinct) / len(distinct) > 0.5 or looks_multi(frame[c].tolist()))
    ]
    taken |= set(questions)

    text_cols: list[str] = []
    if image_col is None:
        candidates = []
        for c in cols:
            if c in taken or lower[c] in ID_NAMES:
                continue
            values = [v for v in _values(frame, c) if v]
            if not values or all(is_number(v) for v in values):
                continue
            mean_len = sum(map(len, values)) / len(values)
            candidates.append((c, mean_len))
        text_cols = [c for c, mean in candidates if mean >= 15]
        if not text_cols and candidates:
            text_cols = [max(candidates, key=lambda item: item[1])[0]]

    label_names = None
    if label_col and table.class_names:
        ints = {int(v) for v in frame[label_col] if _is_int(v)}
        if ints and len(ints) == len(set(frame[label_col]) - {""}) and max(ints) <= len(table.class_names):
            label_names = table.class_names
    return ColumnMapping(
        text_columns=text_cols,
        image_column=image_col,
        label_column=label_col,
        id_column=id_col,
        label_names=label_names,
        multi_label=bool(label_col and not label_names and looks_multi(frame[label_col].tolist())),
        question_columns=questions,
    )


def resolve_labels(frame: pd.DataFrame, mapping: ColumnMapping) -> list[Any]:
    """Given labels per row: empty / '-' / NaN mean unlabeled; integer indices map to names; a
    multi-label column gives sorted lists of class names."""
    if mapping.label_column is None:
        return [None] * len(frame)
    raw = [normalize_label(v) for v in frame[mapping.label_column].tolist()]
    if mapping.multi_label:
        # "[]" is an answer (none of the classes applies); an empty cell is no answer.
        return [None if v is None else sorted({c for c in map(normalize_label, parse_multi(v)) if c}) for v in raw]
    names = mapping.label_names
    if not names:
        return raw
    ints = [int(v) for v in raw if v is not None and _is_int(v)]
    base = 0 if ints and min(ints) == 0 else 1
    out: list[str | None] = []
    for v in raw:
        if v is None:
            out.append(None)
        elif _is_int(v) and 0 <= int(v) - base < len(names):
            out.append(names[int(v) - base])
        else:
            raise InputError(
                f"Label '{v}' is not a class index 1..{len(names)} (or 0..{len(names) - 1}) for the class names given."
            )
    return out


def validate_mapping(table: Table, mapping: ColumnMapping) -> None:
    """Raise :class:`InputError` naming what is wrong with this choice of columns."""
    cols = set(table.frame.columns)
    chosen = [
        *mapping.text_columns,
        mapping.image_column,
        mapping.label_column,
        mapping.id_column,
        *mapping.question_columns,
    ]
    missing = [c for c in chosen if c is not None and c not in cols]
    if missing:
        raise InputError(f"Column(s) {', '.join(map(repr, missing))} are not in the file.")
    if not mapping.text_columns and not mapping.image_column:
        raise InputError("Choose at least one text column or an image column.")
    if mapping.text_columns and mapping.image_column:
        raise InputError("A dataset holds either text or images: choose text columns or an image column, not both.")
    if mapping.label_column and mapping.label_column in mapping.text_columns:
        raise InputError(f"'{mapping.label_column}' cannot be both the label and a text column.")
    for c in mapping.question_columns:
        if c in (mapping.label_column, mapping.id_column, *mapping.text_columns):
            raise InputError(f"'{c}' cannot be both a further question and the label, id or a text column.")
        bad = [ch for ch in ":[]" if ch in c]
        if bad:
            raise InputError(f"A question column's name cannot contain {' or '.join(map(repr, bad))}: rename '{c}'.")
    frame = table.frame
    if mapping.text_columns:
        joined_empty = all(not str(v).strip() for c in mapping.text_columns for v in frame[c].tolist())
        if joined_empty:
            raise InputError(f"The text column(s) {', '.join(mapping.text_columns)} are empty in every row.")
    if mapping.label_column:
        labels = resolve_labels(frame, mapping)
        present = {c for v in labels if v is not None for c in (v if isinstance(v, list) else [v])}
        if not present:
            raise InputError(
                f"The label column '{mapping.label_column}' has no labels in any row. "
                "Choose another column, or 'none' for an unlabeled dataset."
            )
        if len(present) > MAX_CLASSES:
            raise InputError(
                f"The label column '{mapping.label_column}' has {len(present):,} distinct values "
                f"(the limit is {MAX_CLASSES:,} classes); it looks like text or an id, not a label."
            )
    if mapping.id_column:
        ids = frame[mapping.id_column]
        if (ids == "").any():
            raise InputError(f"The id column '{mapping.id_column}' is empty in some rows.")
        dupes = ids[ids.duplicated()].head(3).tolist()
        if dupes:
            raise InputError(f"The id column '{mapping.id_column}' repeats values (e.g. {dupes}); ids must be unique.")


def content_hash(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def build_rows(table: Table, mapping: ColumnMapping, *, id_prefix: str = "") -> list[dict[str, Any]]:
    """Turn the table into rows for the store: original fields kept as written, text cleaned."""
    validate_mapping(table, mapping)
    frame = table.frame
    if mapping.restore_curation and table.delimiter is not None:  # a CSV export: undo its formula guard
        frame = frame.map(restore_formula)
    labels = resolve_labels(frame, mapping)
    multi = {c for c in mapping.question_columns if looks_multi(frame[c].tolist())}
    records = frame.to_dict(orient="records")
    rows = []
    for i, (fields, label) in enumerate(zip(records, labels, strict=True)):
        source_id = fields[mapping.id_column] if mapping.id_column else f"{id_prefix}{i + 1}"
        row: dict[str, Any] = {"source_id": str(source_id), "fields": fields, "label": label}
        row["answers"] = {c: _answer(fields.get(c), multi=c in multi) for c in mapping.question_columns}
        if mapping.restore_curation:
            row["curation"] = _curation(fields)
            row["answers"] |= row["curation"].pop("answers")
            for key in (
                "answer_sources",
                "answer_suggestions",
                "answer_confidences",
                "answer_models",
                "answer_suggesters",
            ):
                row[key] = row["curation"].pop(key)
            manifest_only = {MANIFEST_FILE_COLUMN} if mapping.image_column else set()
            fields = {
                _original_name(k): v for k, v in fields.items() if not is_curation_column(k) and k not in manifest_only
            }
            row["fields"] = fields
        if mapping.image_column:
            row["modality"] = "image"
            path = Path(fields[mapping.image_column])
            if not path.is_absolute() and table.base_dir is not None:
                path = table.base_dir / path
            row["image_path"] = str(path)
            try:
                row["content_hash"] = content_hash(path.read_bytes())
            except OSError:
                row["content_hash"] = content_hash(str(path).encode())
                row["problem"] = "image file not found"
        else:
            text = joined_text(fields, mapping)
            row["modality"] = "text"
            row["text"] = text
            row["repaired"] = mapping.clean_text and text != joined_text(fields, mapping, repaired=False)
            row["content_hash"] = content_hash(text.encode("utf-8"))
            if not text.strip():
                row["problem"] = "empty text"
        rows.append(row)
    return rows


def joined_text(fields: dict[str, Any], mapping: ColumnMapping, *, repaired: bool = True) -> str:
    """A text row's text: its text columns' non-blank cells joined, each repaired when the mapping asks
    for it (``repaired=False``: as the file had them)."""
    parts = [str(fields[c]) for c in mapping.text_columns if str(fields[c]).strip()]
    return TEXT_JOINER.join(clean_text(p) if repaired and mapping.clean_text else p for p in parts)


def text_before_repair(store: Store, row: dict[str, Any]) -> str | None:
    """A stored text row's text as its file had it, when the ingest's repair changed it (mojibake, HTML
    entities, feed markup, escaped dollars...); None when the stored text is the file's, and for images.

    ``row``: a listing's row (``text``, ``fields_json`` and ``job_id``); the text columns are its ingest's."""
    if row.get("text") is None or row.get("job_id") is None:
        return None
    settings = store.job_settings(row["job_id"])
    if settings is None or "mapping" not in settings:
        return None
    mapping = ColumnMapping.from_dict(settings["mapping"])
    fields = json.loads(row["fields_json"])
    if not mapping.clean_text or any(c not in fields for c in mapping.text_columns):
        return None
    original = joined_text(fields, mapping, repaired=False)
    return original if original != row["text"] else None


def repaired_rows(store: Store, dataset_id: int) -> int | None:
    """How many of the dataset's rows the text repair changed (so Browse offers their text as the file had
    it), counted by each ingest that has rows in the dataset; None when one of them was made before
    ingests counted (unknown), 0 for an image dataset."""
    counts = [settings.get("repaired_rows") for settings in store.ingest_settings(dataset_id)]
    return None if None in counts else sum(counts)


def _original_name(column: str) -> str:
    return column[len(ORIGINAL_PREFIX) :] if column.startswith(ORIGINAL_PREFIX) else column


def _curation(fields: dict[str, Any]) -> dict[str, Any]:
    """The state a Curator export row carries (see core/provenance.py)."""

    def text(name: str) -> str | None:
        return normalize_label(fields.get(name))

    def number(name: str) -> float | None:
        value = fields.get(name)
        try:
            value = float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None
        return None if value is None or value != value else value  # NaN: none

    def further(prefix: str, read: Callable[[str], Any]) -> dict[str, Any]:
        return {k.removeprefix(prefix): read(k) for k in fields if k.startswith(prefix)}

    return {
        "given": text("given_label"),
        "source": text("label_source"),
        "confidence": number("confidence"),
        "model_id": text("model_id"),
        "suggested": text("suggested_label"),
        "suggested_by": text("suggested_by"),
        "tags": parse_tags(fields.get("tags")),
        "excluded": parse_bool(fields.get("excluded")),
        # Who made the label and when, as the export recorded them: they survive the round trip.
        "labeled_by": clean_actor(text("labeled_by")),
        "labeled_at": parse_time(fields.get("labeled_at")),
        # Further questions of the label schema (label.<question>): a JSON list for a multi-choice one.
        "answers": {
            k.removeprefix(QUESTION_PREFIX): _answer(v) for k, v in fields.items() if k.startswith(QUESTION_PREFIX)
        },
        # Who answered each (label_source.<question>), its suggestion, confidence, model and the suggestion's
        # model: restored as label_source, suggested_label, confidence, model_id and suggested_by are for the
        # first question.
        "answer_sources": further(QUESTION_SOURCE_PREFIX, text),
        "answer_suggestions": further(QUESTION_SUGGESTION_PREFIX, lambda k: _answer(fields.get(k))),
        "answer_confidences": further(QUESTION_CONFIDENCE_PREFIX, number),
        "answer_models": further(QUESTION_MODEL_PREFIX, text),
        "answer_suggesters": further(QUESTION_SUGGESTED_BY_PREFIX, text),
    }


def _answer(value: Any, *, multi: bool = False) -> str | list[str] | None:
    """A further question's answer: a class, or a sorted list for a multi-choice question (a JSON list
    always is one)."""
    text = normalize_label(value)
    if text is not None and (multi or text.startswith("[")):
        # "[]" is an answer (none of the classes applies); an empty cell is no answer.
        return sorted({c for c in (normalize_label(x) for x in parse_multi(text)) if c})
    return text
