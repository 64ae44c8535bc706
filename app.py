"""Entry point: routing and the shared sidebar only. Run with `streamlit run app.py`."""

import streamlit as st

from core.history import use_actor_from
from ui.auth import access_granted, actor_name, sign_in_page
from ui.resources import SHELL_KEY, workspace
from ui.sidebar import render_sidebar

st.set_page_config(page_title="Curator", page_icon=":material/dataset:", layout="wide")
use_actor_from(actor_name)  # every action is recorded under the acting session's name (History, exports)
if not access_granted():  # optional password / OIDC sign-in (ui/auth.py): no page until then
    st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/lock:")], position="hidden").run()
    st.stop()
browse = st.Page("pages/browse.py", title="Browse", icon=":material/table:")
upload = st.Page("pages/upload.py", title="Upload", icon=":material/upload:")


def landing() -> None:
    """'/' opens Browse, or Upload on an empty workspace, at its own address. Streamlit serves the default
    page at '/' only: with Browse the default, '/browse' said "Page not found" (docs/decisions.md, App)."""
    st.switch_page(browse if workspace().datasets() else upload, query_params=st.query_params.to_dict())


home = st.Page(landing, title="Curator", default=True, visibility="hidden")
pages = [
    home,
    browse,
    st.Page("pages/search.py", title="Search", icon=":material/search:"),
    st.Page("pages/autolabel.py", title="Auto-label", icon=":material/auto_fix_high:"),
    st.Page("pages/issues.py", title="Issues", icon=":material/report:"),
    st.Page("pages/schema.py", title="Schema", icon=":material/account_tree:"),
    st.Page("pages/export.py", title="Export", icon=":material/download:"),
    upload,
    st.Page("pages/history.py", title="History", icon=":material/history:"),
]
page = st.navigation(pages)
if page is home:  # before the sidebar: the switch reruns at once and draws it there
    page.run()
st.session_state[SHELL_KEY] = True  # pages check it: see ui.resources.require_shell
render_sidebar()
page.run()
