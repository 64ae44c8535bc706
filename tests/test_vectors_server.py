"""Server mode against a real Chroma server process (`chroma run`), not the embedded client.

One server per module on a free local port; the workspace reaches it over HTTP exactly as a
deployment with ``CURATOR_CHROMA_HOST`` would. Checks that vectors land on the server, that a
filtered search follows label changes and their undo, that an undone append's vectors leave the
server and come back, and that connection errors name the server but never the token.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import subprocess
from pathlib import Path

import pytest

from core.config import ChromaSettings
from core.errors import CuratorError
from core.ingest import load_source, run_ingest, start_ingest
from core.schema import infer_mapping
from core.vectors import VectorStore, collection_name
from core.workspace import Workspace
from tests.browser import free_port
from tests.chroma_server import HOST, chroma_server, raw_client
from tests.conftest import shared

pytestmark = pytest.mark.slow

N_ROWS = 200
SECRET = "s3cr3t-token-must-not-leak-7f3a"


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory):
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as port:
        yield port


@pytest.fixture
def no_chroma_env(monkeypatch):
    for name in ("CURATOR_CHROMA_HOST", "CURATOR_CHROMA_PORT", "CURATOR_CHROMA_SSL", "CURATOR_CHROMA_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def write_sst2_head(path: Path, n: int = N_ROWS) -> Path:
    """The first ``n`` rows of the SST-2 dev set, byte-for-byte the same text."""
    with shared("sst2/sst2_glue_dev_872.csv").open(newline="", encoding="utf-8") as src:
        reader = csv.reader(src)
        rows = [next(reader) for _ in range(n + 1)]  # header + n rows
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    return path


@pytest.fixture(scope="module")
def server_ws(chroma_port, minilm, tmp_path_factory):
    """A workspace in server mode holding 200 embedded SST-2 rows."""
    root = tmp_path_factory.mktemp("server-ws")
    ws = Workspace(root / "workspace", chroma=ChromaSettings(host=HOST, port=chroma_port))
    table = load_source(ws, write_sst2_head(root / "sst2_head.csv"))
    job_id = start_ingest(ws, table, infer_mapping(table), "sst2-head", source="sst2_head.csv")
    report = run_ingest(ws, job_id, minilm)
    assert (report.status, report.embedded, report.skipped) == ("done", N_ROWS, 0)
    return ws


def test_ingest_lands_on_the_server(server_ws, chroma_port, minilm, no_chroma_env):
    ws = server_ws
    ds = ws.dataset("sst2-head")
    assert ws.chroma_settings.server_mode
    assert ws.vectors.count(ds.id, ds.embedding_model) == N_ROWS
    # Nothing embedded went into the workspace folder: the server holds the vectors.
    assert not (ws.root / "chroma").exists()

    server = raw_client(chroma_port)
    name = ws.vectors.name(ds.id, ds.embedding_model)
    assert name in {c.name for c in server.list_collections()}
    coll = server.get_collection(name)
    assert coll.count() == N_ROWS
    assert set(coll.get(include=[])["ids"]) == {str(r) for r in ws.store.row_ids(ds.id)}

    # A row's own text finds that row first, at similarity ~1 (the text is unique in the set).
    rows, _ = ws.store.rows_page(ds.id, limit=N_ROWS)
    texts = [r["text"] for r in rows]
    probe = next(r for r in rows[37:] if texts.count(r["text"]) == 1)
    hits = ws.vectors.query(ds.id, ds.embedding_model, minilm.embed_texts([probe["text"]])[0], n=5)
    assert hits[0][0] == probe["id"]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-3)
    assert hits[1][1] < hits[0][1] - 1e-3


def test_a_filtered_search_follows_a_label_batch_and_its_undo_through_the_server(
    server_ws, chroma_port, minilm, no_chroma_env
):
    """Chroma holds only vectors: a label filter is answered from SQLite and the server searches only
    the matching ids, so a batch and its undo show at once, with no metadata to keep in step."""
    from core.search import Filters, search_text

    ws = server_ws
    ds = ws.dataset("sst2-head")
    rows, _ = ws.store.rows_page(ds.id, limit=N_ROWS)
    positives = {r["id"] for r in rows if r["label"] == "positive"}
    negatives = [r["id"] for r in rows if r["label"] == "negative"]
    assert positives and len(negatives) >= 10

    def positive_hits() -> set[int]:
        found = search_text(
            ws, ds, "a moving film", text_embedder=minilm, filters=Filters(labels=["positive"]), n=N_ROWS
        )
        return set(found.row_ids)

    assert positive_hits() == positives
    with ws.batch(ds.id, action="bulk_label", description="t") as b:
        assert b.set_label(negatives[:10], "positive") == 10
    assert positive_hits() == positives | set(negatives[:10])
    with ws.store.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM mirror_pending").fetchone()[0] == 0
    assert ws.undo(b.id).restored == 10
    assert positive_hits() == positives
    got = (
        raw_client(chroma_port)
        .get_collection(ws.vectors.name(ds.id, ds.embedding_model))
        .get(ids=[str(negatives[0])], include=["metadatas"])
    )
    assert got["metadatas"] == [None]  # nothing but the vector


def test_an_appends_vectors_leave_the_server_on_undo_and_come_back_on_redo(
    server_ws, tmp_path, chroma_port, minilm, no_chroma_env
):
    import dataclasses

    ws = server_ws  # another workspace's dataset ids would name the same collections on this server
    table = load_source(ws, write_sst2_head(tmp_path / "sst2_head.csv", n=30))
    first = dataclasses.replace(table, frame=table.frame.iloc[:20].reset_index(drop=True))
    more = dataclasses.replace(table, frame=table.frame.iloc[20:].reset_index(drop=True))
    run_ingest(ws, start_ingest(ws, first, infer_mapping(table), "grows", source="a.csv"), minilm)
    ds = ws.dataset("grows")
    old = ws.store.row_ids(ds.id)
    run_ingest(ws, start_ingest(ws, more, infer_mapping(table), "grows", source="b.csv", append=True), minilm)
    added = sorted(set(ws.store.row_ids(ds.id)) - set(old))
    coll = raw_client(chroma_port).get_collection(ws.vectors.name(ds.id, ds.embedding_model))
    assert coll.count() == 30 and len(added) == 10
    from core.history import history

    append = next(b for b in history(ws.store, ds.id) if b.action == "ingest")
    undone = ws.undo(append.id)
    assert coll.count() == 20 and ws.vectors.get_vectors(ds.id, ds.embedding_model, added) == {}
    ws.undo(undone.batch_id)
    assert coll.count() == 30 and sorted(ws.vectors.get_vectors(ds.id, ds.embedding_model, added)) == added


CONCURRENT_LABELER = """
import sys
from core.config import ChromaSettings
from core.workspace import Workspace
ws = Workspace(sys.argv[1], chroma=ChromaSettings(host=sys.argv[2], port=int(sys.argv[3])))
ds = ws.dataset("sst2-head")
ids = ws.store.row_ids(ds.id)[int(sys.argv[4]) :: 2]
for i, row in enumerate(ids):  # one small batch per row, as review clicks are
    with ws.batch(ds.id, action="review_label", description=f"row {row}") as b:
        b.set_label([row], sys.argv[5])
