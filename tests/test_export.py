"""Exports: every format read back, formula injection, filtered rows, chunking, and the round trip
export → import that restores labels, tags and exclusions exactly."""

import json
import time
import zipfile

import numpy as np
import pandas as pd
import pytest

from core import export as export_module
from core.errors import InputError
from core.export import Format, RowSet, export_columns, export_dataset, preview
from core.history import acting_as
from core.ingest import load_source, start_ingest
from core.provenance import CURATION_COLUMNS, neutralize_formula, restore_formula
from core.readers import Table
from core.schema import infer_mapping
from core.search import Filters
from core.store import LabelSource
from tests.conftest import DEMO, shared

MODEL = "supervised:3fa2c1d4e5f6"  # a wizard run's model id: the labeler, then the run

RISKY = ['=HYPERLINK("http://x","click")', "+1 555 0100 call now", "-5 stars, awful", "@admin do this", "'=kept"]


@pytest.fixture
def curated(ws):
    """120 AG News rows (with the file's own `label` column) stored without embedding, then curated:
    a few relabeled by a person, auto-labeled, suggested, tagged, excluded; some texts risky in a
    spreadsheet."""
    frame = pd.read_csv(shared("ag_news/train_subset_10k.csv"), keep_default_na=False).head(120)
    frame.loc[: len(RISKY) - 1, "description"] = RISKY
    frame.loc[100:, "label"] = ""  # 20 rows came unlabeled
    table = Table(frame, kind="table")
    job = start_ingest(ws, table, infer_mapping(table), "news", source="news.csv")
    assert job
    ds = ws.dataset("news")
    ids = ws.store.row_ids(ds.id)
    with acting_as("ana"), ws.batch(ds.id, action="t", description="curate") as b:
        b.set_label(ids[5:8], "Sports", source=LabelSource.HUMAN)
        auto = {ids[100]: ("World", 0.97), ids[101]: ("Business", 0.91)}
        b.set_predictions(auto, model_id=MODEL, as_suggestion=False)
        b.set_predictions({ids[102]: ("Sci/Tech", 0.55)}, model_id=MODEL, as_suggestion=True)
        b.set_tag(ids[8:12], "needs-review")
        b.set_tag(ids[9:10], "checked, twice")
        b.set_excluded(ids[12:15], True)
    return ws, ds, ids


def state(ws, dataset_id):
    """Every row's curation, by source id, plus its text and original fields."""
    with ws.store.connect() as conn:
        rows = conn.execute(
            "SELECT rows.id, rows.source_id, rows.text, rows.fields_json, rows.excluded, labels.given, labels.value,"
            " labels.source, labels.confidence, labels.model_id, labels.suggested, labels.suggested_by FROM rows"
            " LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = 'label' WHERE rows.dataset_id = ?",
            (dataset_id,),
        ).fetchall()
        tags = {}
        for row_id, tag in conn.execute("SELECT row_id, tag FROM tags"):
            tags.setdefault(row_id, set()).add(tag)
    return {
        r["source_id"]: (
            r["text"],
            json.loads(r["fields_json"]),
            bool(r["excluded"]),
            r["given"],
            r["value"],
            r["source"],
            r["confidence"],
            r["model_id"],
            r["suggested"],
            r["suggested_by"],
            frozenset(tags.get(r["id"], set())),
        )
        for r in rows
    }


def test_formula_guard_is_exactly_undone():
    for value in [*RISKY, "plain", "", "'", "''=x", "'x", "\tTab", "\rCR", 5, None]:
        guarded = neutralize_formula(value)
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert guarded == "'" + value
        assert restore_formula(guarded) == value


def blank(value) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value))


def read_back(path, fmt):
    if fmt is Format.CSV:
        return pd.read_csv(path, keep_default_na=False, dtype=str)
    if fmt is Format.JSONL:
        return pd.read_json(path, lines=True, dtype=False)
    if fmt is Format.PARQUET:
        return pd.read_parquet(path)
    return pd.read_parquet(path / "data" / "train-00000-of-00001.parquet")


