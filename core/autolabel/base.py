"""The auto-labeler contract, its registry and the data every labeler reads.

An auto-labeler suggests a class for every row of a dataset from the rows' embeddings, the labels
people gave so far (``y``: class index, or -1 for unlabeled) and, where it has them, the rows'
texts and embeddings of the class names. Labelers behave like scikit-learn estimators:
``__init__`` only stores keyword settings, ``fit(data, y)`` returns ``self`` and sets learned
attributes ending in ``_``. They are transductive: ``fit`` sees every row (labeled or not) and
leaves ``proba_`` (n_rows, n_classes) for all of them, so graph methods can use the unlabeled rows.

Register a new one with ``@register_autolabeler``; the UI lists ``AUTOLABELERS``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator

from core.errors import InputError
from core.registry import Registry

UNLABELED = -1


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32), so a dot product is a cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(eq=False)
class AutoLabelData:
    """Everything about the rows that does not depend on the labels.

    Label-independent views (the kNN graph, the TF-IDF matrix) are built once on first use and
    kept on this object, so the cross-validation folds and the final fit share them.

    Parameters
    ----------
    X
        (n_rows, dim) embeddings of all rows (normalised again here to be safe).
    class_names
        The classes; ``y`` holds indices into this list.
    texts
        The rows' texts for a lexical (TF-IDF) view, or None (images).
    class_embeddings
        (n_classes, dim') embeddings of the class names or short descriptions, for zero-shot.
    zero_shot_X
        The rows in the class embeddings' space when that is not the space of ``X`` (for example
        image rows as concept vectors in a text space); defaults to ``X``.
    """

    X: np.ndarray
    class_names: Sequence[str]
    texts: Sequence[str] | None = None
    class_embeddings: np.ndarray | None = None
    zero_shot_X: np.ndarray | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        X = np.asarray(self.X)
        if X.ndim != 2 or len(X) == 0:
            raise InputError("Auto-labeling needs a 2-D array of row embeddings with at least one row.")
        if not np.isfinite(X).all():
            raise InputError("Some row embeddings are not finite numbers; re-embed the dataset.")
        self.X = normalize_rows(X)
        self.class_names = list(self.class_names)
        if len(self.class_names) < 2:
            raise InputError("Auto-labeling needs at least two classes.")
        if self.texts is not None:
            self.texts = ["" if t is None else str(t) for t in self.texts]
            if len(self.texts) != len(X):
                raise InputError(f"Got {len(self.texts)} texts for {len(X)} rows.")
        if self.class_embeddings is not None:
            C = np.asarray(self.class_embeddings)
            space = X if self.zero_shot_X is None else np.asarray(self.zero_shot_X)
            if C.shape[0] != len(self.class_names):
                raise InputError(f"Got {C.shape[0]} class embeddings for {len(self.class_names)} classes.")
            if C.ndim != 2 or C.shape[1] != space.shape[1] or len(space) != len(X):
                raise InputError(
                    "The class-name embeddings are not in the rows' vector space (dimension"
                    f" {C.shape[-1]} vs {space.shape[1]}): zero-shot needs the same embedding model for both."
                )
            self.class_embeddings = normalize_rows(C)
            self.zero_shot_X = None if self.zero_shot_X is None else normalize_rows(space)

    @property
    def n_rows(self) -> int:
        return len(self.X)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def cached(self, key: Any, build: Any) -> Any:
        """The value stored under ``key``, built by ``build()`` the first time."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def zero_shot_similarity(self) -> np.ndarray:
        """(n_rows, n_classes) cosine similarity of each row to each class embedding."""
        if self.class_embeddings is None:
            raise InputError("Zero-shot needs class names embedded with the dataset's text model.")
        space = self.X if self.zero_shot_X is None else self.zero_shot_X
        return self.cached("zero_shot_similarity", lambda: space @ self.class_embeddings.T)

    def tfidf(self) -> sparse.csr_matrix:
        """Sublinear TF-IDF of the texts (unigrams and bigrams seen in at least two rows)."""
        if self.texts is None:
            raise InputError("The lexical view needs the rows' texts.")

        def build() -> sparse.csr_matrix:
            from sklearn.feature_extraction.text import TfidfVectorizer

            min_df = 2 if self.n_rows >= 50 else 1
            vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=min_df, ngram_range=(1, 2), dtype=np.float32)
            try:
                return vectorizer.fit_transform(self.texts).tocsr()
            except ValueError:  # every text empty or stop words only: an all-zero view
                return sparse.csr_matrix((self.n_rows, 1), dtype=np.float32)

        return self.cached("tfidf", build)


