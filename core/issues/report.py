"""Issue runs over a dataset: run every registered check, store the result, reload it (fixes: fixes.py).

``find_issues`` reads the dataset's not-excluded embedded rows, runs each detector that applies
and stores one saved run (core/runs.py) keyed by dataset version + embedding model + settings; the
Issues page shows ``latest_report`` instead of computing again. Running again after fixes
("Improve issues found") trains on the corrected labels and ``compare_reports`` says what changed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from core.embedders.base import near_duplicate_cosine
from core.errors import InputError
from core.history import unchanged_since
from core.issues.base import DETECTORS, IssueData, create_detector
from core.issues.label import suggestion_of, unreliable_because
from core.projection import dataset_vectors
from core.review import NEEDS_REVIEW
from core.runs import Run, find_run, get_run, latest_run, run_key, save_run
from core.store import DEFAULT_LABEL_FIELD, LabelSource
from core.workspace import Workspace

KIND = "issues"
Progress = Callable[[float, str], None]
# How much of a run's time each check takes, for one progress bar across all of them.
_WEIGHT = {"label": 8.0, "label_set": 4.0, "outlier": 1.0, "near_duplicate": 0.2}
# Row-by-row decisions by a person: such labels are scored but not flagged again.
REVIEWED_SOURCES = (LabelSource.HUMAN, LabelSource.SUGGESTION_ACCEPTED)


def checked_label(state: dict) -> str:
    """A row's single label as the checks see it ("" for none): an auto label is the model's own guess,
    so it counts as none (see :func:`issue_data`); a multi-choice answer (a JSON list) too."""
    label = state["label"] or ""
    return "" if state["label_source"] == LabelSource.AUTO or label.startswith("[") else label


def _checked_classes(state: dict) -> frozenset[str]:
    """A row's multi-choice answer as the checks see it: its classes, none for an auto answer or none."""
    if state["label"] is None or state["label_source"] == LabelSource.AUTO:
        return frozenset()
    value = json.loads(state["label"]) if state["label"].startswith("[") else [state["label"]]
    return frozenset(value)


def issue_data(ws: Workspace, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> tuple[IssueData, list[str]]:
    """The rows the checks see (every embedded, not excluded row, in dataset order; for a sub-question
    the rows its parent answer applies to) with their answers to ``field``, and their source ids."""
    from core.labelschema import Kind, asked_rows, label_schema

    question = label_schema(ws.store, dataset_id).question(field)
    multi = question.kind is Kind.MULTI  # no single label per row: only the checks that need none run
    dataset = ws.store.dataset(dataset_id)
    row_ids, vectors = dataset_vectors(ws, dataset_id)
    if not row_ids:
        raise InputError("No embedded rows yet: finish the upload (embedding) first.")
    with ws.store.connect() as conn:
        info = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT rows.id, rows.excluded, rows.text, rows.content_hash, rows.source_id, labels.value,"
                " labels.source FROM rows LEFT JOIN labels ON labels.row_id = rows.id AND labels.field = ?"
                " WHERE rows.dataset_id = ?",
                (field, dataset_id),
            )
        }
        asked = asked_rows(conn, dataset_id, question)
    keep = [i for i, r in enumerate(row_ids) if not info[r][0] and (asked is None or r in asked)]
    if not keep:
        raise InputError("Every row is excluded: include some rows to check.")
    ids = [row_ids[i] for i in keep]
    classes = list(ws.store.classes(dataset_id, field))
    # Auto labels are the model's own output, not given labels: checked as labels they would train the
    # check on its own guesses, raise its accuracy and hide real errors. They count as unlabeled here;
    # the Auto-label audit is their check.
    values = [None if multi else checked_label({"label": info[r][4], "label_source": info[r][5]}) or None for r in ids]
    classes += sorted({v for v in values if v is not None} - set(classes))  # labels typed outside the list
    index = {c: i for i, c in enumerate(classes)}
    label_sets = answered = None
    if multi:  # the classes of each answered row (auto answers are not checked, as above)
        sets = {r: json.loads(info[r][4]) for r in ids if info[r][4] is not None and info[r][5] != LabelSource.AUTO}
        classes += sorted({c for v in sets.values() for c in v} - set(classes))
        index = {c: i for i, c in enumerate(classes)}
        label_sets = np.zeros((len(ids), len(classes)), bool)
        for i, r in enumerate(ids):
            for c in sets.get(r, []):
                label_sets[i, index[c]] = True
        answered = np.array([r in sets for r in ids])
    return IssueData(
        row_ids=np.asarray(ids, np.int64),
        X=vectors[keep],
        labels=np.array([index[v] if v is not None else -1 for v in values], np.int64),
        class_names=classes,
        texts=[info[r][1] or "" for r in ids] if dataset.modality == "text" else None,
        content_keys=[info[r][2] for r in ids],
        reviewed=np.array([info[r][5] in REVIEWED_SOURCES for r in ids]),
        label_sets=label_sets,
        answered=answered,
    ), [info[r][3] for r in ids]


