"""Ingest on real data: rows stored and embedded, cache reuse, problems flagged, bad input refused."""

import dataclasses
import io
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ConflictError, InputError
from core.ingest import (
    job_counts,
    load_source,
    mark_paused,
    run_ingest,
    stage_upload,
    start_ingest,
    unfinished_jobs,
)
from core.readers import Table
from core.schema import ColumnMapping, infer_mapping
from core.search import Filters, rows_page
from core.store import now
from tests.conftest import DEMO, shared


def head(table: Table, n: int) -> Table:
    return Table(
        table.frame.head(n).reset_index(drop=True),
        kind=table.kind,
        base_dir=table.base_dir,
        class_names=table.class_names,
    )


def test_text_ingest_stores_embeds_and_searches(ws, minilm):
    table = head(load_source(ws, shared("ag_news/test.csv")), 300)
    job = start_ingest(ws, table, infer_mapping(table), "news", source="test.csv")
    seen = []
    report = run_ingest(ws, job, minilm, on_progress=seen.append, chunk_size=128)
    assert report.status == "done" and report.embedded == 300 and report.computed == 300
    assert [p.done for p in seen] == [128, 256, 300] and seen[-1].eta_s == 0
    status = ws.status("news")
    assert (status.rows, status.embedded, status.labeled) == (300, 300, 300)
    assert ws.vectors.count(status.dataset.id, minilm.model_id) == 300
    row = ws.store.rows_page(status.dataset.id, limit=1)[0][0]
    hits = ws.vectors.query(status.dataset.id, minilm.model_id, minilm.embed_texts([row["text"]])[0], n=3)
    assert hits[0][0] == row["id"] and hits[0][1] > 0.99
    from core.search import search_text

    found = search_text(
        ws, status.dataset, "football match score", text_embedder=minilm, filters=Filters(labels=["Sports"]), n=5
    )
    assert len(found.row_ids) == 5
    assert {r["label"] for r in ws.store.rows_by_ids(found.row_ids)} == {"Sports"}


