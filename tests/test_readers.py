"""Every file in ../shared/data parses whole, with its quirks handled; bad files are refused clearly."""

import os
import random

import pytest

from core.errors import InputError
from core.readers import (
    ZipLimits,
    decode_bytes,
    detect_header,
    read_image_folder,
    read_table,
    safe_extract_zip,
)
from core.schema import build_rows, infer_mapping
from core.textclean import clean_text
from tests.conftest import shared

# file, rows, has header, expected columns picked (text, label), expected class counts (subset)
FILES = [
    (
        "ag_news/test.csv",
        7600,
        False,
        (["column_2", "column_3"], "column_1"),
        {"World": 1900, "Sci/Tech": 1900},
    ),
    (
        "ag_news/train_subset_10k.csv",
        10001,
        True,
        (["description"], "label"),
        {"Sci/Tech": 2538, "World": 2509},
    ),
    (
        "sentiment140/sentiment140_8k.csv",
        8000,
        True,
        (["text"], "label"),
        {"negative": 4000, "positive": 4000},
    ),
    ("sentiment140/sentiment140_100k.csv", 100000, True, (["text"], "label"), {"negative": 50000}),
    ("sentiment140/sentiment140_test_manual_498.csv", 498, True, (["text"], "label"), {"neutral": 139}),
    (
        "sst2/sst2_glue_dev_872.csv",
        872,
        True,
        (["sentence"], "label_name"),
        {"negative": 428, "positive": 444},
    ),
    ("rt_polarity/rt_polarity.csv", 10662, True, (["text"], "label"), {"negative": 5331, "positive": 5331}),
]


@pytest.mark.parametrize(("relative", "n_rows", "header", "columns", "classes"), FILES)
def test_shared_files_parse_whole(relative, n_rows, header, columns, classes):
    table = read_table(shared(relative))
    assert len(table.frame) == n_rows
    assert table.has_header is header
    mapping = infer_mapping(table)
    assert (mapping.text_columns, mapping.label_column) == columns
    rows = build_rows(table, mapping)
    counts = {}
    for row in rows:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    for label, n in classes.items():
        assert counts[label] == n
    assert len({r["source_id"] for r in rows}) == n_rows


def test_ag_news_headerless_one_based_labels_named_from_classes_txt():
    table = read_table(shared("ag_news/test.csv"))
    mapping = infer_mapping(table)
    assert mapping.label_names == ["World", "Sports", "Business", "Sci/Tech"]
    first = build_rows(table, mapping)[0]
    assert first["label"] == "Business"  # class index 3, 1-based
    assert first["text"].startswith("Fears for T N pension after talks\nUnions representing workers")
    assert first["fields"]["column_1"] == "3"  # the original value is kept as written


def test_ag_news_quirks_repaired_in_text_but_kept_in_fields():
    table = read_table(shared("ag_news/test.csv"))
    rows = build_rows(table, infer_mapping(table))
    second = rows[1]
    assert "$10 million" in second["text"] and "#36;" not in second["text"]
    assert "\\" not in second["text"] and "A second team" in second["text"]
    assert "#36;10" in second["fields"]["column_3"]
    texts = [r["text"] for r in rows]
    assert not any("#39;" in t or " quot;" in t for t in texts)
    # Escaped dollars and the feeds' markup are gone too; the originals keep them.
    assert sum("\\$" in t for t in texts) == 0 and sum("<A HREF" in t or "<b>" in t for t in texts) == 0
    assert sum("\\" in t for t in texts) < 0.002 * len(texts)  # a few, by punctuation (":\\" may be a face)
    raw = [r["fields"]["column_3"] for r in rows]
    assert sum("\\$" in t for t in raw) > 100 and sum("&lt;A HREF" in t for t in raw) > 50


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            'Kimberly-Clark Corp. &lt;A HREF="http://x/q?t=KMB.N"&gt;KMB.N&lt;/A&gt; said',
            "Kimberly-Clark Corp. KMB.N said",
        ),
        ("targeting \\$400 million", "targeting $400 million"),
        ('recent years.&lt;br&gt;&lt;FONT face="verdana"&gt;Next', "recent years. Next"),
        ("Search and Images\\\\Yahoo yesterday", "Search and Images Yahoo yesterday"),
        (
            "\\ LONDON (Reuters) - Rite Aid Corp. \\on Thursday, Corp.'s\\ collapse",
            "LONDON (Reuters) - Rite Aid Corp. on Thursday, Corp.'s collapse",
        ),
        ("the agency. \\-The Washington Post", "the agency. -The Washington Post"),
        ("\\\\I decided, swapping?\\ Photo gallery", "I decided, swapping? Photo gallery"),
        # Kept: what only looks like markup or a line break.
        ("List<String> and <KMRT.O> stay", "List<String> and <KMRT.O> stay"),
        ("open C:\\Users\\me\\notes.txt", "open C:\\Users\\me\\notes.txt"),  # Windows paths keep theirs
        ("on \\\\srv\\share\\a b", "on \\\\srv\\share\\a b"),
        ("so the search continues.. :-\\", "so the search continues.. :-\\"),
        (
            "In Hawaii. \\o/. My YM wont sign in /o\\ @x; the \\b regex",
            "In Hawaii. \\o/. My YM wont sign in /o\\ @x; the \\b regex",
        ),
    ],
)
def test_text_repair_cases(raw, clean):
    assert clean_text(raw) == clean