@pytest.mark.parametrize("fmt", [Format.CSV, Format.JSONL, Format.PARQUET, Format.HF])
def test_each_format_reads_back_with_every_column(curated, tmp_path, fmt, monkeypatch):
    ws, ds, ids = curated
    monkeypatch.setattr(export_module, "CHUNK_ROWS", 7)  # many chunks, some with all-null columns
    seen = []
    result = export_dataset(ws, ds.id, tmp_path / f"out.{fmt}", fmt=fmt, progress=lambda f, m: seen.append(f))
    assert result.rows == 120 and seen[-1] == 1.0 and len(seen) == 18
    back = read_back(result.path, fmt)
    assert list(back.columns) == ["description", "original_label", *CURATION_COLUMNS, "schema_version"]
    assert {str(v) for v in back["schema_version"]} == {"1"}  # the label schema the export follows
    assert len(back) == 120 and back["curator_id"].tolist() == [str(i) for i in range(1, 121)]
    row = back.iloc[100]
    assert row["label"] == "World" and row["label_source"] == "auto" and row["model_id"] == MODEL
    assert float(row["confidence"]) == pytest.approx(0.97)
    assert back.iloc[102]["suggested_label"] == "Sci/Tech" and blank(back.iloc[102]["label"])
    assert back.iloc[102]["suggested_by"] == MODEL and blank(back.iloc[100]["suggested_by"])  # the suggestion's model
    tags = back.iloc[9]["tags"]
    tags = json.loads(tags) if isinstance(tags, str) else list(tags)
    assert tags == ["checked, twice", "needs-review"]
    assert str(back.iloc[12]["excluded"]) in ("True", "true") and str(back.iloc[0]["excluded"]) in ("False", "false")
    assert str(back.iloc[8]["needs_review"]) in ("True", "true")
    if fmt is Format.CSV:
        assert back["description"].tolist()[:5] == [
            "'" + RISKY[0],
            "'" + RISKY[1],
            "'" + RISKY[2],
            "'" + RISKY[3],
            "''=kept",
        ]
    else:  # lossless
        assert back["description"].tolist()[:5] == RISKY
    if fmt is Format.HF:
        datasets = pytest.importorskip("datasets")
        loaded = datasets.load_dataset(str(result.path), split="train")
        assert loaded.num_rows == 120 and loaded[100]["label"] == "World"


@pytest.mark.parametrize("fmt", [Format.CSV, Format.JSONL, Format.PARQUET])
def test_round_trip_restores_labels_tags_and_exclusions_exactly(curated, tmp_path, fmt):
    ws, ds, _ = curated
    result = export_dataset(ws, ds.id, tmp_path / f"export.{fmt}", fmt=fmt)
    table = load_source(ws, result.path)
    mapping = infer_mapping(table)
    assert mapping.restore_curation and mapping.label_column == "label" and mapping.id_column == "curator_id"
    assert mapping.text_columns == ["description"]
    with acting_as("ivan"):  # who imports is not who labeled
        start_ingest(ws, table, mapping, f"reimported {fmt}", source=result.path.name)
    again = ws.dataset(f"reimported {fmt}")
    assert state(ws, again.id) == state(ws, ds.id)
    assert set(ws.store.classes(again.id)) == set(ws.store.classes(ds.id))

    # And exporting the re-imported dataset gives the same file, who labeled each row and when included;
    # only batch_id differs: a batch of the first dataset's History, empty once imported.
    first = read_back(result.path, fmt)
    assert set(first["labeled_by"][5:8]) == {"ana"} and blank(first["labeled_by"][0])  # a person's; the file's
    second = export_dataset(ws, again.id, tmp_path / f"second.{fmt}", fmt=fmt)
    pd.testing.assert_frame_equal(first.drop(columns="batch_id"), read_back(second.path, fmt).drop(columns="batch_id"))


def test_an_imported_labels_maker_and_time_are_the_files_until_it_changes_here(curated, tmp_path):
    """Imported again, a person's label still names that person and time, not the importer (labeled_by was
    empty, labeled_at the import's time); a change made after the import names whoever made it."""
    ws, ds, ids = curated
    exported = read_back(export_dataset(ws, ds.id, tmp_path / "first.csv", fmt="csv").path, Format.CSV)
    table = load_source(ws, tmp_path / "first.csv")
    with acting_as("ivan"):
        start_ingest(ws, table, infer_mapping(table), "again", source="first.csv")
    again = ws.dataset("again").id
    moved = ws.store.row_ids(again)[6]
    time.sleep(0.01)  # stamps have millisecond precision
    with acting_as("ben"), ws.batch(again, action="bulk_label", description="relabel one") as b:
        b.set_label([moved], "World", source=LabelSource.HUMAN, overwrite=True)
    back = read_back(export_dataset(ws, again, tmp_path / "second.csv", fmt="csv").path, Format.CSV)
    assert list(back["labeled_by"][4:9]) == ["", "ana", "ben", "ana", ""]  # the file's own labels: nobody's
    assert back["labeled_at"][5] == exported["labeled_at"][5] and back["labeled_at"][0] == exported["labeled_at"][0]
    assert back["labeled_at"][6] > exported["labeled_at"][6]
    assert "ivan" not in set(back["labeled_by"])


