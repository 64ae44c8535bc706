"""Repairs for text as it arrives in real datasets, applied to the text we embed and show.

The original fields are always kept untouched next to it (provenance).
"""

from __future__ import annotations

import html
import re

import ftfy

# AG News turned the "&" of entities into a space ("It #39;s", " quot;"); the space goes too.
_BARE_NUMERIC_ENTITY = re.compile(r"(?: |(?<![&\w]))#(\d{2,5});")
_BARE_NAMED_ENTITY = re.compile(r"(?: |(?<![&\w]))(quot|amp|lt|gt|apos|nbsp);")
# AG News writes a newline as a backslash glued between words ("second\team").
_GLUED_BACKSLASH = re.compile(r"(?<=[\w.,;:!?)\"'])\\(?=[\w\"'(])")
_SPACES = re.compile(r"[ \t\u00a0]+")


def _numeric(match: re.Match) -> str:
    code = int(match.group(1))
    return chr(code) if 0 < code < 0x110000 else match.group(0)


def clean_text(text: str) -> str:
    """Fix mojibake, HTML entities (also AG News' bare ones) and glued backslashes; squeeze spaces."""
    if not text:
        return ""
    text = _BARE_NUMERIC_ENTITY.sub(_numeric, text)
    text = _BARE_NAMED_ENTITY.sub(lambda m: f"&{m.group(1)};", text)
    text = html.unescape(text)
    # ftfy repairs UTF-8 read as Latin-1 ("eclÃ©tico" -> "eclético") and leaves good text alone.
    text = ftfy.fix_text(text, unescape_html=False, uncurl_quotes=False, fix_latin_ligatures=False)
    text = _GLUED_BACKSLASH.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
