"""The offline embedders on real data: shapes, normalisation, and that they carry meaning."""

import numpy as np
import pandas as pd
import pytest

from core.embedders import DEFAULT_IMAGE_MODEL, EMBEDDERS, available_models, create_embedder, parse_model_id
from core.errors import InputError
from tests.conftest import DEMO


def test_registry_and_model_ids(monkeypatch):
    assert {"minilm-l6-v2", "efficientnet-lite0", "clip"} <= set(EMBEDDERS)
    assert parse_model_id(DEFAULT_IMAGE_MODEL) == ("efficientnet-lite0", {"size": "160"})
    assert create_embedder("efficientnet-lite0", size="160").model_id == DEFAULT_IMAGE_MODEL
    with pytest.raises(InputError, match="Known"):
        create_embedder("word2vec")
    monkeypatch.delenv("CURATOR_CLIP_MODEL", raising=False)
    assert available_models("image") == [DEFAULT_IMAGE_MODEL]
    monkeypatch.setenv("CURATOR_CLIP_MODEL", "/models/clip")
    assert available_models("image")[1] == "clip(model=/models/clip)"


def test_minilm_vectors_are_unit_and_meaningful(minilm):
    texts = [
        "The striker scored twice in the final",
        "Shares fell after the earnings report",
        "The goalkeeper saved a penalty",
        "Stocks rallied on Wall Street",
    ]
    vectors = minilm.embed_texts(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 2] > sims[0, 1] and sims[1, 3] > sims[1, 2]
    with pytest.raises(InputError):
        minilm.embed_images([])


def test_efficientnet_features_and_imagenet_probabilities(effnet):
    labels = pd.read_csv(DEMO / "cifar10_200" / "labels.csv")
    paths = [DEMO / "cifar10_200" / p for p in labels["filepath"][:8]]
    vectors = effnet.embed_images(paths)
    assert vectors.shape == (8, 1280) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    probs = effnet.imagenet_probabilities(paths[:3])
    assert probs.shape == (3, 1000) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    assert effnet.embed_images([]).shape == (0, 1280)


@pytest.mark.slow
def test_efficientnet_features_separate_cifar_classes(effnet):
    """A nearest-centroid check on the 200 demo images: features carry class information."""
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    truth = pd.read_csv(DEMO / "cifar10_200_answers.csv")
    vectors = effnet.embed_images([DEMO / "cifar10_200" / p for p in truth["filepath"]])
    accuracy = cross_val_score(
        KNeighborsClassifier(5, metric="cosine"), vectors, truth["label"].to_numpy(), cv=5
    ).mean()
    assert accuracy > 0.45  # chance is 0.10


def test_small_batches_run_on_one_thread_and_restore_it(minilm):
    import torch

    from core.embedders.base import threads_for

    before = torch.get_num_threads()
    with threads_for(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with threads_for(1000):
        assert torch.get_num_threads() == before
    one = minilm.embed_texts(["a query"])[0]
    assert torch.get_num_threads() == before
    batch = minilm.embed_texts(["a query", "b", "c", "d", "e", "f"])[0]
    assert abs(float(one @ batch) - 1.0) < 1e-5  # same vector on one thread or many
