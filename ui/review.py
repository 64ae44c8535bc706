"""One row at a time with keyboard shortcuts: 1-9 choose a class (each key one class on every row, up to
nine classes), W accept the suggestion (its class button highlighted),
N needs-review, Q keep the given label, E exclude, S skip, U undo the last decision.

Streamlit's own ``st.button(shortcut=...)`` handles the keys (no custom JavaScript); they do not
fire while the cursor is in a text box.

The decision buttons' keys name the row: keys pressed fast queue up, and a press made while one row
was shown can reach the server after that row was decided, when the next row is drawn. With the same
key for every row it decided that next row (W accepted a suggestion nobody had read); now it finds no
button and is dropped.

Each panel is an ``st.fragment``: a key press reruns the panel alone, not the page around it (its
charts, tables and counts took 1-3 s a key), so the next row shows in a fraction of a second. Counts
of the page that a decision changes are drawn by the panel (``live``), into a container the page
placed above it: Streamlit redraws a fragment's writes there in place, so they never lag a decision.
What else a decision changes (the table) follows on the next full run; the panel asks for one when
its queue ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.errors import CuratorError
from core.review import ReviewAction, keyed_choices, review_row, still_to_review
from core.store import DEFAULT_LABEL_FIELD, as_classes, stored_value
from core.wording import counted
from core.workspace import Workspace
from ui.resources import row_contents, workspace

Choices = Callable[[int], list[tuple[str, float]]]  # row id -> [(class, probability)], best first


def class_keys_hint(n_classes: int) -> str:
    """What keys 1-9 do, for the pages' key captions (as ``core.review.keyed_choices`` assigns them)."""
    if n_classes <= 9:
        return "1-9 choose a class (the same class on every row, in the schema's order)"
    return "1-9 choose among the row's 9 most probable classes"


