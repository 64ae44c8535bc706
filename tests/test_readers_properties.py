"""Property-based tests (hypothesis) of the table readers: whatever text a CSV or JSONL file holds
(quotes, delimiters, newlines, any script), reading it gives back exactly the cells written; and
the CSV export's formula guard is undone exactly by import."""

import csv
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.provenance import neutralize_formula, restore_formula
from core.readers import read_table

# Printable text of any script, with the characters that break naive CSV handling mixed in. No NUL
# or other control characters except tab/newline (the readers refuse binary-looking files on purpose).
CELL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\t\n,;\"'|="),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() and s == s.strip())
ROWS = st.lists(st.tuples(CELL, st.sampled_from(["pos", "neg", "neutral"])), min_size=1, max_size=25)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(ROWS)
@example([('"|', "pos")])  # the Sniffer read '"""|",pos' as '|'-separated (found by hypothesis)
def test_csv_cells_read_back_exactly(rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
        table = read_table(path)
        assert table.has_header
        assert list(table.frame.columns) == ["text", "label"]
        assert table.frame["text"].tolist() == [t for t, _ in rows]
        assert table.frame["label"].tolist() == [label for _, label in rows]


@SETTINGS
@given(ROWS)
def test_jsonl_cells_read_back_exactly(rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.jsonl"
        path.write_text(
            "".join(json.dumps({"text": t, "label": label}, ensure_ascii=False) + "\n" for t, label in rows),
            encoding="utf-8",
        )
        frame = read_table(path).frame
        assert frame["text"].tolist() == [t for t, _ in rows]
        assert frame["label"].tolist() == [label for _, label in rows]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12))
def test_formula_guard_is_a_bijection(value):
    guarded = neutralize_formula(value)
    assert restore_formula(guarded) == value
    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r"))