def test_an_older_workspace_gets_the_labels_maker_column_and_an_undone_append_keeps_it(curated, tmp_path):
    """A workspace made before labels had labeled_by gets it, in its archive of an undone append's rows too
    (rows move there whole, column by column); an appended export's makers leave with the undo and come
    back with the redo."""
    import sqlite3

    from core.history import history
    from core.ingest import mark_paused
    from core.store import Store

    ws, ds, _ = curated
    path = ws.store.path
    with sqlite3.connect(path) as conn:
        for table in ("labels", "removed_labels"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN labeled_by")
    Store(path)
    with sqlite3.connect(path) as conn:
        columns = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in ("labels", "removed_labels")}
    assert columns["labels"] == columns["removed_labels"] and columns["labels"][-1] == "labeled_by"

    export_dataset(ws, ds.id, tmp_path / "news.csv", fmt="csv")
    news = pd.read_csv(shared("ag_news/train_subset_10k.csv"), keep_default_na=False)
    other = Table(news.iloc[200:203].reset_index(drop=True).assign(id=["t1", "t2", "t3"]), kind="table")
    start_ingest(ws, other, infer_mapping(other), "target", source="other.csv")
    target = ws.dataset("target").id
    table = load_source(ws, tmp_path / "news.csv")
    mark_paused(ws, start_ingest(ws, table, infer_mapping(table), "target", source="news.csv", append=True))

    def makers() -> list[str]:
        back = read_back(export_dataset(ws, target, tmp_path / "target.csv", fmt="csv").path, Format.CSV)
        return sorted(set(back["labeled_by"]) - {""})

    assert makers() == ["ana"]
    undone = ws.undo(next(b for b in history(ws.store, target) if b.action == "ingest").id)
    assert makers() == []
    ws.undo(undone.batch_id)
    assert makers() == ["ana"]


@pytest.mark.parametrize("given", ["folder", "zip"])
def test_a_hugging_face_export_imports_again_as_a_folder_or_as_its_zip(curated, tmp_path, given):
    """The HF export is a folder on the server and, downloaded, a ZIP of it (a top folder holding README.md
    and data/train-*.parquet): either, given to the Upload page, is read as its Parquet table (the ZIP was
    refused as 'contains no image files')."""
    import zipfile

    ws, ds, _ = curated
    folder = export_dataset(ws, ds.id, tmp_path / "hf", fmt=Format.HF).path
    source = folder
    if given == "zip":  # as the Export page's download packs it
        source = tmp_path / "hf.zip"
        with zipfile.ZipFile(source, "w") as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    archive.write(file, f"{folder.name}/{file.relative_to(folder)}")
    table = load_source(ws, source)
    assert any("Hugging Face" in note for note in table.notes)
    mapping = infer_mapping(table)
    assert mapping.restore_curation and mapping.id_column == "curator_id"
    start_ingest(ws, table, mapping, f"from hf {given}", source=source.name)
    again = ws.dataset(f"from hf {given}")
    assert state(ws, again.id) == state(ws, ds.id)


