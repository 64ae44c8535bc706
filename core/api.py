"""A small Python API to run the curation headless, from a script or a pipeline.

Each function takes a workspace (or its folder) and a dataset (its name, id or ``Dataset``) and
calls the same core functions the app's pages call, so whatever a script does shows in the app
(history, Undo, stored runs) and the other way round::

    from core import api

    ws = api.open_workspace("workspace")              # default: $CURATOR_WORKSPACE or ./workspace
    news = api.ingest(ws, "demo/ag_news_1500.csv", dataset="news")
    hits = api.search(ws, news, "oil prices", k=5)    # DataFrame: row_id, source_id, text, label, score
    result = api.auto_label(ws, news, target_precision=0.95, accept=True)
    print(result.promise.describe())
    report = api.find_issues(ws, news)
    top = api.top_issues(report, issue="label", n=10)
    fixed = api.fix_issues(ws, news, report, top.row_id, fix="auto_fix")
    api.export(ws, news, "news.csv", fmt="csv", rows="not_excluded")
    api.health_report(ws, news, "news_health.html")
    api.undo(ws, fixed.batch_id)                      # every change is one undoable batch

Errors are ``core.errors.CuratorError`` subclasses (``InputError``, ``NotFoundError``, ...) whose
message says what to do. See docs/api.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from core.actions import BulkResult
from core.config import ChromaSettings, workspace_path_from_env
from core.embedders import DEFAULT_TEXT_MODEL, EMBEDDERS, Embedder, load_embedder, parse_model_id
from core.errors import InputError, NotFoundError
from core.export import ExportResult, Format, RowSet
from core.history import UndoResult
from core.issues import Fix, IssueReport
from core.search import Filters
from core.store import Dataset
from core.wizard import Prediction, Promise
from core.workspace import Workspace

Progress = Callable[[float, str], None]  # (fraction done, what is happening), as everywhere in core
WorkspaceLike = Workspace | str | Path
DatasetLike = Dataset | str | int

__all__ = [
    "AutoLabelResult",
    "auto_label",
    "export",
    "find_issues",
    "fix_issues",
    "health_report",
    "ingest",
    "open_workspace",
    "resume_ingests",
    "search",
    "top_issues",
    "undo",
]


@dataclass(frozen=True)
class AutoLabelResult:
    """A trained auto-label run, what accepting it means and, if accepted, the batch to undo."""

    prediction: Prediction
    promise: Promise  # rows above the threshold and their expected precision
    accepted: BulkResult | None  # None unless ``accept=True``; ``accepted.batch_id`` undoes it


# -- workspace, datasets, models ----------------------------------------------------------


def open_workspace(path: str | Path | None = None, *, chroma: ChromaSettings | None = None) -> Workspace:
    """Open (or create) a workspace folder, as the app does.

    Parameters
    ----------
    path
        The workspace folder; default ``$CURATOR_WORKSPACE``, else ``./workspace``.
    chroma
        Where the vectors live; default from ``CURATOR_CHROMA_HOST`` / ``_PORT`` / ``_SSL`` (embedded
        Chroma inside the workspace when no host is set).
    """
    root = Path(path) if path is not None else workspace_path_from_env()
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} is a file; a workspace is a folder (give a new or existing folder).")
    return Workspace(root, chroma=chroma or ChromaSettings.from_env())


def _workspace(ws: WorkspaceLike) -> Workspace:
    return ws if isinstance(ws, Workspace) else open_workspace(ws)


def _dataset(ws: Workspace, dataset: DatasetLike) -> Dataset:
    """The current state of a dataset given by name, id or ``Dataset``; trashed ones are refused."""
    key = dataset.id if isinstance(dataset, Dataset) else dataset
    if isinstance(key, bool) or not isinstance(key, int | str):
        raise InputError(f"A dataset is given by its name, its id or a Dataset, not {type(dataset).__name__}.")
    try:
        found = ws.dataset(key)
    except NotFoundError:
        names = ", ".join(f"'{d.name}'" for d in ws.datasets()) or "none yet (ingest a file first)"
        what = f"id {key}" if isinstance(key, int) else f"'{key}'"
        raise NotFoundError(f"No dataset {what} in the workspace {ws.root}. Datasets there: {names}.") from None
    if found.deleted_at is not None:
        raise NotFoundError(f"Dataset '{found.name}' is in the trash: restore it (History page) to use it.")
    return found


@lru_cache(maxsize=4)
def _embedder(model_id: str) -> Embedder:
    """Each model is loaded once per process. A function cache is fine here: outside Streamlit one
    process serves one caller, and nothing mutates an embedder after ``setup()``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model is ever downloaded at run time
    return load_embedder(model_id)


