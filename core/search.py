"""Natural-language and similarity search over a dataset, with filters pushed down to Chroma.

Text rows are searched in the text embedder's space. Image rows are searched with CLIP's text
tower when the dataset is embedded with CLIP; otherwise through ImageNet class names (ConSE,
Norouzi et al. 2014): each image's concept vector is stored at ingest (see core/concepts.py) and a
query is embedded by the same text model.

A filtered query is planned (see :func:`_query` and docs/decisions.md): the rows matching the
filters come from SQLite (cached per dataset version); when they are a large share, Chroma's
unfiltered top-k is over-fetched and intersected with them; otherwise Chroma searches only those
ids. Chroma holds no copy of the filter fields: its own ``where`` measured 315 ms a query on 100k
rows against 80-100 ms for a query restricted to 60k-90k ids, and keeping the copy up to date cost
most of every bulk action's time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from core.embedders import EMBEDDERS, Embedder, parse_model_id
from core.errors import InputError
from core.store import DEFAULT_LABEL_FIELD, Dataset, contains_sql
from core.wording import counted
from core.workspace import Workspace

# A labeled row's confidence is its label's (NULL for labels people gave); an unlabeled row's is its suggestion's.
CONFIDENCE_SQL = "(CASE WHEN labels.value IS NOT NULL THEN labels.confidence ELSE labels.suggested_confidence END)"
SAVED_SEARCH_SQL = (
    "EXISTS (SELECT 1 FROM saved_search_scores sc JOIN saved_searches ss ON ss.id = sc.search_id"
    " WHERE sc.search_id = ? AND sc.row_id = rows.id AND sc.score >= ss.threshold)"
)


@dataclass
class Filters:
    """Which rows a search or a listing may return. Empty lists mean "any"."""

    labels: list[str] = field(default_factory=list)
    labeled: bool | None = None  # True: labeled only; False: unlabeled only
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # rows having all of these
    excluded: bool | None = False  # by default excluded rows are hidden; None shows both
    keyword: str | None = None
    saved_search: int | None = None  # rows at or above a saved search's threshold (core/saved.py)
    suggested: list[str] = field(default_factory=list)  # pre-label (suggestion) in
    # (low, high): the model's confidence in the row's label, or in its suggestion when unlabeled
    confidence: tuple[float, float] | None = None
    # The label-schema question that ``labels``, ``labeled``, ``sources``, ``suggested`` and
    # ``confidence`` are about. A class matches inside a multi-choice list and matches its descendants
    # ("Sports" matches "Sports > Football").
    question: str = DEFAULT_LABEL_FIELD
    # Rows the stored issue run ``issue_run`` flagged with any of these checks ("label", "outlier", ...).
    issues: list[str] = field(default_factory=list)
    issue_run: str | None = None
    # Rows not in the vector store: waiting for an unfinished ingest, or flagged with a problem (Browse).
    not_embedded: bool = False

    @property
    def keyword_text(self) -> str:
        return (self.keyword or "").strip()

    def sql(self) -> tuple[str, list[Any]]:
        """The same filter as SQL over ``rows`` LEFT JOIN ``labels`` (for listings and select-all)."""
        where: list[str] = []
        args: list[Any] = []
        if self.labels:
            marks = ",".join("?" * len(self.labels))
            descendant = " OR ".join("substr(labels.value, 1, length(?)) = ?" for _ in self.labels)
            where.append(
                f"(labels.value IN ({marks}) OR {descendant} OR (labels.value LIKE '[%' AND EXISTS"
                f" (SELECT 1 FROM json_each(labels.value) WHERE json_each.value IN ({marks}))))"
            )
            args += [*self.labels, *(p for c in self.labels for p in (c + " > ",) * 2), *self.labels]
        if self.labeled is True:
            where.append("labels.value IS NOT NULL")
        elif self.labeled is False:
            where.append("labels.value IS NULL")
        if self.sources:
            where.append(f"labels.source IN ({','.join('?' * len(self.sources))})")
            args += list(self.sources)
        if self.suggested:
            where.append(f"labels.suggested IN ({','.join('?' * len(self.suggested))})")
            args += list(self.suggested)
        if self.confidence is not None:
            where.append(f"{CONFIDENCE_SQL} BETWEEN ? AND ?")
            args += [float(self.confidence[0]), float(self.confidence[1])]
        for tag in self.tags:
            where.append("EXISTS (SELECT 1 FROM tags WHERE tags.row_id = rows.id AND tags.tag = ?)")
            args.append(tag)
        if self.excluded is not None:
            where.append("rows.excluded = ?")
            args.append(int(self.excluded))
        if self.not_embedded:
            where.append("rows.embedded != 1")
        if self.saved_search is not None:
            where.append(SAVED_SEARCH_SQL)
            args.append(self.saved_search)
        keyword = (self.keyword or "").strip()
        if keyword:
            sql, keyword_args = contains_sql(keyword)
            where.append(sql)
            args += keyword_args
        return " AND ".join(where) or "1 = 1", args


@dataclass(frozen=True)
class SearchResult:
    row_ids: list[int]
    scores: list[float]
    how: str  # shown in the UI: which space and model answered
    close_match_score: float | None = None  # see Embedder.close_match_score; None: unknown for this space
    notes: tuple[str, ...] = ()  # what the UI should say about how the query was read

    def __len__(self) -> int:
        return len(self.row_ids)

    @property
    def no_close_match(self) -> bool:
        """Even the best result scores below what relevant rows score in this space: the results are
        the least unlike rows, probably not what was asked for."""
        return self.close_match_score is not None and bool(self.scores) and self.scores[0] < self.close_match_score

    def no_close_match_note(self) -> str:
        """The warning of :attr:`no_close_match` in words. The best score is rounded down: rounded to
        the nearest, 0.398 under a 0.40 line read "the best score is 0.40 ... usually 0.40 or more"."""
        best = math.floor(self.scores[0] * 100) / 100
        return (
            f"No close match: the best score is {best:.2f}, and rows that match a query usually score"
            f" {self.close_match_score:.2f} or more. These are only the least unlike rows."
        )


def close_match_score(space: str) -> float | None:
    """The score a relevant hit reaches in a collection's space (a model id); None for spaces
    without a measured one (CLIP, ConSE concept vectors)."""
    embedder = EMBEDDERS.get(parse_model_id(space)[0])
    return None if embedder is None else embedder.close_match_score


def query_space(dataset: Dataset, embedder: Embedder) -> tuple[str, str]:
    """(collection model id, description) that a text query is answered in for this dataset."""
    name, _ = parse_model_id(dataset.embedding_model)
    if dataset.modality == "text" or "text" in EMBEDDERS[name].modalities:  # text rows, or CLIP images
        return dataset.embedding_model, f"{embedder.name} text embedding"
    from core.concepts import concept_space_id

    return concept_space_id(dataset.embedding_model), "ImageNet class names (ConSE), offline fallback"


def search_text(
    ws: Workspace,
    dataset: Dataset,
    query: str,
    *,
    text_embedder: Embedder,
    filters: Filters | None = None,
    n: int = 100,
) -> SearchResult:
    """Rank rows by how well they match a natural-language query.

    ``text_embedder`` embeds the query: the dataset's own model for text (or CLIP), the
    class-name text model for images embedded without CLIP.
    """
    query = query.strip()
    if not query:
        raise InputError("Type something to search for.")
    if not text_embedder.knows_a_word_of(query):
        raise InputError(
            f"'{query}' has no word the text model knows ({text_embedder.name} reads emoji and most symbols as"
            " unknown): describe what you are looking for in words."
        )
    space, how = query_space(dataset, text_embedder)
    vector = text_embedder.embed_texts([query])[0]
    result = _query(ws, dataset, space, vector, filters or Filters(), n, how)
    cut = text_embedder.cut_note(query)
    return replace(result, notes=(cut,)) if cut else result


def search_vector(
    ws: Workspace, dataset: Dataset, vector: np.ndarray, *, filters: Filters | None = None, n: int = 100, how: str
) -> SearchResult:
    """Rank rows by cosine similarity to a vector in the dataset's own embedding space."""
    return _query(ws, dataset, dataset.embedding_model, vector, filters or Filters(), n, how)


