"""Counts in the words people read: "1 row", "1,074 changes", never "1 rows" or "1074 changes"."""

from __future__ import annotations

from collections.abc import Sequence


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators, followed by ``noun`` in the number that fits it.

    Parameters
    ----------
    n
        The count.
    noun
        The singular, possibly a phrase ("example row"). Its plural adds "s", or "es" after
        s, x, ch or sh ("class" -> "classes").
    plural
        The plural when that rule does not make it ("entry" -> "entries").
    """
    return f"1 {noun}" if n == 1 else f"{n:,} {plural or _plural(noun)}"


def _plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def per_second(rate: float, noun: str, plural: str | None = None) -> str:
    """A pace people read: "37 rows/s", "1.4 images/s" (a decimal below ten, where "1 rows/s" hid 1.4 or
    0.6), "2.5 s per image" below one a second; empty for no pace yet (0).

    Parameters
    ----------
    rate
        How many ``noun`` a second.
    noun, plural
        As for :func:`counted`.
    """
    if not rate > 0:
        return ""
    plural = plural or _plural(noun)
    if rate >= 9.95:  # would read "10.0"
        return f"{rate:,.0f} {plural}/s"
    if rate >= 0.95:  # would read "1.0 rows/s" at least
        return f"{rate:.1f} {plural}/s"
    seconds = 1 / rate
    return f"{seconds:,.0f} s per {noun}" if seconds >= 9.95 else f"{seconds:.1f} s per {noun}"


def first_few(items: list[str], total: int | None = None, *, shown: int = 5) -> str:
    """The first ``shown`` items joined with "; ", then "and N more" when ``total`` (default: all the
    items) is larger: "a; b; c and 4 more"."""
    total = len(items) if total is None else total
    head = "; ".join(items[:shown])
    rest = total - min(len(items), shown)
    return f"{head} and {rest:,} more" if rest > 0 else head


def file_size(n_bytes: int) -> str:
    """A size people read at a glance: "812 bytes", "17 KB", "3.4 MB", "1.2 GB" (1 KB = 1,000 bytes)."""
    if n_bytes < 1000:
        return counted(n_bytes, "byte")
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9)):
        if n_bytes < scale * 1000 or unit == "GB":
            value = n_bytes / scale
            return f"{value:,.0f} {unit}" if value >= 10 or unit == "KB" else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def duration(seconds: float) -> str:
    """A time people read at a glance: "under 1 s", "42 s", "3 min 05 s". Whole seconds: a run of 0.3 s
    read "0 s" (and an export "in 0.0 s"), as if nothing had run."""
    if seconds < 1:
        return "under 1 s"
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


def time_left(seconds: float) -> str:
    """An estimate of the time left, for a progress line: "about 3 min 05 s left", "under 1 s left"."""
    return f"{duration(seconds)} left" if seconds < 1 else f"about {duration(seconds)} left"


def utc_time(stamp: str, *, seconds: bool = False) -> str:
    """A stored timestamp (ISO 8601, in UTC as ``core.store.now`` writes it) as the pages show it, saying
    UTC as History's "when (UTC)" column does: "2026-11-25 02:09 UTC" (``seconds``: "02:09:41 UTC")."""
    return f"{stamp[: 19 if seconds else 16].replace('T', ' ')} UTC"


def decimals_apart(values: Sequence[float], *, least: int = 3, most: int = 6) -> int:
    """The fewest decimals (``least`` to ``most``) at which ``values`` all read differently: a threshold
    and the confidences around it are shown with as many digits as it takes to tell them apart, and no
    more. Values equal to ``most`` decimals read the same at any precision a person uses: ``least``."""
    distinct = len(set(float(v) for v in values))
    for d in range(least, most + 1):
        if len({round(float(v), d) for v in values}) == distinct == len(values):
            return d
    return least