def find_issues(
    ws: Workspace,
    dataset_id: int,
    *,
    settings: dict[str, dict[str, Any]] | None = None,
    progress: Progress | None = None,
    reuse: bool = True,
    field: str = DEFAULT_LABEL_FIELD,
) -> IssueReport:
    """Run every check that applies and store the results as a new run; with ``reuse``, return
    the stored run made from the same data version and settings instead of computing again.

    Parameters
    ----------
    settings
        Per-check settings by issue name, e.g. ``{"near_duplicate": {"threshold": 0.97}}``. The
        near-duplicate threshold defaults to the embedding model's (``Embedder.near_duplicate_cosine``).
    progress
        Called with (fraction done, what is happening).
    field
        The single-choice question of the label schema whose answers the label checks look at.
    """
    settings = settings or {}
    unknown = set(settings) - set(DETECTORS)
    if unknown:
        raise InputError(f"No issue check named {', '.join(sorted(unknown))}. Known: {', '.join(DETECTORS)}.")
    dataset = ws.store.dataset(dataset_id)
    near = {"threshold": near_duplicate_cosine(dataset.embedding_model), **settings.get("near_duplicate", {})}
    settings = {**settings, "near_duplicate": near}
    version = dataset.version
    started = time.perf_counter()
    data, source_ids = issue_data(ws, dataset_id, field)
    detectors = [create_detector(name, **settings.get(name, {})) for name in DETECTORS]
    skipped = {d.issue_name: why for d in detectors if (why := d.not_enough(data))}  # the others still run
    detectors = [d for d in detectors if d.applies_to(data)]
    run_settings = {"embedding": dataset.embedding_model, "checks": {d.issue_name: d.get_params() for d in detectors}}
    if field != DEFAULT_LABEL_FIELD:
        run_settings["question"] = field
    same = find_run(ws, dataset_id, KIND, run_key(version, run_settings)) if reuse else None
    if same is not None:
        return IssueReport(same, same.arrays())
    weights = np.array([_WEIGHT.get(d.issue_name, 0.05) for d in detectors])
    starts = np.concatenate([[0.0], np.cumsum(weights)[:-1]]) / weights.sum()
    arrays: dict[str, np.ndarray] = {
        "row_ids": data.row_ids,
        "source_ids": np.asarray(source_ids, dtype=str),
        "given": data.labels,
        "reviewed": data.reviewed,
    }
    if data.label_sets is not None:  # a multi-choice question: what each row was answered, to see changes
        arrays["given_sets"] = data.label_sets
    summary: dict[str, Any] = {"classes": data.class_names, "checks": {}, "n_rows": data.n_rows, "question": field}
    if skipped:
        summary["skipped"] = skipped
    previous = latest_run(ws, dataset_id, KIND, question=field)
    for detector, start, weight in zip(detectors, starts, weights / weights.sum(), strict=True):
        name = detector.issue_name

        def step(fraction: float, message: str, start=start, weight=weight) -> None:
            if progress:
                progress(min(1.0, start + weight * fraction), message)

        step(0.0, f"Checking: {detector.title.lower()}")
        detector.fit(data, step)
        arrays[f"{name}_score"] = detector.scores_
        arrays[f"is_{name}_issue"] = detector.is_issue_
        for key, value in detector.details_.items():
            arrays[f"{name}.{key}"] = np.asarray(value, dtype=str) if value.dtype == object else value
        summary["checks"][name] = detector.summary_
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["previous_run"] = previous.id if previous else None
    run = save_run(
        ws,
        dataset_id,
        KIND,
        dataset_version=version,
        settings=run_settings,
        summary=summary,
        arrays=arrays,
    )
    if progress:
        progress(1.0, "Done")
    return IssueReport(run, arrays)


