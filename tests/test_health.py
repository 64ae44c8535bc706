"""The stakeholder health report: its numbers against the store, and the HTML in real Chromium, offline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError, NotFoundError
from core.health import health_report, render_health_report, write_health_report
from tests.conftest import REPO, shared

N_ROWS = 300
HIDDEN = 100  # the last rows come without a label
SCRIPT = "Markets rally <script>alert(1)</script> as oil & gold slip"
ODD_CLASS = "<img src=x onerror=alert(2)>"  # a class name typed by a reviewer is untrusted too


@pytest.fixture(scope="module")
def curated(tmp_path_factory, minilm):
    """300 AG News rows (15 labels flipped, 100 hidden, one row carrying a script tag) curated through
    the real core calls: auto-label + accept, an audit, an issue check, Clean Top K fixes and reviews."""
    from core.audit import audit_sample, record_verdict
    from core.ingest import run_ingest, start_ingest
    from core.issues import Fix, find_issues, fix_rows
    from core.readers import Table
    from core.review import ReviewAction, review_row
    from core.schema import infer_mapping
    from core.wizard import accept, train
    from core.workspace import Workspace

    frame = pd.read_csv(shared("ag_news/train_subset_10k.csv"), keep_default_na=False).head(N_ROWS)
    truth = frame["label"].tolist()
    classes = sorted(set(truth))
    rng = np.random.default_rng(1)
    flipped = rng.choice(N_ROWS - HIDDEN, 15, replace=False)
    labels = frame["label"].to_numpy(dtype=object)
    for i in flipped:
        labels[i] = classes[(classes.index(labels[i]) + 1) % len(classes)]
    labels[N_ROWS - HIDDEN :] = ""
    frame["label"] = labels
    frame.loc[7, "description"] = SCRIPT
    frame = pd.concat(
        [frame, pd.DataFrame({"description": [frame["description"][3], "  "], "label": [classes[0], ""]})],
        ignore_index=True,
    )
    ws = Workspace(tmp_path_factory.mktemp("health") / "ws")
    table = Table(frame, kind="table", class_names=classes)
    run_ingest(ws, start_ingest(ws, table, infer_mapping(table), "news", source="news.csv"), minilm)
    ds = ws.dataset("news")
    row_ids = ws.store.row_ids(ds.id)
    truth_by_row = dict(zip(row_ids, truth, strict=False))

    accept(ws, ds.id, train(ws, ds.id, target_precision=0.9, text_embedder=minilm))
    verdicts = []
    for row_id in audit_sample(ws, ds.id, k=12, seed=0):
        label = ws.store.row_states([row_id])[row_id]["label"]
        right = label == truth_by_row[row_id]
        record_verdict(ws, ds.id, row_id, correct=right, corrected_to=None if right else truth_by_row[row_id])
        verdicts.append(right)

    duplicate = row_ids[N_ROWS]  # the copy of row 3: tagged before the check, so not a fix made after it
    review_row(ws, ds.id, duplicate, ReviewAction.NEEDS_REVIEW)
    report = find_issues(ws, ds.id)
    states = ws.store.row_states(row_ids)
    script_row = row_ids[7]
    issues = report.frame[report.frame.is_label_issue].sort_values("label_score")
    # Only rows still holding the label they came with, so each fix below has one clear outcome.
    candidates = [
        int(r)
        for r in issues.row_id
        if states[int(r)]["label_source"] == "original" and r not in (script_row, duplicate)
    ]
    assert len(candidates) >= 10, "too few label issues on original labels to curate"
    auto_fixed, excluded, review, kept = candidates[:6], candidates[6:8], candidates[8:9], candidates[9:10]
    fix_rows(ws, ds.id, report, auto_fixed, Fix.AUTO_FIX)
    record_verdict(ws, ds.id, auto_fixed[0], correct=True)  # the auto-fixes' own audit: one checked, right
    fix_rows(ws, ds.id, report, excluded, Fix.EXCLUDE)
    fix_rows(ws, ds.id, report, review, Fix.NEEDS_REVIEW)
    review_row(ws, ds.id, kept[0], ReviewAction.KEEP_GIVEN)
    review_row(ws, ds.id, script_row, ReviewAction.LABEL, value=ODD_CLASS)
    return {
        "ws": ws,
        "ds": ds,
        "report": report,
        "script_row": script_row,
        "duplicate": duplicate,
        "auto_fixed": auto_fixed,
        "excluded": excluded,
        "review": review,
        "kept": kept,
        "verdicts": verdicts,
    }


def _count(ws, sql: str, *params) -> int:
    with ws.store.connect() as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_numbers_match_the_store_and_the_curation_done(curated):
    ws, ds, run = curated["ws"], curated["ds"], curated["report"]
    r = health_report(ws, ds.id)
    kept_labels = (
        "SELECT COUNT(*) FROM labels JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ?"
        " AND rows.excluded = 0 AND labels.value IS NOT NULL"
    )
    assert (r.rows, r.excluded, r.kept) == (N_ROWS + 2, 2, N_ROWS)
    assert (
        r.labeled_before
        == N_ROWS - HIDDEN + 1
        == _count(
            ws,
            "SELECT COUNT(*) FROM labels JOIN rows ON rows.id = labels.row_id"
            " WHERE dataset_id = ? AND given IS NOT NULL",
            ds.id,
        )
    )
    assert r.labeled_after == _count(ws, kept_labels, ds.id) == sum(r.by_source.values())
    assert r.labeled_share_before == pytest.approx((N_ROWS - HIDDEN + 1) / (N_ROWS + 2))
    assert r.labeled_share_after == pytest.approx(r.labeled_after / N_ROWS)
    assert list(r.by_source)[:5] == ["original", "human", "suggestion_accepted", "bulk", "auto"]
    wrong = curated["verdicts"].count(False)
    assert r.by_source["human"] == 2 + wrong  # keep-given, the reviewer's label, and audit corrections
    assert r.by_source["auto"] == r.auto.rows == _count(ws, kept_labels + " AND labels.source = 'auto'", ds.id)
    assert r.auto.from_issue_fixes == len(curated["auto_fixed"])
    assert (r.auto.fix_audit.checked, r.auto.fix_audit.correct) == (1, 1)  # apart from the wizard's audit
    assert r.auto.audit.checked == len(curated["verdicts"])
    assert "(audited: 1 of 1 checked right, 95% interval" in render_health_report(ws, ds.id)
    assert r.auto.share == pytest.approx(r.auto.rows / N_ROWS)
    assert r.classes_after[ODD_CLASS] == 1 and sum(r.classes_after.values()) == r.labeled_after
    assert sum(r.classes_before.values()) == r.labeled_before

    # The audit and the promise of the wizard's latest run.
    from core.wizard import latest_prediction

    assert (r.auto.audit.checked, r.auto.audit.correct) == (len(curated["verdicts"]), sum(curated["verdicts"]))
    promise = latest_prediction(ws, ds.id).promise()
    assert r.auto.promised_precision == promise.expected_precision and r.auto.promised_rows == promise.rows > 0
    assert r.auto.target_precision == 0.9

    # Issues: every fix made after the check counts, each in its own kind.
    issues = r.issues
    assert issues.run_id == run.run.id and issues.stale and issues.checked_rows == run.n_rows
    assert {t.name: t.found for t in issues.types} == run.counts()
    script_flagged = bool(run.frame.set_index("row_id").loc[curated["script_row"], "n_issues"])
    assert issues.fixes == {
        "relabeled": len(curated["auto_fixed"]) + script_flagged,
        "excluded": 2,
        "confirmed": 1,
        "needs_review": 1,
    }
    assert run.frame.set_index("row_id").loc[curated["duplicate"], "is_exact_duplicate_issue"]
    assert issues.rows_fixed == sum(issues.fixes.values())
    assert issues.rows_found == int((run.frame.n_issues > 0).sum())
    label = next(t for t in issues.types if t.name == "label")
    script_label_issue = bool(run.frame.set_index("row_id").loc[curated["script_row"], "is_label_issue"])
    assert label.fixed == 10 + script_label_issue
    assert sum(c.found for c in issues.by_class if c.issue == "label") == label.found
    assert sum(c.fixed for c in issues.by_class if c.issue == "label") == label.fixed

    # Gallery: the reviewer's relabel first, then the auto-fixes; nothing else changed a given label.
    assert r.relabeled == len(curated["auto_fixed"]) + 1
    assert [x.row_id for x in r.examples][0] == curated["script_row"]
    assert r.examples[0].source == "human" and r.examples[0].now == ODD_CLASS and r.examples[0].text == SCRIPT
    assert {x.row_id for x in r.examples[1:]} == set(curated["auto_fixed"])
    assert all(x.now != x.given for x in r.examples)


def test_report_escapes_row_texts_and_class_names(curated):
    document = render_health_report(curated["ws"], curated["ds"].id)
    assert SCRIPT not in document and ODD_CLASS not in document
    assert "Markets rally &lt;script&gt;alert(1)&lt;/script&gt; as oil &amp; gold slip" in document
    assert "<b>&lt;img src=x onerror=alert(2)&gt;</b>" in document  # the gallery caption
    assert "https://" not in document.split("</script>", 1)[1]  # nothing after plotly.js points online


def test_a_fresh_dataset_says_plainly_what_has_not_happened(ws, dataset):
    dataset_id, _ = dataset
    r = health_report(ws, dataset_id)
    assert (r.rows, r.labeled_before, r.labeled_after, r.issues, r.examples) == (8, 3, 3, None, [])
    assert r.auto.rows == 0 and r.auto.audit.checked == 0 and r.auto.run_created_at is None
    text = render_health_report(ws, dataset_id)
    assert "Before curation, <b>3 of 8 rows (37.5%)</b> came with a label." in text
    assert "No issue check has run on this dataset yet" in text
    assert "so no precision was promised" in text and "There are no auto labels to audit." in text
    assert "No row that came with a label carries a different one now." in text


def test_write_is_atomic_and_errors_say_what_to_do(ws, dataset, tmp_path):
    dataset_id, _ = dataset
    target = tmp_path / "reports" / "health.html"
    target.parent.mkdir()
    target.write_text("old report")
    assert write_health_report(ws, dataset_id, target) == target.resolve()
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["health.html"]  # no temporary file left behind
    with pytest.raises(InputError, match="is a folder: give a file name"):
        write_health_report(ws, dataset_id, tmp_path)
    with pytest.raises(NotFoundError, match="No dataset"):
        health_report(ws, 999)
    with ws.store.transaction() as conn:
        empty = ws.store.create_dataset(conn, "empty", modality="text", embedding_model="minilm-l6-v2")
    with pytest.raises(InputError, match="has no rows yet"):
        health_report(ws, empty)


@pytest.mark.slow
def test_image_fixes_show_their_thumbnail_inline(ws, effnet, tmp_path):
    import base64
    import shutil

    from core.ingest import load_source, run_ingest, start_ingest
    from core.review import ReviewAction, review_row
    from core.schema import infer_mapping
    from tests.conftest import DEMO

    for cls in ("cat", "ship"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for img in sorted((DEMO / "cifar10_200" / "images" / cls).glob("*.jpg"))[:3]:
            shutil.copy(img, tmp_path / "photos" / cls / img.name)
    table = load_source(ws, tmp_path / "photos")
    run_ingest(ws, start_ingest(ws, table, infer_mapping(table), "photos", source="photos"), effnet)
    ds = ws.dataset("photos")
    cat = next(r for r, s in ws.store.row_states(ws.store.row_ids(ds.id)).items() if s["label"] == "cat")
    review_row(ws, ds.id, cat, ReviewAction.LABEL, value="ship")

    r = health_report(ws, ds.id)
    assert [(x.row_id, x.given, x.now, x.source) for x in r.examples] == [(cat, "cat", "ship", "human")]
    thumb = r.examples[0].thumb
    assert thumb.startswith(b"\xff\xd8")  # JPEG
    document = render_health_report(ws, ds.id)
    assert f'src="data:image/jpeg;base64,{base64.b64encode(thumb).decode()}"' in document
    assert "Image dataset · 6 rows" in document


@pytest.mark.browser
@pytest.mark.slow
def test_report_opens_offline_in_chromium_with_charts_and_numbers(curated, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    ws, ds = curated["ws"], curated["ds"]
    r = health_report(ws, ds.id)
    path = write_health_report(ws, ds.id, tmp_path / "health.html")
    shot = REPO / "test-artifacts" / "browser" / "health_report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    errors, online, dialogs = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            def offline(route):
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    online.append(route.request.url)
                    route.abort()

            page.route("**/*", offline)
            page.goto(path.as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4")
            page.wait_for_timeout(300)
            body = page.inner_text("body")
            plots = page.locator(".js-plotly-plot").count()
            scripts = page.evaluate("[...document.scripts].map(s => s.textContent)")
            injected = page.locator("img[src='x']").count()
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    assert errors == [] and online == [] and dialogs == []
    assert plots >= 5  # classes, sources, audit, issues by type, issues by class
    assert f"Before curation, {r.labeled_before:,} of {r.rows:,} rows ({r.labeled_share_before:.1%})" in body
    assert f"Now {r.labeled_after:,} of the {r.kept:,} rows kept ({r.labeled_share_after:.1%}) have a label" in body
    assert f"{r.labeled_share_before:.1%} → {r.labeled_share_after:.1%}" in body
    audit = r.auto.audit
    assert f"{audit.correct} of {audit.checked} auto labels were right" in body
    assert f"promised {r.auto.promised_precision:.1%}" in body
    assert f"{r.issues.rows_fixed:,} of them have been dealt with since" in body
    assert "news" in body and "minilm" in body.lower()
    # The untrusted text is shown as text, never run.
    assert SCRIPT in body and f"now {ODD_CLASS}" in body
    assert injected == 0 and "alert(1)" not in [s.strip() for s in scripts]
    assert not any("<script>alert" in s or "<img src=x" in s for s in scripts)  # charts carry it JSON-escaped
    assert shot.stat().st_size > 50_000
