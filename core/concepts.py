"""Text-to-image search without CLIP: ConSE (Norouzi et al. 2014) over ImageNet class names.

An ImageNet classifier gives each image a probability per class; the image's *concept vector* is
the probability-weighted mean of the top classes' name embeddings (MiniLM), so a text query in
the same MiniLM space can rank images. It is a fallback, labelled as such in the UI: it only
knows the 1,000 ImageNet concepts.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import numpy as np

from core.embedcache import EmbeddingCache
from core.embedders import Embedder
from core.embedders.base import normalize_rows

CLASS_NAMES_FILE = Path(__file__).with_name("imagenet_class_names.json")
TOP_CLASSES = 10


@cache
def imagenet_class_names() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in output order (read-only, so caching is safe)."""
    return tuple(json.loads(CLASS_NAMES_FILE.read_text(encoding="utf-8")))


def concept_space_id(image_model_id: str) -> str:
    """Model id of the concept-vector collection that goes with an image model."""
    return f"conse-{image_model_id}"


def class_name_vectors(text_embedder: Embedder, cache: EmbeddingCache) -> np.ndarray:
    """(1000, d) embeddings of the class names, cached like any other text."""
    names = list(imagenet_class_names())
    hashes = [hashlib.sha1(n.encode("utf-8")).hexdigest() for n in names]
    found = cache.get(text_embedder.model_id, hashes)
    if len(found) < len(names):
        vectors = text_embedder.embed_texts(names)
        cache.put(text_embedder.model_id, hashes, vectors)
        return vectors
    return np.stack([found[h] for h in hashes])


def concept_vectors(probabilities: np.ndarray, class_vectors: np.ndarray, *, top: int = TOP_CLASSES) -> np.ndarray:
    """ConSE: each row's top-``top`` class probabilities, renormalised, weight the class vectors."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if len(probabilities) == 0:
        return np.zeros((0, class_vectors.shape[1]), dtype=np.float32)
    top_idx = np.argpartition(-probabilities, top - 1, axis=1)[:, :top]
    weights = np.take_along_axis(probabilities, top_idx, axis=1)
    weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    mixed = np.einsum("nt,ntd->nd", weights, class_vectors[top_idx])
    return normalize_rows(mixed)
