"""Mark the matched words in headlines and snippets, safely.

Whoosh's highlighter does the work: it re-analyzes the stored text with the
index analyzer (whose tokens carry offsets into the ORIGINAL text, diacritics
included) and marks every token whose stem matched, so every inflected form
the stemmer joins is marked.  Its HtmlFormatter escapes all text.  We add one
thing Whoosh lacks: fragments snapped to whole words (its ContextFragmenter
counts characters and can cut a word in half).
"""

from __future__ import annotations

import html

from whoosh import highlight

SNIPPET_CHARS = 240
SURROUND_CHARS = 70
_SPACES = " \t\n\u00a0"


class WordFragmenter(highlight.ContextFragmenter):
    """ContextFragmenter whose fragments start and end on word boundaries."""

    def fragment_tokens(self, text, tokens):
        for fragment in super().fragment_tokens(text, tokens):
            fragment.startchar = _word_start(text, fragment.startchar)
            fragment.endchar = _word_end(text, fragment.endchar)
            yield fragment


def _word_start(text: str, i: int) -> int:
    while i > 0 and text[i - 1] not in _SPACES:
        i -= 1
    return i


def _word_end(text: str, i: int) -> int:
    while i < len(text) and text[i] not in _SPACES:
        i += 1
    return i


class MarkFormatter(highlight.HtmlFormatter):
    """``<mark>`` around matches, ``…`` between fragments, the rest escaped."""

    def __init__(self):
        super().__init__(tagname="mark", between=" … ")

    def format_token(self, text, token, replace=False):
        return f"<mark>{highlight.htmlescape(highlight.get_text(text, token, replace), quote=False)}</mark>"


FORMATTER = MarkFormatter()
SNIPPET_FRAGMENTER = WordFragmenter(maxchars=SNIPPET_CHARS, surround=SURROUND_CHARS)
WHOLE_FRAGMENTER = highlight.WholeFragmenter(charlimit=None)


def lead(text: str, chars: int = SNIPPET_CHARS) -> str:
    """The start of ``text`` (escaped, cut on a word boundary): the snippet of a
    hit that matched only in its headline or metadata."""
    text = " ".join(text.split())
    if len(text) <= chars:
        return html.escape(text, quote=False)
    cut = text.rfind(" ", 0, chars)
    return html.escape(text[: cut if cut > 0 else chars], quote=False) + " …"


def highlight_text(text: str, terms, analyzer, whole: bool = False, top: int = 3) -> str:
    """Highlight ``terms`` (analyzed forms, e.g. stems) in ``text``.

    ``whole`` returns all of the text (the article page); otherwise up to
    ``top`` word-aligned fragments, or the lead of the text when nothing matched.
    """
    if not text:
        return ""
    fragmenter = WHOLE_FRAGMENTER if whole else SNIPPET_FRAGMENTER
    marked = highlight.highlight(text, frozenset(terms), analyzer, fragmenter, FORMATTER,
                                 top=top, mode="index")
    if marked:
        return marked
    return html.escape(text, quote=False) if whole else lead(text)
