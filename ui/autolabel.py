"""The auto-label wizard's steps: train, review, monitor and audit (step 1's threshold and accept are in
``ui.autolabel_threshold``; the steps for a multi-choice question in ``ui.autolabel_multi``)."""

from __future__ import annotations

import streamlit as st

from core.audit import audit_summary
from core.embedders import DEFAULT_TEXT_MODEL, EMBEDDERS, parse_model_id
from core.errors import CuratorError
from core.labelschema import asked_rows, label_schema, question_status
from core.review import top_choices
from core.sampling import DEFAULT_STRATEGY, STRATEGIES, describe_strategies
from core.store import DEFAULT_LABEL_FIELD, ISSUE_FIX_MODEL
from core.wizard import (
    KIND,
    MIN_TARGET_PRECISION,
    REFERENCE_TAG,
    Prediction,
    add_classes,
    audited_promise,
    earlier_auto_labels,
    new_rows_batches,
    nothing_new,
    promote_references,
    review_queue,
    strategy_learning_curves,
    train,
)
from core.wording import counted
from ui.audit import audit_panel, audited_precision
from ui.charts import confidence_histogram, learning_curves
from ui.progress import eta_bar
from ui.resources import embedder, rerun_after_batch, workspace
from ui.review import class_keys_hint, review_panel


def current_prediction(dataset_id: int, field: str = DEFAULT_LABEL_FIELD) -> Prediction | None:
    """The newest run for ``field``; its arrays (100k rows: ~2 MB from disk) read once per run."""
    from core.runs import latest_run
    from core.wizard import _prediction

    run = latest_run(workspace(), dataset_id, KIND, question=field)
    if run is None or run.summary.get("multi"):
        return None
    return _prediction(workspace(), run, run_arrays(run.id))


@st.cache_resource(max_entries=8, show_spinner=False)
def run_arrays(run_id: str) -> dict:  # shared and read-only: a stored run's arrays never change
    from core.runs import get_run

    return get_run(workspace(), run_id).arrays()


def train_controls(dataset_id: int, prediction: Prediction | None, field: str = DEFAULT_LABEL_FIELD) -> None:
    """Choose how to predict and the target precision; train with a progress bar (for ``field``, a
    single-choice question of the label schema)."""
    from core.autolabel import AUTOLABELERS

    ws = workspace()
    named = ws.store.classes(dataset_id, field)
    if len(named) < 2 and field == DEFAULT_LABEL_FIELD:
        st.info(
            f"One class so far: '{named[0]}'. Add at least one more and the zero-shot labeler predicts them from"
            " their names."
            if named
            else "No classes yet. Name them and the zero-shot labeler predicts them from their names."
        )
        typed = st.text_area("Classes, one per line", key="autolabel.newclasses", placeholder="World\nSports")
        if st.button("Add classes", key="autolabel.addclasses"):
            try:
                add_classes(ws, dataset_id, typed.splitlines())
                st.rerun()
            except CuratorError as exc:
                st.error(str(exc))
    c1, c2 = st.columns([2, 1])
    names = ["auto", *AUTOLABELERS]
    labeler = c1.selectbox(
        "Predict labels with",
        names,
        format_func=lambda n: "automatic choice" if n == "auto" else f"{n}: {AUTOLABELERS[n].description}",
        key="autolabel.labeler",
        help="Automatic: learn from the labeled rows when every class has some, else zero-shot from class names.",
    )
    trained_for = prediction.target_precision if prediction else None
    target = c2.slider(
        "Target precision",
        MIN_TARGET_PRECISION,
        0.995,
        trained_for or 0.95,
        0.005,
        format="%.3f",
        key="autolabel.target",
    )
    settings = reference_set_controls(dataset_id) if labeler == "reference-set" else {}
    descriptions = {}
    with st.expander("Class descriptions (optional, used by zero-shot)"):
        for name in ws.store.classes(dataset_id, field)[:30]:
            text = st.text_input(name, key=f"autolabel.desc.{dataset_id}.{name}", placeholder=f"what '{name}' means")
            if text.strip():
                descriptions[name] = text.strip()
    verb = "Retrain" if prediction else "Train and predict"
    if trained_for is not None and abs(target - trained_for) > 1e-9:
        verb = f"Retrain for {target:.1%}"
        st.warning(
            f"The threshold below was set for a {trained_for:.1%} target. Retrain to set it for {target:.1%}"
            " (or move it by hand below)."
        )
    if st.button(verb, type="primary", key="autolabel.train", icon=":material/model_training:"):
        same = prediction and nothing_new(
            ws,
            prediction,
            labeler=labeler,
            target_precision=target,
            settings=settings,
            class_descriptions=descriptions,
        )
        if same:
            st.info(same)
            return
        dataset = ws.dataset(dataset_id)
        own_text = "text" in EMBEDDERS[parse_model_id(dataset.embedding_model)[0]].modalities
        # The model loads first, with its own bar: its load time read as training's pace tripled the estimate.
        try:
            text_embedder = embedder(dataset.embedding_model if own_text else DEFAULT_TEXT_MODEL)
        except CuratorError as exc:
            st.error(str(exc))
            return
        report, close = eta_bar()
        try:
            train(
                ws,
                dataset_id,
                labeler=labeler,
                target_precision=target,
                settings=settings,
                class_descriptions=descriptions,
                text_embedder=text_embedder,
                field=field,
                on_progress=report,
            )
        except CuratorError as exc:
            close()
            st.error(str(exc))
            return
        st.rerun()