def search_similar(
    ws: Workspace,
    dataset: Dataset,
    row_ids: list[int],
    *,
    mode: str = "centroid",
    filters: Filters | None = None,
    n: int = 100,
) -> SearchResult:
    """ "More like these": the centroid of the examples, or the union of each one's neighbours
    (a row's score is its best similarity to any example)."""
    if not row_ids:
        raise InputError("Select one or more rows to find more like them.")
    vectors = ws.vectors.get_vectors(dataset.id, dataset.embedding_model, row_ids)
    if not vectors:
        raise InputError("The selected rows have no embeddings yet (is the ingest finished?).")
    filters = filters or Filters()
    if mode == "centroid":
        centroid = np.mean(np.stack(list(vectors.values())), axis=0)
        return _query(
            ws,
            dataset,
            dataset.embedding_model,
            centroid,
            filters,
            n,
            f"centroid of {counted(len(vectors), 'example row')}",
        )
    if mode != "union":
        raise InputError(f"Unknown similarity mode '{mode}' (use 'centroid' or 'union').")
    best: dict[int, float] = {}
    for vector in vectors.values():
        result = _query(ws, dataset, dataset.embedding_model, vector, filters, n, "")
        for row_id, score in zip(result.row_ids, result.scores, strict=True):
            best[row_id] = max(score, best.get(row_id, -1.0))
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:n]
    return SearchResult(
        [r for r, _ in ranked],
        [s for _, s in ranked],
        f"neighbours of {counted(len(vectors), 'example row')}",
        close_match_score(dataset.embedding_model),
    )


