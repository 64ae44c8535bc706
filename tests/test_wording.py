"""Counts in messages: the noun agrees with the number, and thousands are separated."""

from core.wording import counted


def test_counted_agrees_with_the_number_and_separates_thousands():
    assert counted(1, "row") == "1 row"
    assert counted(0, "row") == "0 rows"
    assert counted(1074, "change") == "1,074 changes"
    assert counted(2, "auto class") == "2 auto classes"
    assert counted(1, "example row") == "1 example row"
    assert counted(3, "entry", "entries") == "3 entries"
