"""Process-wide resources, created once and shared by every session (never mutate them)."""

from __future__ import annotations

import os

import streamlit as st

from core.config import ChromaSettings, workspace_path_from_env
from core.embedders import Embedder, load_embedder
from core.session import Session
from core.workspace import Workspace

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model is ever downloaded at run time


@st.cache_resource(show_spinner="Opening the workspace...")
def workspace() -> Workspace:
    return Workspace(workspace_path_from_env(), chroma=ChromaSettings.from_env())


@st.cache_resource(show_spinner="Loading the embedding model (once per server)...")
def embedder(model_id: str) -> Embedder:
    return load_embedder(model_id)


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


SHELL_KEY = "app.shell"


def require_shell() -> None:
    """Pages run inside app.py's navigation. On a server's first session, a direct link to a page
    (``/search``) makes Streamlit run the page file alone, the old ``pages/`` way (no sidebar, no
    layout); send that session through app.py, which opens the default page with the shell."""
    if not st.session_state.get(SHELL_KEY):
        st.switch_page("app.py")