@st.fragment
def review_panel(
    dataset_id: int,
    queue: list[int],
    *,
    choices: Choices,
    key: str,
    when_done: str,
    model_id: str | None = None,
    check_labels: bool = False,
    details: Callable[[int], None] | None = None,
    field: str = DEFAULT_LABEL_FIELD,
    live: Callable[[], None] | None = None,
) -> None:
    """Show the first row of ``queue`` nobody has decided on yet, with its decision buttons.

    Without a stored suggestion, or with one another model made (before a Retrain), W accepts the best
    of ``choices`` (made by ``model_id``): the card, the buttons and W speak for that one model. With
    ``check_labels`` (the Issues page) the rows are labeled ones under question: a row is open
    until a person decides on it, and W takes the checking model's choice. ``details(row_id)``
    draws more about the row under it (why it was flagged, its duplicate). ``when_done``: what to do
    next once every row is decided, in the page's own words (its button). ``field``: the question of
    the label schema the decisions answer; the row's other questions show under it. ``live()`` draws
    what else on the page the decisions change (the Issues page's counts), with every run of the panel:
    it writes into a container of the page, created before the panel."""
    if live:
        live()
    ws = workspace()
    skipped: set[int] = st.session_state.setdefault(f"{key}.skipped", set())
    still_open = still_to_review(ws, queue, check_labels=check_labels, field=field)
    decided: list[str] = st.session_state.setdefault(f"{key}.decided", [])  # batch ids, newest last
    if queue_progress(queue, still_open, skipped, key=key, when_done=when_done, decided=decided):
        return
    open_rows = [r for r in still_open if r not in skipped]
    row_id = open_rows[0]
    row_key = f"{key}.{row_id}"  # a key pressed for this row that arrives after it was decided hits no button
    row = ws.store.rows_by_ids([row_id])[0]
    with ws.store.connect() as conn:
        given, current, suggested, confidence, suggested_by = conn.execute(
            "SELECT given, value, suggested, suggested_confidence, suggested_by FROM labels"
            " WHERE row_id = ? AND field = ?",
            (row_id, field),
        ).fetchone() or (None, None, None, None, None)
    top = choices(row_id)
    keyed = keyed_choices(top, ws.store.classes(dataset_id, field))
    # Another model's stored suggestion (an accept before a Retrain) would put its number on the card and
    # its class under W beside this model's on the buttons: the row is shown as one without a suggestion.
    # A suggestion no model made (a person's pre-label from Search) stays.
    earlier_model = bool(model_id and suggested_by and suggested_by != model_id and not check_labels)
    if earlier_model:
        suggested, confidence = None, None
    if check_labels:  # the checking model's view replaces any stored pre-label
        suggested, confidence = (top[0][0], top[0][1]) if top else (None, None)
    with st.container(border=True):
        if row["image_path"]:
            st.image(row["image_path"], width=256)
            st.caption(row_contents(dataset_id, [row])[0])
        else:
            st.markdown(f"#### {quote_markdown(row['text'] or '')}")
        facts = [f"row {row['source_id']}"]
        if given:
            facts.append(f"given label **{quote_markdown(given)}**")
        if check_labels and current and current != given:
            facts.append(f"current label **{quote_markdown(current)}**")
        if suggested:
            sure = f" ({confidence:.0%})" if confidence is not None else ""
            facts.append(f"suggested **{quote_markdown(suggested)}**{sure}")
        st.markdown(" · ".join(facts))
        if details:
            details(row_id)
        other_questions_form(dataset_id, row_id, key=key, decided=decided, field=field)

    decision: tuple[ReviewAction, str | None] | None = None
    fallback = (
        (top[0][0], round(top[0][1], 4), model_id or "model") if top and (check_labels or not suggested) else None
    )
    if fallback and not check_labels:
        st.caption(f"Model's suggestion: **{quote_markdown(fallback[0])}** ({fallback[1]:.0%}), W accepts it.")
    suggestion = suggested or (fallback[0] if fallback else None)  # what W accepts: its button stands out
    cols = st.columns(max(3, min(len(keyed), 5)))
    for i, (name, p) in enumerate(keyed):
        label = name if p is None else f"{name} · {p:.0%}"
        if cols[i % len(cols)].button(
            label,
            key=f"{row_key}.c{i}",
            shortcut=str(i + 1),
            type="primary" if name == suggestion else "secondary",
            width="stretch",
        ):
            decision = (ReviewAction.LABEL, name)
    a = st.columns(6)
    if a[0].button("Accept", key=f"{row_key}.w", shortcut="W", type="primary", disabled=not (suggested or fallback)):
        decision = (ReviewAction.ACCEPT, None)
    if a[1].button("Needs review", key=f"{row_key}.n", shortcut="N"):
        decision = (ReviewAction.NEEDS_REVIEW, None)
    if a[2].button("Keep given", key=f"{row_key}.q", shortcut="Q", disabled=not given):
        decision = (ReviewAction.KEEP_GIVEN, None)
    if a[3].button("Exclude", key=f"{row_key}.e", shortcut="E"):
        decision = (ReviewAction.EXCLUDE, None)
    if a[4].button("Skip", key=f"{row_key}.s", shortcut="S"):
        skipped.add(row_id)
        next_row(page_too=_queue_ended(ws, queue, skipped, check_labels=check_labels, field=field))
    undo_decision_button(decided, key, column=a[5])
    other = st.selectbox(
        "Another class", ["", *ws.store.classes(dataset_id, field)], key=f"{key}.other.{row_id}", placeholder="..."
    )
    if other:
        decision = (ReviewAction.LABEL, other)
    if decision is not None:
        action, value = decision
        _decide(
            lambda: review_row(
                ws,
                dataset_id,
                row_id,
                action,
                value=value,
                model_suggestion=fallback,
                prefer_model=check_labels or earlier_model,
                field=field,
            ),
            decided,
            queue_done=lambda: _queue_ended(ws, queue, skipped, check_labels=check_labels, field=field),
        )


# row id -> [(class, probability or None: none to show, ticked)]
MultiChoices = Callable[[int], list[tuple[str, float | None, bool]]]