def slow_clock(monkeypatch, embedder, *, units_per_s: float, setup_s: float = 2.0) -> list[float]:
    """core.ingest's clock advancing as a busy machine embeds: ``units_per_s`` of work (a text's length plus
    TEXT_ROW_WORK, or one image) a second, ``setup_s`` the first time, and 1 ms a row for the rest (reading
    and storing). The vectors are random (seeded): what is measured is when the reports come, and the real
    model would take minutes on a busy machine."""
    import types

    import core.ingest

    clock = [0.0]
    rng = np.random.default_rng(0)
    monkeypatch.setattr(core.ingest, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    compute_chunk = core.ingest._compute_chunk

    def chunk_with_overhead(ws, embedder, ids, *args):
        clock[0] += 0.001 * len(ids)
        return compute_chunk(ws, embedder, ids, *args)

    monkeypatch.setattr(core.ingest, "_compute_chunk", chunk_with_overhead)
    for name in ("embed_texts", "embed_images"):

        def timed(items, _name=name, **kwargs):
            cost = len(items) if _name == "embed_images" else sum(len(t) + core.ingest.TEXT_ROW_WORK for t in items)
            clock[0] += cost / units_per_s + setup_s * (clock[0] == 0)
            vectors = rng.normal(size=(len(items), embedder.dim)).astype(np.float32)
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

        monkeypatch.setattr(embedder, name, timed)
    return clock


@pytest.mark.parametrize("units_per_s", [4_000, 100_000])  # ~15 and ~350 news texts/s
def test_progress_comes_every_few_seconds_on_a_busy_machine_too(ws, minilm, monkeypatch, units_per_s):
    """The first report comes after a small chunk; then one every 2-7 s as the README says, whatever the pace:
    fixed chunks of 512 texts held 'Embedded 32 of 872 rows' for 10-43 s under load (the 512 longest texts
    second). Chunks grow on a quick machine, to 512 (the old size)."""
    table = head(load_source(ws, shared("ag_news/test.csv")), 2000)
    job = start_ingest(ws, table, infer_mapping(table), "news", source="test.csv")
    clock = slow_clock(monkeypatch, minilm, units_per_s=units_per_s)
    seen = []
    report = run_ingest(ws, job, minilm, on_progress=lambda p: seen.append((clock[0], p.done)))
    assert report.embedded == 2000 and seen[0][1] == 32 and seen[-1][1] == 2000
    gaps = [b[0] - a[0] for a, b in zip(seen, seen[1:], strict=False)]
    assert max(gaps) <= 7.0, gaps
    sizes = [b[1] - a[1] for a, b in zip(seen, seen[1:], strict=False)]
    assert max(sizes) == 512 if units_per_s > 10_000 else max(sizes) < 512


def test_a_resume_whose_first_rows_are_cached_still_reports_every_few_seconds(ws, minilm, monkeypatch):
    """Pause stops a run at a report, after it embedded (and cached) the next chunk: a Resume finds those rows'
    vectors at once, and their pace, read as the machine's, made a chunk of 240 texts that took 15 s."""
    table = head(load_source(ws, shared("ag_news/test.csv")), 3000)
    job = start_ingest(ws, table, infer_mapping(table), "news", source="test.csv")
    slow_clock(monkeypatch, minilm, units_per_s=100_000)  # quick at first: chunks grow to 512

    def pause(progress):  # Streamlit stops the run at its next progress update
        if progress.done >= 1000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ingest(ws, job, minilm, on_progress=pause)
    stored = job_counts(ws, job)[1]
    clock = slow_clock(monkeypatch, minilm, units_per_s=4_000)  # then the machine gets busy
    seen = []
    report = run_ingest(ws, job, minilm, on_progress=lambda p: seen.append((clock[0], p.done)))
    assert report.computed < 3000 - stored  # a chunk was cached, not stored
    gaps = [b[0] - a[0] for a, b in zip(seen, seen[1:], strict=False)]
    assert report.embedded == 3000 and max(gaps) <= 7.0, gaps


def test_images_embedded_slowly_read_as_a_pace_per_image(ws, effnet, monkeypatch):
    """'1 rows/s' for images: the pace reads in images, with a decimal, or as seconds per image."""
    from core.ingest import IngestProgress

    assert IngestProgress(1, 8, 200, 1.43, None, "image").describe() == (
        "Embedded 8 of 200 images (1.4 images/s, estimating the time left)"
    )
    assert IngestProgress(1, 16, 200, 0.4, 460.0, "image").describe() == (
        "Embedded 16 of 200 images (2.5 s per image, about 7 min 40 s left)"
    )
    assert IngestProgress(1, 1, 1, 50.0, 0.0).describe() == "Embedded 1 of 1 row (50 rows/s, under 1 s left)"
    table = head(load_source(ws, DEMO / "cifar10_200"), 40)
    job = start_ingest(ws, table, infer_mapping(table), "pics", source="cifar")
    clock = slow_clock(monkeypatch, effnet, units_per_s=2.0)
    seen = []
    run_ingest(ws, job, effnet, on_progress=lambda p: seen.append((clock[0], p)))
    # The first report's time is mostly setting up: no pace is read from it (8 images in 22 s of loading
    # said "2.8 s per image" in a walk, for a run that then embedded 5 images/s); then one in images.
    assert seen[0][1].describe() == "Embedded 8 of 40 images (estimating the time left)"
    later = [p.describe() for _, p in seen[1:]]
    assert all(re.search(r"\(\d\.\d images/s, (about|under 1 s)", text) for text in later), later
    assert [p.done for _, p in seen][-1] == 40
    assert max(b[0] - a[0] for a, b in zip(seen, seen[1:], strict=False)) <= 7.0


def test_the_time_left_is_estimated_from_the_texts_lengths_not_their_count(ws, minilm, monkeypatch):
    """Rows are embedded longest first (after a first small chunk of the shortest), so a per-row rate
    read the longest texts' pace as everyone's: on sentiment140 8k it said 10 minutes for 5. With each
    text costing its length plus a fixed part (a clock that advances so), the first estimate is exact.
    The first report gives none: its chunk's time is mostly setting up (a new Chroma collection, the first
    writes; a clock that charges 2 s for it here), and from it 100k tweets said 50 minutes for 10."""
    import types

    import core.ingest

    table = load_source(ws, shared("sentiment140/sentiment140_8k.csv"))
    table = dataclasses.replace(table, frame=table.frame.iloc[:1500].reset_index(drop=True))
    job = start_ingest(ws, table, infer_mapping(table), "tweets", source="s140.csv")
    clock = [0.0]
    monkeypatch.setattr(core.ingest, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    embed = minilm.embed_texts

    def timed_embed(texts, **kwargs):  # 1 ms per unit of work, and 2 s of setting up the first time
        clock[0] += sum(len(t) + core.ingest.TEXT_ROW_WORK for t in texts) / 1000 + 2.0 * (clock[0] == 0)
        return embed(texts, **kwargs)

    monkeypatch.setattr(minilm, "embed_texts", timed_embed)
    seen = []
    report = run_ingest(ws, job, minilm, on_progress=lambda p: seen.append((p, clock[0])))
    total = clock[0]
    assert report.embedded == 1500 and seen[0][0].done == 32 and seen[-1][0].done == 1500  # 32 shortest first
    (first, _), (second, second_at) = seen[:2]
    assert first.eta_s is None and first.describe().endswith("estimating the time left)")
    assert second.eta_s == pytest.approx(total - second_at)  # exact: the setting up is not read as pace
    assert all(p.eta_s == pytest.approx(total - at) for p, at in seen[2:-2])  # and stays so
    # The next chunk is embedded while one is stored, so a report comes a chunk late: the one before the
    # last comes when every chunk is embedded and only the last store is left.
    assert seen[-2][0].eta_s == seen[-1][0].eta_s == 0


def test_cache_means_nothing_is_recomputed(ws, minilm):
    table = head(load_source(ws, shared("sst2/sst2_glue_dev_872.csv")), 120)
    first = run_ingest(ws, start_ingest(ws, table, infer_mapping(table), "a", source="s"), minilm)
    assert first.computed == 120
    again = run_ingest(ws, start_ingest(ws, table, infer_mapping(table), "b", source="s"), minilm)
    assert again.computed == 0 and again.embedded == 120
    more = head(load_source(ws, shared("sst2/sst2_glue_dev_872.csv")), 150)
    added = run_ingest(ws, start_ingest(ws, more, infer_mapping(more), "a", source="s", append=True), minilm)
    assert added.computed == 30  # only the 30 new sentences
    assert ws.status("a").rows == 270
    vectors = ws.vectors.get_vectors(ws.dataset("a").id, minilm.model_id, ws.store.row_ids(ws.dataset("a").id)[:2])
    assert all(abs(np.linalg.norm(v) - 1) < 1e-4 for v in vectors.values())


def test_added_rows_without_ids_are_named_after_their_file(ws, minilm):
    """The first file's rows are numbered 1, 2...; rows added from more_news.csv read more_news-1 (not a
    timestamp), and the same file added again more_news.2-1."""
    table = head(load_source(ws, shared("sst2/sst2_glue_dev_872.csv")), 20)
    run_ingest(ws, start_ingest(ws, table, infer_mapping(table), "a", source="sst2.csv"), minilm)
    for _ in range(2):
        job = start_ingest(ws, table, infer_mapping(table), "a", source="uploads/more news.csv", append=True)
        run_ingest(ws, job, minilm)
    ids = [ws.store.source_id(r) for r in ws.store.row_ids(ws.dataset("a").id)]
    assert ids[:2] == ["1", "2"] and ids[20:22] == ["more_news-1", "more_news-2"] and ids[40] == "more_news.2-1"
    assert len(set(ids)) == 60


def test_a_stopped_run_is_listed_as_paused_and_resumes(ws, minilm):
    """Ctrl-C, or Streamlit stopping the run when the page is left: the job reads paused, not embedding."""
    table = head(load_source(ws, shared("sst2/sst2_glue_dev_872.csv")), 100)
    job = start_ingest(ws, table, infer_mapping(table), "s", source="s")

    def stop_after_first_chunk(progress):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ingest(ws, job, minilm, on_progress=stop_after_first_chunk, chunk_size=40)
    [listed] = unfinished_jobs(ws)
    assert (listed["status"], listed["message"]) == ("paused", "interrupted before it finished")
    assert job_counts(ws, job)[1] == 40
    status = ws.status("s")  # Browse's "Not embedded": the 60 rows still waiting count
    assert (status.embedded, status.pending, status.problems, status.not_embedded) == (40, 60, 0, 60)
    mark_paused(ws, job)  # a Pause click's callback runs after the stopped run: the person's word wins
    assert unfinished_jobs(ws)[0]["message"] == "paused by the user"
    report = run_ingest(ws, job, minilm)
    assert (report.status, report.embedded, report.computed) == ("done", 100, 60)
    assert (ws.status("s").pending, ws.status("s").not_embedded) == (0, 0)
    assert unfinished_jobs(ws) == []
    mark_paused(ws, job)  # a click that arrives after the last chunk changes nothing
    assert unfinished_jobs(ws) == []


def test_rejected_ingest_leaves_workspace_unchanged(ws, minilm):
    table = head(load_source(ws, shared("sst2/sst2_glue_dev_872.csv")), 20)
    run_ingest(ws, start_ingest(ws, table, infer_mapping(table), "taken", source="s"), minilm)
    with pytest.raises(ConflictError, match="already exists"):
        start_ingest(ws, table, infer_mapping(table), "taken", source="s")
    bad = ColumnMapping(text_columns=["sentence"], label_column="nope")
    with pytest.raises(InputError, match="not in the file"):
        start_ingest(ws, table, bad, "new", source="s")
    empty_label = table.frame.assign(empty="")
    with pytest.raises(InputError, match="no labels"):
        start_ingest(
            ws,
            Table(empty_label, kind="table"),
            ColumnMapping(["sentence"], label_column="empty"),
            "n",
            source="s",
        )
    dup_ids = table.frame.assign(key="same")
    with pytest.raises(InputError, match="repeats values"):
        start_ingest(ws, Table(dup_ids, kind="table"), ColumnMapping(["sentence"], id_column="key"), "n", source="s")
    assert [d.name for d in ws.datasets()] == ["taken"] and ws.status("taken").rows == 20


def test_upload_limit_and_staging(ws):
    with pytest.raises(InputError, match="upload limit"):
        stage_upload(ws, "big.csv", b"x" * 2048, max_bytes=1024)
    path = stage_upload(ws, "../../evil name.csv", b"text,label\nhello,a\n")
    assert path.is_relative_to(ws.uploads_dir) and path.name == "evil_name.csv"


def test_upload_of_a_file_no_reader_takes_says_what_to_upload_instead(ws):
    with pytest.raises(InputError, match=r"cat\.png is a single image.*ZIP of its folder.*Path on the server"):
        stage_upload(ws, "cat.png", b"\x89PNG\r\n\x1a\n")
    with pytest.raises(InputError, match=r"report\.pdf: \.pdf files are not accepted\. Upload a CSV"):
        stage_upload(ws, "report.pdf", b"%PDF-1.4")
    assert not any(ws.uploads_dir.rglob("*.*")) if ws.uploads_dir.exists() else True
    assert stage_upload(ws, "Reviews.CSV", b"text,label\nhello,a\n").name == "Reviews.CSV"


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.slow
def test_image_zip_with_bad_files_flags_rows_and_ingests_the_rest(ws, effnet, tmp_path):
    src = DEMO / "cifar10_200" / "images"
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for cls in ["cat", "ship"]:
            for img in sorted((src / cls).glob("*.jpg"))[:10]:
                z.write(img, f"photos/{cls}/{img.name}")
        good = (src / "cat").glob("*.jpg").__next__().read_bytes()
        z.writestr("photos/cat/truncated.jpg", good[: len(good) // 3])
        z.writestr("photos/cat/garbage.png", b"not an image at all")
        z.writestr("photos/ship/bomb.png", _png_header(50_000, 50_000))
        z.writestr("photos/readme.pdf", b"%PDF-1.4 not an image")
        z.writestr("../../outside.jpg", good)
    table = load_source(ws, archive)
    assert not (tmp_path / "outside.jpg").exists() and not (ws.root.parent / "outside.jpg").exists()
    assert any("leaves the archive" in n for n in table.notes)
    mapping = infer_mapping(table)
    assert mapping.image_column == "image_path" and mapping.label_column == "label"
    report = run_ingest(ws, start_ingest(ws, table, mapping, "photos", source="photos.zip"), effnet)
    assert (report.total, report.embedded, report.skipped) == (23, 20, 3)
    rows, _ = ws.store.rows_page(ws.dataset("photos").id, limit=100)
    problems = {r["image_path"].rsplit("/", 1)[-1]: r["problem"] for r in rows if r["problem"]}
    assert set(problems) == {"truncated.jpg", "garbage.png", "bomb.png"}
    status = ws.status("photos")
    assert (status.pending, status.problems, status.not_embedded) == (0, 3, 3)
    assert "pixel limit" in problems["bomb.png"]
    thumbs = [r["thumb"] for r in rows if not r["problem"]]
    assert all(Image.open(io.BytesIO(t)).size == (96, 96) for t in thumbs)  # 32x32 upscaled
    assert ws.vectors.count(ws.dataset("photos").id, effnet.model_id) == 20
    assert ws.store.label_distribution(ws.dataset("photos").id) == {"cat": 12, "ship": 11}


@pytest.mark.slow
def test_server_folder_and_demo_images(ws, effnet, tmp_path):
    folder = tmp_path / "flat"
    folder.mkdir()
    for img in sorted((DEMO / "cifar10_200" / "images" / "dog").glob("*.jpg"))[:6]:
        shutil.copy(img, folder / img.name)
    table = load_source(ws, folder)
    mapping = infer_mapping(table)
    report = run_ingest(ws, start_ingest(ws, table, mapping, "flat", source=str(folder)), effnet)
    assert report.embedded == 6 and ws.status("flat").labeled == 0  # flat folder: unlabeled
    demo = load_source(ws, DEMO / "cifar10_200")
    assert len(demo.frame) == 200
    assert sum(1 for v in demo.frame["label"] if v) == 76


def test_embedder_must_match_dataset_model(ws, minilm, effnet):
    table = head(load_source(ws, shared("sst2/sst2_glue_dev_872.csv")), 5)
    job = start_ingest(ws, table, infer_mapping(table), "t", source="s")
    with pytest.raises(ConflictError, match="embedded with"):
        run_ingest(ws, job, effnet)


def test_flat_zip_with_labels_csv(ws, tmp_path):
    """A flat ZIP of images plus a labels CSV: labels come from the CSV (an image it leaves out is a row
    without a label: tests/test_readers.py)."""
    src = sorted((DEMO / "cifar10_200" / "images" / "frog").glob("*.jpg"))[:4]
    archive = tmp_path / "flat.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for img in src:
            z.write(img, img.name)
        z.writestr(
            "labels.csv", "file,label\n" + "".join(f"{p.name},{'frog' if i % 2 else ''}\n" for i, p in enumerate(src))
        )
    table = load_source(ws, archive)
    mapping = infer_mapping(table)
    assert (mapping.image_column, mapping.label_column) == ("image_path", "label")
    rows = table.frame.to_dict(orient="records")
    assert len(rows) == 4 and [r["label"] for r in rows] == ["", "frog", "", "frog"]
    assert all(r["image_path"].startswith(str(ws.media_dir)) for r in rows)


def cifar_zip(tmp_path, *, per_class: int = 10, extra: dict[str, bytes] | None = None, flat: bool = False):
    """A ZIP of real CIFAR images from ../shared/data: class folders, or flat with a labels.csv."""
    src = shared("cifar10_sample/images")
    archive = tmp_path / ("flat.zip" if flat else "classes.zip")
    listed = []
    with zipfile.ZipFile(archive, "w") as z:
        for cls in sorted(p.name for p in src.iterdir()):
            for img in sorted((src / cls).glob("*.jpg"))[:per_class]:
                name = f"{cls}_{img.name}" if flat else f"{cls}/{img.name}"
                z.write(img, name)
                listed.append((name, cls))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
        if flat:
            listed.append(("missing.jpg", "frog"))
            z.writestr("labels.csv", "file,label\n" + "".join(f"{n},{c}\n" for n, c in listed))
    return archive


def test_the_preview_names_unreadable_and_missing_images_before_the_ingest(ws, tmp_path):
    from core.preview import check_images

    archive = cifar_zip(tmp_path, extra={"frog/broken.jpg": b"this is a text file, not a JPEG\n"})
    table = load_source(ws, archive)
    check = check_images(table, infer_mapping(table))
    assert (check.total, check.complete) == (101, True)
    assert check.problems == [("frog/broken.jpg", "not a readable image file")]

    flat = load_source(ws, cifar_zip(tmp_path, per_class=2, flat=True))
    check = check_images(flat, infer_mapping(flat))
    assert check.problems == [("missing.jpg", "image file not found")]

    # A bounded check: every file must exist, only the first `limit` are opened; the ingest checks the rest.
    bounded = check_images(table, infer_mapping(table), limit=10)
    assert (bounded.opened, bounded.complete, bounded.problems) == (10, False, [])


def test_the_preview_names_images_from_the_image_root_not_the_server(ws, tmp_path):
    """The Upload preview's file column read `/…/workspace/media/<hash>/frog/x.jpg` (where the ZIP was
    unpacked), next to a `filename` column repeating `frog/x.jpg`; every other page names the file from
    the image root."""
    from core.preview import preview_frame

    table = load_source(ws, cifar_zip(tmp_path, per_class=2))
    frame = preview_frame(table, infer_mapping(table))
    first = sorted(shared("cifar10_sample/images/airplane").glob("*.jpg"))[:2]
    assert frame["file"].tolist()[:2] == [f"airplane/{p.name}" for p in first]
    assert "filename" not in frame  # the same names again
    assert not any(str(ws.root) in str(v) for v in frame.drop(columns="thumbnail").to_numpy().ravel())


def test_after_the_ingest_the_problem_rows_are_named_and_browse_can_list_them(ws, effnet, tmp_path):
    from core.ingest import problem_summary

    table = load_source(ws, cifar_zip(tmp_path, per_class=3, extra={"frog/broken.jpg": b"not a JPEG\n"}))
    job = start_ingest(ws, table, infer_mapping(table), "photos", source="photos.zip")
    report = run_ingest(ws, job, effnet)
    assert (report.embedded, report.skipped) == (30, 1)
    dataset_id = ws.dataset("photos").id
    assert problem_summary(ws, dataset_id, job_id=job) == "frog/broken.jpg (not a readable image file)"
    rows, total = rows_page(ws, dataset_id, Filters(not_embedded=True, excluded=None))  # what Browse lists
    assert total == 1
    assert rows[0]["problem"] == "not a readable image file" and rows[0]["image_path"].endswith("frog/broken.jpg")
    many = [f"row {i} (empty text)" for i in range(7)]
    from core.wording import first_few

    assert first_few(many, shown=5) == "; ".join(many[:5]) + " and 2 more"


def test_an_append_is_undone_from_the_history_and_the_undo_undone(ws, minilm):
    """Undoing an append takes its rows out of every listing, count, search and export; undoing that
    undo brings the same rows back (ids, labels, vectors). The first ingest is the trash's to undo."""
    from core.export import RowSet, export_row_ids
    from core.history import history, read_label
    from core.search import search_text

    sst2 = load_source(ws, shared("sst2/sst2_glue_dev_872.csv"))
    run_ingest(ws, start_ingest(ws, head(sst2, 40), infer_mapping(sst2), "a", source="sst2.csv"), minilm)
    dataset = ws.dataset("a")
    old_ids = ws.store.row_ids(dataset.id)
    more = dataclasses.replace(sst2, frame=sst2.frame.iloc[40:65].reset_index(drop=True))
    run_ingest(ws, start_ingest(ws, more, infer_mapping(sst2), "a", source="add_25.csv", append=True), minilm)
    new_ids = sorted(set(ws.store.row_ids(dataset.id)) - set(old_ids))
    new_sources = [ws.store.source_id(r) for r in new_ids]
    new_labels = {r: read_label_of(ws, r) for r in new_ids}
    assert len(new_ids) == 25 and len(ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids)) == 25
    with ws.batch(dataset.id, action="bulk_label", description="label one old row") as b:
        b.set_label([old_ids[0]], "positive")
    first, append = [b for b in history(ws.store, dataset.id) if b.action == "ingest"][::-1]
    with pytest.raises(InputError, match="trash"):
        ws.undo(first.id)

    undone = ws.undo(append.id)
    assert undone.restored == 25 and undone.skipped_changed_later == 0
    assert ws.store.counts(dataset.id)["rows"] == 40 == ws.status("a").rows
    assert ws.store.row_ids(dataset.id) == old_ids
    assert ws.store.rows_page(dataset.id, limit=100)[1] == 40
    assert export_row_ids(ws, dataset.id, rows=RowSet.ALL) == old_ids
    assert ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids) == {}
    found = search_text(ws, dataset, more.frame.iloc[0, 0], text_embedder=minilm, n=100)
    assert not set(found.row_ids) & set(new_ids) and len(found.row_ids) == 40
    with ws.store.connect() as conn:
        assert read_label(conn, old_ids[0], "label")["value"] == "positive"  # later work on old rows kept

    ws.undo(undone.batch_id)
    assert ws.store.row_ids(dataset.id) == old_ids + new_ids
    assert [ws.store.source_id(r) for r in new_ids] == new_sources
    assert {r: read_label_of(ws, r) for r in new_ids} == new_labels
    back = ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids)
    assert sorted(back) == new_ids
    found = search_text(ws, dataset, more.frame.iloc[0, 0], text_embedder=minilm, n=100)
    assert found.row_ids[0] in new_ids and len(found.row_ids) == 65


def test_an_append_changed_since_keeps_those_rows(ws, minilm):
    """Rows of the append that a later action changed are kept (and counted), like any undo."""
    from core.history import history

    sst2 = load_source(ws, shared("sst2/sst2_glue_dev_872.csv"))
    run_ingest(ws, start_ingest(ws, head(sst2, 10), infer_mapping(sst2), "a", source="s.csv"), minilm)
    dataset = ws.dataset("a")
    more = dataclasses.replace(sst2, frame=sst2.frame.iloc[10:15].reset_index(drop=True))
    run_ingest(ws, start_ingest(ws, more, infer_mapping(sst2), "a", source="more.csv", append=True), minilm)
    new_ids = ws.store.row_ids(dataset.id)[10:]
    with ws.batch(dataset.id, action="tag", description="tag one new row") as b:
        b.set_tag([new_ids[0]], "needs-review")
    append = next(b for b in history(ws.store, dataset.id) if b.action == "ingest")
    result = ws.undo(append.id)
    assert (result.restored, result.skipped_changed_later) == (4, 1)
    assert ws.store.row_ids(dataset.id)[10:] == [new_ids[0]]
    # The message names what changed the kept row, so it can be undone first.
    assert result.describe() == (
        "4 changes restored; 1 change kept: its row was changed since by 'tag one new row'"
        " (undo it first to undo all of this)"
    )


def read_label_of(ws, row_id):
    from core.history import read_label

    with ws.store.connect() as conn:
        return read_label(conn, row_id, "label")


def test_an_image_append_is_undone_and_redone(ws, effnet, minilm, tmp_path):
    """Undoing an append of images takes its rows out of every count, search (by image and by text,
    through the concept vectors) and export, the unreadable image's row too; the redo brings back the
    same rows with their thumbnails and both kinds of vectors."""
    from core.concepts import concept_space_id
    from core.export import Format, RowSet, export_dataset, export_row_ids
    from core.history import history
    from core.search import search_similar, search_text

    src = DEMO / "cifar10_200" / "images"
    for folder, cls in [("first", "cat"), ("first", "ship"), ("more", "frog")]:
        (tmp_path / folder / cls).mkdir(parents=True)
        for img in sorted((src / cls).glob("*.jpg"))[:3]:
            shutil.copy(img, tmp_path / folder / cls / img.name)
    (tmp_path / "more" / "frog" / "broken.jpg").write_bytes(b"not an image at all")
    first = load_source(ws, tmp_path / "first")
    run_ingest(ws, start_ingest(ws, first, infer_mapping(first), "pets", source="first"), effnet, text_embedder=minilm)
    dataset = ws.dataset("pets")
    old_ids = ws.store.row_ids(dataset.id)
    more = load_source(ws, tmp_path / "more")
    job = start_ingest(ws, more, infer_mapping(more), "pets", source="more", append=True)
    report = run_ingest(ws, job, effnet, text_embedder=minilm)
    assert (report.embedded, report.skipped) == (3, 1)
    new_ids = sorted(set(ws.store.row_ids(dataset.id)) - set(old_ids))
    concepts = concept_space_id(effnet.model_id)

    def vectors(space: str) -> list[int]:
        return sorted(ws.vectors.get_vectors(dataset.id, space, new_ids))

    def exported_files() -> list[str]:
        path = export_dataset(
            ws, dataset.id, tmp_path / f"export{len(list(tmp_path.glob('*.zip')))}.zip", fmt=Format.ZIP
        )
        with zipfile.ZipFile(path.path) as archive:
            return sorted(n for n in archive.namelist() if n.startswith("images/frog/"))

    embedded = [r for r in new_ids if ws.store.rows_by_ids([r])[0]["problem"] is None]
    thumbs = {r["id"]: r["thumb"] for r in ws.store.rows_by_ids(new_ids)}
    assert (
        len(new_ids) == 4 and len(embedded) == 3 and vectors(dataset.embedding_model) == vectors(concepts) == embedded
    )
    # The unreadable image's file is exported too (its row is in the dataset, flagged).
    assert ws.status(dataset.id).problems == 1 and len(exported_files()) == 4
    append = next(b for b in history(ws.store, dataset.id) if b.action == "ingest")

    undone = ws.undo(append.id)
    assert (undone.restored, undone.skipped_changed_later) == (5, 0)  # 4 rows and the class list
    status = ws.status(dataset.id)
    assert (status.rows, status.problems) == (6, 0) and ws.store.row_ids(dataset.id) == old_ids
    assert ws.store.label_distribution(dataset.id) == {"cat": 3, "ship": 3}
    assert ws.store.classes(dataset.id) == ["cat", "ship"]  # the class the append brought in goes with it
    assert export_row_ids(ws, dataset.id, rows=RowSet.ALL) == old_ids and exported_files() == []
    assert vectors(dataset.embedding_model) == vectors(concepts) == []
    by_image = search_similar(ws, dataset, [old_ids[0]], n=100)
    by_text = search_text(ws, dataset, "a frog", text_embedder=minilm, n=100)
    assert sorted(by_image.row_ids) == sorted(by_text.row_ids) == old_ids

    ws.undo(undone.batch_id)
    assert ws.store.row_ids(dataset.id) == old_ids + new_ids and ws.status(dataset.id).problems == 1
    assert {r["id"]: r["thumb"] for r in ws.store.rows_by_ids(new_ids)} == thumbs
    assert vectors(dataset.embedding_model) == vectors(concepts) == embedded
    assert ws.store.label_distribution(dataset.id) == {"cat": 3, "ship": 3, "frog": 4}
    assert ws.store.classes(dataset.id) == ["cat", "ship", "frog"]
    assert len(exported_files()) == 4
    back = sorted(old_ids + embedded)
    assert sorted(search_similar(ws, dataset, [embedded[0]], n=100).row_ids) == back
    assert sorted(search_text(ws, dataset, "a frog", text_embedder=minilm, n=100).row_ids) == back


def _paused_append(ws, minilm, *, first: int = 10, added: int = 25, embed_first: int = 10):
    """A dataset of ``first`` SST-2 rows and an append of ``added`` more, paused after its first
    ``embed_first`` rows were embedded. Returns (dataset, old row ids, new row ids, append job id)."""
    sst2 = load_source(ws, shared("sst2/sst2_glue_dev_872.csv"))
    run_ingest(ws, start_ingest(ws, head(sst2, first), infer_mapping(sst2), "a", source="sst2.csv"), minilm)
    dataset = ws.dataset("a")
    old_ids = ws.store.row_ids(dataset.id)
    more = dataclasses.replace(sst2, frame=sst2.frame.iloc[first : first + added].reset_index(drop=True))
    job = start_ingest(ws, more, infer_mapping(sst2), "a", source="more.csv", append=True)
    stops = iter([False])
    report = run_ingest(ws, job, minilm, chunk_size=embed_first, should_stop=lambda: next(stops, True))
    assert (report.status, report.embedded) == ("paused", embed_first)
    return dataset, old_ids, sorted(set(ws.store.row_ids(dataset.id)) - set(old_ids)), job


def test_a_paused_append_is_undone_without_a_resume_and_redone(ws, minilm):
    """An append paused half way is undone directly: its rows leave (the embedded ones with their
    vectors), its job is no longer offered for Resume; the redo brings the same rows back, the rest
    still to embed, and Resume finishes them."""
    from core.history import history
    from core.search import search_text

    dataset, old_ids, new_ids, job = _paused_append(ws, minilm)
    embedded = sorted(ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids))
    assert len(new_ids) == 25 and len(embedded) == 10
    assert [j["id"] for j in unfinished_jobs(ws)] == [job]
    append = next(b for b in history(ws.store, dataset.id) if b.action == "ingest")

    undone = ws.undo(append.id)
    assert (undone.restored, undone.skipped_changed_later) == (25, 0)
    assert ws.store.row_ids(dataset.id) == old_ids and ws.status(dataset.id).rows == 10
    assert ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids) == {}
    assert unfinished_jobs(ws) == []  # nothing left to resume: its rows are out
    assert len(search_text(ws, dataset, "a film", text_embedder=minilm, n=100)) == 10

    ws.undo(undone.batch_id)
    assert ws.store.row_ids(dataset.id) == old_ids + new_ids
    assert sorted(ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids)) == embedded
    assert job_counts(ws, job) == (25, 10, 0)
    assert [j["id"] for j in unfinished_jobs(ws)] == [job]
    report = run_ingest(ws, job, minilm)
    assert (report.status, report.embedded) == ("done", 25)
    assert len(search_text(ws, dataset, "a film", text_embedder=minilm, n=100)) == 35