def reference_set_controls(dataset_id: int) -> dict:
    """Unified (every label is a reference) or separate (rows tagged "reference"), and Promote."""
    ws = workspace()
    c1, c2, c3 = st.columns([1.2, 1.2, 1])
    mode = c1.radio(
        "References",
        ["unified", "separate"],
        horizontal=True,
        key="autolabel.ref.mode",
        help="unified: every labeled row is a reference at once. separate: only rows tagged 'reference'.",
    )
    similarity = c2.slider(
        "Leave for review below similarity",
        0.0,
        1.0,
        0.25,
        0.01,
        key="autolabel.ref.sim",
        help="0.25 suits MiniLM text; image features need more",
    )
    if mode == "separate":
        with ws.store.connect() as conn:
            n_refs = conn.execute(
                "SELECT COUNT(*) FROM tags JOIN rows ON rows.id = tags.row_id WHERE rows.dataset_id = ?"
                " AND tags.tag = ?",
                (dataset_id, REFERENCE_TAG),
            ).fetchone()[0]
        c3.caption(f"{n_refs:,} rows in the reference set")
        if c3.button("Promote", key="autolabel.ref.promote", help="Add the most confident agreeing labeled rows"):
            try:
                result = promote_references(ws, dataset_id)
            except CuratorError as exc:
                st.error(str(exc))
            else:
                rerun_after_batch(
                    result.batch_id,
                    f"promotion of {result.changed:,} references",
                    f"{result.changed:,} rows promoted into the reference set",
                )
    return {"mode": mode, "min_similarity": similarity}


def earlier_auto_labels_caption(prediction: Prediction, threshold: float, *, monitor: bool = False) -> None:
    """Why Monitor counts more auto labels than the promise after a Retrain: an accept leaves an earlier
    model's auto labels below its threshold as they are. On Monitor (``monitor``) they are some of the
    auto labels its card counts; under the promise, rows below the threshold the slider stands at."""
    kept = earlier_auto_labels(workspace(), prediction, threshold)
    one = kept == 1
    if kept and monitor:
        st.caption(
            f"{kept:,} of these auto labels {'comes' if one else 'come'} from an earlier model, on"
            f" {'a row' if one else 'rows'} below this model's threshold: an accept of this model replaces only"
            " the labels at or above its threshold."
        )
    elif kept:
        st.caption(
            f"{counted(kept, 'row')} below this threshold {'holds' if one else 'hold'} an earlier model's auto"
            " label: an accept of this model replaces only the labels at or above the threshold, so"
            f" {'it stays' if one else 'they stay'} as {'it is' if one else 'they are'} (Monitor counts"
            f" {'it' if one else 'them'}). Move the threshold below {'it' if one else 'them'} to relabel"
            f" {'it' if one else 'them'} with this model."
        )
    # Rows added later and auto-labeled at an accept's threshold keep those labels when the accept is undone.
    apart = sum(b.auto_labels for b in new_rows_batches(workspace(), prediction) if not b.at_standing_threshold)
    if apart:
        st.caption(
            f"{counted(apart, 'row')} added later {'holds' if apart == 1 else 'hold'} this model's auto label from"
            " a New rows batch made at the threshold of an accept undone since (Monitor counts them too; undo that"
            " batch in History to take them away)."
        )