@st.fragment
def multi_review_panel(
    dataset_id: int,
    queue: list[int],
    *,
    choices: MultiChoices,
    key: str,
    field: str,
    when_done: str,
    check_labels: bool = False,
    details: Callable[[int], None] | None = None,
    no_probability: str = "",
    live: Callable[[], None] | None = None,
) -> None:
    """The first open row of ``queue`` for a multi-choice question ``field``: keys 1-9 tick or untick
    the first nine of ``choices`` (ticked ones start as proposed), W saves the ticked set (none ticked:
    none applies), N needs review, E exclude, S skip, U undo. With ``check_labels`` (the Issues page)
    a row stays open until a person decides on it. ``when_done``: as in ``review_panel``.
    ``no_probability`` names a class whose probability is None ("no model"); empty: the name alone.
    ``live``: as in ``review_panel``."""
    from core.review import review_multi_row

    if live:
        live()
    ws = workspace()
    skipped: set[int] = st.session_state.setdefault(f"{key}.skipped", set())
    decided: list[str] = st.session_state.setdefault(f"{key}.decided", [])
    still_open = still_to_review(ws, queue, check_labels=check_labels, field=field)
    if queue_progress(queue, still_open, skipped, key=key, when_done=when_done, decided=decided):
        return
    open_rows = [r for r in still_open if r not in skipped]
    row_id = open_rows[0]
    row_key = f"{key}.{row_id}"  # as in review_panel: a late key press must not decide the next row
    row = ws.store.rows_by_ids([row_id], field)[0]
    options = choices(row_id)[:9]
    ticked: set[str] = st.session_state.setdefault(f"{key}.ticked.{row_id}", {c for c, _, on in options if on})
    with st.container(border=True):
        if row["image_path"]:
            st.image(row["image_path"], width=256)
        else:
            st.markdown(f"#### {quote_markdown(row['text'] or '')}")
        current = ", ".join(as_classes(stored_value(row["label"]))) if row["label"] is not None else "(no answer)"
        st.markdown(
            f"row {row['source_id']} · now: **{quote_markdown(current or 'none applies')}** ·"
            f" ticked: **{quote_markdown(', '.join(sorted(ticked)) or 'none applies')}**"
        )
        if details:
            details(row_id)
    cols = st.columns(max(3, min(len(options), 5)))
    for i, (name, p, _) in enumerate(options):
        on = name in ticked
        shown = f"{p:.0%}" if p is not None else no_probability
        label = ("✓ " if on else "") + name + (f" · {shown}" if shown else "")
        if cols[i % len(cols)].button(
            label, key=f"{row_key}.c{i}", shortcut=str(i + 1), type="primary" if on else "secondary", width="stretch"
        ):
            ticked.symmetric_difference_update({name})
            next_row()
    a = st.columns(5)
    decision: Callable[[], str | None] | None = None
    if a[0].button("Save", key=f"{row_key}.w", shortcut="W", type="primary", icon=":material/check:"):
        decision = lambda: review_multi_row(ws, dataset_id, row_id, sorted(ticked), field=field)  # noqa: E731
    if a[1].button("Needs review", key=f"{row_key}.n", shortcut="N"):
        decision = lambda: review_row(ws, dataset_id, row_id, ReviewAction.NEEDS_REVIEW, field=field)  # noqa: E731
    if a[2].button("Exclude", key=f"{row_key}.e", shortcut="E"):
        decision = lambda: review_row(ws, dataset_id, row_id, ReviewAction.EXCLUDE, field=field)  # noqa: E731
    if a[3].button("Skip", key=f"{row_key}.s", shortcut="S"):
        skipped.add(row_id)
        next_row(page_too=_queue_ended(ws, queue, skipped, check_labels=check_labels, field=field))
    undo_decision_button(decided, key, column=a[4])
    if decision is not None:
        _decide(
            decision,
            decided,
            queue_done=lambda: _queue_ended(ws, queue, skipped, check_labels=check_labels, field=field),
        )


def queue_progress(
    queue: list[int], still_open: list[int], skipped: set[int], *, key: str, when_done: str, decided: list[str]
) -> bool:
    """The queue's progress bar (rows decided, and skipped if any); once no row is left to show, "Queue
    done" with the skipped rows named (they are still open: "19 of 20 decided" alone hid one) and a
    button to go through them again. Returns whether the queue is done."""
    done = len(queue) - len(still_open)
    n_skipped = len(skipped.intersection(still_open))
    skipped_text = f", {n_skipped:,} skipped" if n_skipped else ""
    st.progress(
        done / len(queue) if queue else 1.0,
        text=f"{done:,} of {counted(len(queue), 'row')} in this queue decided{skipped_text}",
    )
    if set(still_open) - skipped:
        return False
    if n_skipped:
        st.success(
            f"Queue done: {counted(n_skipped, 'skipped row')} {'is' if n_skipped == 1 else 'are'} still open"
            f" (the button below shows {'it' if n_skipped == 1 else 'them'} again). {when_done}"
        )
        again = "the skipped row" if n_skipped == 1 else f"the {n_skipped:,} skipped rows"
        if st.button(f"Review {again}", key=f"{key}.unskip", icon=":material/replay:"):
            skipped.clear()
            next_row()
    else:
        st.success(f"Queue done. {when_done}")
    undo_decision_button(decided, key)
    return True