def test_an_append_interrupted_by_a_crash_is_undone_but_not_one_still_embedding(ws, minilm):
    """A kill -9 leaves the job 'embedding': undone once it has been silent longer than a run ever is
    between chunks; while it may still be running (recent progress) the undo says to pause it first."""
    from core.history import history

    dataset, old_ids, new_ids, job = _paused_append(ws, minilm)
    append = next(b for b in history(ws.store, dataset.id) if b.action == "ingest")
    with ws.store.transaction() as conn:  # what a run killed mid-chunk leaves
        conn.execute("UPDATE jobs SET status = 'embedding', message = NULL, updated_at = ? WHERE id = ?", (now(), job))
    with pytest.raises(ConflictError, match="Pause"):
        ws.undo(append.id)
    assert ws.store.row_ids(dataset.id) == old_ids + new_ids
    with ws.store.transaction() as conn:
        conn.execute("UPDATE jobs SET updated_at = '2020-01-01T00:00:00.000+00:00' WHERE id = ?", (job,))
    assert ws.undo(append.id).restored == 25
    assert ws.store.row_ids(dataset.id) == old_ids and unfinished_jobs(ws) == []


def test_a_resume_while_the_append_is_undone_leaves_the_redo_resumable(ws, minilm):
    """A Resume drawn before the undo (another tab) finds no rows and ends the job; the redo brings back
    rows still to embed, so the job is offered again instead of staying 'done' with rows never embedded."""
    from core.history import history

    dataset, _, new_ids, job = _paused_append(ws, minilm)
    append = next(b for b in history(ws.store, dataset.id) if b.action == "ingest")
    undone = ws.undo(append.id)
    assert run_ingest(ws, job, minilm).status == "done"
    ws.undo(undone.batch_id)
    assert [j["id"] for j in unfinished_jobs(ws)] == [job]
    assert run_ingest(ws, job, minilm).embedded == 25
    assert sorted(ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids)) == new_ids


