"""The values the workspace database stores, and the helpers every module reads and writes them with.

Label sources, job statuses and the dataset record; the name of the first question's field; the time
stamp format; how a multi-label answer is encoded in one text column; and the chunk size that keeps
``IN (...)`` lists under SQLite's limit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

DEFAULT_LABEL_FIELD = "label"
MAX_NAME_CHARS = 100  # a dataset name's most
# SQLite's limit on bound variables is 32766 here; stay far below for IN (...) lists.
CHUNK = 900


class LabelSource(StrEnum):
    ORIGINAL = "original"
    HUMAN = "human"
    AUTO = "auto"
    SUGGESTION_ACCEPTED = "suggestion_accepted"
    BULK = "bulk"


# Model id prefix of the labels the Issues page's auto-fix writes (source "auto", model id
# "label-issues:<run id>"): model-made like the wizard's auto labels, but from another model, so the
# wizard's figures and its audit leave them out; they have an audit of their own (core/audit.py,
# AuditedLabels.ISSUE_FIXES; docs/decisions.md, "Label-issue detection").
ISSUE_FIX_MODEL = "label-issues:"


class JobStatus(StrEnum):
    EMBEDDING = "embedding"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    modality: str
    embedding_model: str
    created_at: str
    version: int
    info: dict[str, Any]
    deleted_at: str | None = None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def chunked(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stored_value(text: str | None) -> str | list[str] | None:
    """A stored label or suggestion as the program uses it: a multi-label answer is kept as a sorted
    JSON list (``'["a", "b"]'``) and comes back as a list; a single class comes back as it is."""
    return json.loads(text) if text is not None and text.startswith("[") else text


def as_classes(value: str | list[str] | None) -> list[str]:
    """The classes of a (decoded) label: a multi-label list, one class, or none."""
    return value if isinstance(value, list) else [] if value is None else [value]


def normalize_label(value: Any) -> str | None:
    """Empty, '-', NaN and None mean unlabeled; anything else is the label text, stripped."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = str(value).strip()
    return None if text in {"", "-", "nan", "NaN", "NAN", "<NA>"} else text


def _dataset(row: sqlite3.Row) -> Dataset:
    return Dataset(
        id=row["id"],
        name=row["name"],
        modality=row["modality"],
        embedding_model=row["embedding_model"],
        created_at=row["created_at"],
        version=row["version"],
        info=json.loads(row["info_json"]),
        deleted_at=row["deleted_at"],
    )


def contains_sql(keyword: str) -> tuple[str, list[Any]]:
    """SQL matching rows whose text (or image path) contains ``keyword``, ignoring case, and its arguments.

    The text is matched as shown (repaired, core/textclean.py) and as the file had it: the text columns of
    the row's fields, named by its own ingest's mapping, so AG News' raw "#39;" is found too (the other
    columns, a label or a note, are not text). A row's fields are looked into only when their JSON holds the
    keyword as JSON writes it, which most rows do not: figures in docs/decisions.md.

    SQLite's LIKE folds ASCII letters only ("PÃO" missed "pão"), so a keyword with other letters compares
    both sides through Python's ``str.casefold`` (the ``casefold`` function every connection registers).
    An ASCII keyword keeps the plain LIKE, the fast path measured in bench/search.py."""
    ascii_only = keyword.isascii()
    needle = keyword if ascii_only else keyword.casefold()

    def folded(column: str) -> str:
        return column if ascii_only else f"casefold({column})"

    like = "LIKE ? ESCAPE '\\'"
    # JSON escapes each character on its own ('"' as '\\"'), so a value holding the keyword holds it escaped.
    in_fields_json = json.dumps(needle, ensure_ascii=False)[1:-1]
    as_filed = (
        f"({folded('rows.fields_json')} {like} AND EXISTS (SELECT 1 FROM jobs, json_each(rows.fields_json) AS"
        " field WHERE jobs.id = rows.job_id AND json_extract(jobs.settings_json, '$.mapping.clean_text')"
        " AND field.key IN (SELECT value FROM json_each(jobs.settings_json, '$.mapping.text_columns'))"
        f" AND {folded('field.value')} {like}))"
    )
    sql = f"({folded('rows.text')} {like} OR {folded('rows.image_path')} {like} OR {as_filed})"
    pattern = _like_pattern(needle)
    return sql, [pattern, pattern, _like_pattern(in_fields_json), pattern]


def _like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE ? ESCAPE '\\'``: the text's own ``%``, ``_`` and backslashes match themselves."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def casefold(value: str | None) -> str | None:
    """``str.casefold`` for SQL (NULL stays NULL)."""
    return value.casefold() if isinstance(value, str) else value
