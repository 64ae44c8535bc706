"""Cells and column names the way every table reader gives them: each cell a string, and a repeated
column name renamed (``text_1``) with a warning that says so."""

from __future__ import annotations

import json
from collections.abc import Collection

import pandas as pd


def _unique_names(names: list[str], *, taken: Collection[str] = ()) -> list[str]:
    """``names`` with each repeat renamed ``name_1``, ``name_2``...; a suffix already taken by another
    name (or in ``taken``) is skipped ("text,text,text_1" -> text, text_2, text_1), so no two columns share a name."""
    taken = set(names) | set(taken)
    seen: set[str] = set()
    out = []
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        k = 1
        while f"{name}_{k}" in taken:
            k += 1
        taken.add(f"{name}_{k}")
        out.append(f"{name}_{k}")
    return out


def duplicate_columns_warning(given: list[str], names: list[str]) -> str | None:
    """Which header names appeared more than once and what their later copies are called now:
    "Columns 'text' and 'label' appear twice; the second copies are kept as 'text_1' and 'label_1'."
    None when every name was unique. ``names`` is ``given`` after ``_unique_names``."""
    renamed: dict[str, list[str]] = {}
    for original, name in zip(given, names, strict=True):
        if name != original:
            renamed.setdefault(original, []).append(name)
    if not renamed:
        return None
    quoted = [f"'{n}'" for n in renamed]
    copies = [f"'{n}'" for new in renamed.values() for n in new]
    twice = all(len(new) == 1 for new in renamed.values())
    times = "twice" if twice else "more than once"
    which = "second" if twice else "later"
    if len(renamed) == 1:
        noun, verb, copy = f"Column {quoted[0]}", "appears", "copy is" if len(copies) == 1 else "copies are"
        return f"{noun} {verb} {times}; the {which} {copy} kept as {_and_list(copies)}."
    return f"Columns {_and_list(quoted)} appear {times}; the {which} copies are kept as {_and_list(copies)}."


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _stringify(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells become strings; nested values (lists, dicts) become JSON text."""

    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        if isinstance(v, dict | list | tuple):
            return json.dumps(v, ensure_ascii=False, default=str)
        if hasattr(v, "tolist"):  # numpy arrays from Parquet list columns
            return json.dumps(v.tolist(), ensure_ascii=False, default=str)
        return str(v)

    out = pd.DataFrame({str(c): [cell(v) for v in frame[c].tolist()] for c in frame.columns})
    return out