def latest_report(ws: Workspace, dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> IssueReport | None:
    """The newest stored issue run of a dataset for a question of its label schema, or None."""
    run = latest_run(ws, dataset_id, KIND, question=field)
    return IssueReport(run, run.arrays()) if run else None


def previous_report(ws: Workspace, report: IssueReport) -> IssueReport | None:
    """The run this one was made after, if it is still stored."""
    previous = report.run.summary.get("previous_run")
    if not previous:
        return None
    run = get_run(ws, previous)
    return IssueReport(run, run.arrays())


@dataclass(frozen=True)
class IssueReport:
    """One stored issue run: per-row scores, flags and details, and what they mean."""

    run: Run
    arrays: dict[str, np.ndarray]

    @property
    def classes(self) -> list[str]:
        return list(self.run.summary["classes"])

    @property
    def field(self) -> str:
        """The label-schema question whose answers were checked."""
        return self.run.summary.get("question", DEFAULT_LABEL_FIELD)

    @property
    def issue_names(self) -> list[str]:
        """The checks in this run, in registry order."""
        return [n for n in DETECTORS if n in self.run.summary["checks"]]

    @property
    def n_rows(self) -> int:
        return int(self.run.summary["n_rows"])

    def title(self, issue: str) -> str:
        return DETECTORS[issue].title

    def rule(self, issue: str) -> str:
        return DETECTORS[issue].rule(self.run.summary["checks"][issue])

    def share_base(self, issue: str) -> tuple[int, str]:
        """What a share of the rows flagged by ``issue`` is taken of: (how many, what they are). The
        label checks see only the labeled rows, so "2.8% of 425 labeled rows", not "0.8% of rows"."""
        checked = DETECTORS[issue].checked_rows(self.run.summary["checks"][issue])
        return checked if checked is not None else (self.n_rows, "rows")

    def histogram(self, issue: str) -> tuple[np.ndarray, np.ndarray, str, float | None]:
        """What the page plots for one check: (values, flagged, axis title, cutoff), over the rows the
        check scored. Values are in the quantity the check's rule uses (an outlier's distance, a
        near-duplicate's similarity) when it has one, so the chart, the card and the cutoff agree."""
        a = self.arrays
        measure = DETECTORS[issue].measure(self.run.summary["checks"][issue])
        if measure is not None and f"{issue}.{measure[0]}" in a:
            values, axis, cutoff = a[f"{issue}.{measure[0]}"].astype(np.float64), measure[1], measure[2]
        else:
            values, axis, cutoff = a[f"{issue}_score"], "score (lower = more likely an issue)", None
        ok = np.isfinite(values)
        return values[ok], a[f"is_{issue}_issue"][ok], axis, cutoff

    def label_check_unreliable(self) -> str | None:
        """Why this run's label flags cannot be trusted, with its numbers; None when they can (or the run
        has no label check). See :func:`core.issues.label.unreliable_because` for the rule."""
        if "label" not in self.issue_names:
            return None
        return unreliable_because(self.run.summary["checks"]["label"])

    def counts(self, leave_out: Collection[int] = ()) -> dict[str, int]:
        """Rows flagged per issue type, not counting the rows in ``leave_out`` (e.g. :meth:`fixed_since`)."""
        kept = ~np.isin(self.arrays["row_ids"], np.fromiter(leave_out, dtype=np.int64, count=len(leave_out)))
        return {n: int((self.arrays[f"is_{n}_issue"] & kept).sum()) for n in self.issue_names}

    def is_stale(self, ws: Workspace) -> bool:
        """True when the dataset changed since this run (labels fixed, rows added). Changes undone since
        (an auto-fix and its undo) leave the data as the run saw it: not stale."""
        if ws.store.dataset(self.run.dataset_id).version == self.run.dataset_version:
            return False
        return not unchanged_since(
            ws.store, self.run.dataset_id, version=self.run.dataset_version, stamp=self.run.created_at
        )

    @cached_property
    def frame(self) -> pd.DataFrame:
        """One row per checked row: ids, given and suggested label, every score and flag."""
        a, classes = self.arrays, np.asarray(self.classes + [""], dtype=object)
        out = pd.DataFrame({"row_id": a["row_ids"], "source_id": a["source_ids"]})
        out["given"] = classes[a["given"]]  # -1 (unlabeled) picks the trailing ""
        if "label_set" in self.issue_names:
            # A multi-choice question has no single given class: its rows are grouped and filtered by the
            # class the label-set check doubts (the page calls the column "class in doubt").
            out["given"] = classes[a["label_set.worst_class"]]
        if "label" in self.issue_names:
            suggested, suggested_confidence = self._label_suggestion
            out["suggested"] = classes[suggested]
            out["suggested_confidence"] = suggested_confidence
            out["given_confidence"] = a["label.given_confidence"]
        for name in self.issue_names:
            out[f"{name}_score"] = a[f"{name}_score"]
            out[f"is_{name}_issue"] = a[f"is_{name}_issue"]
        if "near_duplicate" in self.issue_names:
            out["partner"] = a["near_duplicate.partner"]
            out["partner_similarity"] = a["near_duplicate.partner_similarity"]
        flags = [f"is_{n}_issue" for n in self.issue_names]
        out["n_issues"] = out[flags].sum(axis=1)
        return out

    def fixed_since(self, ws: Workspace) -> frozenset[int]:
        """Flagged rows decided on since the run: excluded, relabeled, confirmed by a person or set aside.

        A row's answer is compared with the one the run checked (a multi-choice question's as a set of
        classes), so an answer given before the run (a bulk answer the check then flagged) is not a fix.
        Read once per dataset version (every fix is a batch that bumps it), not on each filter change."""

        def compute() -> frozenset[int]:
            flagged = self.frame[self.frame["n_issues"] > 0]
            states = ws.store.row_states(flagged["row_id"].tolist(), self.field)
            sets = "given_sets" in self.arrays  # a multi-choice question's run: the classes each row had
            # Multi-choice runs stored before they kept their answers: a change shows only as its source.
            by_source = "label_set" in self.issue_names and not sets
            at = flagged.index.to_numpy()  # the frame's rows are the run's arrays, in order
            if sets:
                names = np.asarray(self.classes, dtype=object)
                checked = [frozenset(names[np.flatnonzero(row)]) for row in self.arrays["given_sets"][at]]
            else:
                checked = self.checked_labels()[at].tolist()
            at_run = dict(zip(flagged["row_id"], checked, strict=True))
            now = {r: _checked_classes(s) if sets else checked_label(s) for r, s in states.items()}
            return frozenset(
                r
                for r, s in states.items()
                if s["excluded"]
                or (not by_source and now[r] != at_run[r])
                or s["label_source"] in ("human", "suggestion_accepted", *(("bulk", "auto") if by_source else ()))
                or NEEDS_REVIEW in s["tags"]
            )

        return ws.derived(self.run.dataset_id, ("issues-fixed-since", self.run.id), compute)

    @cached_property
    def _position(self) -> dict[int, int]:
        return {int(r): i for i, r in enumerate(self.arrays["row_ids"])}

    def index(self, row_id: int) -> int | None:
        """Where a row sits in the run's arrays (None: the run did not check it)."""
        return self._position.get(int(row_id))

    def pred_probs(self, row_id: int) -> np.ndarray | None:
        """The out-of-fold class probabilities of one labeled row (None when not checked)."""
        probs = self.arrays.get("label.pred_probs")
        i = self.index(row_id)
        if probs is None or i is None or np.isnan(probs[i]).any():
            return None
        return probs[i]

    @cached_property
    def _label_suggestion(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's suggested class (-1: none) and its probability. A flagged row's is the class its
        explanation names; runs stored before the suggestion followed it held the most probable class."""
        a = self.arrays
        if "label.confident_class" not in a:
            return a["label.suggested"], a["label.suggested_confidence"]
        most = a.get("label.most_probable", a["label.suggested"])
        p_most = a.get("label.most_probable_confidence", a["label.suggested_confidence"])
        return suggestion_of(
            most, p_most, a["is_label_issue"], a["label.confident_class"], a["label.confident_probability"]
        )

    def suggestion(self, row_id: int) -> tuple[str, float] | None:
        """The label the check suggests for a row, with its probability: for a flagged row the class the
        check counts it as (the one its explanation names), else the most probable class."""
        i = self.index(row_id)
        if "label" not in self.issue_names or i is None or self.pred_probs(row_id) is None:
            return None
        suggested, probability = self._label_suggestion
        return self.classes[int(suggested[i])], float(probability[i])

    def explain(self, row_id: int) -> list[tuple[str, str]]:
        """(issue title, why) for each issue flagged on a row, plus the label check's view of it."""
        i = self._position.get(int(row_id))
        if i is None:
            return []
        out = []
        for name in self.issue_names:
            flagged = bool(self.arrays[f"is_{name}_issue"][i])
            if not flagged and name != "label":
                continue
            row: dict[str, Any] = {"given": int(self.arrays["given"][i]), f"is_{name}_issue": flagged}
            prefix = f"{name}."
            for key, value in self.arrays.items():
                if key.startswith(prefix) and key != "label.pred_probs":
                    row[key[len(prefix) :]] = value[i].item() if hasattr(value[i], "item") else value[i]
            if name == "near_duplicate":
                j = self._position.get(int(row["partner"]))
                row["partner_source_id"] = self.arrays["source_ids"][j] if j is not None else row["partner"]
            title = DETECTORS[name].title if flagged else "Label check"
            out.append((title, DETECTORS[name].explain(row, self.run.summary["checks"][name], self.classes)))
        return out

    def by_class(self) -> pd.DataFrame:
        """Rows flagged per (given class, issue type): the bar chart's data."""
        f = self.frame
        parts = []
        for name in self.issue_names:
            flagged = f[f[f"is_{name}_issue"]]
            counts = flagged.groupby("given").size()
            parts += [{"class": c or "(unlabeled)", "issue": name, "rows": int(n)} for c, n in counts.items()]
        return pd.DataFrame(parts, columns=["class", "issue", "rows"])

    def checked_labels(self) -> np.ndarray:
        """Each row's label as the checks saw it, as text ("" for none; a multi-choice answer's classes
        joined by "|"), comparable between runs whose class lists differ."""
        a, classes = self.arrays, np.asarray(self.classes + [""], dtype=object)
        if "given_sets" in a:
            return np.array(["|".join(classes[np.flatnonzero(row)]) for row in a["given_sets"]], dtype=object)
        return classes[a["given"]]

    def confusion_pairs(self) -> pd.DataFrame:
        """Label issues counted by (given label, suggested label), most frequent first."""
        if "label" not in self.issue_names:
            return pd.DataFrame(columns=["given", "suggested", "rows"])
        f = self.frame[self.frame["is_label_issue"]]
        pairs = f.groupby(["given", "suggested"]).size().rename("rows").reset_index()
        return pairs.sort_values("rows", ascending=False, kind="stable").reset_index(drop=True)


def compare_reports(before: IssueReport, after: IssueReport) -> pd.DataFrame:
    """Per issue type: rows flagged before and after, and what became of the rows flagged before.

    ``resolved`` counts only rows someone dealt with between the runs and that are no longer flagged:
    excluded (gone from the new run), label changed (by a person or a Clean Top K fix) or confirmed by a
    person. Marking a row needs-review changes nothing the checks see, so it resolves nothing. Rows
    that stopped being flagged with no such change are counted apart, in ``no longer flagged without a
    change``: the new model's noise, not progress. ``new`` rows are flagged only now.
    """
    dealt_with = set(before.arrays["row_ids"][_dealt_with(before, after)].tolist())
    out = []
    for name in after.issue_names:
        flag = f"is_{name}_issue"
        was = set(before.arrays["row_ids"][before.arrays[flag]].tolist()) if flag in before.arrays else set()
        now = set(after.arrays["row_ids"][after.arrays[flag]].tolist())
        out.append(
            {
                "issue": DETECTORS[name].title,
                "before": len(was),
                "after": len(now),
                "resolved": len((was - now) & dealt_with),
                "no longer flagged without a change": len((was - now) - dealt_with),
                "new": len(now - was),
            }
        )
    return pd.DataFrame(out)


def _dealt_with(before: IssueReport, after: IssueReport) -> np.ndarray:
    """For each row of ``before``: excluded since (not in ``after``), its checked label changed, or
    confirmed by a person since. Read from the two runs, so later actions do not count."""
    at = np.array([-1 if after.index(r) is None else after.index(r) for r in before.arrays["row_ids"]], np.int64)
    present, at = at >= 0, np.maximum(at, 0)
    changed = before.checked_labels() != after.checked_labels()[at]
    confirmed = after.arrays["reviewed"][at] & ~before.arrays["reviewed"]
    return ~present | changed | confirmed
