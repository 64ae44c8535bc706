"""CLIP (Radford et al. 2021) through transformers: texts and images in one shared space.

Any Hugging Face CLIP checkpoint works, by hub id or by local folder. This machine has no internet,
so the usual route is a folder made elsewhere with ``hf download <id> --local-dir DIR``. Images go
through ``CLIPImageProcessorPil``: the default ``CLIPImageProcessor`` needs torchvision, which breaks
transformers here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.embedders.base import Embedder, normalize_rows, register_embedder, threads_for
from core.embedders.efficientnet import to_rgb
from core.errors import ModelError


def _looks_like_path(model: str) -> bool:
    """Hub ids are 'org/name'; anything else that names the file system is meant as a folder."""
    return Path(model).expanduser().exists() or model.startswith(("/", ".", "~")) or model.count("/") > 1


@register_embedder
class ClipEmbedder(Embedder):
    name = "clip"
    modalities = frozenset({"text", "image"})
    description = "CLIP text and image embeddings in one space (any Hugging Face CLIP checkpoint)"
    text_queries_via_class_names = False  # the text tower reaches images directly

    def __init__(self, *, model: str = "openai/clip-vit-base-patch32"):
        super().__init__(model=model)
        self.model = model

    @property
    def dim(self) -> int:
        """The checkpoint's projection width; only the checkpoint knows it, so this loads the model."""
        return int(self.setup().model_.config.projection_dim)

    def _load(self) -> None:
        import torch
        from transformers import AutoTokenizer, CLIPImageProcessorPil, CLIPModel

        local = _looks_like_path(self.model)
        source = str(Path(self.model).expanduser()) if local else self.model
        if local and not Path(source).is_dir():
            raise ModelError(
                f"No CLIP checkpoint folder at {self.model}. Give the path of a folder holding "
                "config.json and the weights, e.g. one made by "
                "`hf download openai/clip-vit-base-patch32 --local-dir DIR`."
            )
        try:
            # Local folders never touch the network, so a missing file fails fast and says so.
            model = CLIPModel.from_pretrained(source, local_files_only=local, dtype=torch.float32)
            self.model_ = model.eval()
            self.tokenizer_ = AutoTokenizer.from_pretrained(source, local_files_only=local)
            self.processor_ = CLIPImageProcessorPil.from_pretrained(source, local_files_only=local)
        except OSError as exc:
            if local:
                raise ModelError(f"The folder {self.model} is not a complete CLIP checkpoint: {exc}") from exc
            raise ModelError(
                f"Could not get the CLIP checkpoint '{self.model}' (no internet and not in the local "
                f"Hugging Face cache). On a machine with internet run `hf download {self.model} "
                "--local-dir DIR`, copy DIR here and choose the model by its local path (model=DIR)."
            ) from exc
        # Past the position table the text tower cannot run; tokenizers often report no limit.
        positions = self.model_.config.text_config.max_position_embeddings
        self.max_length_ = min(positions, self.tokenizer_.model_max_length or positions)
        self._torch = torch

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.dim), dtype=np.float32)

    def embed_texts(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Projected text features, L2-normalised, so a dot product with image vectors is cosine."""
        self.setup()
        out = []
        with self._torch.inference_mode(), threads_for(len(texts)):
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer_(
                    list(texts[start : start + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=self.max_length_,
                    return_tensors="pt",
                )
                # transformers 5 returns a model output here, not a tensor: the projection is pooler_output.
                features = self.model_.get_text_features(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                )
                out.append(features.pooler_output.float().numpy())
        return normalize_rows(np.concatenate(out)) if out else self._empty()

    def embed_images(self, images: Sequence[Any], *, batch_size: int = 32) -> np.ndarray:
        """Projected image features (PIL images or file paths), L2-normalised, in the text space."""
        self.setup()
        out = []
        with self._torch.inference_mode():
            for start in range(0, len(images), batch_size):
                rgb = [to_rgb(image) for image in images[start : start + batch_size]]
                pixels = self.processor_(images=rgb, return_tensors="pt")["pixel_values"]
                features = self.model_.get_image_features(pixel_values=pixels.float())
                out.append(features.pooler_output.float().numpy())
        return normalize_rows(np.concatenate(out)) if out else self._empty()