def test_sentiment140_mojibake_and_entities_repaired():
    table = read_table(shared("sentiment140/sentiment140_100k.csv"))
    rows = build_rows(table, infer_mapping(table))
    texts = [r["text"] for r in rows]
    assert sum("Ã©" in t for t in texts) == 0
    assert any("eclético" in t for t in texts)
    assert sum("&quot;" in t or "&amp;" in t for t in texts) == 0
    raw = table.frame["text"].tolist()
    assert sum("&quot;" in t or "&amp;" in t or "&lt;" in t for t in raw) > 5000  # originals untouched


def test_cifar_folder_with_labels_csv():
    table = read_image_folder(shared("cifar10_sample"))
    mapping = infer_mapping(table)
    assert mapping.image_column == "image_path" and mapping.label_column == "label"
    rows = build_rows(table, mapping)
    assert len(rows) == 500 and all(r["modality"] == "image" and "problem" not in r for r in rows)
    assert len({r["content_hash"] for r in rows}) == 500


def test_images_a_labels_csv_leaves_out_are_kept_unlabeled(tmp_path):
    """A labels CSV that lists only the labeled images: the others were dropped without a word
    ("100 rows · 500 images"); they are rows without a label, and the notes say how many."""
    import shutil

    images = sorted(shared("cifar10_sample/images/cat").glob("*.jpg"))[:5]
    for img in images:
        shutil.copy(img, tmp_path / img.name)
    (tmp_path / "labels.csv").write_text(f"file,label\n{images[0].name},cat\n{images[1].name},cat\n")
    table = read_image_folder(tmp_path)
    assert table.frame["image_path"].tolist() == [str((tmp_path / i.name).resolve()) for i in images]
    assert table.frame["file"].tolist() == [i.name for i in images]  # the path column names every image
    rows = build_rows(table, infer_mapping(table))
    assert [r["label"] for r in rows] == ["cat", "cat", None, None, None]
    assert "3 images not in labels.csv: kept, unlabeled" in table.notes
    (tmp_path / "labels.csv").write_text("file,label\n" + "".join(f"{i.name},cat\n" for i in images))
    assert not any("not in labels.csv" in n for n in read_image_folder(tmp_path).notes)  # all listed: no note


@pytest.mark.parametrize(
    ("layout", "labels", "note"),
    [
        # One folder of images: their class (it was taken for a wrapper: "flat folder: no labels").
        ({"frog": 3}, ["frog"] * 3, "every image is in one folder, 'frog', taken as their class"),
        # One folder of class folders, or of images and a labels CSV: a wrapper.
        ({"pets/frog": 2, "pets/cat": 2}, ["cat", "cat", "frog", "frog"], None),
        ({"pets/frog": 2}, ["frog", "frog"], None),
        # Class folders with images beside them: the loose ones are unlabeled (every label was lost).
        ({"frog": 2, "cat": 2, "": 2}, ["", "", "cat", "cat", "frog", "frog"], "2 images at the top, outside the"),
        ({"pets/frog": 2, "pets": 1}, ["", "frog", "frog"], "1 image at the top, outside the class folders"),
        ({"": 2}, None, "flat folder: no labels"),
    ],
)
def test_an_image_zips_folders_are_classes_unless_one_folder_wraps_class_folders(tmp_path, layout, labels, note):
    import zipfile

    from core.readers import read_image_zip

    archive = tmp_path / "images.zip"
    source = iter(sorted(shared("cifar10_sample/images/ship").glob("*.jpg")))
    with zipfile.ZipFile(archive, "w") as z:
        for folder, n in layout.items():
            for i in range(n):
                z.write(next(source), f"{folder}/{i}.jpg" if folder else f"loose_{i}.jpg")
    table = read_image_zip(archive, tmp_path / "unpacked")
    mapping = infer_mapping(table)
    assert mapping.label_column == ("label" if labels else None)
    if labels:
        assert sorted(table.frame["label"]) == labels
    assert note is None or any(n.startswith(note) for n in table.notes), table.notes
    rows = build_rows(table, mapping)
    assert sum(r["label"] is not None for r in rows) == sum(bool(v) for v in labels or [])


