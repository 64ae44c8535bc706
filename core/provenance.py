"""What an export row says about its provenance: the curation columns, shared by export and import.

Importing a file that has these columns (a Curator export) restores labels, label sources,
suggestions, tags and exclusions instead of treating them as original fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.store import MAX_NAME_CHARS

ID_COLUMN = "curator_id"  # the row's id in the dataset (source id), unique
# In this order after the original fields. Import reads back the ones in RESTORED_COLUMNS.
CURATION_COLUMNS = [
    ID_COLUMN,
    "curated_text",  # the text as shown, searched and embedded (repaired); text datasets only
    "given_label",
    "label",
    "label_source",
    "suggested_label",
    "confidence",
    "label_issue_score",
    "is_label_issue",
    "outlier_score",
    "is_near_duplicate",
    "needs_review",
    "excluded",
    "tags",
    "batch_id",
    "labeled_at",
    "labeled_by",  # who made the label's last change (the History's actor); empty for the file's own labels
    "model_id",
    "suggested_by",  # the model behind the suggestion (the label's is model_id)
    "embedding_model",
]
RESTORED_COLUMNS = {
    "given_label",
    "label",
    "label_source",
    "suggested_label",
    "confidence",
    "excluded",
    "tags",
    "model_id",
    "suggested_by",
}
QUESTION_PREFIX = "label."  # one export column per further question of the label schema: label.<question>
# Beside each label.<question>: who answered it (label_source's values: original / human / auto /
# suggestion_accepted / bulk), so a person's answer reads apart from the file's, in the export and after import.
QUESTION_SOURCE_PREFIX = "label_source."
# And, as suggested_label / confidence / model_id / suggested_by are for the first question: each further
# question's suggestion, the confidence of its answer (or of the suggestion when unanswered), the model
# behind its answer and the model behind its suggestion.
QUESTION_SUGGESTION_PREFIX = "suggested_label."
QUESTION_CONFIDENCE_PREFIX = "confidence."
QUESTION_MODEL_PREFIX = "model_id."
QUESTION_SUGGESTED_BY_PREFIX = "suggested_by."
QUESTION_PREFIXES = (
    QUESTION_PREFIX,
    QUESTION_SOURCE_PREFIX,
    QUESTION_SUGGESTION_PREFIX,
    QUESTION_CONFIDENCE_PREFIX,
    QUESTION_MODEL_PREFIX,
    QUESTION_SUGGESTED_BY_PREFIX,
)
SCHEMA_VERSION_COLUMN = "schema_version"  # the label-schema version an export follows
MANIFEST_FILE_COLUMN = "file"  # an image ZIP export's manifest: the image's path inside the archive
ORIGINAL_PREFIX = "original_"  # an original field whose name is a curation column's, e.g. "label"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Parquet metadata key (the HF folder's Parquet too) holding the exported dataset's name, for the import's name.
DATASET_NAME_KEY = "curator_dataset_name"
# An export file's name ends in the time it was written (UTC): demo-ag-news-1-500-20261124-101500.csv.
_STAMPED = re.compile(r"^(?P<name>.+?)-\d{8}-\d{6}(?!\d)")


# A file name holds 255 bytes; an export's adds the time, its suffix and the ".partial" of the write.
SLUG_BYTES = 180


def slug(name: str) -> str:
    """A dataset name as a file name: lower case, letters and digits (any script) kept, every run of other
    characters one ``-`` ("Demo - AG News (1,500)" → "demo-ag-news-1-500"); "dataset" when nothing is left.
    Cut to ``SLUG_BYTES`` of UTF-8 at a character: a name of 100 characters in a 3-byte script made a file
    name the file system refused ('File name too long')."""
    full = "-".join(part for part in re.split(r"[\W_]+", name.lower()) if part) or "dataset"
    return full.encode()[:SLUG_BYTES].decode(errors="ignore").rstrip("-")


def export_stem(dataset_name: str, when: datetime) -> str:
    """An export's file name without its suffix: the dataset's slug and the time, to the second."""
    return f"{slug(dataset_name)}-{when:%Y%m%d-%H%M%S}"


def import_name(stem: str, *, columns: Iterable[str], exported_name: str | None, existing: Iterable[str]) -> str:
    """The name the Upload page suggests for a new dataset made from a file whose name (without suffix) is
    ``stem``: a name no dataset of ``existing`` (the names taken) has.

    A Curator export names the dataset it came from: by ``exported_name`` (a Parquet or HF export carries
    it in its metadata), else by its file name, whose slug names a dataset of this workspace when the
    export came from it ("demo-ag-news-1-500-20261124-101500" → "Demo - AG News (1,500)", older
    "Demo_-_AG_News__1_500-…" names too), else the slug itself. Any other file: its name, ``_`` read as
    spaces. A name taken gets the first free number: "Demo - AG News (1,500) (2)" for an export uploaded
    into the workspace it came from (its own name said 'already exists' as soon as the file was read)."""
    existing = list(existing)
    if exported_name and exported_name.strip():
        return free_name(exported_name.strip(), existing)
    if not is_curator_export(list(columns)):
        return free_name(" ".join(stem.replace("_", " ").split()), existing)
    stamped = _STAMPED.match(stem)
    base = stamped.group("name") if stamped else stem
    same = next((name for name in existing if slug(name) == slug(base)), None)
    return free_name(same or " ".join(base.replace("_", " ").split()), existing)


def free_name(name: str, taken: Iterable[str]) -> str:
    """``name``, or when it is taken the first of "``name`` (2)", "``name`` (3)"... that is not, ``name`` cut
    to leave room for the number within a dataset name's length."""
    taken = set(taken)
    if name not in taken:
        return name
    n = 2
    while True:
        suffix = f" ({n})"
        numbered = name[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
        if numbered not in taken:
            return numbered
        n += 1


def neutralize_formula(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate (``=SUM(..)``, ``+1``, ``@cmd``...) gets a leading
    apostrophe (OWASP's advice). A cell that already starts with an apostrophe before such a
    character gets one more, so :func:`restore_formula` undoes it exactly."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_START) or (value[0] == "'" and value[1:2] in (*FORMULA_START, "'")):
        return "'" + value
    return value


def restore_formula(value: Any) -> Any:
    """The inverse of :func:`neutralize_formula` (used when a Curator CSV export is imported)."""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in (*FORMULA_START, "'"):
        return value[1:]
    return value


def is_curation_column(column: str) -> bool:
    """A column an export adds (not an original field of the data)."""
    return column in CURATION_COLUMNS or column == SCHEMA_VERSION_COLUMN or column.startswith(QUESTION_PREFIXES)


def is_curator_export(columns: list[str]) -> bool:
    """A table with Curator's id, label and provenance columns."""
    return {ID_COLUMN, "label", "label_source", "given_label", "excluded"} <= set(columns)


def parse_tags(value: Any) -> list[str]:
    """Tags as exported: a list (JSONL, Parquet) or its JSON text (CSV)."""
    import json

    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [t.strip() for t in value.split(",") if t.strip()]
    return [str(t) for t in value if str(t).strip()]


def parse_time(value: Any) -> str | None:
    """A time as exported (``labeled_at``: ISO 8601, e.g. ``2026-11-24T10:15:00.123+00:00``), kept as written
    so that a round trip gives the same text; None when empty or not a time."""
    if isinstance(value, datetime):  # a reader that parsed it
        return value.isoformat(timespec="milliseconds")
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return value.strip()


def parse_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if value is not None and value == value else False
