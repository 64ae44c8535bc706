"""Counts in messages: the noun agrees with the number, and thousands are separated."""

from core.wording import counted, utc_time


def test_counted_agrees_with_the_number_and_separates_thousands():
    assert counted(1, "row") == "1 row"
    assert counted(0, "row") == "0 rows"
    assert counted(1074, "change") == "1,074 changes"
    assert counted(2, "auto class") == "2 auto classes"
    assert counted(1, "example row") == "1 example row"
    assert counted(3, "entry", "entries") == "3 entries"


def test_file_sizes_use_kb_below_a_megabyte():
    from core.wording import file_size

    assert file_size(812) == "812 bytes" and file_size(1) == "1 byte"
    assert file_size(17_400) == "17 KB" and file_size(40_100) == "40 KB" and file_size(1_500) == "2 KB"
    assert file_size(999_499) == "999 KB"
    assert file_size(3_400_000) == "3.4 MB" and file_size(25_000_000) == "25 MB"
    assert file_size(1_200_000_000) == "1.2 GB"


def test_first_few_names_the_first_items_and_counts_the_rest():
    from core.wording import first_few

    assert first_few(["a", "b"]) == "a; b"
    assert first_few(["a", "b", "c"], 40, shown=2) == "a; b and 38 more"


def test_decimals_apart_uses_the_fewest_that_tell_values_apart_and_never_six_for_a_tie():
    from core.wording import decimals_apart

    assert decimals_apart([0.9241, 0.9187]) == 3
    assert decimals_apart([0.95794, 0.95793]) == 5
    # Rows that differ only beyond 6 decimals (float32 ties) read the same at any length: no "0.957936".
    assert decimals_apart([0.95793612, 0.95793608]) == 3
    assert decimals_apart([0.9579361, 0.9579361]) == 3
    assert decimals_apart([0.9]) == 3


def test_a_duration_under_a_second_reads_under_1_s_not_0_s():
    """A check run in 0.3 s said "0 s" and a small export "in 0.0 s": as if nothing had run."""
    from core.wording import duration, time_left

    assert duration(0.3) == duration(0) == duration(0.97) == "under 1 s"
    assert duration(1.2) == "1 s" and duration(59.4) == "59 s"
    assert duration(59.6) == "1 min 00 s" and duration(83) == "1 min 23 s" and duration(3725) == "62 min 05 s"
    assert time_left(83) == "about 1 min 23 s left" and time_left(0.4) == time_left(-2) == "under 1 s left"


def test_a_stored_time_says_it_is_utc():
    assert utc_time("2026-11-25T02:09:41.123+00:00") == "2026-11-25 02:09 UTC"
    assert utc_time("2026-11-25T02:09:41.123+00:00", seconds=True) == "2026-11-25 02:09:41 UTC"


def test_a_pace_reads_naturally_when_slow():
    """'1 rows/s' said neither the number (1.4? 0.6?) nor the noun right."""
    from core.wording import per_second

    assert per_second(37.2, "row") == "37 rows/s" and per_second(2521, "row") == "2,521 rows/s"
    assert per_second(1.4, "image") == "1.4 images/s" and per_second(9.94, "row") == "9.9 rows/s"
    assert per_second(0.4, "image") == "2.5 s per image" and per_second(0.05, "row") == "20 s per row"
    assert per_second(0.0, "row") == ""
