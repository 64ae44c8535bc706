"""The Issues page's summary, readable at a glance: a card for each issue type that found rows, one line
for the checks that found none, and the rules in words behind a tooltip and an expander."""

from __future__ import annotations

import streamlit as st

from core.issues import DETECTORS, IssueReport
from ui.issues import ANY
from ui.resources import workspace
from ui.review import fragment_run

CARDS_PER_ROW = 4


def summary_cards(report: IssueReport) -> None:
    """What the run found, biggest problem first; every check that ran is named, found or not."""
    counts = report.counts()
    # Rows fixed, excluded or confirmed since the run leave the table and Search's "Flagged as" counts:
    # each card says how many of its rows are still open, or its number disagreed with both.
    open_counts = report.counts(leave_out=report.fixed_since(workspace()))
    bases = {n: report.share_base(n) for n in counts}
    shares = {n: counts[n] / max(bases[n][0], 1) for n in counts}
    # Largest share first, so the card read first is the biggest problem (Cleanlab Studio's order). The
    # share, not the count: the label checks see only the labeled rows, and 10 of 425 labeled rows is a
    # bigger problem than 12 of 1,500 rows. sorted() is stable: ties keep the registry order.
    found = sorted((n for n in counts if counts[n]), key=lambda n: -shares[n])
    nothing = [n for n in counts if not counts[n]]
    if not found:
        st.success(f"No rows flagged: all {len(counts)} checks ran and found nothing.", icon=":material/check_circle:")
    else:
        flagged = report.frame.loc[report.frame["n_issues"] > 0, "row_id"]
        # As each card does: the run's count, and how many are still open (the table hides the others).
        still = int((~flagged.isin(report.fixed_since(workspace()))).sum())
        st.markdown(
            f"**{len(flagged):,} of {report.n_rows:,} rows flagged** by {len(found)} of the {len(counts)} checks"
            + (" (a row can be flagged by several)" if len(found) > 1 else "")
            + (
                f" · {still:,} still open: {len(flagged) - still:,} fixed, excluded or reviewed since this run"
                if still != len(flagged)
                else ""
            )
        )
    for start in range(0, len(found), CARDS_PER_ROW):
        for col, name in zip(st.columns(CARDS_PER_ROW), found[start : start + CARDS_PER_ROW], strict=False):
            with col.container(border=True):
                st.metric(report.title(name), f"{counts[name]:,}", help=_in_words(report, name))
                base, what = bases[name]
                still = f" · {open_counts[name]:,} still open" if open_counts[name] != counts[name] else ""
                st.caption(f"**{shares[name]:.1%} of {base:,} {what}**{still}")
                if (
                    st.button(
                        "Show these rows",
                        key=f"issues.card.{name}",
                        type="tertiary",
                        icon=":material/filter_list:",
                        help="Filter the flagged rows below to this issue type",
                        on_click=_show_rows,
                        args=(name,),
                    )
                    and fragment_run()
                ):
                    st.rerun()  # drawn by the review panel, its click reran the panel alone: the filters follow
    if found and nothing:
        st.caption(
            ":material/check_circle: **No rows found** for "
            + ", ".join(_lowered(report.title(n)) for n in nothing)
            + f" (all {len(counts)} checks ran)."
        )
    for name, why in report.run.summary.get("skipped", {}).items():  # left out; the others ran
        st.caption(f":material/block: **Not checked: {_lowered(DETECTORS[name].title)}**. {why}")
    with st.expander("What each check looks for"):
        for name in counts:
            base, what = bases[name]
            st.markdown(f"**{report.title(name)}** · {counts[name]:,} of {base:,} {what} · {_in_words(report, name)}")


def _in_words(report: IssueReport, name: str) -> str:
    """What the check flags and why it matters, then its rule with this run's numbers."""
    return f"{DETECTORS[name].description} {report.rule(name)}"


def _lowered(title: str) -> str:
    """A title inside a sentence: "Near-duplicates" → "near-duplicates"."""
    return title[:1].lower() + title[1:]


def _show_rows(name: str) -> None:
    """A card's button: filter the table to its issue type. A callback, so it runs before the filter
    widgets are drawn, the only moment their values may be set."""
    st.session_state.update({"issues.type": name, "issues.label": ANY, "issues.suggested": ANY})