def review_step(dataset_id: int, prediction: Prediction) -> str:
    """The most informative rows, one at a time, then Retrain; returns the strategy chosen to show them
    (the learning curve compares it with random)."""
    c1, c2, c3 = st.columns([2, 1, 1])
    strategies = dict(describe_strategies())
    strategy = c1.selectbox(
        "Show first",
        sorted(STRATEGIES, key=lambda n: (n != DEFAULT_STRATEGY, n == "random", n)),
        key="autolabel.strategy",
        help="\n".join(f"- **{n}**: {text}" for n, text in strategies.items()),
    )
    c1.caption(strategies[strategy])  # the whole sentence: a select box cuts it off
    size = c2.number_input("Rows per queue (5 to 200)", 5, 200, 20, step=5, key="autolabel.queue_size")
    qkey = f"autolabel.queue.{prediction.run.id}.{strategy}.{size}"
    if c3.button("New queue", key="autolabel.newqueue") or qkey not in st.session_state:
        with st.spinner("Choosing the rows to label"):
            st.session_state[qkey] = review_queue(workspace(), prediction, strategy=strategy, n=int(size))
    position = {int(r): i for i, r in enumerate(prediction.row_ids)}
    classes = prediction.classes
    review_panel(
        dataset_id,
        st.session_state[qkey],
        choices=lambda r: top_choices(prediction.probabilities[position[r]], classes),
        key=f"autolabel.review.{prediction.run.id}",
        when_done="Retrain (step 1) to update the suggestions and the threshold, or take a new queue.",
        model_id=prediction.run.summary["model_id"],
        field=prediction.field,
    )
    n_classes = len({*classes, *workspace().store.classes(dataset_id, prediction.field)})
    st.caption(
        f"Keys: {class_keys_hint(n_classes)} · W accept the suggestion (highlighted) · N needs review ·"
        " Q keep the given label · E exclude · S skip · U undo. Then Retrain (step 1) to update suggestions and"
        " threshold."
    )
    return strategy


def learning_curve_panel(dataset_id: int, field: str = DEFAULT_LABEL_FIELD, strategy: str = DEFAULT_STRATEGY) -> None:
    """Quality against labels used for ``strategy`` (the review step's "Show first") and for random
    sampling, with the labels saved when the gap is beyond the seeds' noise; saved runs, so reruns are free."""
    if not st.toggle(
        "Learning curve", key="autolabel.lc", help="Quality vs number of labels: the strategy in Show first vs random"
    ):
        return
    report, close = eta_bar(f"Simulating labeling with {strategy} and random sampling on the labeled rows")
    try:
        curves = strategy_learning_curves(workspace(), dataset_id, strategy=strategy, field=field, on_progress=report)
    except CuratorError as exc:
        st.info(str(exc))
        return
    finally:
        close()
    from core.learning_curve import describe_savings

    st.plotly_chart(learning_curves(curves), key=f"autolabel.lc.chart.{field}")
    if strategy == "random":
        said = "Random sampling is the baseline: choose another strategy in Show first to see the labels it saves."
    else:
        said = describe_savings(curves[strategy], curves["random"])
    st.caption(f"{said} Measured on the rows labeled so far (20% held out).")


