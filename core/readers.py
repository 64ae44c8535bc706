"""Read a file, an image ZIP or an image folder into one table of strings.

Every reader returns a :class:`Table`: a DataFrame whose cells are strings (so ids like "007"
and labels like "1" stay as written) plus notes on what was detected. Problems raise
:class:`InputError` with a message naming the file and the fix; nothing is stored here.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from core.errors import InputError
from core.provenance import MANIFEST_FILE_COLUMN, is_curator_export
from core.wording import counted, first_few

TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".xlsx"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
UPLOAD_SUFFIXES = TABLE_SUFFIXES | {".zip"}
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


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on what an uploaded ZIP may unpack to (against ZIP bombs)."""

    max_members: int = 200_000
    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0  # uncompressed / compressed, per member


@dataclass
class Table:
    frame: pd.DataFrame
    kind: str  # "table" | "images"
    has_header: bool = True
    encoding: str = "utf-8"
    delimiter: str | None = None
    base_dir: Path | None = None  # image paths are relative to this
    class_names: list[str] | None = None  # from a classes.txt beside the file
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # things the user should act on, shown as warnings


def check_upload_name(name: str) -> None:
    """Refuse an uploaded file the table uploader cannot read, by its extension, with what to do instead.

    The check lives here rather than in the uploader's ``type=`` list: Streamlit's own refusal is a
    red chip whose reason only shows on hover, so the page accepts any file and shows this message.
    """
    suffix = Path(name).suffix.lower()
    if suffix in UPLOAD_SUFFIXES:
        return
    if suffix in IMAGE_SUFFIXES:
        raise InputError(
            f"{name} is a single image; this uploader takes a table or a ZIP. For an image dataset, upload a "
            "ZIP of its folder (one subfolder per class gives the labels), or give the folder under "
            "'Path on the server'."
        )
    kind = f"{suffix} files are" if suffix else "Files without an extension are"
    raise InputError(
        f"{name}: {kind} not accepted. Upload a CSV, TSV, TXT, JSONL, JSON, Parquet or Excel (.xlsx) file, "
        "or a ZIP of images."
    )


# -- tables ---------------------------------------------------------------------------------


def read_table(path: Path, *, has_header: bool | None = None, display_name: str | None = None) -> Table:
    """Read CSV/TSV/TXT, JSONL, Parquet or Excel. ``has_header=None`` detects it for CSV."""
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        raise InputError(f"{name}: file not found.")
    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty (0 bytes).")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        table = _read_parquet(path, name)
    elif suffix == ".xlsx":
        table = _read_excel(path, name)
    elif suffix in {".jsonl", ".ndjson", ".json"}:
        table = _read_jsonl(path, name)
    else:
        table = _read_delimited(path, name, has_header=has_header, tab=suffix == ".tsv")
    if table.frame.empty:
        raise InputError(f"{name} has a header but no data rows.")
    table.class_names = sidecar_class_names(path)
    table.base_dir = path.parent.resolve()  # relative image paths in a table are relative to it
    return table


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


def _is_number(value: str) -> bool:
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
        numeric_share = sum(_is_number(v) for v in nonempty) / len(nonempty)
        if numeric_share > 0.9:
            score += -1 if _is_number(head) else 1
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


def _unique_names(names: list[str]) -> list[str]:
    """``names`` with each repeat renamed ``name_1``, ``name_2``...; a suffix already taken by another
    name is skipped ("text,text,text_1" -> text, text_2, text_1), so no two columns share a name."""
    taken = set(names)
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
    if names != keys:
        repeats.append((obj, [(k, n) for k, n in zip(keys, names, strict=True) if k != n]))
    return obj


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


def _read_parquet(path: Path, name: str) -> Table:
    try:
        import pyarrow.parquet as pq

        given = pq.read_schema(path).names
        if len(set(given)) == len(given):
            return Table(_stringify(pd.read_parquet(path)), kind="table")
        # pandas cannot write repeated column names, but pyarrow (and Spark...) can, and pandas then
        # refuses the file ("Multiple matches for FieldRef"): rename the repeats as a CSV header's.
        names = _unique_names(given)
        arrow = pq.ParquetFile(path).read().rename_columns(names)
        frame = _stringify(arrow.to_pandas(ignore_metadata=True))
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise InputError(f"{name} is not a readable Parquet file ({type(exc).__name__}: {exc}).") from exc
    return Table(frame, kind="table", warnings=[duplicate_columns_warning(given, names)])


