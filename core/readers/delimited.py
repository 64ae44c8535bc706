"""Delimited text files (CSV, TSV, TXT): the encoding, the delimiter and whether the first row is a
header are detected, not asked."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pandas as pd

from core.errors import InputError
from core.readers.columns import _unique_names, duplicate_columns_warning
from core.readers.table import Table

SAMPLE_BYTES = 64 * 1024
COMMON_COLUMN_NAMES = {
    "id",
    "text",
    "label",
    "labels",
    "class",
    "category",
    "sentence",
    "title",
    "description",
    "body",
    "content",
    "review",
    "tweet",
    "filepath",
    "file",
    "filename",
    "path",
    "image",
    "image_path",
    "target",
}


def decode_bytes(raw: bytes, name: str) -> tuple[str, str]:
    """Decode as UTF-8 (with or without BOM), UTF-16 with a BOM, else Latin-1; refuse binary."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
    sample = raw[:SAMPLE_BYTES]
    if b"\x00" in sample or _looks_binary(sample):
        raise InputError(f"{name} looks like a binary file, not text. Upload a CSV, TSV, JSONL, Parquet or Excel file.")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _looks_binary(sample: bytes) -> bool:
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return len(sample) > 0 and control / len(sample) > 0.05


def _read_delimited(path: Path, name: str, *, has_header: bool | None, tab: bool) -> Table:
    text, encoding = decode_bytes(path.read_bytes(), name)
    if not text.strip():
        raise InputError(f"{name} contains only whitespace.")
    delimiter = "\t" if tab else _sniff_delimiter(text[:SAMPLE_BYTES])
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        detail = re.sub(r"^Error tokenizing data\. C error: ", "", str(exc)).strip()
        raise InputError(
            f"{name}: rows have different numbers of fields ({detail}). Check the delimiter and quoting."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{name} has no rows.") from exc
    notes = [f"encoding {encoding}", f"delimiter {delimiter!r}"]
    if encoding == "latin-1":
        notes.append("not valid UTF-8: read as Latin-1")
    header = detect_header(frame) if has_header is None else has_header
    warnings = []
    if header:
        given = [str(v).strip() or f"column_{i + 1}" for i, v in enumerate(frame.iloc[0])]
        names = _unique_names(given)
        frame = frame.iloc[1:].reset_index(drop=True)
        frame.columns = names
        if renamed := duplicate_columns_warning(given, names):
            warnings.append(renamed)
    else:
        frame.columns = [f"column_{i + 1}" for i in range(frame.shape[1])]
        notes.append("no header row: columns named column_1, column_2, ...")
    if frame.shape[1] == 1 and len(frame) > 1 and delimiter == ",":
        notes.append("only one column found: if that is wrong, the delimiter may not be a comma")
    return Table(
        frame,
        kind="table",
        has_header=header,
        encoding=encoding,
        delimiter=delimiter,
        notes=notes,
        warnings=warnings,
    )


def _sniff_delimiter(sample: str) -> str:
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;|").delimiter
    except csv.Error:
        sniffed = None
    # The Sniffer can be fooled by quotes around another candidate ('"""|",pos' read as '|'-separated):
    # keep its guess only if it splits every row into the same number (> 1) of fields, else take the
    # candidate that does, with the most fields (a comma on a tie).
    fields = {d: _consistent_fields(lines, d) for d in ",\t;|"}
    if sniffed is not None and fields.get(sniffed, 0) > 1:
        return sniffed
    best = max(fields, key=lambda d: fields[d])  # max keeps the first on a tie: the comma
    if fields[best] > 1:
        return best
    # One column: the first row holds no candidate and every row is one comma field. Texts' own
    # semicolons (tweets' '&quot;') made the guess ';' and the upload was refused as ragged rows.
    if fields[","] == 1 and lines and not any(_split_count(lines[0], d) for d in ",\t;|"):
        return ","
    if sniffed is not None:
        return sniffed
    # Sniffer gives up on quoted commas inside long text; count delimiters outside quotes.
    counts = {d: sum(_split_count(ln, d) for ln in lines) for d in ",\t;|"}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _consistent_fields(lines: list[str], delimiter: str) -> int:
    """Fields per row if ``delimiter`` splits every row of the sample alike (the last may be cut off by
    the sample's end), else 0."""
    try:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
    except csv.Error:
        return 0
    counts = counts[:-1] if len(counts) > 2 else counts
    return counts[0] if counts and len(set(counts)) == 1 else 0


def _split_count(line: str, delimiter: str) -> int:
    try:
        return len(next(csv.reader([line], delimiter=delimiter))) - 1
    except (csv.Error, StopIteration):
        return 0


def is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def detect_header(frame: pd.DataFrame) -> bool:
    """Guess whether the first row names the columns, by how it differs from the rows below."""
    if len(frame) < 2:
        return True
    first = [str(v) for v in frame.iloc[0]]
    rest = frame.iloc[1:201]
    score = 0
    for col, head in zip(frame.columns, first, strict=True):
        values = [str(v) for v in rest[col]]
        nonempty = [v for v in values if v.strip()]
        if not head.strip():
            score -= 1
            continue
        if head.strip().lower() in COMMON_COLUMN_NAMES and head not in set(values):
            score += 2
        if not nonempty:
            continue
        numeric_share = sum(is_number(v) for v in nonempty) / len(nonempty)
        if numeric_share > 0.9:
            score += -1 if is_number(head) else 1
        if head in set(values):
            score -= 1
        if len(head) > 50:
            score -= 1
        mean_len = sum(map(len, nonempty)) / len(nonempty)
        if mean_len > 30 and len(head) <= 30 and re.fullmatch(r"[A-Za-z_][\w .\-/]*", head):
            score += 1
        digit_share = sum(any(c.isdigit() for c in v) for v in nonempty) / len(nonempty)
        if digit_share > 0.9 and not any(c.isdigit() for c in head):
            score += 1
    return score > 0