def monitor_step(dataset_id: int, prediction: Prediction | None, field: str = DEFAULT_LABEL_FIELD) -> None:
    """Coverage, queue, confidence of auto labels, and the audit (of the question ``field``). The
    Issues page's auto-fixes (also source "auto") are another model's: counted apart, not charted."""
    ws = workspace()
    with ws.store.connect() as conn:
        labels = conn.execute(
            "SELECT labels.confidence, COALESCE(labels.model_id, '') LIKE ? FROM labels"
            " JOIN rows ON rows.id = labels.row_id WHERE rows.dataset_id = ? AND labels.field = ?"
            " AND labels.source = 'auto' AND rows.excluded = 0",
            (ISSUE_FIX_MODEL + "%", dataset_id, field),
        ).fetchall()
    conf = [c for c, issue_fix in labels if not issue_fix]
    issue_fixes = len(labels) - len(conf)
    coverage, open_queue = coverage_of(dataset_id, field)
    m = st.columns(4)
    m[0].metric("Coverage (answered rows)", f"{coverage:.0%}")
    m[1].metric("Auto-labeled", f"{len(conf):,}", help="Rows holding the wizard's auto labels")
    m[2].metric("Waiting for review", f"{open_queue:,}", help="Rows with no answer (not excluded)")
    audit = audit_summary(ws, dataset_id, field)
    promised = audited_promise(ws, dataset_id, field)  # of the accepts that wrote the audited labels
    audited_precision(m[3], "Audited precision", audit, promised)
    if prediction is not None:
        earlier_auto_labels_caption(prediction, prediction.threshold, monitor=True)
    _auto_confidence_histogram(conf, prediction)
    if issue_fixes:
        st.caption(
            f"Not in these figures nor in the audit's sample: {counted(issue_fixes, 'row')} auto-fixed on the"
            " Issues page (another model's labels, on rows labeled before, often under this threshold);"
            " the Issues page audits them apart (Audit the auto-fixes)."
        )
    st.subheader("Audit")
    st.caption(audit.describe() + " A uniform sample of auto labels, checked by a person, measures the precision.")
    audit_panel(dataset_id, field, audit.checked)


def _auto_confidence_histogram(conf: list[float], prediction: Prediction | None) -> None:
    # The line is the threshold these labels were accepted at: a Retrain not accepted yet wrote none of them
    # (its estimate, often 1.000, drawn over an earlier model's labels read as if they were all below it).
    accepted = prediction.accepted if prediction else None
    if conf:
        st.plotly_chart(
            confidence_histogram(
                conf,
                threshold=accepted.threshold if accepted else None,
                title="Confidence of the auto labels",
                x_min=max(0.0, min(conf) - 0.05),  # auto labels sit near the top: zoom in
            ),
            key="autolabel.monitor.hist",
        )


def coverage_of(dataset_id: int, field: str) -> tuple[float, int]:
    """Share of the rows asked ``field`` that have an answer, and how many (not excluded) still wait."""
    ws = workspace()
    status = ws.status(dataset_id)
    if field == DEFAULT_LABEL_FIELD:
        # Waiting: not excluded and no answer, as the page's Unlabeled counts it (rows - labeled - excluded
        # took an excluded row with a label away twice). The page computed it already this version.
        question = label_schema(ws.store, dataset_id).question(field)
        waiting = ws.derived(
            dataset_id, ("question_status", field), lambda: question_status(ws.store, dataset_id, question)
        ).unanswered
        return status.labeled_share, waiting

    def compute() -> tuple[float, int]:
        question = label_schema(ws.store, dataset_id).question(field)
        with ws.store.connect() as conn:
            asked = asked_rows(conn, dataset_id, question)
            rows = conn.execute(
                "SELECT rows.id, labels.value IS NOT NULL FROM rows LEFT JOIN labels ON labels.row_id = rows.id"
                " AND labels.field = ? WHERE rows.dataset_id = ? AND rows.excluded = 0",
                (field, dataset_id),
            ).fetchall()
        answers = [has for row_id, has in rows if asked is None or row_id in asked]
        answered = sum(answers)
        return (answered / len(answers) if answers else 0.0), len(answers) - answered

    return ws.derived(dataset_id, ("coverage", field), compute)  # once per dataset version, not per rerun