print(len(ids))
"""


def test_two_processes_label_at_once_against_one_server(server_ws, chroma_port, no_chroma_env):
    """Two processes (as two app servers would) write labels to one workspace and one Chroma server at
    the same time: every change lands in SQLite and in the history, and the outbox ends empty."""
    import sys

    from tests.conftest import REPO

    ws = server_ws
    ds = ws.dataset("sst2-head")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_LABELER, str(ws.root), HOST, str(chroma_port), str(k), f"writer-{k}"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for k in (0, 1)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode()[-2000:] for o in outs]
    ids = ws.store.row_ids(ds.id)
    states = ws.store.row_states(ids)
    assert all(states[r]["label"] == f"writer-{i % 2}" for i, r in enumerate(ids))
    with ws.store.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM batches WHERE action = 'review_label'").fetchone()[0] == N_ROWS
        assert conn.execute("SELECT COUNT(*) FROM mirror_pending").fetchone()[0] == 0


def test_unreachable_server_names_host_and_port_not_the_token(tmp_path, monkeypatch, no_chroma_env):
    monkeypatch.setenv("CURATOR_CHROMA_TOKEN", SECRET)
    port = free_port()  # bound then released: nothing listens there
    settings = ChromaSettings(host=HOST, port=port)
    with pytest.raises(CuratorError) as excinfo:
        VectorStore(tmp_path / "unused", settings)
    message = str(excinfo.value)
    assert f"{HOST}:{port}" in message
    assert SECRET not in message
    assert SECRET not in repr(excinfo.value)

    # The same through a workspace: browsing works, the vectors property raises the same error.
    ws = Workspace(tmp_path / "workspace", chroma=settings)
    assert ws.datasets() == []
    with pytest.raises(CuratorError) as excinfo:
        _ = ws.vectors
    assert f"{HOST}:{port}" in str(excinfo.value)
    assert SECRET not in str(excinfo.value)


def test_settings_from_env_select_server_mode(tmp_path, chroma_port, monkeypatch, no_chroma_env):
    assert not ChromaSettings.from_env().server_mode  # no host: embedded

    monkeypatch.setenv("CURATOR_CHROMA_HOST", HOST)
    monkeypatch.setenv("CURATOR_CHROMA_PORT", str(chroma_port))
    settings = ChromaSettings.from_env()
    assert settings == ChromaSettings(host=HOST, port=chroma_port, ssl=False)
    assert settings.server_mode
    assert settings.describe() == f"Chroma server {HOST}:{chroma_port}"

    # And a workspace opened with them really talks to that server.
    ws = Workspace(tmp_path / "workspace", chroma=settings)
    ws.vectors.collection(999, "from-env-probe")
    names = {c.name for c in raw_client(chroma_port).list_collections()}
    assert ws.vectors.name(999, "from-env-probe") in names
    assert not (ws.root / "chroma").exists()
    ws.vectors.drop(999, "from-env-probe")


def test_two_workspaces_on_one_server_keep_their_own_collections(tmp_path, chroma_port, minilm, no_chroma_env):
    """Dataset ids restart at 1 in every workspace: without the workspace's prefix in each collection's
    name, a second workspace's first dataset wrote into the first one's collection."""
    settings = ChromaSettings(host=HOST, port=chroma_port)
    workspaces = [Workspace(tmp_path / f"workspace-{k}", chroma=settings) for k in (1, 2)]
    source = write_sst2_head(tmp_path / "head.csv", n=12)
    for k, ws in enumerate(workspaces):
        table = load_source(ws, source)
        table = dataclasses.replace(table, frame=table.frame.iloc[: 5 + 5 * k].reset_index(drop=True))
        run_ingest(ws, start_ingest(ws, table, infer_mapping(table), f"mine-{k}", source="head.csv"), minilm)
    first, second = (ws.dataset(f"mine-{k}") for k, ws in enumerate(workspaces))
    assert first.id == second.id  # the same id in each workspace
    assert workspaces[0].vectors.name(first.id, first.embedding_model) != workspaces[1].vectors.name(
        second.id, second.embedding_model
    )
    assert [ws.vectors.count(d.id, d.embedding_model) for ws, d in zip(workspaces, (first, second), strict=True)] == [
        5,
        10,
    ]
    assert Workspace(workspaces[0].root, chroma=settings).vectors.prefix == workspaces[0].vectors.prefix  # kept


def test_a_workspace_made_before_prefixes_keeps_its_plain_collection_names(tmp_path):
    from core.store import Store

    store = Store(tmp_path / "curator.sqlite")
    with store.transaction() as conn:
        store.create_dataset(conn, "old", modality="text", embedding_model="minilm-l6-v2")
        conn.execute("DELETE FROM meta WHERE key = 'chroma_prefix'")  # as in a workspace made before prefixes
    assert Store(store.path).collection_prefix() == "" == Store(store.path).collection_prefix()
    fresh = Store(tmp_path / "new.sqlite").collection_prefix()
    assert re.fullmatch(r"w[0-9a-f]{8}-", fresh) and collection_name(1, "m", fresh) == f"{fresh}ds1-m"