def test_row_choice_columns_and_preview(curated, tmp_path):
    ws, ds, ids = curated
    labeled = export_dataset(ws, ds.id, tmp_path / "labeled.csv", fmt="csv", rows=RowSet.LABELED)
    assert labeled.rows == 100 - 3 + 2  # 100 came labeled, 3 of them excluded; 2 auto-labeled later
    kept = export_dataset(ws, ds.id, tmp_path / "kept.jsonl", fmt="jsonl", rows=RowSet.NOT_EXCLUDED)
    assert kept.rows == 117
    sports = export_dataset(
        ws,
        ds.id,
        tmp_path / "sports.parquet",
        fmt="parquet",
        rows=RowSet.FILTERED,
        filters=Filters(labels=["Sports"], excluded=None),
        columns=["curator_id", "description", "label"],
    )
    back = pd.read_parquet(sports.path)
    assert list(back.columns) == ["description", "curator_id", "label"]  # export order, not request order
    assert set(back["label"]) == {"Sports"} and len(back) == sports.rows > 3
    head, total = preview(ws, ds.id, rows=RowSet.NOT_EXCLUDED, n=5)
    assert total == 117 and len(head) == 5 and list(head.columns) == export_columns(ws, ds.id)

    with pytest.raises(InputError, match="No rows to export"):
        export_dataset(ws, ds.id, tmp_path / "none.csv", fmt="csv", rows=RowSet.FILTERED, filters=Filters(labels=["x"]))
    with pytest.raises(InputError, match="Unknown export format"):
        export_dataset(ws, ds.id, tmp_path / "x.xml", fmt="xml")
    with pytest.raises(InputError, match="ZIP export holds images"):
        export_dataset(ws, ds.id, tmp_path / "x.zip", fmt="zip")
    with pytest.raises(InputError, match="No column nope"):
        export_dataset(ws, ds.id, tmp_path / "x.csv", fmt="csv", columns=["nope"])
    assert not list(tmp_path.glob("none.csv*")) and not list(tmp_path.glob(".*partial"))


def test_image_zip_has_a_folder_per_class_and_a_manifest(ws, tmp_path):
    table = load_source(ws, DEMO / "cifar10_200" / "labels.csv")
    start_ingest(ws, table, infer_mapping(table), "images", source="labels.csv")
    ds = ws.dataset("images")
    ids = ws.store.row_ids(ds.id)
    with ws.batch(ds.id, action="t", description="fix") as b:
        b.set_label(ids[:1], "ship", source=LabelSource.HUMAN)
        b.set_excluded(ids[1:2], True)
    result = export_dataset(ws, ds.id, tmp_path / "images.zip", fmt=Format.ZIP, rows=RowSet.NOT_EXCLUDED)
    with zipfile.ZipFile(result.path) as archive:
        names = archive.namelist()
        manifest = pd.read_csv(archive.open("manifest.csv"), keep_default_na=False, dtype=str)
    assert len(manifest) == result.rows == 199
    files = [f for f in manifest["file"] if f]
    assert len(files) == 199 and set(files) <= set(names)
    for label, file in zip(manifest["label"], manifest["file"], strict=True):
        assert file.split("/")[1] == (label or "_unlabeled")
    assert manifest.iloc[0]["label"] == "ship" and manifest.iloc[0]["label_source"] == "human"


def test_issue_scores_are_exported_when_a_run_exists(curated, tmp_path, minilm):
    from core.ingest import run_ingest
    from core.issues import find_issues

    ws, ds, _ = curated
    job = ws.store.connect  # the fixture stored rows only: embed them now for the issue checks
    assert job
    with ws.store.connect() as conn:
        job_id = conn.execute("SELECT id FROM jobs WHERE dataset_id = ?", (ds.id,)).fetchone()[0]
    run_ingest(ws, job_id, minilm)
    report = find_issues(ws, ds.id)
    back = pd.read_parquet(export_dataset(ws, ds.id, tmp_path / "scored.parquet", fmt="parquet").path)
    checked = back[~back["excluded"]]
    assert checked["outlier_score"].notna().all() and back["is_near_duplicate"].notna().sum() == report.n_rows
    given = checked["label"].notna() & (checked["label_source"] != "auto")  # auto labels are not checked
    labeled = checked[given]
    assert labeled["label_issue_score"].notna().all()
    assert checked[checked["label_source"] == "auto"]["label_issue_score"].isna().all()
    assert int(back["is_label_issue"].fillna(False).sum()) == report.counts()["label"]
    assert np.isclose(labeled["label_issue_score"].min(), np.nanmin(report.arrays["label_score"]))