def test_a_zip_of_one_folder_with_a_labels_csv_reads_the_csv(tmp_path):
    import zipfile

    from core.readers import read_image_zip

    images = sorted(shared("cifar10_sample/images/cat").glob("*.jpg"))[:3]
    archive = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for img in images:
            z.write(img, f"data/{img.name}")
        z.writestr("data/labels.csv", f"file,label\n{images[0].name},cat\n")
    table = read_image_zip(archive, tmp_path / "unpacked")
    assert table.base_dir.name == "data" and "labels from labels.csv (column 'file')" in table.notes
    assert sorted(table.frame["label"]) == ["", "", "cat"]


def test_latin1_fallback_and_utf16(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncafé crème,pos\nnaïve,neg\n".encode("latin-1"))
    table = read_table(latin)
    assert table.encoding == "latin-1"
    assert table.frame["text"].tolist() == ["café crème", "naïve"]
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes("text,label\nhello there,pos\n".encode("utf-16"))
    assert read_table(utf16).frame["text"].tolist() == ["hello there"]


def test_tsv_jsonl_parquet_excel(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {"id": ["a1", "a2", "a3"], "text": ["one fine text", "two more", "three"], "label": ["x", "", "-"]}
    )
    frame.to_csv(tmp_path / "f.tsv", sep="\t", index=False)
    frame.to_json(tmp_path / "f.jsonl", orient="records", lines=True)
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_excel(tmp_path / "f.xlsx", index=False)
    for name in ["f.tsv", "f.jsonl", "f.parquet", "f.xlsx"]:
        table = read_table(tmp_path / name)
        mapping = infer_mapping(table)
        assert mapping.id_column == "id", name
        rows = build_rows(table, mapping)
        assert [r["source_id"] for r in rows] == ["a1", "a2", "a3"]
        assert [r["label"] for r in rows] == ["x", None, None], name  # '' and '-' are unlabeled


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "whitespace"),
        (b"text,label\n", "no data rows"),
        (bytes(random.Random(1).randrange(256) for _ in range(4096)) + b"\x00", "binary"),
        (b'text,label\n"a",1\n"b",2,3,4\n"c",3\n', "different numbers of fields"),
    ],
)
def test_bad_files_get_clear_messages(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_table(path)


def test_a_one_column_file_whose_texts_hold_semicolons_reads_as_one_column(tmp_path):
    """Tweets with HTML entities (sentiment140's text column alone): the Sniffer guessed ';' from the
    entities' semicolons and the upload was refused as "rows have different numbers of fields"."""
    path = tmp_path / "tweets.csv"
    path.write_text(
        "text\nMy head hurts. \nThis sucks! :@ Power came back after 2 hours\n"
        "Just bought Lady Gaga's &quot;Paparazzi&quot; ringtone  LOVE THE SONG!\n"
        '"Nighty night, loves "\nfish &amp; chips &amp; peas\n'
    )
    table = read_table(path)
    assert table.delimiter == "," and list(table.frame.columns) == ["text"]
    assert table.frame["text"].tolist()[2:4] == [
        "Just bought Lady Gaga's &quot;Paparazzi&quot; ringtone  LOVE THE SONG!",
        "Nighty night, loves ",
    ]


def test_duplicate_column_names_are_renamed_with_a_warning(tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("text,text,label,label\na long first sentence,another one,pos,neg\nmore words,here,neg,pos\n")
    table = read_table(path, has_header=True)
    assert list(table.frame.columns) == ["text", "text_1", "label", "label_1"]
    assert table.warnings == [
        "Columns 'text' and 'label' appear twice; the second copies are kept as 'text_1' and 'label_1'."
    ]
    path.write_text("text,text,text,label\na,b,c,pos\n")
    assert read_table(path, has_header=True).warnings == [
        "Column 'text' appears more than once; the later copies are kept as 'text_1' and 'text_2'."
    ]
    path.write_text("text,label\na long first sentence,pos\n")
    assert read_table(path, has_header=True).warnings == []


def test_a_repeated_name_never_collides_with_a_given_one(tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("text,text,text_1\na,b,c\n")
    table = read_table(path, has_header=True)
    assert list(table.frame.columns) == ["text", "text_2", "text_1"]
    assert table.frame.iloc[0].tolist() == ["a", "b", "c"]
    assert table.warnings == ["Column 'text' appears twice; the second copy is kept as 'text_2'."]


def test_excel_duplicate_headers_are_renamed_with_the_csv_warning(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in [
        ["text", "text", "label", None],
        ["a long first sentence", "another one", "pos", "x"],
        ["b", "c", "neg", ""],
    ]:
        sheet.append(row)
    book.save(tmp_path / "dupes.xlsx")
    table = read_table(tmp_path / "dupes.xlsx")
    # As a CSV header: the second copy is text_1 (pandas alone says text.1, silently), an empty name column_4.
    assert list(table.frame.columns) == ["text", "text_1", "label", "column_4"]
    assert table.frame["text_1"].tolist() == ["another one", "c"]
    assert table.warnings == ["Column 'text' appears twice; the second copy is kept as 'text_1'."]
    sheet.delete_cols(2)
    book.save(tmp_path / "unique.xlsx")
    assert read_table(tmp_path / "unique.xlsx").warnings == []


def test_jsonl_repeated_keys_keep_every_value_with_the_csv_warning(tmp_path):
    path = tmp_path / "dupes.jsonl"
    path.write_text(
        '{"text": "first", "label": "pos", "text": "second"}\n'
        '{"text": "plain", "label": "neg"}\n'
        "\n"
        '{"text": "a", "text": "b", "text": "c", "label": "pos", "meta": {"k": 1, "k": 2}}\n'
    )
    table = read_table(path)
    assert list(table.frame.columns) == ["text", "label", "text_1", "text_2", "meta"]
    assert table.frame["text"].tolist() == ["first", "plain", "a"]
    assert table.frame["text_1"].tolist() == ["second", "", "b"]
    assert table.frame["text_2"].tolist() == ["", "", "c"]
    assert table.frame["meta"].tolist() == ["", "", '{"k": 1, "k_1": 2}']
    assert table.warnings == [
        "Column 'text' appears more than once; the later copies are kept as 'text_1' and 'text_2'."
        " The key is repeated within a JSON object at lines 1 and 4.",
        "A nested JSON object repeats 'k'; the later copies are kept as 'k_1' in its JSON text.",
    ]
    array = tmp_path / "dupes.json"
    array.write_text('[{"text": "x", "label": "pos"}, {"text": "y", "label": "neg", "label": "pos"}]')
    assert read_table(array).frame["label_1"].tolist() == ["", "pos"]
    assert read_table(array).warnings == [
        "Column 'label' appears twice; the second copy is kept as 'label_1'."
        " The key is repeated within a JSON object at record 2."
    ]
    path.write_text('{"text": "a", "label": "pos"}\n')
    assert read_table(path).warnings == []
    # A copy never takes a key another record has: the text_1 column holds only that key's values.
    path.write_text('{"text": "a", "text": "b"}\n{"text": "c", "text_1": "d"}\n')
    table = read_table(path)
    assert table.frame.to_dict("list") == {"text": ["a", "c"], "text_2": ["b", ""], "text_1": ["", "d"]}
    assert table.warnings == [
        "Column 'text' appears twice; the second copy is kept as 'text_2'."
        " The key is repeated within a JSON object at line 1."
    ]


def test_parquet_duplicate_names_written_by_pyarrow_are_renamed_with_the_csv_warning(tmp_path):
    # pandas refuses to write repeated names, but pyarrow (or Spark) writes them, and pandas then
    # cannot read the file ("Multiple matches for FieldRef").
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = [pa.array(["one text", "two"]), pa.array(["other", "more"]), pa.array(["pos", "neg"])]
    pq.write_table(pa.table(columns, names=["text", "text", "label"]), tmp_path / "dupes.parquet")
    table = read_table(tmp_path / "dupes.parquet")
    assert list(table.frame.columns) == ["text", "text_1", "label"]
    assert table.frame["text_1"].tolist() == ["other", "more"]
    assert table.warnings == ["Column 'text' appears twice; the second copy is kept as 'text_1'."]


def test_header_detection():
    import pandas as pd

    with_header = pd.DataFrame(
        [["text", "label"], ["a long sentence about things", "pos"], ["more words here too", "neg"]]
    )
    without = pd.DataFrame([["3", "Some title", "A long description of the news item"], ["1", "T", "Another one here"]])
    assert detect_header(with_header) is True
    assert detect_header(without) is False


def test_decode_refuses_binary():
    with pytest.raises(InputError, match="binary"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "x.csv")


def test_zip_extraction_blocks_traversal_and_bombs(tmp_path):
    import zipfile

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../escape.txt", "x")
        z.writestr("ok/a.txt", "fine")
    dest = tmp_path / "out"
    dest.mkdir()
    skipped = safe_extract_zip(evil, dest)
    assert any("escape" in s for s in skipped)
    assert not (tmp_path / "escape.txt").exists() and (dest / "ok" / "a.txt").exists()

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(InputError, match="ZIP bomb"):
        safe_extract_zip(bomb, tmp_path / "out2")
    with pytest.raises(InputError, match="limit"):
        safe_extract_zip(evil, tmp_path / "out3", limits=ZipLimits(max_members=1))


def test_nested_parquet_columns_become_json_text(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"text": ["a text here", "another text"], "meta": [{"k": 1}, {"k": 2}], "tags": [[1, 2], [3]]})
    frame.to_parquet(tmp_path / "n.parquet")
    table = read_table(tmp_path / "n.parquet")
    assert table.frame["meta"].tolist() == ['{"k": 1}', '{"k": 2}']
    assert table.frame["tags"].tolist() == ["[1, 2]", "[3]"]


def test_file_not_found(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / os.urandom(4).hex())


def test_a_labels_file_whose_image_column_is_image_path_reads_as_a_folder(tmp_path):
    """An export (image_path relative to the image root) put in the image folder: the folder reads."""
    import shutil

    for cls in ["cat", "dog"]:
        (tmp_path / cls).mkdir()
        for img in sorted(shared(f"cifar10_sample/images/{cls}").glob("*.jpg"))[:2]:
            shutil.copy(img, tmp_path / cls / img.name)
    files = sorted(f"{p.parent.name}/{p.name}" for p in tmp_path.rglob("*.jpg"))
    (tmp_path / "curated.csv").write_text("image_path,label\n" + "".join(f"{f},{f[:3]}\n" for f in files))
    table = read_image_folder(tmp_path)
    assert table.frame["image_path"].tolist() == [str(tmp_path / f) for f in files]
    assert table.frame["label"].tolist() == ["cat", "cat", "dog", "dog"]
    # A repeated name in the labels file is warned about as in any CSV.
    (tmp_path / "curated.csv").write_text("image_path,label,label\n" + "".join(f"{f},{f[:3]},x\n" for f in files))
    assert read_image_folder(tmp_path).warnings == [
        "Column 'label' appears twice; the second copy is kept as 'label_1'."
    ]


def test_an_empty_label_column_is_not_picked_as_the_label(tmp_path):
    # AG News with its class column blanked in every row: unlabeled, not "no labels in any row".
    lines = shared("ag_news/test.csv").read_text(encoding="utf-8").splitlines()[:400]
    path = tmp_path / "unlabeled.csv"
    path.write_text("\n".join('""' + line[line.index(",") :] for line in lines) + "\n", encoding="utf-8")
    table = read_table(path)
    mapping = infer_mapping(table)
    assert mapping.label_column is None
    assert mapping.text_columns == ["column_2", "column_3"]
    rows = build_rows(table, mapping)
    assert len(rows) == 400 and all(r["label"] is None for r in rows)


def test_a_folder_of_tables_given_as_an_image_folder_says_to_give_the_file():
    with pytest.raises(InputError) as refused:
        read_image_folder(shared("ag_news"))
    message = str(refused.value)
    assert "contains no image files" in message
    assert f"give the path of the file itself (e.g. {shared('ag_news/test.csv').resolve()})" in message
    assert "Table files here: test.csv; train_subset_10k.csv." in message
