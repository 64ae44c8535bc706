"""The headless CLI: ingest a real file, list datasets, show counts, history, undo, errors."""

import subprocess
import sys

import pytest

from core.cli import main
from core.workspace import Workspace
from tests.conftest import REPO, shared


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_ingest_list_counts_history_undo(tmp_path):
    ws_dir = str(tmp_path / "ws")
    csv = tmp_path / "manual.csv"
    lines = shared("sentiment140/sentiment140_test_manual_498.csv").read_text(encoding="utf-8").splitlines()
    csv.write_text("\n".join(lines[:201]) + "\n", encoding="utf-8")
    out = run_cli("--workspace", ws_dir, "ingest", str(csv), "--dataset", "manual")
    assert out.returncode == 0, out.stderr
    assert "200 of 200 rows embedded" in out.stdout
    listing = run_cli("--workspace", ws_dir, "datasets")
    assert "manual\ttext\t200 rows\t100% labeled\tminilm-l6-v2" in listing.stdout
    counts = run_cli("--workspace", ws_dir, "counts", "manual")
    assert "rows:        200" in counts.stdout and "neutral" in counts.stdout

    ws = Workspace(tmp_path / "ws")
    dataset = ws.dataset("manual")
    with ws.batch(dataset.id, action="bulk_label", description="mark 3") as b:
        b.set_tag(ws.store.row_ids(dataset.id)[:3], "needs-review")
    history = run_cli("--workspace", ws_dir, "history", "manual")
    batch_id = history.stdout.splitlines()[0].split("\t")[0]
    assert run_cli("--workspace", ws_dir, "undo", batch_id).returncode == 0
    assert ws.status("manual").needs_review == 0

    hits = run_cli("--workspace", ws_dir, "search", "manual", "a date to see a movie at the museum", "-k", "3")
    assert hits.returncode == 0, hits.stderr
    scores = [float(line.split("\t")[0]) for line in hits.stdout.splitlines()]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True) and "night at the museum" in hits.stdout
    labeled = run_cli("--workspace", ws_dir, "autolabel", "manual", "--target", "0.9")
    assert labeled.returncode == 0, labeled.stderr
    assert "rows at confidence >=" in labeled.stdout and "accepted" not in labeled.stdout
    out = tmp_path / "manual.parquet"
    exported = run_cli("--workspace", ws_dir, "export", "manual", str(out), "--format", "parquet")
    assert exported.returncode == 0 and "exported 200 rows" in exported.stdout
    report = run_cli("--workspace", ws_dir, "report", "manual", str(tmp_path / "r.html"))
    assert report.returncode == 0 and (tmp_path / "r.html").stat().st_size > 100_000

    issues = run_cli("--workspace", ws_dir, "issues", "manual", "--top", "2")
    assert issues.returncode == 0, issues.stderr
    assert "200 rows checked" in issues.stdout and "Label issues" in issues.stdout
    assert "lowest label scores (top 2):" in issues.stdout
    from core.issues import latest_report

    assert latest_report(ws, dataset.id).n_rows == 200  # stored as a run the Issues page shows


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    ws_dir = str(tmp_path / "ws")
    assert main(["--workspace", ws_dir, "counts", "nope"]) == 2
    assert "No dataset 'nope'" in capsys.readouterr().err
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert main(["--workspace", ws_dir, "ingest", str(empty), "--dataset", "x"]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["--workspace", ws_dir, "datasets"]) == 0
    assert "no datasets yet" in capsys.readouterr().out


def test_schema_dry_run_stores_nothing(tmp_path, capsys):
    ws_dir = str(tmp_path / "ws")
    assert main(["--workspace", ws_dir, "schema", str(shared("ag_news/test.csv"))]) == 0
    out = capsys.readouterr().out
    assert "label_names:   ['World', 'Sports', 'Business', 'Sci/Tech']" in out
    assert Workspace(tmp_path / "ws").datasets() == []
