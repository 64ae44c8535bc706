"""Image datasets: a folder (a labels CSV, folder-per-class or flat) or a ZIP unpacked safely into one."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from core.errors import InputError
from core.provenance import MANIFEST_FILE_COLUMN, is_curator_export
from core.readers.files import read_table
from core.readers.table import IMAGE_SUFFIXES, TABLE_SUFFIXES, Table
from core.wording import counted, first_few


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on what an uploaded ZIP may unpack to (against ZIP bombs)."""

    max_members: int = 200_000
    max_total_bytes: int = 4 * 1024**3
    max_ratio: float = 200.0  # uncompressed / compressed, per member


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
    (the parent folder is the label; images at the top, next to class folders, are rows without a
    label), else a flat, unlabeled folder."""
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
        # Images the table does not list (often the unlabeled ones): rows without a label, never dropped.
        listed = set(paths)
        extra = [p for p in images if str(p.resolve()) not in listed]
        if extra:
            more = pd.DataFrame({col: [""] * len(extra) for col in frame.columns})
            more[path_col] = [r.as_posix() for r in (p.relative_to(root) for p in extra)]
            frame = pd.concat([frame, more], ignore_index=True)
            paths += [str(p.resolve()) for p in extra]
        frame = frame.drop(columns=["image_path"], errors="ignore")  # where the images were: now here
        frame.insert(0, "image_path", paths)
        notes.append(f"labels from {labels_csv.name} (column '{path_col}')")
        if extra:
            notes.append(f"{counted(len(extra), 'image')} not in {labels_csv.name}: kept, unlabeled")
        return Table(frame, kind="images", base_dir=root, notes=notes, warnings=table.warnings)
    rel = [p.relative_to(root) for p in images]
    loose = sum(len(r.parts) < 2 for r in rel)  # at the top, beside the class folders
    frame = pd.DataFrame({"image_path": [str(p) for p in images], "filename": [str(r) for r in rel]})
    if loose < len(rel):
        frame["label"] = [r.parts[-2] if len(r.parts) >= 2 else "" for r in rel]
        notes.append("folder-per-class: labels from folder names")
        if loose:
            notes.append(f"{counted(loose, 'image')} at the top, outside the class folders: kept, unlabeled")
    else:
        notes.append("flat folder: no labels")
    return Table(frame, kind="images", base_dir=root, notes=notes)


def zip_root(dest: Path) -> tuple[Path, list[str]]:
    """Where an unpacked ZIP's dataset starts, and a note when that was a choice.

    A ZIP made by compressing a folder holds that one folder: a wrapper, whose contents are read (class
    folders, a labels CSV). But a ZIP of one class folder (``frog/*.jpg``) looks the same, and taking it
    for a wrapper lost the class. The rule: a single top folder holding class folders or a table is a
    wrapper; a single top folder holding only images is their class, which a note says, as the way back
    (Label column: none) is on the Upload page. Images at the top beside class folders are unlabeled rows
    (:func:`read_image_folder`)."""
    entries = [p for p in dest.iterdir() if not p.name.startswith(".")]
    if len(entries) != 1 or not entries[0].is_dir():
        return dest, []
    top = entries[0]
    inside = [p for p in top.iterdir() if not p.name.startswith(".")]
    if any(p.is_dir() for p in inside) or any(p.suffix.lower() in {".csv", ".tsv"} for p in inside):
        return top, []
    if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in inside):
        return top, []  # nothing to label: read_image_folder says what is missing
    return dest, [
        f"every image is in one folder, '{top.name}', taken as their class: choose Label column '(none)'"
        " if it is only the folder they were zipped in"
    ]


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
    root, notes = zip_root(dest)
    table = read_image_folder(root, display_name=Path(zip_path).name)
    table.notes.extend(notes + skipped)
    return table
