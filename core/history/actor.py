"""Who is acting: the name each batch of the history records in its ``actor`` column.

In order: the name a caller passes (``open_batch(..., actor=...)``, ``undo(..., actor=...)``), else the
one an enclosing ``with acting_as(name):`` sets in this thread, else the one the registered provider
gives (the app registers the session's "Your name", see ``ui/auth.py``), else none. The app uses a
provider rather than ``acting_as`` around each run because a review panel's key press reruns only its
fragment, in a new thread, outside anything the main script set up; the provider reads the session
at the moment the batch opens. The CLI, the API and tests record no actor unless they name one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

MAX_ACTOR_CHARS = 80
_actor: ContextVar[str | None] = ContextVar("curator_actor", default=None)
# A registration like the registries of labelers and checks, not shared state: the app sets the same
# function at every run, and it answers for whichever session calls it, so nothing leaks between users.
_provider: Callable[[], str | None] | None = None


def clean_actor(name: str | None) -> str | None:
    """A name as recorded: one line, trimmed, at most 80 characters; None when blank."""
    if name is None:
        return None
    name = " ".join(str(name).split())[:MAX_ACTOR_CHARS]
    return name or None


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Record ``name`` as the actor of every batch opened inside the block (in this thread)."""
    token = _actor.set(clean_actor(name))
    try:
        yield
    finally:
        _actor.reset(token)


def use_actor_from(provider: Callable[[], str | None] | None) -> None:
    """Ask ``provider`` who acts whenever a batch opens with no name given or set (None: stop asking).
    It must answer for the caller's own session, or None when it cannot tell."""
    global _provider
    _provider = provider


def current_actor(given: str | None = None) -> str | None:
    """Who a batch opened now records (see the module's notes)."""
    if given is not None:
        return clean_actor(given)
    named = _actor.get()
    if named is not None or _provider is None:
        return named
    return clean_actor(_provider())