def test_an_append_undone_while_a_run_still_stores_a_chunk_leaves_no_vectors_behind(ws, minilm):
    """A run silent for longer than the undo waits (a stalled machine) may still store the chunk it had
    embedded after the undo took its rows out: those vectors leave Chroma too, and come back with the redo."""
    from core.history import history

    dataset, _, new_ids, job = _paused_append(ws, minilm, embed_first=5)
    append = next(b for b in history(ws.store, dataset.id) if b.action == "ingest")
    undone, reports = [], []

    def undo_once(progress) -> None:
        reports.append(progress)
        if len(reports) != 2:  # the first report comes before the second chunk is embedded
            return
        with ws.store.transaction() as conn:  # the run looks dead to the undo
            conn.execute("UPDATE jobs SET updated_at = '2020-01-01T00:00:00.000+00:00' WHERE id = ?", (job,))
        undone.append(ws.undo(append.id))

    # From the second report on, the next chunk is already embedded: it is stored after the undo.
    run_ingest(ws, job, minilm, chunk_size=5, on_progress=undo_once)
    assert undone[0].restored == 25
    assert ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids) == {}

    ws.undo(undone[0].batch_id)
    assert len(ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids)) >= 10
    assert run_ingest(ws, job, minilm).status == "done"
    assert sorted(ws.vectors.get_vectors(dataset.id, minilm.model_id, new_ids)) == new_ids


