"""Typed errors whose messages a user can act on. Pages show them with ``st.error``."""


class CuratorError(Exception):
    """Base class: the message is shown to the user as is."""


class InputError(CuratorError):
    """A file or a setting the user gave cannot be used; nothing was stored."""


class NotFoundError(CuratorError):
    """A dataset, row, batch or job that does not exist."""


class ConflictError(CuratorError):
    """The action collides with existing data (a taken name, a duplicate id)."""


class ModelError(CuratorError):
    """An embedding model could not be loaded or run."""