def test_image_zip_round_trip_restores_labels_tags_and_exclusions(ws, tmp_path):
    table = load_source(ws, DEMO / "cifar10_200" / "labels.csv")
    start_ingest(ws, table, infer_mapping(table), "images", source="labels.csv")
    ds = ws.dataset("images")
    ids = ws.store.row_ids(ds.id)
    with ws.batch(ds.id, action="t", description="curate") as b:
        b.set_label(ids[:3], "ship", source=LabelSource.HUMAN)
        b.set_tag(ids[3:5], "needs-review")
        b.set_excluded(ids[5:7], True)
    result = export_dataset(ws, ds.id, tmp_path / "all.zip", fmt=Format.ZIP)
    again_table = load_source(ws, result.path)
    mapping = infer_mapping(again_table)
    assert mapping.restore_curation and mapping.image_column == "image_path"
    start_ingest(ws, again_table, mapping, "images again", source="all.zip")
    again = ws.dataset("images again")

    def curation(dataset_id):
        return {
            k: v[2:]
            for k, v in state(ws, dataset_id).items()  # not the text/fields: the images moved
        }

    assert curation(again.id) == curation(ds.id)
    moved = ws.store.rows_by_ids(ws.store.row_ids(again.id)[:3])
    assert all(str(ws.media_dir) in r["image_path"] and r["image_path"].endswith(".jpg") for r in moved)


def class_folders(tmp_path, per_class: int = 3):
    """Real CIFAR images from ../shared/data copied into class folders under tmp_path/photos."""
    import shutil

    root = tmp_path / "photos"
    for cls in ["airplane", "dog", "frog"]:
        (root / cls).mkdir(parents=True)
        for img in sorted(shared(f"cifar10_sample/images/{cls}").glob("*.jpg"))[:per_class]:
            shutil.copy(img, root / cls / img.name)
    return root


def test_hf_export_of_images_holds_the_images_and_paths_are_relative_to_the_image_root(ws, tmp_path):
    datasets = pytest.importorskip("datasets")
    root = class_folders(tmp_path)
    table = load_source(ws, root)
    start_ingest(ws, table, infer_mapping(table), "photos", source="photos")
    ds = ws.dataset("photos")
    result = export_dataset(ws, ds.id, tmp_path / "hf", fmt=Format.HF)
    assert "`image` is a `datasets.Image` column" in (result.path / "README.md").read_text()
    loaded = datasets.load_dataset(str(result.path), split="train")
    assert isinstance(loaded.features["image"], datasets.Image)
    first = loaded[0]
    assert first["image"].size == (32, 32) and first["label"] == "airplane"
    first_file = sorted(p.name for p in (root / "airplane").iterdir())[0]
    assert first["image_path"] == first["filename"] == f"airplane/{first_file}"
    assert all(not p.startswith("/") for p in loaded["image_path"])
    shown, _ = preview(ws, ds.id, n=2)  # the preview shows what the files hold
    assert shown["image_path"].iloc[0] == first["image_path"]


@pytest.mark.parametrize("fmt", [Format.CSV, Format.JSONL, Format.PARQUET])
def test_an_image_export_placed_in_the_image_root_imports_again(ws, tmp_path, fmt):
    root = class_folders(tmp_path)
    table = load_source(ws, root)
    start_ingest(ws, table, infer_mapping(table), "photos", source="photos")
    ds = ws.dataset("photos")
    ids = ws.store.row_ids(ds.id)
    with ws.batch(ds.id, action="t", description="curate") as b:
        b.set_label(ids[:2], "frog", source=LabelSource.HUMAN)
        b.set_excluded(ids[2:3], True)
    result = export_dataset(ws, ds.id, root / f"curated{SUFFIXES[fmt]}", fmt=fmt)
    written = read_back(result.path, fmt)["image_path"].tolist()
    assert written == sorted(f"{p.parent.name}/{p.name}" for p in root.rglob("*.jpg"))  # not server paths
    again_table = load_source(ws, result.path)
    mapping = infer_mapping(again_table)
    assert mapping.restore_curation and mapping.image_column == "image_path"
    start_ingest(ws, again_table, mapping, "photos again", source=result.path.name)
    again = ws.dataset("photos again")
    assert ws.store.problem_rows(again.id) == ([], 0)  # every image found again
    assert {k: v[2:] for k, v in state(ws, again.id).items()} == {k: v[2:] for k, v in state(ws, ds.id).items()}
    stored = ws.store.rows_by_ids(ws.store.row_ids(again.id))
    assert [r["image_path"] for r in stored] == [r["image_path"] for r in ws.store.rows_by_ids(ids)]