def test_undoing_an_image_append_from_another_folder_narrows_the_image_root_and_the_redo_widens_it(
    ws, effnet, minilm, tmp_path
):
    """Rows from another folder widen the image root to the folder holding both; once they are undone
    (here while the append is paused, part embedded), paths are shown and exported from the first folder
    again (``cat/x.jpg``, not ``first/cat/x.jpg``), and the redo widens it back. Both vector spaces follow."""
    import pandas as pd

    from core.concepts import concept_space_id
    from core.export import Format, export_dataset
    from core.export.columns import image_field
    from core.history import history
    from core.images import shown_path

    src = DEMO / "cifar10_200" / "images"
    for folder, cls in [("first", "cat"), ("first", "ship"), ("more", "frog")]:
        (tmp_path / folder / cls).mkdir(parents=True)
        for img in sorted((src / cls).glob("*.jpg"))[:3]:
            shutil.copy(img, tmp_path / folder / cls / img.name)
    first = load_source(ws, tmp_path / "first")
    run_ingest(ws, start_ingest(ws, first, infer_mapping(first), "pets", source="first"), effnet, text_embedder=minilm)
    dataset = ws.dataset("pets")
    old_ids = ws.store.row_ids(dataset.id)

    def shown() -> list[str]:
        root = ws.store.image_root(dataset.id)
        return sorted(shown_path(r["image_path"], root) for r in ws.store.rows_by_ids(ws.store.row_ids(dataset.id)))

    def exported() -> list[str]:
        path = tmp_path / f"export{len(list(tmp_path.glob('*.csv')))}.csv"
        export_dataset(ws, dataset.id, path, fmt=Format.CSV)
        return sorted(pd.read_csv(path, dtype=str)[image_field(ws, dataset.id)])

    before = shown()
    assert ws.store.image_root(dataset.id) == tmp_path / "first" and before[0].startswith("cat/")
    more = load_source(ws, tmp_path / "more")
    job = start_ingest(ws, more, infer_mapping(more), "pets", source="more", append=True)
    stops = iter([False])
    report = run_ingest(ws, job, effnet, text_embedder=minilm, chunk_size=2, should_stop=lambda: next(stops, True))
    assert (report.status, report.embedded) == ("paused", 2)
    new_ids = sorted(set(ws.store.row_ids(dataset.id)) - set(old_ids))
    spaces = [dataset.embedding_model, concept_space_id(dataset.embedding_model)]
    embedded = sorted(ws.vectors.get_vectors(dataset.id, spaces[0], new_ids))
    assert len(embedded) == 2 and sorted(ws.vectors.get_vectors(dataset.id, spaces[1], new_ids)) == embedded
    assert ws.store.image_root(dataset.id) == tmp_path and shown()[0].startswith("first/cat/")
    append = next(b for b in history(ws.store, dataset.id) if b.action == "ingest")

    undone = ws.undo(append.id)
    assert ws.store.row_ids(dataset.id) == old_ids and unfinished_jobs(ws) == []
    assert all(ws.vectors.get_vectors(dataset.id, space, new_ids) == {} for space in spaces)
    assert ws.store.image_root(dataset.id) == tmp_path / "first"
    assert shown() == before and exported() == before

    ws.undo(undone.batch_id)
    assert ws.store.image_root(dataset.id) == tmp_path
    assert all(sorted(ws.vectors.get_vectors(dataset.id, space, new_ids)) == embedded for space in spaces)
    assert run_ingest(ws, job, effnet, text_embedder=minilm).embedded == 3
    assert shown() == sorted(
        [f"first/{p}" for p in before] + [f"more/frog/{p.name}" for p in (tmp_path / "more" / "frog").iterdir()]
    )


