"""Process-wide resources, created once and shared by every session (never mutate them)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from core.config import ChromaSettings, workspace_path_from_env
from core.embedders import Embedder, load_embedder
from core.images import image_roots
from core.session import Session
from core.wording import duration, time_left
from core.workspace import Workspace

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model is ever downloaded at run time


@st.cache_resource(show_spinner="Opening the workspace...")
def workspace() -> Workspace:
    return Workspace(workspace_path_from_env(), chroma=ChromaSettings.from_env())


@st.cache_resource(show_spinner=False)
def _cached_embedder(model_id: str) -> Embedder:
    return load_embedder(model_id)


_LOAD_TIMES = "model_load_seconds.json"  # in the workspace: the last load's seconds per model, for the ETA
_FIRST_LOAD_GUESS_S = 20.0  # MiniLM with its imports: 6-11 s on an idle 2-core machine, 60-80 s on a busy one


def embedder(model_id: str, *, purpose: str = "") -> Embedder:
    """The model, loaded once per server (``st.cache_resource``). The cache is read in a thread: a
    hit returns at once; a load (imports and weights, which report nothing) shows a progress bar
    whose estimate is this model's last recorded load, and ``purpose`` (why it is needed) in its text."""
    found: list[Embedder] = []
    failure: list[BaseException] = []

    def load() -> None:
        try:
            found.append(_cached_embedder(model_id))  # a concurrent session's call waits on the same load
        except BaseException as exc:  # noqa: BLE001  (re-raised in the script thread below)
            failure.append(exc)

    thread = threading.Thread(target=load, name=f"load {model_id}", daemon=True)
    add_script_run_ctx(thread, get_script_run_ctx())
    started = time.monotonic()
    thread.start()
    thread.join(0.2)
    if thread.is_alive():
        _show_load_progress(model_id, thread, started, purpose)
    if failure:
        raise failure[0]
    return found[0]


def _show_load_progress(model_id: str, thread: threading.Thread, started: float, purpose: str) -> None:
    times_path = workspace().root / _LOAD_TIMES
    try:
        times = json.loads(times_path.read_text())
    except (OSError, ValueError):
        times = {}
    expected = float(times.get(model_id, _FIRST_LOAD_GUESS_S))
    bar = st.empty()
    while thread.is_alive():
        elapsed = time.monotonic() - started
        left = time_left(expected - elapsed) if elapsed < expected else "almost done"
        bar.progress(
            min(elapsed / expected, 0.95),
            text=f"Loading the model {model_id}{purpose and ' ' + purpose} (once per server):"
            f" {duration(elapsed)}, {left}",
        )
        thread.join(0.25)
    bar.empty()
    times[model_id] = round(time.monotonic() - started, 1)
    with contextlib.suppress(OSError):  # only the next estimate is lost
        times_path.write_text(json.dumps(times))


def session() -> Session:
    if "app.session" not in st.session_state:
        st.session_state["app.session"] = Session()
    return st.session_state["app.session"]


def current_dataset_id() -> int | None:
    """The dataset picked in the sidebar, if it still exists."""
    s = session()
    ids = {d.id for d in workspace().datasets()}
    if s.dataset_id is None and st.query_params.get("dataset", "").isdigit():
        s.dataset_id = int(st.query_params["dataset"])
    if s.dataset_id not in ids:
        s.dataset_id = min(ids) if ids else None
    return s.dataset_id


def row_contents(dataset_id: int, rows: list[dict]) -> list[str]:
    """What a table shows for each row: its text, or its image's path relative to the folder its ingest
    read (``dog/train_2590.jpg``: the class folder tells two ``train_2590.jpg`` apart; see ImageRoots)."""
    ws = workspace()
    roots = ws.derived(dataset_id, "image_roots", lambda: image_roots(ws.store, dataset_id))
    return [r["text"] or roots.of(r) for r in rows]


SHELL_KEY = "app.shell"


def require_shell() -> None:
    """Pages run inside app.py's navigation. On a server's first session, a direct link to a page
    (``/search``) makes Streamlit run the page file alone, the old ``pages/`` way (no sidebar, no
    layout); send that session through app.py, which opens the default page with the shell."""
    if not st.session_state.get(SHELL_KEY):
        st.switch_page("app.py")


def start_page(title: str) -> int:
    """A page's opening: the app shell, the title, a stop with a hint when there is no dataset yet, and
    the toasts left by the previous rerun. Returns the current dataset id."""
    require_shell()
    st.title(title)
    dataset_id = current_dataset_id()
    if dataset_id is None:
        st.info("No dataset yet: upload one or load a demo first.")
        st.stop()
    s = session()
    for notice in s.notices:
        st.toast(notice)
    s.notices.clear()
    return dataset_id


