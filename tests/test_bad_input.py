"""Bad input, table-driven, through the Upload page ("Path on the server") as a user meets it: each
case shows a clear message naming the problem, stores nothing, and the app stays usable (a good file
ingests right after). Lower-level reader cases are in tests/test_readers.py; corrupt, truncated and
decompression-bomb images (row flagged, the rest ingested) in tests/test_ingest.py."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from core.workspace import Workspace
from tests.test_app import app_env, new_app, small_csv  # noqa: F401  (fixture re-used)


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:20], data[20:24] = width.to_bytes(4, "big"), height.to_bytes(4, "big")  # IHDR size, CRC left stale
    return bytes(data)


def write(name: str, content: bytes | str) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        path = root / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return build


def zip_of(name: str, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        path = root / name
        with zipfile.ZipFile(path, "w", compression=compression) as z:
            for member, data in members.items():
                z.writestr(member, data)
        return path

    return build


def many_labels(root: Path) -> Path:
    path = root / "ids_as_labels.csv"
    pd.DataFrame({"text": [f"review number {i} is here" for i in range(10_000)], "label": range(10_000)}).to_csv(
        path, index=False
    )
    return path


def nested_parquet(root: Path) -> Path:
    path = root / "nested.parquet"
    pd.DataFrame({"text": ["a b c d e f"], "meta": [{"k": [1, 2]}]}).to_parquet(path)
    return path


def folder_of_tables(root: Path) -> Path:
    folder = root / "tables"
    folder.mkdir()
    (folder / "train.csv").write_text("text,label\nsome words here,pos\n", encoding="utf-8")
    return folder


GARBAGE = bytes(random.Random(3).randrange(256) for _ in range(8192))
# (case, file builder, message the page must show)
REFUSED = [
    ("empty file", write("empty.csv", b""), "empty"),
    ("whitespace only", write("blank.csv", "  \n\n \n"), "whitespace"),
    ("header only", write("header.csv", "text,label\n"), "no data rows"),
    ("binary garbage named .csv", write("garbage.csv", GARBAGE + b"\x00"), "binary"),
    ("ragged rows", write("ragged.csv", 'text,label\n"a",x\n"b",y,z,w\n"c",x\n'), "different numbers of fields"),
    ("missing file", lambda root: root / "nowhere.csv", "not found"),
    ("10,000 distinct label values", many_labels, "10,000"),
    ("text column all empty", write("no_text.csv", "text,label\n,pos\n,neg\n,pos\n"), "text column"),
    ("JSON that is not JSON lines", write("broken.jsonl", '{"text": "a", "label": "x"}\n{"text": '), "line 2"),
    ("Parquet that is not Parquet", write("fake.parquet", b"PAR1 not really"), "Parquet"),
    ("Excel that is not Excel", write("fake.xlsx", b"PK\x03\x04 broken"), "Excel"),
    ("ZIP bomb", zip_of("bomb.zip", {"a.png": b"\0" * (40 * 1024 * 1024)}, zipfile.ZIP_DEFLATED), "ZIP bomb"),
    ("ZIP with no images", zip_of("docs.zip", {"notes/readme.txt": b"hello"}), "no image files"),
    ("ZIP that is not a ZIP", write("fake.zip", b"PK\x05\x06 nope"), "ZIP"),
    ("folder of tables, no images", folder_of_tables, "give the path of the file itself (e.g. "),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "build", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_bad_file_is_refused_with_a_clear_message_and_nothing_stored(app_env, case, build, message):  # noqa: F811
    path = build(app_env)
    at = new_app().run()
    at.radio(key="upload.kind").set_value("Path on the server").run()
    at.text_input(key="upload.path.0").set_value(str(path)).run()
    assert not at.exception, f"{case}: {at.exception}"
    shown = [e.value for e in at.error]
    assert any(message.lower() in e.lower() for e in shown), f"{case}: {shown}"
    ingest = [b for b in at.button if b.key == "upload.go"]
    if ingest:  # refused at the mapping step: the button must not ingest anything either
        ingest[0].click().run()
        assert not at.exception
    assert Workspace(app_env / "workspace").datasets() == [], f"{case}: something was stored"
    assert not list((app_env / "workspace").rglob("*escape*"))


ACCEPTED = [
    ("UTF-16 text", write("u16.csv", "text,label\nsome words here,pos\nother words there,neg\n".encode("utf-16")), 2),
    ("Latin-1 text", write("latin.csv", "text,label\ncafé crème au lait,pos\nnaïve idea,neg\n".encode("latin-1")), 2),
    ("semicolon delimiter", write("semi.csv", "text;label\nsome words here;pos\nother words there;neg\n"), 2),
    ("all rows identical", write("same.csv", "text,label\n" + "the same sentence again,pos\n" * 5), 5),
    ("nested Parquet columns", nested_parquet, 1),
    (
        "ZIP with traversal entries and non-image files",
        zip_of(
            "mixed.zip",
            {"../../escape.png": _png(8, 8), "cats/a.png": _png(8, 8), "cats/b.png": _png(8, 8), "x.exe": b"MZ"},
        ),
        2,
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "build", "rows"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_odd_but_valid_files_preview_correctly(app_env, case, build, rows):  # noqa: F811
    path = build(app_env)
    at = new_app().run()
    at.radio(key="upload.kind").set_value("Path on the server").run()
    at.text_input(key="upload.path.0").set_value(str(path)).run()
    assert not at.exception and not at.error, f"{case}: {[e.value for e in at.error]}"
    assert at.metric[0].value == f"{rows:,}", f"{case}: {[m.value for m in at.metric]}"
    assert not list(app_env.rglob("escape.png")), "a ZIP entry was written outside the extraction folder"


def test_the_app_stays_usable_after_a_refusal(app_env):  # noqa: F811
    at = new_app().run()
    at.radio(key="upload.kind").set_value("Path on the server").run()
    at.text_input(key="upload.path.0").set_value(str(write("g.csv", GARBAGE + b"\x00")(app_env))).run()
    assert at.error
    good = small_csv(app_env, n=12)
    at.text_input(key="upload.path.0").set_value(str(good)).run()
    assert not at.error and at.metric[0].value == "12"
