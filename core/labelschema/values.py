"""Class values: multi-choice cells (a JSON list or ``a|b``) and hierarchical class names
(``"Shoes > Running"``), with counts and accuracy rolled up to any depth. Pure functions: no store."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

SEPARATOR = " > "
MULTI_SEPARATOR = "|"


def parse_multi(value: Any) -> list[str]:
    """A multi-label cell: a JSON list (``["a", "b"]``) or names joined by ``|``."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(v).strip() for v in parsed if str(v).strip()]
    return [v.strip() for v in text.split(MULTI_SEPARATOR) if v.strip()]


def looks_multi(values: Iterable[Any]) -> bool:
    """Whether a label column holds several classes per row: JSON lists, or ``a|b`` in at least 5% of the
    labeled rows (a class name with a ``|`` now and then is not enough)."""
    labeled = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not labeled:
        return False
    lists = sum(v.startswith("[") and isinstance(_json_list(v), list) for v in labeled)
    piped = sum(MULTI_SEPARATOR in v for v in labeled)
    return lists / len(labeled) >= 0.5 or piped / len(labeled) >= 0.05


def _json_list(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def parent_of(name: str) -> str | None:
    """``"Shoes > Running > Red"`` -> ``"Shoes > Running"``; a top-level class has no parent."""
    head, sep, _ = name.rpartition(SEPARATOR)
    return head if sep else None


def at_depth(name: str | None, depth: int) -> str | None:
    """The ancestor of ``name`` at ``depth`` (1 = top level); a shallower name is returned as it is."""
    if name is None:
        return None
    return SEPARATOR.join(name.split(SEPARATOR)[:depth])


def roll_up(values: Sequence[str | None], depth: int = 1) -> Counter[str]:
    """Counts per ancestor at ``depth`` (unlabeled rows left out)."""
    return Counter(v for v in (at_depth(x, depth) for x in values) if v is not None)


def roll_up_accuracy(truth: Sequence[str], predicted: Sequence[str], depth: int = 1) -> dict[str, dict[str, float]]:
    """Per ancestor at ``depth`` (of the true class): rows, accuracy of the exact class and accuracy at that
    level (a "Shoes > Running" row predicted "Shoes > Trail" is wrong exactly, right at depth 1)."""
    out: dict[str, dict[str, float]] = {}
    groups: dict[str, list[tuple[str, str]]] = {}
    for t, p in zip(truth, predicted, strict=True):
        groups.setdefault(at_depth(t, depth) or "", []).append((t, p))
    for parent, pairs in sorted(groups.items()):
        out[parent] = {
            "rows": len(pairs),
            "exact": sum(t == p for t, p in pairs) / len(pairs),
            "rolled_up": sum(at_depth(p, depth) == parent for _, p in pairs) / len(pairs),
        }
    return out
