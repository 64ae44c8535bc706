"""``curator``: the same curation steps headless, for pipelines and servers.

curator ingest FILE --dataset NAME [--text-col C ...] [--label-col C | --no-label] ...
curator resume [JOB_ID]
curator datasets
curator counts NAME
curator history NAME
curator undo BATCH_ID
curator demo [news|images|all]
curator schema FILE          (what would be detected, without storing anything)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.config import ChromaSettings, workspace_path_from_env
from core.errors import CuratorError
from core.wording import counted, duration


def _workspace(args: argparse.Namespace):
    from core.workspace import Workspace

    return Workspace(Path(args.workspace), chroma=ChromaSettings.from_env())


def _progress(p) -> None:  # noqa: ANN001 (IngestProgress, imported lazily)
    print(f"\r{p.describe():<80}", end="", file=sys.stderr, flush=True)


def _mapping(args: argparse.Namespace, table):  # noqa: ANN001, ANN202
    from core.schema import infer_mapping

    mapping = infer_mapping(table)
    if args.text_col:
        mapping.text_columns, mapping.image_column = args.text_col, None
    if args.image_col:
        mapping.image_column, mapping.text_columns = args.image_col, []
    if args.label_col:
        mapping.label_column = args.label_col
    if args.no_label:
        mapping.label_column = None
    if args.id_col:
        mapping.id_column = args.id_col
    if args.class_names:
        mapping.label_names = [c.strip() for c in args.class_names.split(",") if c.strip()]
    if args.no_clean:
        mapping.clean_text = False
    return mapping


def _run_job(ws, job_id: int) -> int:  # noqa: ANN001
    from core.embedders import DEFAULT_TEXT_MODEL, load_embedder
    from core.ingest import run_ingest

    with ws.store.connect() as conn:
        dataset_id = conn.execute("SELECT dataset_id FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    embedder = load_embedder(ws.dataset(int(dataset_id)).embedding_model)
    text_embedder = load_embedder(DEFAULT_TEXT_MODEL) if embedder.text_queries_via_class_names else None
    try:
        report = run_ingest(ws, job_id, embedder, text_embedder=text_embedder, on_progress=_progress)
    except KeyboardInterrupt:
        print("\nInterrupted: run `curator resume` to continue where it stopped.", file=sys.stderr)
        return 130
    print(file=sys.stderr)
    before = f", {report.embedded_before:,} already embedded before" if report.embedded_before else ""
    print(
        f"job {report.job_id}: {report.status}; {report.embedded:,} of {counted(report.total, 'row')} embedded"
        f" ({report.computed:,} computed, {report.from_cache:,} from cache{before}),"
        f" {report.skipped:,} skipped, {duration(report.seconds)}"
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from core.ingest import load_source, start_ingest

    ws = _workspace(args)
    header = True if args.header else False if args.no_header else None
    table = load_source(ws, Path(args.path), has_header=header)
    mapping = _mapping(args, table)
    job_id = start_ingest(
        ws,
        table,
        mapping,
        args.dataset,
        source=Path(args.path).name,
        embedding_model=args.model,
        append=args.append,
    )
    print(
        f"stored {counted(len(table.frame), 'row')} in '{args.dataset}' (job {job_id}); embedding...", file=sys.stderr
    )
    return _run_job(ws, job_id)


def cmd_resume(args: argparse.Namespace) -> int:
    from core.ingest import unfinished_jobs

    ws = _workspace(args)
    jobs = [j for j in unfinished_jobs(ws) if args.job is None or j["id"] == args.job]
    if not jobs:
        print("nothing to resume")
        return 0
    for job in jobs:
        print(f"resuming job {job['id']} ({job['dataset']})", file=sys.stderr)
        code = _run_job(ws, job["id"])
        if code:
            return code
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    datasets = ws.datasets()
    if not datasets:
        print("no datasets yet: try `curator demo` or `curator ingest FILE --dataset NAME`")
    for d in datasets:
        s = ws.status(d.id)
        print(f"{d.name}\t{d.modality}\t{counted(s.rows, 'row')}\t{s.labeled_share:.0%} labeled\t{d.embedding_model}")
    return 0


def cmd_counts(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    s = ws.status(args.dataset)
    print(f"dataset:     {s.dataset.name} ({s.dataset.modality}, {s.dataset.embedding_model})")
    print(f"rows:        {s.rows:,}")
    print(f"embedded:    {s.embedded:,}")
    print(f"labeled:     {s.labeled:,} ({s.labeled_share:.1%})")
    print(f"unlabeled:   {s.rows - s.labeled:,}")
    print(f"excluded:    {s.excluded:,}")
    print(f"problems:    {s.problems:,}")
    for label, n in ws.store.label_distribution(s.dataset.id).items():
        print(f"  {label}\t{n:,}")
    return 0


def cmd_issues(args: argparse.Namespace) -> int:
    """Run the issue checks (or reuse the stored run) and print counts and the worst rows."""
    from core.issues import find_issues

    ws = _workspace(args)
    dataset = ws.dataset(args.dataset)

    def progress(fraction: float, message: str) -> None:
        print(f"\r{fraction:4.0%} {message[:70]:<70}", end="", file=sys.stderr, flush=True)

    report = find_issues(ws, dataset.id, progress=progress)
    print(file=sys.stderr)
    print(f"run {report.run.id}: {counted(report.n_rows, 'row')} checked")
    for name, n in report.counts().items():
        print(f"  {report.title(name):<30}{n:>8,}  ({n / max(report.n_rows, 1):.1%})  {report.rule(name)}")
    if "label" in report.issue_names and args.top:
        print(f"lowest label scores (top {args.top}):")
        frame = report.frame[report.frame.is_label_issue].sort_values("label_score").head(args.top)
        for row in frame.itertuples():
            print(f"  {row.source_id}\t{row.given} -> {row.suggested} ({row.suggested_confidence:.0%})")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Natural-language search: the best rows with their scores."""
    from core import api

    ws = _workspace(args)
    hits = api.search(ws, args.dataset, args.query, k=args.k)
    for row in hits.itertuples():
        text = (row.text or "").replace("\n", " ")[:100]
        print(f"{row.score:.3f}\t{row.source_id}\t{row.label or ''}\t{text}")
    return 0


