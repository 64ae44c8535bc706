"""Optional access control for internal deployments.

- ``CURATOR_PASSWORD`` (environment) or ``password`` in ``.streamlit/secrets.toml``: one shared
  password, compared in constant time; a session that typed it stays signed in.
- An ``[auth]`` section in secrets (Streamlit's OIDC settings): ``st.login`` with the identity provider.
- Neither: the app runs unauthenticated and the sidebar says so.
"""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st

OK_KEY = "auth.ok"


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
