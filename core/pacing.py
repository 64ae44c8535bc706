"""How many rows an ingest embeds between two progress reports: a few seconds of work, whatever the
machine's load and the rows' lengths.

Fixed chunks of 512 texts reported every 2-7 s on an idle machine, but under load the second chunk (the
512 longest texts) held "Embedded 32 of 872 rows" for over 10 s (43 s for AG News at a load average of
10). A plan measures the pace of each chunk (work per second, work being a text's length plus a fixed
part) and makes the next one as large as ``every_s`` seconds at that pace: small while the machine is
slow or the texts long, down to ``least`` rows (8 of the longest texts still take ~2 s at 15 texts/s), up
to ``most`` rows (the old fixed size) when it is quick, and at most double the work of the one before: a
quick start does not overshoot, and a pace read from cheap rows (cached vectors, whose cost is only
estimated) is not trusted for a chunk much larger than they were. A chunk of ``step`` rows or more is a
whole number of them (the embedder's batches): in chunks of ~40 rows, most ending in a part batch, 2,000
news texts took ~10% more CPU at a load average of 8 than in chunks of 512.

The run waits for the first chunk's store, so that chunk is reported on its own; from then on a chunk is
stored while the next one is embedded and reported after it, so the second and the third chunk fall
between the same two reports: the second gets half the time, the third what the second left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

REPORT_EVERY_S = 3.0  # the middle of the 2-7 s the README promises, leaving room for a slower chunk


class ChunkPlan:
    """The rows of an ingest handed out chunk by chunk, each sized by the pace measured so far.

    Parameters
    ----------
    ids
        The rows to embed, in the order to embed them (longest text first).
    work
        Each row's cost, in any unit (a text's length plus a fixed part; 1 per image).
    first
        Rows of the first chunk, taken from the end of ``ids`` (the shortest: quick, so the bar moves within
        seconds; its time is mostly setting up, so it is a cautious first pace). None: no such chunk.
    least
        The smallest chunk after the first.
    step
        A chunk of at least this many rows is a multiple of it (the embedder's batch size).
    most
        The largest chunk (rows per transaction and per store).
    every_s
        The time a chunk should take at the measured pace; None: every chunk is ``most`` rows.
    """

    def __init__(
        self,
        ids: Sequence[int],
        work: Mapping[int, float],
        *,
        first: int | None = None,
        least: int = 8,
        step: int = 1,
        most: int = 512,
        every_s: float | None = REPORT_EVERY_S,
    ) -> None:
        self.ids = list(ids)
        self.work = work
        self.least = max(1, least)
        self.step = max(1, step)
        self.most = max(self.least, most)
        self.every_s = every_s
        head = min(first or 0, self.most, len(self.ids))
        self._first = self.ids[len(self.ids) - head :] if head else []
        self._rest = self.ids[: len(self.ids) - head]
        self._next = 0  # index into _rest
        self.pace: float | None = None  # work per second of the last chunk measured
        self.last_work = 0.0  # of the chunk handed out last
        self.last_seconds = 0.0
        self.handed = 0  # chunks handed out
        self.reported_alone = bool(head)  # a first chunk: reported on its own (see the module's notes)

    def next(self) -> list[int]:
        """The next chunk's rows (empty when every row has been handed out)."""
        if self._first:
            chunk, self._first = self._first, []
        else:
            chunk = self._rest[self._next : self._next + self._size()]
            self._next += len(chunk)
        if chunk:
            self.last_work = sum(self.work[i] for i in chunk)
        self.handed += bool(chunk)
        return chunk

    def record(self, ids: Sequence[int], seconds: float) -> None:
        """How long the chunk ``ids`` took, from its start to the next chunk's start (its store included)."""
        self.last_seconds = seconds
        if seconds > 0:
            self.pace = sum(self.work[i] for i in ids) / seconds

    def _seconds(self) -> float:
        """The time the next chunk should take: until the next report."""
        assert self.every_s is not None
        if self.reported_alone and self.handed == 1:  # the second chunk, reported with the third
            return self.every_s / 2
        if self.reported_alone and self.handed == 2:  # the third: what the second left
            return max(self.every_s - self.last_seconds, 0.0)
        return self.every_s

    def _size(self) -> int:
        if self.every_s is None:
            return self.most
        if self.pace is None:  # nothing measured yet
            return self.least
        budget = self.pace * self._seconds()
        if self.last_work:
            budget = min(budget, 2 * self.last_work)
        rows, spent = 0, 0.0
        for row in self._rest[self._next : self._next + self.most]:
            spent += self.work[row]
            if spent > budget:
                break
            rows += 1
        return max(self.least, rows // self.step * self.step if rows >= self.step else rows)