def test_rows_added_from_another_folder_are_shown_from_their_own_folder_and_exported_from_the_common_one(ws, tmp_path):
    """A ZIP (unpacked in the workspace's media folder) then images added from a folder elsewhere: the
    dataset's root becomes their common folder, from where Browse showed `workspace/media/<hash>/cat/x.jpg`
    with the file name cut off. Each row is shown from the folder its own ingest read (`cat/x.jpg`,
    `frog/y.jpg`), also in the ingest's problem message; exports stay relative to the common root, so an
    export put there imports again."""
    import pandas as pd

    from core.export import Format, export_dataset
    from core.export.columns import image_field
    from core.images import image_roots
    from core.ingest import problem_summary

    table = load_source(ws, cifar_zip(tmp_path, per_class=2))
    start_ingest(ws, table, infer_mapping(table), "pets", source="classes.zip")
    dataset = ws.dataset("pets")
    first = {r["id"]: r for r in ws.store.rows_by_ids(ws.store.row_ids(dataset.id))}
    (tmp_path / "more" / "frog").mkdir(parents=True)
    for img in sorted(shared("cifar10_sample/images/frog").glob("*.jpg"))[:3]:
        shutil.copy(img, tmp_path / "more" / "frog" / f"new_{img.name}")
    (tmp_path / "more" / "frog" / "broken.jpg").write_text("not a JPEG\n")
    more = load_source(ws, tmp_path / "more")
    job = start_ingest(ws, more, infer_mapping(more), "pets", source="more", append=True)
    assert ws.store.image_root(dataset.id) == tmp_path  # holds the workspace's media folder and "more"

    rows = ws.store.rows_by_ids(ws.store.row_ids(dataset.id))
    roots = image_roots(ws.store, dataset.id)
    shown = [roots.of(r) for r in rows]
    first_names = [f"{p.parent.name}/{p.name}" for p in map(Path, (r["image_path"] for r in first.values()))]
    assert shown[: len(first)] == first_names and all(s.count("/") == 1 for s in shown)
    assert sorted(shown[len(first) :]) == ["frog/broken.jpg"] + sorted(
        f"frog/{p.name}" for p in (tmp_path / "more" / "frog").glob("new_*.jpg")
    )
    page, _ = ws.store.rows_page(dataset.id, limit=1000)  # what Browse reads
    assert [roots.of(r) for r in page] == shown
    with ws.store.transaction() as conn:  # what embedding the append writes for the broken file
        conn.execute("UPDATE rows SET problem = 'not a readable image file' WHERE image_path LIKE '%broken.jpg'")
    assert problem_summary(ws, dataset.id, job_id=job) == "frog/broken.jpg (not a readable image file)"

    path = tmp_path / "export.csv"
    export_dataset(ws, dataset.id, path, fmt=Format.CSV)
    written = pd.read_csv(path, dtype=str)[image_field(ws, dataset.id)].tolist()
    assert written == [str(Path(r["image_path"]).relative_to(tmp_path).as_posix()) for r in rows]
    assert written[-1].startswith("more/frog/") and written[0].startswith("workspace/media/")


