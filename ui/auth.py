"""Optional access control for internal deployments.

- ``CURATOR_PASSWORD`` (environment) or ``password`` in ``.streamlit/secrets.toml``: one shared
  password, compared in constant time; a session that typed it stays signed in.
- An ``[auth]`` section in secrets (Streamlit's OIDC settings): ``st.login`` with the identity provider.
- Neither: the app runs unauthenticated and the sidebar says so.

Who acts (:func:`actor_name`) is recorded with every action in the History and the export's
``labeled_by``: the identity provider's email when signed in with OIDC, else the name in the
sidebar's "Your name" field, which starts as ``CURATOR_USER`` or, on an unprotected (local) run, the
computer's login name.
"""

from __future__ import annotations

import getpass
import hmac
import os
import time

import streamlit as st

OK_KEY = "auth.ok"
ACTOR_KEY = "sidebar.actor"


def _secret(name: str) -> object | None:
    try:
        return st.secrets.get(name)
    except Exception:  # no secrets file at all: Streamlit raises rather than returning nothing
        return None


def expected_password() -> str | None:
    value = os.environ.get("CURATOR_PASSWORD") or _secret("password")
    return str(value) if value else None


def mode() -> str:
    """ "oidc", "password" or "none"."""
    if _secret("auth"):
        return "oidc"
    return "password" if expected_password() else "none"


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison (no timing hint about how much of the password was right)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def access_granted() -> bool:
    """True when this session may use the app (no access control, signed in, or the password given)."""
    how = mode()
    if how == "none" or st.session_state.get(OK_KEY):
        return True
    return how == "oidc" and bool(getattr(st.user, "is_logged_in", False))


def sign_in_page() -> None:
    """The only page a session sees until it has signed in."""
    st.title("Curator")
    if mode() == "oidc":
        st.info("Sign in to use this workspace.")
        st.button("Sign in", on_click=st.login, type="primary", key="auth.login")
        return
    with st.form("auth.form"):
        given = st.text_input("Password", type="password", key="auth.password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if password_matches(given or "", expected_password() or ""):
            st.session_state[OK_KEY] = True
            st.rerun()
        time.sleep(0.5)  # slows guessing a little; a wrong try changes nothing else
        st.error("Wrong password.")


def access_caption() -> str:
    how = mode()
    if how == "oidc":
        who = getattr(st.user, "email", None) or getattr(st.user, "name", None)
        return f"Signed in{f' as {who}' if who else ''}"
    if how == "password":
        return "Access: password protected"
    return "Access: **unauthenticated** (set `CURATOR_PASSWORD` to require a password)"


def signed_in_identity() -> str | None:
    """The identity provider's email (or name) of a session signed in with OIDC."""
    if mode() != "oidc":
        return None
    return getattr(st.user, "email", None) or getattr(st.user, "name", None)


def default_actor() -> str:
    """The "Your name" field's first value: ``CURATOR_USER``, else on an unprotected run (most often
    someone's own computer) the login name; empty on a shared, password-protected one."""
    given = os.environ.get("CURATOR_USER")
    if given is not None or mode() != "none":
        return given or ""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (e.g. a container's unnamed uid)
        return ""


def actor_name() -> str | None:
    """Who the session running this code acts as (see the module's notes); None when nobody is named
    or when no session runs it (a thread of its own, the CLI)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    who = signed_in_identity()
    if who:
        return who
    return st.session_state.get(ACTOR_KEY, default_actor()) or None


def actor_field() -> None:
    """The sidebar's "Your name" field (not shown when the identity provider names the person)."""
    if signed_in_identity():
        return
    if ACTOR_KEY not in st.session_state:
        st.session_state[ACTOR_KEY] = default_actor()
    st.text_input(
        "Your name",
        key=ACTOR_KEY,
        max_chars=80,
        placeholder="Who is labeling?",
        help="Recorded with each of your actions in History and as `labeled_by` in exports.",
    )