SUFFIXES = {Format.CSV: ".csv", Format.JSONL: ".jsonl", Format.PARQUET: ".parquet"}


def test_an_unlabeled_row_has_no_batch_even_after_a_label_was_undone(ws, dataset, tmp_path):
    """batch_id is the batch that set the row's label: a row whose label was set then undone has none,
    a row labeled since names that batch."""
    dataset_id, ids = dataset
    with ws.batch(dataset_id, action="label", description="label two") as b:
        b.set_label([ids[1], ids[3]], "b")
    ws.undo(b.id)
    with ws.batch(dataset_id, action="label", description="label one") as kept:
        kept.set_label([ids[4]], "a")
    out = pd.read_csv(export_dataset(ws, dataset_id, tmp_path / "d.csv", fmt="csv").path, dtype=str)
    batch = dict(zip(out["curator_id"], out["batch_id"], strict=True))
    assert pd.isna(batch["2"]) and pd.isna(batch["4"]) and batch["5"] == kept.id


def test_the_text_as_shown_is_exported_next_to_the_original_fields(curated, tmp_path):
    """AG News' raw `description` keeps its escapes (` #39;s`, `\\$`); `curated_text` is what the app
    showed, searched and embedded; a re-import reads the original fields, not it."""
    ws, ds, _ = curated
    out = pd.read_csv(export_dataset(ws, ds.id, tmp_path / "n.csv", fmt="csv").path, keep_default_na=False)
    raw = out["description"].tolist()
    shown = out["curated_text"].tolist()
    escaped = [i for i, t in enumerate(raw) if "#39;" in t or "\\$" in t]
    assert escaped and all("#39;" not in shown[i] and "\\$" not in shown[i] for i in escaped)
    assert all(raw[i].split()[-1].strip(".") in shown[i] for i in escaped)  # the same text, repaired


def test_labeled_by_names_who_made_each_labels_last_change_and_not_the_files_own_labels(ws, dataset, tmp_path):
    dataset_id, ids = dataset
    with acting_as("ana"), ws.batch(dataset_id, action="bulk_label", description="label two") as b:
        b.set_label([ids[1], ids[3]], "b", source=LabelSource.HUMAN)
    with acting_as("ben"), ws.batch(dataset_id, action="bulk_label", description="relabel one") as b:
        b.set_label(ids[1:2], "a", source=LabelSource.HUMAN, overwrite=True)
    result = export_dataset(ws, dataset_id, tmp_path / "out.csv", fmt="csv")
    frame = pd.read_csv(result.path, keep_default_na=False)
    assert list(frame["labeled_by"][:5]) == ["", "ben", "", "ana", ""]  # rows 0 and 2: the file's own labels
    assert list(frame["label_source"][:5]) == ["original", "human", "original", "human", ""]