def check_labels(y: np.ndarray | Sequence[int] | None, data: AutoLabelData) -> np.ndarray:
    """``y`` as an int64 array with -1 for unlabeled rows, validated against ``data``."""
    if y is None:
        return np.full(data.n_rows, UNLABELED, dtype=np.int64)
    y = np.asarray(y)
    if y.shape != (data.n_rows,):
        raise InputError(f"Got {y.size} labels for {data.n_rows} rows.")
    if not np.issubdtype(y.dtype, np.integer):
        raise InputError("Labels must be class indices (integers), with -1 for unlabeled rows.")
    y = y.astype(np.int64)
    if y.min(initial=0) < UNLABELED or y.max(initial=0) >= data.n_classes:
        raise InputError(f"Labels must be between -1 and {data.n_classes - 1}.")
    return y


@dataclass(frozen=True)
class AutoLabelResult:
    """A labeler's output for every row.

    ``prediction`` is the suggested class index, or -1 where the labeler abstains (a reference
    set with nothing similar enough); ``confidence`` is the suggested class's probability.
    """

    proba: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    class_names: list[str]

    def suggested_names(self) -> list[str | None]:
        return [self.class_names[int(p)] if p >= 0 else None for p in self.prediction]


class AutoLabeler(BaseEstimator):
    """Base class: subclasses set ``name``/``title``/``description`` and implement ``_fit``."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: False when the predictions ignore ``y`` (zero-shot): the labeled rows then measure
    #: calibration directly, without cross-validation.
    uses_labels: ClassVar[bool] = True
    #: True when the labeler cannot run without class-name embeddings.
    needs_class_embeddings: ClassVar[bool] = False

    def fit(self, data: AutoLabelData, y: np.ndarray | Sequence[int] | None = None) -> Self:
        """Learn from the labeled rows (``y >= 0``) and predict every row into ``proba_``."""
        y = check_labels(y, data)
        if self.uses_labels and not (y >= 0).any():
            raise InputError(f"The {self.name} labeler needs labeled rows; label a few rows of each class.")
        if self.needs_class_embeddings and data.class_embeddings is None:
            raise InputError(f"The {self.name} labeler needs the class names embedded.")
        proba = np.asarray(self._fit(data, y), dtype=np.float64)
        self.classes_ = np.arange(data.n_classes)
        self.proba_ = proba
        self.prediction_ = self._predict(proba)
        return self

    @abstractmethod
    def _fit(self, data: AutoLabelData, y: np.ndarray) -> np.ndarray:
        """Return (n_rows, n_classes) probabilities for every row."""

    def _predict(self, proba: np.ndarray) -> np.ndarray:
        """The suggested class per row; a labeler that can abstain returns -1 there."""
        return proba.argmax(axis=1)

    def result(self, class_names: Sequence[str]) -> AutoLabelResult:
        """The fitted output as an ``AutoLabelResult``."""
        if not hasattr(self, "proba_"):
            raise InputError(f"The {self.name} labeler has not been fitted.")
        return AutoLabelResult(self.proba_, self.prediction_, self.proba_.max(axis=1), list(class_names))

    @property
    def title(self) -> str:
        """A short name for people (progress bars, the comparison of candidates); ``in_words`` says more."""
        return self.name

    @property
    def in_words(self) -> str:
        """What this labeler (with its settings) does, for people; ``model_id`` is for provenance."""
        return self.description

    @property
    def model_id(self) -> str:
        """Names the labeler and its non-default settings, e.g. ``supervised(alpha=0.9)``."""
        defaults = type(self)().get_params()
        extra = []
        for key, value in sorted(self.get_params().items()):
            if isinstance(value, (np.ndarray, list, tuple)):  # row lists: say how many, not which
                extra.append(f"{key}={len(value)} rows")
            elif value != defaults.get(key):
                extra.append(f"{key}={value}")
        return f"{self.name}({','.join(extra)})" if extra else self.name


AUTOLABELERS: Registry[AutoLabeler] = Registry("auto-labeler")
register_autolabeler = AUTOLABELERS.register


def create_autolabeler(name: str, **settings: Any) -> AutoLabeler:
    """A new, unfitted auto-labeler by registered name."""
    cls = AUTOLABELERS.lookup(name)
    try:
        return cls(**settings)
    except TypeError as exc:
        raise InputError(f"Unknown setting for the {name} labeler: {exc}") from None
