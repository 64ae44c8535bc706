"""Page and interaction latency with sentiment140's 100,000 tweets loaded; prints a markdown table for the README.

    python bench/ui.py                          # workspace shared with bench/search.py (bench/.cache/search-100k)
    python bench/ui.py --repeat 7 --workspace DIR

The workspace is bench/search.py's: its ``open_dataset`` reuses, resumes or builds the embedded 100k dataset
(the first build embeds 100k tweets with MiniLM, 10-60 min on 2 cores depending on load). The issue checks
and one auto-label training are then run once if no stored result exists (their durations are printed
apart: they are computations, not reruns).

Timings use ``streamlit.testing.v1.AppTest``, which runs app.py in this process: a figure is the server-side
script rerun (app.py, sidebar, page), not the browser's render or the websocket transfer. Every page is opened
once first so the process-wide caches (workspace, models, ``st.cache_data``) are warm, as on a running server.
"First open" is a fresh session switching to the page; each interaction is one widget change and its rerun,
repeated ``--repeat`` times. Every table and chart element of each rerun is also inspected: rows handed to
tables (AgGrid's Arrow payload, ``st.dataframe``, ``st.table``) and the bytes of Plotly figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
BUDGET_MS = 500

import search as search_bench  # noqa: E402  (bench/search.py: the shared 100k workspace)

PAGES = {
    "Browse": "pages/browse.py",
    "Search": "pages/search.py",
    "Issues": "pages/issues.py",
    "Auto-label": "pages/autolabel.py",
    "Export": "pages/export.py",
    "Schema": "pages/schema.py",
    "History": "pages/history.py",
}


def prepare(root: Path, *, partial: bool = False) -> dict[str, str]:
    """The finished dataset plus one stored issue run and one auto-label run; what each one-time step cost.

    ``partial``: a copy of a workspace whose ingest stored every row but has not embedded them all (taken
    while the ingest runs): nothing is ingested, and the runs cover only the embedded rows."""
    from core.embedders import create_embedder
    from core.issues import find_issues, latest_report
    from core.wizard import latest_prediction, train
    from core.workspace import Workspace

    ws = Workspace(root)
    embedder = create_embedder("minilm-l6-v2").setup()
    t0 = time.perf_counter()
    if partial:
        dataset = ws.dataset(search_bench.DATASET)
        status = ws.status(dataset.id)
        costs = {"PARTIAL workspace": f"{status.embedded:,} of {status.rows:,} rows embedded; runs cover only those"}
    else:
        dataset = search_bench.open_dataset(ws, embedder)
        search_bench.undo_leftover_bulk_labels(ws, dataset)
        costs = {"dataset ready (reused / resumed / ingested)": f"{time.perf_counter() - t0:.1f} s"}
    report = latest_report(ws, dataset.id)
    if report is None:
        t0 = time.perf_counter()
        report = find_issues(ws, dataset.id)
        costs["issue checks (find_issues, default settings)"] = f"{time.perf_counter() - t0:.1f} s (computed now)"
    else:
        costs["issue checks (find_issues, default settings)"] = (
            f"{report.run.summary.get('seconds', float('nan')):.1f} s (stored run {report.run.id}, reused)"
        )
    costs["issue report rows"] = f"{report.n_rows:,}"
    prediction = latest_prediction(ws, dataset.id)
    if prediction is None:
        t0 = time.perf_counter()
        prediction = train(ws, dataset.id, text_embedder=embedder)
        costs["auto-label training (wizard.train, automatic labeler)"] = (
            f"{time.perf_counter() - t0:.1f} s (computed now)"
        )
    else:
        costs["auto-label training (wizard.train, automatic labeler)"] = (
            f"stored run {prediction.run.id}, reused (not timed in this run)"
        )
    costs["auto-label prediction rows"] = f"{len(prediction.row_ids):,}"
    costs["rows"] = f"{ws.status(dataset.id).rows:,} ({dataset.name})"
    return costs


# ---- what a rerun hands to the browser -------------------------------------------------------------


def _arrow_rows(data: bytes) -> int:
    import pyarrow as pa

    return pa.ipc.open_stream(io.BytesIO(data)).read_all().num_rows


def shipped(at) -> dict[str, int]:  # noqa: ANN001
    """Rows in the tables and bytes of the Plotly figures of the last rerun."""
    out = {"table rows (max)": 0, "plotly bytes": 0}
    for el in at.get("component_instance"):  # AgGrid: the frame goes as an Arrow table in special_args
        for arg in el.proto.special_args:
            if arg.WhichOneof("value") == "arrow_dataframe":
                out["table rows (max)"] = max(out["table rows (max)"], _arrow_rows(arg.arrow_dataframe.data.data))
        args = json.loads(el.proto.json_args or "{}")
        if isinstance(args.get("rowData"), list):
            out["table rows (max)"] = max(out["table rows (max)"], len(args["rowData"]))
    for kind in ("arrow_data_frame", "arrow_table", "table", "dataframe"):
        for el in at.get(kind):
            try:
                out["table rows (max)"] = max(out["table rows (max)"], len(el.value))
            except Exception:  # noqa: BLE001  (an element type without a frame value: nothing to count)
                continue
    for el in at.get("plotly_chart"):
        out["plotly bytes"] += len(el.proto.spec)
    return out


# ---- timing --------------------------------------------------------------------------------------------


def new_app():  # noqa: ANN201
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(REPO / "app.py"), default_timeout=900)


class Recorder:
    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.payload: dict[str, dict[str, int]] = defaultdict(lambda: {"table rows (max)": 0, "plotly bytes": 0})

    def time(self, page: str, what: str, rerun: Callable[[], object], at) -> None:  # noqa: ANN001
        t0 = time.perf_counter()
        rerun()
        self.seconds[page, what].append(time.perf_counter() - t0)
        if at.exception:
            raise SystemExit(f"{page} / {what}: the page raised {at.exception[0].value}")
        seen = shipped(at)
        mine = self.payload[page]
        mine["table rows (max)"] = max(mine["table rows (max)"], seen["table rows (max)"])
        mine["plotly bytes"] = max(mine["plotly bytes"], seen["plotly bytes"])


def open_page(page: str):  # noqa: ANN201
    """A fresh session on Browse (the default page with data), then on ``page``."""
    at = new_app().run()
    if page != "Browse":
        at.switch_page(PAGES[page]).run()
    return at


def first_opens(rec: Recorder, repeat: int) -> None:
    for page, path in PAGES.items():
        for _ in range(repeat):
            at = new_app().run()  # a fresh session lands on Browse; time the switch (Browse: away and back)
            if page == "Browse":
                at.switch_page(PAGES["History"]).run()
            rec.time(page, "first open (fresh session)", lambda at=at, path=path: at.switch_page(path).run(), at)


def cycle(values: list, repeat: int) -> list:
    """``repeat`` values that each differ from the one before (so every set_value is a real change)."""
    return [values[(i + 1) % len(values)] for i in range(repeat)]


def browse(rec: Recorder, repeat: int) -> None:
    at = open_page("Browse")
    for _ in range(repeat):
        rec.time("Browse", "next page", lambda: at.number_input(key="browse.page").increment().run(), at)
    labels = [o for o in at.selectbox(key="browse.label").options]
    for value in cycle(labels[:3], repeat):
        rec.time("Browse", "label filter", lambda v=value: at.selectbox(key="browse.label").set_value(v).run(), at)


def search(rec: Recorder, repeat: int) -> None:
    at = open_page("Search")
    classes = at.multiselect(key="search.f.labels").options
    for _ in range(repeat):
        rec.time("Search", "select all N matching", lambda: at.button(key="search.selectall").click().run(), at)
        rec.time("Search", "clear selection", lambda: at.button(key="search.clear").click().run(), at)
    for value in cycle([[classes[0]], []], repeat):
        rec.time(
            "Search",
            "label filter (no query)",
            lambda v=value: at.multiselect(key="search.f.labels").set_value(v).run(),
            at,
        )
    for value in cycle([["label"], []], repeat):
        rec.time(
            "Search",
            "flagged-as filter (no query)",
            lambda v=value: at.multiselect(key="search.f.issues").set_value(v).run(),
            at,
        )
    at.text_input(key="search.query").set_value("so tired of work today").run()
    for value in cycle([[classes[0]], []], repeat):
        # The page keeps no result between reruns: each rerun embeds the query and asks Chroma again.
        rec.time(
            "Search",
            "label filter on a query's results*",
            lambda v=value: at.multiselect(key="search.f.labels").set_value(v).run(),
            at,
        )


def issues(rec: Recorder, repeat: int) -> None:
    from core.issues import latest_report
    from core.workspace import Workspace

    at = open_page("Issues")
    ws = Workspace(Path(os.environ["CURATOR_WORKSPACE"]))
    report = latest_report(ws, ws.datasets()[0].id)
    for value in cycle(["any", *report.issue_names][:4], repeat):
        rec.time("Issues", "issue type", lambda v=value: at.selectbox(key="issues.type").set_value(v).run(), at)
    at.selectbox(key="issues.type").set_value("any").run()
    for value in cycle(at.selectbox(key="issues.label").options[:3], repeat):
        rec.time("Issues", "class filter", lambda v=value: at.selectbox(key="issues.label").set_value(v).run(), at)
    for value in cycle(["Review one by one", "Table and Clean Top K"], repeat):
        rec.time(
            "Issues",
            "switch table / review",
            lambda v=value: at.segmented_control(key="issues.mode").set_value(v).run(),
            at,
        )


def autolabel(rec: Recorder, repeat: int) -> None:
    at = open_page("Auto-label")
    slider = next(s for s in at.slider if (s.key or "").endswith(".threshold"))
    key = slider.key
    for value in cycle([0.90, 0.95, 0.99], repeat):
        rec.time("Auto-label", "move the threshold", lambda v=value: at.slider(key=key).set_value(v).run(), at)
    # The first visit to Review chooses the queue (the sampling strategy over every row): a computation,
    # timed apart; later visits reuse it.
    rec.time(
        "Auto-label",
        "first visit to Review (chooses the queue)*",
        lambda: at.segmented_control(key="autolabel.step").set_value("2 · Review").run(),
        at,
    )
    at.segmented_control(key="autolabel.step").set_value("1 · Predict and accept").run()
    steps = ["2 · Review", "3 · Monitor and audit", "1 · Predict and accept"]
    for value in cycle(steps, repeat):
        rec.time(
            "Auto-label",
            "switch step",
            lambda v=value: at.segmented_control(key="autolabel.step").set_value(v).run(),
            at,
        )


def export(rec: Recorder, repeat: int) -> None:
    from core.export import RowSet

    at = open_page("Export")
    for value in cycle([RowSet.ALL, RowSet.LABELED, RowSet.NOT_EXCLUDED], repeat):
        rec.time("Export", "row choice (preview)", lambda v=value: at.radio(key="export.rows").set_value(v).run(), at)


def table(rec: Recorder) -> str:
    lines = [
        "| page | interaction | median ms | p95 ms | n | under 500 ms? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for (page, what), seconds in rec.seconds.items():
        ms = np.array(seconds) * 1000
        p50, p95 = np.percentile(ms, 50), np.percentile(ms, 95)
        ok = "yes" if p95 < BUDGET_MS else ("**no** (median ok, p95 over)" if p50 < BUDGET_MS else "**no**")
        lines.append(f"| {page} | {what} | {p50:.0f} | {p95:.0f} | {len(ms)} | {ok} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, default=REPO / "bench" / ".cache" / "search-100k")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--source", type=Path, default=search_bench.SOURCE, help="a smaller CSV for a smoke run")
    parser.add_argument("--dataset", default=search_bench.DATASET)
    parser.add_argument(
        "--partial",
        action="store_true",
        help="a copy of a workspace mid-ingest: ingest nothing, runs on the embedded rows only",
    )
    args = parser.parse_args()
    search_bench.SOURCE, search_bench.DATASET = args.source, args.dataset

    load_start = os.getloadavg()[0]
    args.workspace.mkdir(parents=True, exist_ok=True)
    costs = prepare(args.workspace, partial=args.partial)
    print("one-time computations (not reruns):")
    for what, cost in costs.items():
        print(f"- {what}: {cost}")

    import logging

    import streamlit as st

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "missing ScriptRunContext" noise
    os.environ["CURATOR_WORKSPACE"] = str(args.workspace.resolve())
    os.chdir(REPO)
    st.cache_resource.clear()
    st.cache_data.clear()

    t0 = time.perf_counter()
    warm = new_app().run()
    for path in PAGES.values():
        warm.switch_page(path).run()
        if warm.exception:
            raise SystemExit(f"{path}: {warm.exception[0].value}")
    print(f"- warm-up (one session opening every page, process caches cold): {time.perf_counter() - t0:.1f} s")

    load_timing = os.getloadavg()[0]
    rec = Recorder()
    first_opens(rec, args.repeat)
    for step in (browse, search, issues, autolabel, export):  # History: nothing to do but open it
        step(rec, args.repeat)
    load_end = os.getloadavg()[0]

    print()
    print(
        f"AppTest server-side rerun times (app.py + sidebar + page, in-process; no browser render), {costs['rows']},"
        f" {args.repeat} repetitions, {os.cpu_count()} cores; 1-min load average {load_start:.1f} at start,"
        f" {load_timing:.1f} when timing began, {load_end:.1f} at the end."
    )
    print()
    print(table(rec))
    print()
    print(
        "\\* needs computation by design: the page re-embeds the query and re-queries Chroma on every rerun;"
        " the first visit to Review runs the sampling strategy over every row (once per trained model)."
    )
    print()
    print("| page | most rows handed to one table | Plotly figure bytes (largest rerun) |")
    print("| --- | --- | --- |")
    for page in PAGES:
        p = rec.payload[page]
        print(f"| {page} | {p['table rows (max)']:,} | {p['plotly bytes']:,} |")
    slow = [(k, v) for k, v in rec.seconds.items() if np.percentile(np.array(v) * 1000, 95) >= BUDGET_MS]
    print()
    print("at or over 500 ms (p95): " + (", ".join(f"{p} / {w}" for (p, w), _ in slow) if slow else "nothing"))


if __name__ == "__main__":
    main()
