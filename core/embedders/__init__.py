"""Registered embedders. Importing this package registers the built-in ones."""

import os

from core.embedders import clip, efficientnet, minilm  # noqa: F401  (registration side effect)
from core.embedders.base import (
    EMBEDDERS,
    Embedder,
    create_embedder,
    load_embedder,
    parse_model_id,
    register_embedder,
)

DEFAULT_TEXT_MODEL = "minilm-l6-v2"
DEFAULT_IMAGE_MODEL = "efficientnet-lite0(size=160)"


def available_models(modality: str) -> list[str]:
    """Model ids offered for a modality: the offline default first, CLIP when a checkpoint is
    configured with ``CURATOR_CLIP_MODEL`` (a Hugging Face id or a local folder)."""
    models = [DEFAULT_IMAGE_MODEL if modality == "image" else DEFAULT_TEXT_MODEL]
    clip_model = os.environ.get("CURATOR_CLIP_MODEL")
    if clip_model:
        models.append(create_embedder("clip", model=clip_model).model_id)
    return models


__all__ = [
    "available_models",
    "load_embedder",
    "DEFAULT_IMAGE_MODEL",
    "DEFAULT_TEXT_MODEL",
    "EMBEDDERS",
    "Embedder",
    "create_embedder",
    "parse_model_id",
    "register_embedder",
]