def _text_model(dataset: Dataset) -> str:
    """The model that embeds text for this dataset: its own (text, CLIP), else MiniLM (images)."""
    own_model_reads_text = "text" in EMBEDDERS[parse_model_id(dataset.embedding_model)[0]].modalities
    return dataset.embedding_model if own_model_reads_text else DEFAULT_TEXT_MODEL


# -- ingest ---------------------------------------------------------------------------------


def ingest(
    ws: WorkspaceLike,
    source: str | Path,
    *,
    dataset: str,
    text_columns: str | Sequence[str] | None = None,
    image_column: str | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
    embedding_model: str | None = None,
    append: bool = False,
    progress: Progress | None = None,
) -> Dataset:
    """Store a file's rows as a dataset and embed them (the Upload page, headless).

    Columns are detected as on the Upload page; any column given here overrides the detection.

    Parameters
    ----------
    source
        A CSV / TSV / JSONL / Parquet / Excel file, an image ZIP or an image folder.
    dataset
        The new dataset's name (or, with ``append``, the existing dataset to add rows to).
    text_columns, image_column, label_column, id_column
        Override the detected columns (several text columns are joined).
    embedding_model
        A model id such as ``"minilm-l6-v2"``; default by modality.
    progress
        Called with (fraction embedded, message) after each chunk.

    Raises
    ------
    InputError
        The file cannot be read or a column is not in it (nothing is stored).
    ConflictError
        A dataset of that name exists (pass ``append=True`` to add rows to it).
    """
    from core.ingest import load_source, start_ingest
    from core.schema import infer_mapping

    ws = _workspace(ws)
    path = Path(source).expanduser()
    if not path.exists():
        raise InputError(f"{path} does not exist (give a file, an image ZIP or an image folder).")
    if not dataset.strip():
        raise InputError("Give the dataset a name.")
    table = load_source(ws, path)
    mapping = infer_mapping(table)
    if text_columns is not None:
        mapping.text_columns = [text_columns] if isinstance(text_columns, str) else list(text_columns)
        mapping.image_column = None
    if image_column is not None:
        mapping.image_column, mapping.text_columns = image_column, []
    if label_column is not None:
        mapping.label_column = label_column
    if id_column is not None:
        mapping.id_column = id_column
    job_id = start_ingest(
        ws, table, mapping, dataset.strip(), source=path.name, embedding_model=embedding_model, append=append
    )
    _run_job(ws, job_id, progress)
    with ws.store.connect() as conn:
        dataset_id = conn.execute("SELECT dataset_id FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    return ws.dataset(int(dataset_id))


def resume_ingests(ws: WorkspaceLike, *, progress: Progress | None = None) -> list[Dataset]:
    """Finish every interrupted ingest (after Ctrl-C or a crash); returns the datasets resumed."""
    from core.ingest import unfinished_jobs

    ws = _workspace(ws)
    resumed = []
    for job in unfinished_jobs(ws):
        _run_job(ws, int(job["id"]), progress)
        resumed.append(ws.dataset(int(job["dataset_id"])))
    return resumed


def _run_job(ws: Workspace, job_id: int, progress: Progress | None) -> None:
    from core.ingest import run_ingest

    with ws.store.connect() as conn:
        dataset_id = conn.execute("SELECT dataset_id FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    embedder = _embedder(ws.dataset(int(dataset_id)).embedding_model)
    # Images embedded without CLIP also get a concept vector, so text queries can reach them.
    text_embedder = _embedder(DEFAULT_TEXT_MODEL) if embedder.text_queries_via_class_names else None
    run_ingest(
        ws,
        job_id,
        embedder,
        text_embedder=text_embedder,
        on_progress=(lambda p: progress(p.fraction, p.describe())) if progress else None,
    )


# -- search ---------------------------------------------------------------------------------


def search(
    ws: WorkspaceLike, dataset: DatasetLike, query: str, *, k: int = 10, filters: Filters | None = None
) -> pd.DataFrame:
    """The ``k`` rows that best match a natural-language query, best first.

    Images embedded without CLIP are searched through ImageNet class names (as on the Search page).

    Parameters
    ----------
    filters
        Which rows may be returned (labels, labeled, sources, tags, keyword, ...); by default
        excluded rows are hidden.

    Returns
    -------
    pandas.DataFrame
        Columns ``row_id``, ``source_id``, ``text`` (the file path for images), ``label``,
        ``label_source`` and ``score`` (cosine similarity, descending).
    """
    from core.search import search_text

    ws = _workspace(ws)
    ds = _dataset(ws, dataset)
    if k < 1:
        raise InputError(f"k is the number of rows to return: at least 1, not {k}.")
    result = search_text(ws, ds, query, text_embedder=_embedder(_text_model(ds)), filters=filters, n=k)
    scores = dict(zip(result.row_ids, result.scores, strict=True))
    rows = ws.store.rows_by_ids(result.row_ids)
    return pd.DataFrame(
        {
            "row_id": [r["id"] for r in rows],
            "source_id": [r["source_id"] for r in rows],
            "text": [r["text"] if r["text"] is not None else r["image_path"] for r in rows],
            "label": [r["label"] for r in rows],
            "label_source": [r["label_source"] for r in rows],
            "score": [float(scores[r["id"]]) for r in rows],
        }
    )


# -- auto-label -----------------------------------------------------------------------------


def auto_label(
    ws: WorkspaceLike,
    dataset: DatasetLike,
    *,
    target_precision: float = 0.95,
    labeler: str = "auto",
    accept: bool = False,
    progress: Progress | None = None,
) -> AutoLabelResult:
    """Train an auto-labeler on the labels people gave and, with ``accept``, write its labels.

    The run is stored (the Auto-label page shows it). Accepting writes auto labels (source
    ``auto``, confidence, model id) for the rows at or above the threshold that meets
    ``target_precision``, and suggestions for the rest, as one undoable batch.

    Parameters
    ----------
    target_precision
        The share of auto labels that should be right, in (0, 1).
    labeler
        A registered auto-labeler (``core.autolabel.AUTOLABELERS``) or ``"auto"``: supervised when
        every class has labeled rows, zero-shot from class names otherwise.
    accept
        Write the labels now; otherwise only train and predict (inspect ``promise`` first).

    Raises
    ------
    InputError
        Fewer than two classes, no embedded rows, or (accepting) no row left to auto-label.
    """
    from core.autolabel import AUTOLABELERS
    from core.wizard import accept as accept_prediction
    from core.wizard import train

    ws = _workspace(ws)
    ds = _dataset(ws, dataset)
    if not 0 < target_precision < 1:
        raise InputError(f"target_precision is a share between 0 and 1 (such as 0.95), not {target_precision}.")
    if labeler != "auto" and labeler not in AUTOLABELERS:
        raise InputError(f"No auto-labeler '{labeler}'. Choose 'auto' or one of {', '.join(AUTOLABELERS)}.")
    prediction = train(
        ws,
        ds.id,
        labeler=labeler,
        target_precision=target_precision,
        text_embedder=_embedder(_text_model(ds)),
        on_progress=progress,
    )
    accepted = accept_prediction(ws, ds.id, prediction) if accept else None
    return AutoLabelResult(prediction, prediction.promise(), accepted)


# -- issues ---------------------------------------------------------------------------------


def find_issues(
    ws: WorkspaceLike,
    dataset: DatasetLike,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    reuse: bool = True,
    progress: Progress | None = None,
) -> IssueReport:
    """Run every issue check (label issues, outliers, duplicates, ...) and store the run.

    Parameters
    ----------
    settings
        Per-check settings by issue name, e.g. ``{"near_duplicate": {"threshold": 0.97}}``
        (names: ``core.issues.DETECTORS``).
    reuse
        Return the stored run for the same data and settings instead of computing again.

    Returns
    -------
    IssueReport
        ``report.counts()`` per issue type; ``report.frame`` one row per checked row (scores,
        flags, suggested label); see :func:`top_issues`.
    """
    from core.issues import find_issues as run_checks

    ws = _workspace(ws)
    ds = _dataset(ws, dataset)
    plain = {name: dict(values) for name, values in (settings or {}).items()}
    return run_checks(ws, ds.id, settings=plain, progress=progress, reuse=reuse)


def top_issues(report: IssueReport, *, issue: str = "label", n: int = 10) -> pd.DataFrame:
    """The ``n`` rows flagged for ``issue`` with the lowest quality score (likeliest first)."""
    if issue not in report.issue_names:
        raise InputError(f"This run has no '{issue}' check. It has: {', '.join(report.issue_names)}.")
    frame = report.frame
    flagged = frame[frame[f"is_{issue}_issue"]]
    return flagged.sort_values(f"{issue}_score", kind="stable").head(n).reset_index(drop=True)


def fix_issues(
    ws: WorkspaceLike,
    dataset: DatasetLike,
    report: IssueReport,
    row_ids: Sequence[int],
    *,
    fix: Fix | str,
    value: str | None = None,
) -> BulkResult:
    """Apply one fix to rows of an issue run (the Issues page's Clean Top K), as one undoable batch.

    Parameters
    ----------
    fix
        ``"auto_fix"`` (take the suggested label, source ``auto``; only rows flagged as label issues
        whose suggestion has at least 50%, the rest counted in ``skipped``), ``"exclude"``,
        ``"set_label"`` (with ``value``) or ``"needs_review"`` (a tag).
    value
        The label to set, for ``"set_label"``.

    Returns
    -------
    BulkResult
        ``changed`` rows, the ``batch_id`` to pass to :func:`undo` (None when nothing changed) and the
        rows ``skipped`` on purpose, by why.
    """
    from core.issues import fix_rows

    ws = _workspace(ws)
    ds = _dataset(ws, dataset)
    if report.run.dataset_id != ds.id:
        raise InputError(f"This issue report belongs to another dataset than '{ds.name}': run find_issues on it.")
    try:
        fix = Fix(fix)
    except ValueError:
        raise InputError(f"Unknown fix '{fix}'. Choose one of {', '.join(Fix)}.") from None
    return fix_rows(ws, ds.id, report, [int(r) for r in row_ids], fix, value=value)


def undo(ws: WorkspaceLike, batch_id: str) -> UndoResult:
    """Undo one action (a batch id from a result's ``batch_id`` or the History page).

    Rows changed again since keep their newer state (counted in ``skipped_changed_later``); a schema
    question is merged with later changes of it.
    """
    if not batch_id:
        raise InputError("Give the id of the action to undo (a result's batch_id, or see the History page).")
    return _workspace(ws).undo(batch_id)


# -- export and report ----------------------------------------------------------------------


def export(
    ws: WorkspaceLike,
    dataset: DatasetLike,
    path: str | Path,
    *,
    fmt: Format | str = "csv",
    rows: RowSet | str = "all",
    filters: Filters | None = None,
    columns: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the curated dataset with provenance columns (label source, confidence, model, ...).

    Parameters
    ----------
    path
        The file to write (a folder for ``fmt="hf"``); it appears complete or not at all.
    fmt
        ``"csv"``, ``"jsonl"``, ``"parquet"``, ``"hf"`` (a Hugging Face ``datasets`` folder) or
        ``"zip"`` (images: a folder per class plus a manifest).
    rows
        ``"all"``, ``"not_excluded"``, ``"labeled"`` (labeled, not excluded) or ``"filtered"``
        (the rows matching ``filters``).
    columns
        Only these columns (default: every original field, then every curation column).
    """
    from core.export import export_dataset

    ws = _workspace(ws)
    ds = _dataset(ws, dataset)
    try:
        rows = RowSet(rows)
    except ValueError:
        raise InputError(f"Unknown row choice '{rows}'. Choose one of {', '.join(RowSet)}.") from None
    return export_dataset(
        ws, ds.id, Path(path).expanduser(), fmt=fmt, rows=rows, filters=filters, columns=columns, progress=progress
    )


def health_report(ws: WorkspaceLike, dataset: DatasetLike, path: str | Path) -> Path:
    """Write the dataset's health report (one self-contained HTML file) and return its path."""
    from core.health import write_health_report  # imported here: plotly is only needed for this

    ws = _workspace(ws)
    return write_health_report(ws, _dataset(ws, dataset).id, Path(path).expanduser())