def _queue_ended(ws: Workspace, queue: list[int], skipped: set[int], *, check_labels: bool, field: str) -> bool:
    """Every row of ``queue`` is decided or skipped: skipped rows stay open but are not shown again, so
    with only they left the panel says "Queue done" and the page's counts must catch up."""
    return set(still_to_review(ws, queue, check_labels=check_labels, field=field)) <= skipped


def next_row(*, page_too: bool = False) -> None:
    """Draw the panel again after a decision: the panel alone when a key press ran it alone (a
    fragment run), the whole page when ``page_too`` (the queue ended: counts and tables catch up)
    or when the page is running anyway (a fragment-scoped rerun is refused there)."""
    st.rerun(scope="fragment" if fragment_run() and not page_too else "app")


def fragment_run() -> bool:
    """Whether this run reruns fragments alone (a key press in a panel), not the whole page."""
    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def _decide(apply: Callable[[], str | None], decided: list[str], *, queue_done: Callable[[], bool]) -> None:
    """Apply one decision; its batch joins the queue's undo list, then the next row shows (the whole
    page once ``queue_done()``)."""
    try:
        batch_id = apply()
    except CuratorError as exc:
        st.error(str(exc))
        return
    if batch_id:
        decided.append(batch_id)
    next_row(page_too=queue_done())


def other_questions_form(
    dataset_id: int, row_id: int, *, key: str, decided: list[str], field: str = DEFAULT_LABEL_FIELD
) -> None:
    """The label schema's questions other than ``field`` (the one under review) for this row, with
    its current answers; "Save answers" writes the changed ones as one undoable decision.
    Sub-questions show when their parent answer holds."""
    from core.actions import bulk_answer
    from core.history import read_label
    from core.labelschema import Kind, label_schema
    from core.store import LabelSource

    ws = workspace()
    questions = label_schema(ws.store, dataset_id).questions
    if len(questions) < 2:
        return
    with ws.store.connect() as conn:
        current = {q.name: (read_label(conn, row_id, q.name) or {}).get("value") for q in questions}
    asked = [q for q in questions if q.name != field and q.applies(current)]
    if not asked:
        return
    st.caption("Other questions")
    cols = st.columns(min(3, len(asked)))
    answers: dict[str, str | list[str] | None] = {}
    for i, q in enumerate(asked):
        col, now = cols[i % len(cols)], current.get(q.name)
        label = q.name + (" *" if q.required else "")
        if q.kind is Kind.MULTI:
            options = list(dict.fromkeys([*q.classes, *(now or [])]))
            answers[q.name] = col.multiselect(label, options, default=now or [], key=f"{key}.q.{q.name}.{row_id}")
        else:
            options = ["", *dict.fromkeys([*q.classes, *([now] if now else [])])]
            answers[q.name] = (
                col.selectbox(label, options, index=options.index(now or ""), key=f"{key}.q.{q.name}.{row_id}") or None
            )
    changed = {q: v for q, v in answers.items() if v and v != current.get(q)}
    if st.button("Save answers", key=f"{key}.q.save.{row_id}", disabled=not changed, icon=":material/save:"):
        try:
            result = bulk_answer(ws, dataset_id, [row_id], changed, source=LabelSource.HUMAN)
        except CuratorError as exc:
            st.error(str(exc))
            return
        if result.batch_id:
            decided.append(result.batch_id)
        st.toast(f"Saved {', '.join(changed)} for this row")
        next_row()


def undo_decision_button(decided: list[str], key: str, *, column=None) -> None:
    """Undo the decisions of this queue one by one, newest first."""
    target = column or st
    if target.button("Undo", key=f"{key}.u", shortcut="U", disabled=not decided, icon=":material/undo:"):
        try:
            workspace().undo(decided.pop())
            st.toast("Last decision undone")
        except CuratorError as exc:
            st.error(str(exc))
        next_row()


def message_text(text: str) -> str:
    """A message naming files or paths, shown as written: the characters Streamlit's Markdown would turn into
    emphasis, code, strike-through or maths escaped (``Demo_-_AG_News__1_500`` lost its underscores)."""
    return re.sub(r"([\\`*_~$])", r"\\\1", text)


def quote_markdown(text: str) -> str:
    """Row text shown as text: every markdown control character escaped (no HTML is rendered)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|>~<])", r"\\\1", text)
