"""A progress bar that says how long is left, for work that reports (fraction, message)."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from core.wording import time_left


def eta_bar(text: str = "Starting") -> tuple[Callable[[float, str], None], Callable[[], None]]:
    """(report, close): ``report(fraction, message)`` updates the bar with an estimate of the time
    left once a few percent are done; ``close()`` removes it."""
    bar = st.progress(0.0, text=text)
    started = time.perf_counter()

    def report(fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        elapsed = time.perf_counter() - started
        eta = ""
        if 0.03 < fraction < 1 and elapsed > 1:
            eta = f" · {time_left(elapsed * (1 - fraction) / fraction)}"
        bar.progress(fraction, text=f"{message}{eta}")

    return report, bar.empty
