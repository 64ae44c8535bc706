"""ClipEmbedder against a tiny, randomly initialised CLIP built here: no download, no network."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers loads: nothing may reach the hub

import numpy as np
import pytest
from PIL import Image

import core.embedders
from core.embedders import create_embedder
from core.errors import ModelError
from tests.conftest import SHARED_DATA

IMAGES = sorted((SHARED_DATA / "cifar10_sample" / "images").glob("*/*.jpg"))  # CURATOR_SHARED_DATA honoured
MAX_POSITIONS = 16


def _write_tokenizer_files(folder: Path) -> None:
    """A CLIP BPE vocabulary of lowercase letters (bare and word-final) and one merge: 'cat' is one token."""
    letters = list(string.ascii_lowercase)
    tokens = letters + [f"{c}</w>" for c in letters] + ["ca", "cat</w>", "<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\nc a\nca t</w>\n")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPTokenizer

    folder = tmp_path_factory.mktemp("tiny-clip")
    _write_tokenizer_files(folder)
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    special = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": MAX_POSITIONS,
            **special,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def embedder(checkpoint: Path) -> core.embedders.Embedder:
    return create_embedder("clip", model=str(checkpoint)).setup()


def _assert_unit_rows(vectors: np.ndarray, n: int) -> None:
    assert vectors.shape == (n, 16)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_clip_is_registered_for_text_and_images() -> None:
    assert "clip" in core.embedders.EMBEDDERS
    assert core.embedders.EMBEDDERS["clip"].modalities == {"text", "image"}


def test_dim_and_model_id_come_from_the_checkpoint(embedder, checkpoint: Path) -> None:
    assert embedder.dim == 16
    assert str(checkpoint) in embedder.model_id
    assert embedder.model_id.startswith("clip(model=")


def test_texts_are_unit_vectors_stable_and_distinct(embedder) -> None:
    texts = ["a cat", "a dog", "the big red truck", "cat"]
    first = embedder.embed_texts(texts, batch_size=3)  # two batches, padded to different lengths
    _assert_unit_rows(first, len(texts))
    np.testing.assert_allclose(embedder.embed_texts(texts), first, atol=1e-5)
    # Batch padding must not change a text's vector.
    np.testing.assert_allclose(embedder.embed_texts(["cat"]), first[3:], atol=1e-5)
    assert len({tuple(np.round(row, 4)) for row in first}) == len(texts)


def test_text_longer_than_the_position_table_is_truncated(embedder) -> None:
    long_text = " ".join(["zebra"] * (MAX_POSITIONS * 2))
    _assert_unit_rows(embedder.embed_texts([long_text]), 1)


def test_images_as_paths_and_pil_give_the_same_unit_vectors(embedder) -> None:
    paths = IMAGES[:: max(1, len(IMAGES) // 5)][:5]
    assert len(paths) >= 3, "the CIFAR-10 sample images are missing"
    from_paths = embedder.embed_images([str(p) for p in paths], batch_size=2)
    _assert_unit_rows(from_paths, len(paths))
    from_pil = embedder.embed_images([Image.open(p) for p in paths])
    np.testing.assert_allclose(from_pil, from_paths, atol=1e-5)
    assert not np.allclose(from_paths[0], from_paths[1])


def test_greyscale_images_are_accepted(embedder) -> None:
    grey = Image.open(IMAGES[0]).convert("L")
    _assert_unit_rows(embedder.embed_images([grey]), 1)


def test_empty_inputs_give_empty_arrays(embedder) -> None:
    assert embedder.embed_texts([]).shape == (0, 16)
    assert embedder.embed_images([]).shape == (0, 16)


def test_missing_local_folder_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-clip"
    with pytest.raises(ModelError, match="no-such-clip"):
        create_embedder("clip", model=str(missing)).setup()


def test_incomplete_local_folder_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=str(tmp_path.name)):
        create_embedder("clip", model=str(tmp_path)).setup()


def test_unavailable_hub_id_tells_how_to_get_it_offline() -> None:
    with pytest.raises(ModelError, match="local path"):
        create_embedder("clip", model="curator-tests/no-such-clip-model").setup()
