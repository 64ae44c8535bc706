"""Registered embedders. Importing this package registers the built-in ones."""

from core.embedders import clip, efficientnet, minilm  # noqa: F401  (registration side effect)
from core.embedders.base import EMBEDDERS, Embedder, create_embedder, parse_model_id, register_embedder

DEFAULT_TEXT_MODEL = "minilm-l6-v2"
DEFAULT_IMAGE_MODEL = "efficientnet-lite0(size=160)"

__all__ = [
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_TEXT_MODEL",
    "EMBEDDERS",
    "Embedder",
    "create_embedder",
    "parse_model_id",
    "register_embedder",
]