def test_the_same_file_added_again_after_an_undo_keeps_the_redo_possible(ws):
    """Pause an append, undo it, add the file again (other options): the new rows are named apart from the
    undone ones (``more.2-1``), so the undo can still be undone. Rows with ids of their own that clash
    with the undone ones make the redo refuse, naming the ingest to undo first, instead of failing."""
    from core.history import history

    sst2 = load_source(ws, shared("sst2/sst2_glue_dev_872.csv"))
    start_ingest(ws, head(sst2, 10), infer_mapping(sst2), "a", source="sst2.csv")
    dataset = ws.dataset("a")
    more = dataclasses.replace(sst2, frame=sst2.frame.iloc[10:15].reset_index(drop=True))
    mark_paused(ws, start_ingest(ws, more, infer_mapping(sst2), "a", source="more.csv", append=True))
    undone = ws.undo(history(ws.store, dataset.id, limit=1)[0].id)
    mark_paused(ws, start_ingest(ws, more, infer_mapping(sst2), "a", source="more.csv", append=True))
    added_again = [ws.store.source_id(r) for r in ws.store.row_ids(dataset.id)[10:]]
    assert added_again == [f"more.2-{i}" for i in range(1, 6)]
    assert ws.undo(undone.batch_id).redo and ws.status(dataset.id).rows == 20

    ids = dataclasses.replace(sst2, frame=sst2.frame.iloc[20:23].reset_index(drop=True))
    ids.frame["key"] = ["k1", "k2", "k3"]
    mapping = dataclasses.replace(infer_mapping(sst2), id_column="key")
    mark_paused(ws, start_ingest(ws, ids, mapping, "a", source="keys.csv", append=True))
    undone = ws.undo(history(ws.store, dataset.id, limit=1)[0].id)
    mark_paused(ws, start_ingest(ws, ids, mapping, "a", source="keys.csv", append=True))
    with pytest.raises(ConflictError, match="id 'k.' is taken .* by 'Ingest 3 rows from keys.csv'"):
        ws.undo(undone.batch_id)
    assert ws.status(dataset.id).rows == 23


