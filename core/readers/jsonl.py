"""JSON Lines files and JSON arrays of objects; a key an object repeats is kept, renamed, not dropped."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd

from core.errors import InputError
from core.readers.columns import _and_list, _stringify, _unique_names, duplicate_columns_warning
from core.readers.delimited import decode_bytes
from core.readers.table import Table


def _read_jsonl(path: Path, name: str) -> Table:
    text, _ = decode_bytes(path.read_bytes(), name)
    records = []
    # json.loads keeps only the last value of a key an object repeats. Like a CSV header's repeated
    # name, every copy is kept instead, the later ones renamed (text_1): no value is lost, the user
    # picks the column to use in the mapping, and the warning says so in the CSV's words.
    repeats: list[tuple[dict, list[tuple[str, str]]]] = []
    hook = functools.partial(_object_keeping_repeats, repeats=repeats)
    where: dict[int, str] = {}  # id of a top-level object -> where it is, for the warning
    stripped = text.lstrip()
    if stripped.startswith("["):  # a plain JSON array of objects is accepted too
        try:
            records = json.loads(stripped, object_pairs_hook=hook)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}).") from exc
        if isinstance(records, list):
            where = {id(r): f"record {i}" for i, r in enumerate(records, start=1)}
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line, object_pairs_hook=hook))
            except json.JSONDecodeError as exc:
                raise InputError(f"{name}: line {number} is not valid JSON ({exc.msg}).") from exc
            where[id(records[-1])] = f"line {number}"
    if not records:
        raise InputError(f"{name} has no records.")
    if not all(isinstance(r, dict) for r in records):
        raise InputError(f'{name}: every line must be a JSON object like {{"text": ..., "label": ...}}.')
    _rename_across_records(records, repeats, where)
    return Table(
        _stringify(pd.DataFrame.from_records(records)), kind="table", warnings=_repeated_keys_warnings(repeats, where)
    )


def _object_keeping_repeats(
    pairs: list[tuple[str, object]], *, repeats: list[tuple[dict, list[tuple[str, str]]]]
) -> dict:
    """A JSON object as a dict, a repeated key's later values kept under ``key_1``... (as a CSV header's)."""
    keys = [k for k, _ in pairs]
    if len(set(keys)) == len(keys):  # the usual case, kept fast: the hook runs for every object of the file
        return dict(pairs)
    names = _unique_names(keys)
    obj = dict(zip(names, (v for _, v in pairs), strict=True))
    repeats.append((obj, [(k, n) for k, n in zip(keys, names, strict=True) if k != n]))
    obj[_PAIRS] = pairs  # a record's copies are named again once every record's keys are known
    return obj


_PAIRS = object()  # a key no JSON text can hold: a record's pairs as given, until _rename_across_records


def _rename_across_records(
    records: list[dict], repeats: list[tuple[dict, list[tuple[str, str]]]], where: dict[int, str]
) -> None:
    """Name a record's repeated keys so that no copy takes a key another record has: with
    {"text": a, "text": b} on one line and {"text_1": c} on another, the copy is text_2, not a text_1 column
    holding both. Each object renamed its own copies (a nested one keeps those); a record's are named again
    here, the same way in every record."""
    given: set[str] = set()
    for record in records:
        given.update((k for k, _ in record[_PAIRS]) if _PAIRS in record else record)
    for n, (obj, _) in enumerate(repeats):
        pairs = obj.pop(_PAIRS)
        if id(obj) not in where:  # a nested object: its copies stay as it named them
            continue
        names = _unique_names([k for k, _ in pairs], taken=given)
        obj.clear()
        obj.update(zip(names, (v for _, v in pairs), strict=True))
        repeats[n] = (obj, [(k, name) for (k, _), name in zip(pairs, names, strict=True) if k != name])


def _repeated_keys_warnings(repeats: list[tuple[dict, list[tuple[str, str]]]], where: dict[int, str]) -> list[str]:
    """The CSV's duplicate-column warning for keys a record repeats, with where they are ("line 3");
    one more for keys repeated inside a nested object, whose copies are renamed in its JSON text."""
    columns: dict[tuple[str, str], None] = {}
    places: list[str] = []
    nested: dict[tuple[str, str], None] = {}
    for obj, renamed in repeats:
        if id(obj) in where:
            columns.update(dict.fromkeys(renamed))
            places.append(where[id(obj)])
        else:
            nested.update(dict.fromkeys(renamed))
    warnings = []
    if columns:
        message = duplicate_columns_warning([k for k, _ in columns], [n for _, n in columns])
        keys = "The key is" if len({k for k, _ in columns}) == 1 else "The keys are"
        warnings.append(f"{message} {keys} repeated within a JSON object at {_places(places)}.")
    if nested:
        keys = _and_list(list(dict.fromkeys(f"'{k}'" for k, _ in nested)))
        copies = _and_list([f"'{n}'" for _, n in nested])
        warnings.append(f"A nested JSON object repeats {keys}; the later copies are kept as {copies} in its JSON text.")
    return warnings


def _places(places: list[str]) -> str:
    """ "line 3", "lines 3 and 7", "lines 3, 7, 9, 12, 15 and 4 more" (or "record ...")."""
    if len(places) == 1:
        return places[0]
    kind = places[0].split()[0]
    numbers = [p.split()[1] for p in places]
    shown = numbers[:5]
    rest = len(numbers) - len(shown)
    listed = _and_list(shown) if not rest else f"{', '.join(shown)} and {rest:,} more"
    return f"{kind}s {listed}"
