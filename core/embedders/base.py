"""The embedder contract and its registry.

An embedder turns texts and/or images into L2-normalised float32 vectors. ``__init__`` only
stores settings; ``setup()`` does the heavy imports and loads weights (lilac's signal shape), so
listing what is registered costs nothing. Register a new one with ``@register_embedder``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np

from core.errors import InputError, ModelError
from core.registry import Registry


class Embedder(ABC):
    name: ClassVar[str]
    modalities: ClassVar[frozenset[str]]  # {"text"}, {"image"} or both
    description: ClassVar[str] = ""
    #: Text to image search through class names instead of a shared space (see Search).
    text_queries_via_class_names: ClassVar[bool] = False
    #: Cosine similarity a relevant search hit reaches in this model's space; a best hit below it is
    #: "no close match". None: not measured, so no hint (CLIP's text-image scores run low for good hits).
    close_match_score: ClassVar[float | None] = None
    #: Cosine similarity from which two rows count as near-duplicates by default (Issues' slider
    #: starts there). Where it comes from: docs/decisions.md, "Near-duplicate thresholds".
    near_duplicate_cosine: ClassVar[float] = 0.95

    def __init__(self, **settings: Any):
        self.settings = settings
        self._ready = False

    @property
    def model_id(self) -> str:
        """Names the vector space: same id, comparable vectors; used as the cache key."""
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.settings.items()) if v is not None)
        return f"{self.name}({extra})" if extra else self.name

    @property
    @abstractmethod
    def dim(self) -> int: ...

    def setup(self) -> Embedder:
        if not self._ready:
            try:
                self._load()
            except ModelError:
                raise
            except Exception as exc:  # a model can fail to load in many ways; say which model
                raise ModelError(f"Could not load the embedding model {self.model_id}: {exc}") from exc
            self._ready = True
        return self

    @abstractmethod
    def _load(self) -> None: ...

    def embed_texts(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        raise InputError(f"{self.name} does not embed text.")

    def embed_images(self, images: Sequence[Any], *, batch_size: int = 32) -> np.ndarray:
        raise InputError(f"{self.name} does not embed images.")

    def knows_a_word_of(self, text: str) -> bool:
        """Whether the model reads anything in ``text`` (a model whose vocabulary lacks emoji reads a
        query of them as unknown tokens, all alike). True unless the model can tell."""
        return True

    def cut_note(self, text: str) -> str | None:
        """A sentence when the model reads only the start of ``text`` (it has an input limit and the
        text is past it); None when it reads it all or cannot tell."""
        return None


SMALL_BATCH = 4
_THREADS_LOCK = threading.Lock()  # torch's thread count is process-wide: one small batch changes it at a time


@contextmanager
def threads_for(n_items: int) -> Iterator[None]:
    """Run a handful of inputs (a search query) on one torch thread.

    With every core busy (an ingest, another user) two threads wait on each other: one MiniLM query
    measured p50 133 / p95 698 ms on two threads and 27 / 47 ms on one (load average 6, 2 cores).
    Large batches keep every thread.
    """
    if n_items > SMALL_BATCH:
        yield
        return
    import torch

    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


EMBEDDERS: Registry[Embedder] = Registry("embedding model")
register_embedder = EMBEDDERS.register


def create_embedder(name: str, **settings: Any) -> Embedder:
    """A new, not yet loaded embedder; call ``setup()`` before use (apps cache the result)."""
    return EMBEDDERS.lookup(name)(**settings)


def parse_model_id(model_id: str) -> tuple[str, dict[str, str]]:
    """Inverse of ``Embedder.model_id``: 'clip(path=/m)' -> ('clip', {'path': '/m'})."""
    if "(" not in model_id:
        return model_id, {}
    name, _, rest = model_id.partition("(")
    settings = dict(part.split("=", 1) for part in rest.rstrip(")").split(",") if part)
    return name, settings


EmbedderFactory = Callable[[str], Embedder]


def near_duplicate_cosine(model_id: str) -> float:
    """The default near-duplicate cosine in a model's space (0.95 for a space no embedder owns)."""
    embedder = EMBEDDERS.get(parse_model_id(model_id)[0])
    return Embedder.near_duplicate_cosine if embedder is None else embedder.near_duplicate_cosine


def load_embedder(model_id: str) -> Embedder:
    """Create and load the embedder named by a stored model id (see ``Embedder.model_id``)."""
    name, settings = parse_model_id(model_id)
    return create_embedder(name, **settings).setup()