def effective_filters(ws: Workspace, dataset_id: int, filters: Filters) -> Filters:
    """Drop the default "hide excluded rows" clause when no row is excluded: a no-op filter is not
    free, Chroma then checks every id against it (about 20x slower on 100k rows)."""
    if filters.excluded is False:
        with ws.store.connect() as conn:
            any_excluded = conn.execute(
                "SELECT EXISTS(SELECT 1 FROM rows WHERE dataset_id = ? AND excluded = 1)", (dataset_id,)
            ).fetchone()[0]
        if not any_excluded:
            return replace(filters, excluded=None)
    return filters


OVERFETCH_MIN_SHARE = 0.05  # below this share of matching rows, restrict by ids instead
OVERFETCH_MAX = 3000  # Chroma's unfiltered top-k costs ~35 ms at k=3000 on 100k rows


def matching_row_ids(ws: Workspace, dataset_id: int, filters: Filters, *, embedded_only: bool = False) -> list[int]:
    """Every row matching the filters, in dataset order (not just a visible page): "select all
    N matching", and the candidate set of a filtered search (``embedded_only``: rows in Chroma).

    Reused while the dataset version stays the same: a page rerun (a click, a page turn) pays the
    SQL once, not per call. Saved-search scores change without a new version, so that filter is
    read fresh."""

    def compute() -> tuple[int, ...]:
        where, args = filters.sql()
        if embedded_only:
            where += " AND rows.embedded = 1"
        flagged = flagged_rows(ws, filters.issue_run, filters.issues) if filters.issues else None
        with ws.store.connect() as conn:
            return tuple(
                r[0]
                for r in conn.execute(
                    "SELECT rows.id FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                    f" WHERE rows.dataset_id = ? AND {where} ORDER BY rows.position",
                    [filters.question, dataset_id, *args],
                )
                if flagged is None or r[0] in flagged
            )

    if filters.saved_search is not None:
        return list(compute())
    return list(ws.derived(dataset_id, ("matching-rows", repr(filters), embedded_only), compute))


def rows_page(
    ws: Workspace, dataset_id: int, filters: Filters, *, offset: int = 0, limit: int = 100
) -> tuple[list[dict[str, Any]], int]:
    """One page of the rows matching ``filters`` in dataset order (Browse), and how many match in all.

    The same matching as Search's listing and "select all" (:func:`matching_row_ids`, cached per dataset
    version): a page turn reads only its rows."""
    matching = matching_row_ids(ws, dataset_id, filters)
    return ws.store.rows_by_ids(matching[offset : offset + limit], filters.question), len(matching)


def matches_without(ws: Workspace, dataset_id: int, filters: Filters) -> dict[str, int]:
    """How many rows would match with one of ``filters`` dropped, for each filter that is set: what to
    loosen when nothing matches. Keyed by the field of :class:`Filters` ("keyword", "labels"...), each
    tag on its own ("tags:needs-review"); a filter whose dropping still finds nothing is left out."""
    loosened: dict[str, Filters] = {}
    for name, any_value in _ANY.items():
        if getattr(filters, name) != any_value:
            loosened[name] = replace(filters, **{name: any_value})
    for tag in filters.tags:
        loosened[f"tags:{tag}"] = replace(filters, tags=[t for t in filters.tags if t != tag])
    loosened.pop("tags", None)
    counts = {name: len(matching_row_ids(ws, dataset_id, f)) for name, f in loosened.items()}
    return {name: n for name, n in counts.items() if n}