def test_an_export_file_is_named_by_the_datasets_slug_and_its_import_suggests_the_datasets_name(ws, tmp_path):
    """The file name is the dataset's name made readable (`Demo_-_AG_News__1_500-…` was a name turned into
    underscores); importing the export suggests the dataset's own name, not the file's ("Demo - AG News  1
    500-20261124-…"): from the Parquet (and HF) metadata anywhere, from the slug within the workspace it came
    from, and the slug elsewhere. A name taken is not suggested (the page said 'already exists' at once): the
    first free "<name> (2)", "<name> (3)"... instead."""
    from datetime import UTC, datetime

    from core.ingest import load_source
    from core.provenance import export_stem, import_name, slug

    frame = pd.DataFrame({"text": [f"sentence number {i}" for i in range(6)], "label": ["a", "", "b"] * 2})
    table = Table(frame, kind="table")
    start_ingest(ws, table, infer_mapping(table), "Demo - AG News (1,500)", source="demo.csv")
    ds = ws.dataset("Demo - AG News (1,500)")
    when = datetime(2026, 11, 24, 10, 15, 0, tzinfo=UTC)
    assert export_stem("Demo - AG News (1,500)", when) == "demo-ag-news-1-500-20261124-101500"
    names = ["Pão & Café", "  ", "reviews_2026", "__"]
    assert [slug(n) for n in names] == ["pão-café", "dataset", "reviews-2026", "dataset"]
    name = ds.name
    for fmt in (Format.CSV, Format.JSONL, Format.PARQUET, Format.HF):
        stem = export_stem(name, when)
        path = export_dataset(ws, ds.id, tmp_path / f"{stem}{export_module.SUFFIX[fmt]}", fmt=fmt).path
        table = load_source(ws, path)
        columns = table.frame.columns
        here = import_name(path.stem, columns=columns, exported_name=table.dataset_name, existing=[name, "other"])
        assert here == f"{name} (2)", fmt
        elsewhere = import_name(path.stem, columns=columns, exported_name=table.dataset_name, existing=[])
        assert elsewhere == (name if fmt in (Format.PARQUET, Format.HF) else slug(name)), fmt
    # An export named the old way is still recognised; a file that is not an export keeps its name.
    old = "Demo_-_AG_News__1_500-20261124-101500"
    export_cols = ["curator_id", "label", "label_source", "given_label", "excluded"]
    taken = ["Demo - AG News (1,500)"]
    assert import_name(old, columns=export_cols, exported_name=None, existing=taken) == "Demo - AG News (1,500) (2)"
    assert import_name("ag_news_train", columns=["text", "label"], exported_name=None, existing=[]) == "ag news train"
    # Taken: the first free number; a name at the length limit is cut to make room for it.
    taken.append("Demo - AG News (1,500) (2)")
    assert import_name(old, columns=export_cols, exported_name=None, existing=taken) == "Demo - AG News (1,500) (3)"
    assert import_name("ag_news_train", columns=[], exported_name=None, existing=["ag news train"]) == (
        "ag news train (2)"
    )
    long = "x" * 100  # a dataset name's most
    assert import_name(long, columns=[], exported_name=None, existing=[long]) == "x" * 96 + " (2)"


def test_a_suggestion_leaves_labeled_at_as_the_labels_own_time(ws, dataset, tmp_path):
    """labeled_at is when the label was last set: a suggestion written afterwards (Search's bulk panel, the
    wizard) moved it to the suggestion's time, on rows whose label nobody touched (batch_id empty)."""
    dataset_id, ids = dataset
    with ws.batch(dataset_id, action="bulk_label", description="label one") as b:
        b.set_label(ids[1:2], "b", source=LabelSource.HUMAN)
    before = pd.read_csv(export_dataset(ws, dataset_id, tmp_path / "before.csv", fmt="csv").path, keep_default_na=False)
    time.sleep(0.01)  # stamps have millisecond precision
    with ws.batch(dataset_id, action="bulk_suggest", description="suggest") as b:
        b.set_suggestion(ids[:4], "b")
    after = pd.read_csv(export_dataset(ws, dataset_id, tmp_path / "after.csv", fmt="csv").path, keep_default_na=False)
    assert list(after["suggested_label"][:4]) == ["b"] * 4
    assert list(after["labeled_at"][:4]) == list(before["labeled_at"][:4])  # the file's label, a person's label
    assert after["labeled_at"][3] == ""  # no label, no time


def test_a_long_name_in_a_non_latin_script_still_makes_an_export_file_that_imports_under_its_name(ws, tmp_path):
    """A dataset name may hold 100 characters, but a file name only 255 bytes: an 85-character Japanese
    name (3 bytes a character) failed the export with 'File name too long'. The slug is cut to fit, and
    the import still finds the dataset by it."""
    from datetime import UTC, datetime

    from core.provenance import export_stem, import_name

    name = "映画レビューの感情分析データセット" * 5
    frame = pd.DataFrame({"text": [f"sentence number {i}" for i in range(4)], "label": ["a", "b"] * 2})
    table = Table(frame, kind="table")
    start_ingest(ws, table, infer_mapping(table), name, source="reviews.csv")
    ds = ws.dataset(name)
    stem = export_stem(name, datetime(2026, 11, 25, 0, 26, 38, tzinfo=UTC))
    assert len(f".{stem}.parquet.partial".encode()) <= 255 and stem.endswith("-20261125-002638")
    result = export_dataset(ws, ds.id, tmp_path / f"{stem}.csv", fmt="csv")
    back = load_source(ws, result.path)
    columns = list(back.frame.columns)
    found = import_name(result.path.stem, columns=columns, exported_name=None, existing=[name, "other"])
    assert found == f"{name} (2)"  # its own name, taken here: numbered