def _read_excel(path: Path, name: str) -> Table:
    try:
        # header=None: pandas would rename a repeated header to "text.1" silently (and an empty one to
        # "Unnamed: 2"); the first row is named here as a CSV header is, with the same warning.
        sheet = pd.read_excel(path, sheet_name=0, header=None, dtype=str, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise InputError(f"{name} is not a readable Excel file ({type(exc).__name__}: {exc}).") from exc
    if sheet.empty:
        raise InputError(f"{name}: the first sheet is empty.")
    given = [str(v).strip() if isinstance(v, str) else "" for v in sheet.iloc[0]]
    given = [v or f"column_{i + 1}" for i, v in enumerate(given)]
    names = _unique_names(given)
    frame = _stringify(sheet.iloc[1:].reset_index(drop=True))
    frame.columns = names
    renamed = duplicate_columns_warning(given, names)
    return Table(frame, kind="table", warnings=[renamed] if renamed else [])


def sidecar_class_names(path: Path) -> list[str] | None:
    """AG News style ``classes.txt`` beside the file: line i names class index i (1-based)."""
    candidate = Path(path).with_name("classes.txt")
    if not candidate.is_file():
        return None
    names = [ln.strip() for ln in candidate.read_text(encoding="utf-8", errors="replace").splitlines()]
    names = [n for n in names if n]
    return names or None


# -- images ---------------------------------------------------------------------------------


def safe_extract_zip(zip_path: Path, dest: Path, *, limits: ZipLimits = ZipLimits()) -> list[str]:
    """Extract a ZIP without leaving ``dest`` and within size bounds; returns skipped member notes."""
    name = Path(zip_path).name
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{name} is not a valid ZIP file.") from exc
    skipped: list[str] = []
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > limits.max_members:
            raise InputError(f"{name} has {counted(len(members), 'file')}; the limit is {limits.max_members:,}.")
        total = sum(m.file_size for m in members)
        if total > limits.max_total_bytes:
            raise InputError(
                f"{name} would unpack to {total / 1e9:.1f} GB; the limit is {limits.max_total_bytes / 1e9:.1f} GB."
            )
        dest = dest.resolve()
        for member in members:
            parts = PurePosixPath(member.filename.replace("\\", "/")).parts
            if member.filename.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                skipped.append(f"{member.filename}: path leaves the archive, skipped")
                continue
            if parts and parts[0] == "__MACOSX" or PurePosixPath(member.filename).name.startswith("._"):
                continue
            if member.compress_size and member.file_size / member.compress_size > limits.max_ratio:
                raise InputError(f"{name}: {member.filename} is compressed suspiciously well (a ZIP bomb?).")
            target = (dest / Path(*parts)).resolve()
            if not target.is_relative_to(dest):
                skipped.append(f"{member.filename}: path leaves the archive, skipped")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as out:
                written = 0
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > member.file_size or written > limits.max_total_bytes:
                        raise InputError(f"{name}: {member.filename} is larger than its header says.")
                    out.write(chunk)
    return skipped


def read_image_folder(root: Path, *, display_name: str | None = None) -> Table:
    """Images in a folder: a labels CSV at the top (a path column + label), else folder-per-class
    (the parent folder is the label), else a flat, unlabeled folder."""
    root = Path(root).resolve()
    name = display_name or root.name
    if not root.is_dir():
        raise InputError(f"{name}: no such folder on the server.")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    other = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES | {".csv", ".tsv", ".txt", ".md"}]
    if not images:
        message = f"{name} contains no image files ({', '.join(sorted(IMAGE_SUFFIXES))})."
        # A folder of tables given where the file was meant (e.g. ag_news/ for ag_news/train.csv); .txt
        # files there are mostly readmes and class lists.
        tables = sorted(
            (p.relative_to(root) for p in files if p.suffix.lower() in TABLE_SUFFIXES - {".txt"}),
            key=lambda p: (len(p.parts), str(p)),
        )
        if tables and display_name is None:
            message += (
                f" To load a table, give the path of the file itself (e.g. {root / tables[0]}). Table files here: "
                f"{first_few([str(p) for p in tables])}."
            )
        raise InputError(message)
    notes = [counted(len(images), "image")]
    if other:
        notes.append(f"{counted(len(other), 'non-image file')} ignored (e.g. {other[0].relative_to(root)})")
    labels_csv = _find_labels_csv(root)
    if labels_csv is not None:
        table = read_table(labels_csv)
        frame = table.frame
        # A Curator image export names each image's place in the archive in its manifest's "file" column.
        exported = is_curator_export(list(frame.columns)) and MANIFEST_FILE_COLUMN in frame
        path_col = MANIFEST_FILE_COLUMN if exported else _image_column(frame, root)
        if path_col is None:
            raise InputError(f"{labels_csv.name} has no column of image file names found in {name}.")
        paths = [str((root / p).resolve()) for p in frame[path_col]]  # the column may be image_path itself
        frame = frame.drop(columns=["image_path"], errors="ignore")  # where the images were: now here
        frame.insert(0, "image_path", paths)
        notes.append(f"labels from {labels_csv.name} (column '{path_col}')")
        return Table(frame, kind="images", base_dir=root, notes=notes, warnings=table.warnings)
    rel = [p.relative_to(root) for p in images]
    per_class = all(len(r.parts) >= 2 for r in rel)
    frame = pd.DataFrame({"image_path": [str(p) for p in images], "filename": [str(r) for r in rel]})
    if per_class:
        frame["label"] = [r.parts[-2] for r in rel]
    notes.append("folder-per-class: labels from folder names" if per_class else "flat folder: no labels")
    return Table(frame, kind="images", base_dir=root, notes=notes)


def _find_labels_csv(root: Path) -> Path | None:
    for candidate in sorted(root.glob("*.csv")) + sorted(root.glob("*.tsv")):
        return candidate
    return None


def _image_column(frame: pd.DataFrame, root: Path) -> str | None:
    for col in frame.columns:
        values = [v for v in frame[col].head(20) if v]
        image_like = values and all(PurePosixPath(v).suffix.lower() in IMAGE_SUFFIXES for v in values)
        if image_like and any((root / v).exists() for v in values[:5]):
            return col
    return None


def read_image_zip(zip_path: Path, dest: Path, *, limits: ZipLimits = ZipLimits()) -> Table:
    """Extract a ZIP of images under ``dest`` (inside the workspace) and read it as a folder."""
    skipped = safe_extract_zip(zip_path, dest, limits=limits)
    root = dest
    entries = [p for p in dest.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():  # a ZIP of one top folder
        root = entries[0]
    table = read_image_folder(root, display_name=Path(zip_path).name)
    table.notes.extend(skipped)
    return table