def cmd_autolabel(args: argparse.Namespace) -> int:
    """Train the auto-labeler, say what it promises and, with --accept, write the auto labels."""
    from core import api

    ws = _workspace(args)

    def progress(fraction: float, message: str) -> None:
        print(f"\r{fraction:4.0%} {message[:70]:<70}", end="", file=sys.stderr, flush=True)

    result = api.auto_label(ws, args.dataset, target_precision=args.target, accept=args.accept, progress=progress)
    print(file=sys.stderr)
    promise = result.promise
    expected = (
        "no precision promised (no labeled rows)"
        if promise.expected_precision is None
        else (f"expected precision {promise.expected_precision:.1%}, about {promise.expected_wrong:,} wrong")
    )
    print(
        f"{promise.rows:,} of {counted(promise.candidates, 'row')} at confidence >= {promise.threshold:.3f}: {expected}"
    )
    if result.accepted is not None:
        print(f"accepted: {result.accepted.describe('Auto-labeled')} (undo: curator undo {result.accepted.batch_id})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the curated dataset with provenance columns."""
    from core.export import export_dataset
    from core.search import Filters

    ws = _workspace(args)
    dataset = ws.dataset(args.dataset)
    filters = None
    if args.rows == "filtered":
        filters = Filters(labels=args.label or [], keyword=args.keyword, excluded=None)

    def progress(fraction: float, message: str) -> None:
        print(f"\r{message:<60}", end="", file=sys.stderr, flush=True)

    result = export_dataset(
        ws,
        dataset.id,
        Path(args.path),
        fmt=args.format,
        rows=args.rows,
        filters=filters,
        columns=args.column or None,
        progress=progress,
    )
    print(file=sys.stderr)
    print(
        f"exported {counted(result.rows, 'row')} x {counted(len(result.columns), 'column')} to {result.path}"
        f" ({counted(result.bytes, 'byte')})"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the stakeholder health report (one offline HTML file)."""
    from core.health import write_health_report

    ws = _workspace(args)
    path = write_health_report(ws, ws.dataset(args.dataset).id, Path(args.path))
    print(f"wrote {path}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from core.history import history

    ws = _workspace(args)
    for b in history(ws.store, ws.dataset(args.dataset).id):
        state = f" (undone by {b.undone_by})" if b.undone_by else ""
        print(f"{b.id}\t{b.created_at}\t{b.action}\t{b.n_events}\t{b.description}{state}")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    result = ws.undo(args.batch)
    print(f"undone: {result.describe()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import DEMOS
    from core.ingest import load_source, start_ingest
    from core.schema import infer_mapping

    ws = _workspace(args)
    existing = {d.name for d in ws.datasets()}
    for demo in DEMOS:
        if args.which not in ("all", demo.key):
            continue
        if demo.name in existing:
            print(f"'{demo.name}' is already loaded")
            continue
        table = load_source(ws, demo.path)
        job_id = start_ingest(ws, table, infer_mapping(table), demo.name, source=demo.path.name)
        code = _run_job(ws, job_id)
        if code:
            return code
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from core.ingest import load_source

    ws = _workspace(args)
    table = load_source(ws, Path(args.path))
    mapping = _mapping(args, table)
    print("notes:   ", "; ".join(table.notes) or "-")
    print("columns: ", ", ".join(table.frame.columns))
    for key, value in mapping.to_dict().items():
        print(f"{key + ':':<15}{value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="curator", description="Headless data curation.")
    parser.add_argument(
        "--workspace", default=str(workspace_path_from_env()), help="workspace folder (env CURATOR_WORKSPACE)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def mapping_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("path", help="CSV/TSV/JSONL/Parquet/XLSX file, image ZIP or image folder")
        p.add_argument("--text-col", action="append", help="text column (repeat to join several)")
        p.add_argument("--image-col", help="column of image paths")
        p.add_argument("--label-col", help="label column")
        p.add_argument("--no-label", action="store_true", help="ingest as unlabeled")
        p.add_argument("--id-col", help="column of unique row ids")
        p.add_argument("--class-names", help="names for integer labels, comma-separated, in index order")
        p.add_argument("--header", action="store_true", help="the first row is a header")
        p.add_argument("--no-header", action="store_true", help="the first row is data")
        p.add_argument("--no-clean", action="store_true", help="keep text exactly as in the file")

    p = sub.add_parser("ingest", help="ingest a file into a dataset")
    mapping_options(p)
    p.add_argument("--dataset", required=True)
    p.add_argument("--model", help="embedding model id (default: by modality)")
    p.add_argument("--append", action="store_true", help="add rows to an existing dataset")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("schema", help="show the detected columns without storing anything")
    mapping_options(p)
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("resume", help="continue unfinished ingests")
    p.add_argument("job", nargs="?", type=int)
    p.set_defaults(func=cmd_resume)
    sub.add_parser("datasets", help="list datasets").set_defaults(func=cmd_datasets)
    p = sub.add_parser("counts", help="row, label and class counts of a dataset")
    p.add_argument("dataset")
    p.set_defaults(func=cmd_counts)
    p = sub.add_parser("issues", help="find label issues, outliers and duplicates (stored as a run)")
    p.add_argument("dataset")
    p.add_argument("--top", type=int, default=10, help="list this many of the likeliest mislabeled rows")
    p.set_defaults(func=cmd_issues)
    p = sub.add_parser("search", help="natural-language search over a dataset")
    p.add_argument("dataset")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10, help="how many rows")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("autolabel", help="train the auto-labeler and (with --accept) write auto labels")
    p.add_argument("dataset")
    p.add_argument("--target", type=float, default=0.95, help="target precision (default 0.95)")
    p.add_argument("--accept", action="store_true", help="write the auto labels (one undoable batch)")
    p.set_defaults(func=cmd_autolabel)
    p = sub.add_parser("export", help="export the curated dataset with provenance columns")
    p.add_argument("dataset")
    p.add_argument("path", help="output file (a folder for --format hf)")
    p.add_argument("--format", default="csv", choices=["csv", "jsonl", "parquet", "hf", "zip"])
    p.add_argument("--rows", default="all", choices=["all", "not_excluded", "labeled", "filtered"])
    p.add_argument("--label", action="append", help="with --rows filtered: rows with this label (repeatable)")
    p.add_argument("--keyword", help="with --rows filtered: rows whose text contains this")
    p.add_argument("--column", action="append", help="export only these columns (repeatable)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("report", help="write the stakeholder health report (offline HTML)")
    p.add_argument("dataset")
    p.add_argument("path", help="output .html file")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("history", help="the actions on a dataset, newest first")
    p.add_argument("dataset")
    p.set_defaults(func=cmd_history)
    p = sub.add_parser("undo", help="undo one action by its id (see history)")
    p.add_argument("batch")
    p.set_defaults(func=cmd_undo)
    p = sub.add_parser("demo", help="load the shipped demo datasets")
    p.add_argument("which", nargs="?", default="all", choices=["all", "news", "images"])
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CuratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
