"""Chunks sized to a few seconds at the measured pace: every row once, in order, and reports that keep coming
when the machine slows down mid-run."""

import pytest

from core.pacing import ChunkPlan


def run(plan: ChunkPlan, units_per_s) -> list[tuple[float, int, float]]:  # noqa: ANN001 (a function of time)
    """Hand out every chunk, each taking its work at the pace ``units_per_s(now)``: (start, rows, seconds)."""
    now, out = 0.0, []
    while ids := plan.next():
        seconds = sum(plan.work[i] for i in ids) / units_per_s(now)
        plan.record(ids, seconds)
        out.append((now, len(ids), seconds))
        now += seconds
    return out


def test_every_row_is_handed_out_once_the_shortest_first_then_longest_first():
    ids = list(range(1000))  # longest first, as run_ingest orders them
    plan = ChunkPlan(ids, {i: 1000 - i for i in ids}, first=32, least=8, most=512)
    handed = []
    while chunk := plan.next():
        handed.append(chunk)
        plan.record(chunk, 1.0)
    assert handed[0] == ids[-32:] and [i for c in handed[1:] for i in c] == ids[:-32]


def test_a_fixed_plan_hands_out_chunks_of_one_size():
    plan = ChunkPlan(list(range(50)), dict.fromkeys(range(50), 1), least=20, most=20, every_s=None)
    assert [rows for _, rows, _ in run(plan, lambda now: 10.0)] == [20, 20, 10]


def test_chunks_shrink_when_the_machine_slows_and_grow_back_at_most_doubling():
    ids = list(range(20_000))
    work = dict.fromkeys(ids, 100)
    plan = ChunkPlan(ids, work, first=32, least=8, most=512, every_s=3.0)
    chunks = run(plan, lambda now: 50_000 if now < 20 or now > 60 else 2_000)  # 500 rows/s, 20 from 20 s to 60 s
    rows = [r for _, r, _ in chunks]
    assert rows[:5] == [32, 64, 128, 256, 512]  # a quick machine: up to the most, doubling
    # The chunk begun as the machine slows takes long (nothing foresees it); the next ones take 3 s.
    busy = [(rows, seconds) for start, rows, seconds in chunks if 20 <= start < 60]
    assert busy[0] == (512, 25.6) and {rows for rows, _ in busy[1:]} == {60}
    assert all(seconds == pytest.approx(3.0) for _, seconds in busy[1:])
    back = [r for start, r, _ in chunks if start >= 60]
    assert back[:5] == [60, 120, 240, 480, 512]  # quick again: back to the most, doubling


def test_chunks_are_whole_batches_unless_the_machine_is_too_slow_for_one():
    """Chunks of ~40 rows, each ending in a part batch, cost ~10% more CPU under load than chunks of 512."""
    ids = list(range(5000))
    plan = ChunkPlan(ids, dict.fromkeys(ids, 280), first=32, least=8, step=32, most=512, every_s=3.0)
    rows = [r for _, r, _ in run(plan, lambda now: 5_000 if now < 30 else 2_000)]  # ~18, then ~7 texts/s
    whole = rows[1:-1]  # the last chunk is what is left
    assert all(r % 32 == 0 for r in whole if r >= 32) and 32 in whole
    assert {r for r in whole if r < 32} and min(whole) >= 8  # too slow for 32 in 3 s: fewer, no fewer than 8
