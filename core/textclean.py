"""Repairs for text as it arrives in real datasets, applied to the text we embed and show.

The original fields are always kept untouched next to it (provenance).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import ftfy

# AG News turned the "&" of entities into a space ("It #39;s", " quot;"); the space goes too.
_BARE_NUMERIC_ENTITY = re.compile(r"(?: |(?<![&\w]))#(\d{2,5});")
_BARE_NAMED_ENTITY = re.compile(r"(?: |(?<![&\w]))(quot|amp|lt|gt|apos|nbsp);")
# AG News writes a newline as a backslash glued between words ("second\team"), and the break between a
# title and its story as two ("Images\\Yahoo").
_GLUED_BACKSLASH = re.compile(r"(?<=[\w.,;:!?)\"'])\\+(?=[\w\"'(])")
# A backslash by a space or an end broke a line too ("Corp.'s\\ dramatic", "\\ LONDON", "\\on Thursday",
# "Engine\\"); emoticons and regexes keep theirs (":-\\", ":\\ they", "\\o/", "/o\\", "\\b").
_LOOSE_BACKSLASH = re.compile(
    r"(?:^|(?<=\s)|(?<=--))\\+(?=\s|$|[A-Za-z]{2}|[A-Z]\s|[\"'-])"  # at the start or after a space: before a word
    r"|(?<=[\w.'?!\"][\w.?!\"])\\+(?=\s|$|[,.])"  # after a word or a sentence: before a space or the end
)
# A Windows path ("C:\Users\me\notes.txt", "\\server\share\x") keeps its backslashes: the repairs
# above are for AG News' line breaks and turned it into "C: Users me notes.txt".
_WINDOWS_PATH = re.compile(r"(?<![\w\\])(?:[A-Za-z]:\\|\\\\(?=\w[\w.$-]*\\))[^\s\"'<>|]*")
# AG News escapes its dollars too ("\$400 million").
_ESCAPED_DOLLAR = re.compile(r"\\+(?=\$)")
# Feed markup left in the text once its entities are decoded ("<A HREF=...>KMB.N</A>", "<br>"). Only HTML's
# own tag names, so text about code ("List<String>") is kept; a line-breaking tag leaves a space.
_INLINE_TAG = re.compile(r"</?(?:a|b|i|u|em|strong|font|span|sup|sub|small|big|tt|nobr|cite)\b[^<>]*>", re.IGNORECASE)
_BREAKING_TAG = re.compile(r"</?(?:br|p|div|img|li|ul|ol|hr|table|tr|td|h[1-6])\b[^<>]*/?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]+")


def _numeric(match: re.Match) -> str:
    code = int(match.group(1))
    return chr(code) if 0 < code < 0x110000 else match.group(0)


def clean_text(text: str) -> str:
    """Fix mojibake, HTML entities (also AG News' bare ones), feed markup, escaped dollars and glued
    backslashes; squeeze spaces."""
    if not text:
        return ""
    text = _BARE_NUMERIC_ENTITY.sub(_numeric, text)
    text = _BARE_NAMED_ENTITY.sub(lambda m: f"&{m.group(1)};", text)
    text = html.unescape(text)
    # ftfy repairs UTF-8 read as Latin-1 ("eclÃ©tico" -> "eclético") and leaves good text alone.
    text = ftfy.fix_text(text, unescape_html=False, uncurl_quotes=False, fix_latin_ligatures=False)
    text = _BREAKING_TAG.sub(" ", _INLINE_TAG.sub("", text))
    text = _ESCAPED_DOLLAR.sub("", text)
    text = _outside_paths(text, lambda part: _LOOSE_BACKSLASH.sub(" ", _GLUED_BACKSLASH.sub(" ", part)))
    return _SPACES.sub(" ", text).strip()


def _outside_paths(text: str, repair: Callable[[str], str]) -> str:
    """``repair`` applied to the text between Windows paths, which are kept as they are."""
    parts, last = [], 0
    for path in _WINDOWS_PATH.finditer(text):
        parts += [repair(text[last : path.start()]), path.group()]
        last = path.end()
    return "".join([*parts, repair(text[last:])])