# Each filter's "any row" value: dropping it means setting this.
_ANY: dict[str, Any] = {
    "labels": [],
    "labeled": None,
    "sources": [],
    "tags": [],
    "excluded": None,
    "keyword": None,
    "saved_search": None,
    "suggested": [],
    "confidence": None,
    "issues": [],
    "not_embedded": False,
}


def flagged_rows(ws: Workspace, run_id: str | None, issues: list[str]) -> frozenset[int]:
    """Rows a stored issue run flagged with any of ``issues`` (check names, e.g. "label", "outlier")
    and nobody has decided on since (fixed, excluded, confirmed or set aside), as the Issues page shows."""
    from core.issues.report import IssueReport
    from core.runs import get_run

    if run_id is None:
        raise InputError("No issue run to filter by: find issues first (Issues page).")
    run = get_run(ws, run_id)
    unknown = sorted(set(issues) - set(run.summary["checks"]))
    if unknown:
        raise InputError(
            f"The issue run has no check named {', '.join(unknown)}: pick from {list(run.summary['checks'])}."
        )

    def compute() -> frozenset[int]:  # the run's arrays read once per dataset version, not per listing
        report = IssueReport(run, run.arrays())
        flags = np.zeros(report.n_rows, dtype=bool)
        for name in issues:
            flags |= report.arrays[f"is_{name}_issue"].astype(bool)
        return frozenset(report.arrays["row_ids"][flags].tolist()) - report.fixed_since(ws)

    return ws.derived(run.dataset_id, ("flagged-rows", run_id, tuple(sorted(issues))), compute)


def _query(
    ws: Workspace, dataset: Dataset, space: str, vector: np.ndarray, filters: Filters, n: int, how: str
) -> SearchResult:
    norm = float(np.linalg.norm(vector))
    if norm == 0 or not np.isfinite(norm):
        raise InputError("The query has no usable embedding.")
    vector = np.asarray(vector, dtype=np.float32) / norm
    filters = effective_filters(ws, dataset.id, filters)
    if filters == Filters(excluded=None):
        hits = ws.vectors.query(dataset.id, space, vector, n=n)
    else:
        hits = _filtered_query(ws, dataset, space, vector, filters, n)
    return SearchResult([r for r, _ in hits], [s for _, s in hits], how, close_match_score(space))


def _candidates(ws: Workspace, dataset_id: int, filters: Filters) -> tuple[list[int], frozenset[int]]:
    """Embedded rows matching the filters and their set, reused like :func:`matching_row_ids`."""

    def compute() -> tuple[list[int], frozenset[int]]:
        ids = matching_row_ids(ws, dataset_id, filters, embedded_only=True)
        return ids, frozenset(ids)

    if filters.saved_search is not None:
        return compute()
    return ws.derived(dataset_id, ("search-candidates", repr(filters)), compute)


def _filtered_query(
    ws: Workspace, dataset: Dataset, space: str, vector: np.ndarray, filters: Filters, n: int
) -> list[tuple[int, float]]:
    """The fastest exact plan for a filtered query (figures: bench/search.py)."""
    allowed, allowed_set = _candidates(ws, dataset.id, filters)
    if not allowed:
        return []
    total = ws.derived(dataset.id, ("vector-count", space), lambda: ws.vectors.count(dataset.id, space))
    share = len(allowed) / max(total, 1)
    if share >= OVERFETCH_MIN_SHARE:
        # Nearest rows regardless of filters, kept if they match: enough when matches are common.
        # Matches cluster (a query about bad days finds few positive tweets), so one larger fetch is
        # tried before giving up: k = 3000 costs ~35 ms, less than the id-restricted query.
        k = min(total, OVERFETCH_MAX, max(3 * n, int(3 * n / share)))
        while True:
            kept = [hit for hit in ws.vectors.query(dataset.id, space, vector, n=k) if hit[0] in allowed_set]
            if len(kept) >= n or k >= min(total, OVERFETCH_MAX):
                break
            k = min(total, OVERFETCH_MAX)
        if len(kept) >= n or k >= total:
            return kept[:n]
    return ws.vectors.query(dataset.id, space, vector, n=n, ids=allowed)