def rerun_after_batch(batch_id: str | None, what: str, notice: str) -> None:
    """After a bulk action: offer "Undo: <what>" for its batch (none when nothing changed), toast
    ``notice`` on the next run, and rerun so every widget shows the change."""
    s = session()
    s.last_batch = (batch_id, what) if batch_id else None
    s.notices.append(notice)
    st.rerun()


def action_key(name: str, dataset_id: int) -> str:
    """The key of a button whose action changes what it is drawn over (Clean top K, History's Undo): the
    dataset version is in it. A second click of a double click, or a click in a tab that another tab
    has changed since, lands on the button as it was drawn before that change: its id names a button
    the new run no longer draws, so Streamlit drops the click instead of applying the action again to
    the rows (or the action) the page holds now."""
    return f"{name}@{workspace().dataset(dataset_id).version}"


DOUBLE_CLICK_S = 1.0  # a double click's clicks come 0.1-0.5 s apart; a person reading the toast takes longer
_STUCK_S = 600.0  # an action marked running for longer was ended without its mark cleared (a crash)


def clicked_twice(s: Session, name: str) -> bool:
    """True for the second click of a double click on the button ``name``: one that comes while the
    action of its first click runs, or within ``DOUBLE_CLICK_S`` after (landing on the button as
    redrawn, where :func:`action_key` cannot tell it from a new click). Otherwise the action is
    marked running until :func:`action_done`, which the caller calls in a ``finally``.

    While the first click's action runs, Streamlit starts the second click's run beside it (the first
    is stopped only at its next Streamlit call), so this waits for the action to end, then says what it
    did: the first run's toast and Undo were lost with it. ``s`` is fetched before: reading
    ``st.session_state`` is such a call too."""
    waited = False
    while time.monotonic() - s.actions_running.get(name, -_STUCK_S) < _STUCK_S:
        waited = True
        time.sleep(0.1)
    done = s.actions_done.get(name)
    if not waited and (done is None or time.monotonic() - done >= DOUBLE_CLICK_S):
        s.actions_running[name] = time.monotonic()
        return False
    st.toast("A second click right after the first was ignored: click again to do it again.")
    if s.last_batch:
        st.toast(s.last_batch[1])
    return True


def action_done(s: Session, name: str) -> None:
    """The action of the button ``name`` ended (or failed): see :func:`clicked_twice`."""
    s.actions_running.pop(name, None)
    s.actions_done[name] = time.monotonic()


def undo_last_batch_button(key: str) -> None:
    """ "Undo: <what>" for the session's last bulk action (kept in ``session().last_batch``), shown only
    while its dataset is the one picked: with another one picked it would undo what is not on screen."""
    s = session()
    if not s.last_batch:
        return
    from core.errors import CuratorError
    from core.history import batch_info

    batch_id, what = s.last_batch
    info = batch_info(workspace().store, batch_id)
    if info is None or info.undone_by:  # undone meanwhile (History, another page or session): nothing to offer
        s.last_batch = None
        return
    if info.dataset_id != current_dataset_id():  # another dataset's action: kept for when it shows again
        return
    if st.button(f"Undo: {what}", key=key, icon=":material/undo:"):
        s.last_batch = None
        try:
            st.toast(workspace().undo(batch_id).headline())
        except CuratorError as exc:  # e.g. undone by another session a moment ago: say so, do not rerun it away
            st.error(str(exc))
            return
        st.rerun()


QUESTION_PARAM = "question"  # a link's query parameter: the question the page opens on (Upload's new-rows links)


def question_picker(
    dataset_id: int,
    *,
    key: str,
    help: str,  # noqa: A002  (Streamlit's name)
    on_change: Callable[[], None] | None = None,
) -> str:
    """The label-schema question a page works on: a picker when the dataset asks more than one. A link
    with ``?question=<name>`` (Upload's new-rows links) opens it on that question, once."""
    from core.labelschema import label_schema
    from core.store import DEFAULT_LABEL_FIELD

    names = label_schema(workspace().store, dataset_id).names
    linked = st.query_params.pop(QUESTION_PARAM, None)  # read once: the picker is the user's afterwards
    if len(names) < 2:
        return DEFAULT_LABEL_FIELD
    if linked in names:
        st.session_state[key] = linked
    return st.selectbox("Question", names, key=key, help=help, on_change=on_change)
