"""Named classes of one kind, registered by a decorator and created by name from settings or the UI."""

from __future__ import annotations

from typing import Generic, TypeVar

from core.errors import InputError

T = TypeVar("T")


class Registry(dict[str, type[T]], Generic[T]):
    """Embedding models, auto-labelers and sampling strategies each keep one: a dict from a class's
    ``name`` to the class, so pickers list it and settings name it."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind  # how a message names one: "embedding model", "auto-labeler"

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator; a name registered twice is a programming error, not bad input."""
        name = cls.name  # type: ignore[attr-defined]
        if name in self:
            raise ValueError(f"{self.kind} {name} registered twice")
        self[name] = cls
        return cls

    def lookup(self, name: str) -> type[T]:
        """The class registered as ``name``, or an :class:`InputError` that lists the known names."""
        try:
            return self[name]
        except KeyError:
            raise InputError(f"No {self.kind} '{name}'. Known: {', '.join(sorted(self))}.") from None
