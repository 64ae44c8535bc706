"""The small datasets shipped in ``demo/``, loadable with one click or ``curator demo``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"


@dataclass(frozen=True)
class DemoDataset:
    key: str
    name: str
    path: Path
    description: str


DEMOS = (
    DemoDataset(
        "news",
        "Demo - AG News (1,500)",
        DEMO_DIR / "ag_news_1500.csv",
        "1,500 news items in 4 topics, 28% labeled; title + description joined",
    ),
    DemoDataset(
        "images",
        "Demo - CIFAR-10 (200)",
        DEMO_DIR / "cifar10_200",
        "200 tiny photos in 10 classes, 38% labeled",
    ),
)


def demo(key: str) -> DemoDataset:
    for d in DEMOS:
        if d.key == key:
            return d
    raise KeyError(key)