def test_an_ingest_counts_the_rows_its_text_repair_changed(ws, tmp_path):
    """Browse offers a row's text as the file had it only on a dataset where the repair changed some row:
    SST-2's text is stored as it came, AG News' bare entities are repaired. An undone append's rows leave
    its count out; an ingest from before the count makes it unknown."""
    from core.history import history
    from core.schema import repaired_rows

    sst2 = load_source(ws, shared("sst2/sst2_glue_dev_872.csv"))
    start_ingest(ws, sst2, infer_mapping(sst2), "sst2", source="sst2.csv")
    assert repaired_rows(ws.store, ws.dataset("sst2").id) == 0
    news = tmp_path / "news.csv"
    news.write_text('id,title,body\n1,Texans lose,"The Texans #39; defense"\n2,Plain,Nothing to repair here\n')
    table = load_source(ws, news)
    mapping = dataclasses.replace(infer_mapping(table), text_columns=["title", "body"], label_column=None)
    start_ingest(ws, table, mapping, "news", source="news.csv")
    dataset_id = ws.dataset("news").id
    assert repaired_rows(ws.store, dataset_id) == 1
    more = tmp_path / "more.csv"
    more.write_text('id,title,body\n3,Caf\u00c3\u00a9,"A &lt;b&gt;bold&lt;/b&gt; claim"\n4,Plain too,Nothing here\n')
    table = load_source(ws, more)
    mark_paused(ws, start_ingest(ws, table, mapping, "news", source="more.csv", append=True))
    assert repaired_rows(ws.store, dataset_id) == 2
    ws.undo(history(ws.store, dataset_id, limit=1)[0].id)  # the append undone: its repaired row is gone
    assert repaired_rows(ws.store, dataset_id) == 1
    with ws.store.transaction() as conn:  # an ingest made before ingests counted their repairs
        conn.execute("UPDATE jobs SET settings_json = json_remove(settings_json, '$.repaired_rows')")
    assert repaired_rows(ws.store, dataset_id) is None


def test_a_rows_text_before_the_repair_is_read_from_its_fields_with_its_own_ingests_columns(ws, tmp_path):
    """Browse shows the text as the file had it when the repair changed it: AG News' bare entities, markup."""
    from core.schema import text_before_repair

    first = tmp_path / "news.csv"
    first.write_text(
        'id,title,body\n1,Texans lose,"The Texans #39; defense <b>held</b>"\n2,Plain,Nothing to repair here\n'
    )
    table = load_source(ws, first)
    both = dataclasses.replace(infer_mapping(table), text_columns=["title", "body"], label_column=None)
    start_ingest(ws, table, both, "news", source="news.csv")
    dataset_id = ws.dataset("news").id
    added = tmp_path / "more.csv"  # an append whose text is one other column, stored as it came
    added.write_text("id,headline\n3,Caf\u00c3\u00a9 opens #39;here#39; with a long enough headline to be text\n")
    table = load_source(ws, added)
    as_it_came = dataclasses.replace(infer_mapping(table), clean_text=False)
    start_ingest(ws, table, as_it_came, "news", source="more.csv", append=True)
    rows, _ = ws.store.rows_page(dataset_id)
    assert rows[0]["text"] == "Texans lose\nThe Texans' defense held"
    assert text_before_repair(ws.store, rows[0]) == "Texans lose\nThe Texans #39; defense <b>held</b>"
    assert text_before_repair(ws.store, rows[1]) is None  # nothing changed
    assert rows[2]["text"].startswith("Caf\u00c3\u00a9 opens #39;here#39;")  # stored as it came: no "before"
    assert text_before_repair(ws.store, rows[2]) is None
