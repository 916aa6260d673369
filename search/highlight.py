"""Mark the matched words in headlines and snippets, safely.

The analyzer finds the matched words: every word of the stored text whose
index term (stem) is one of the query's, with offsets into the ORIGINAL text
(diacritics included), so every inflected form the stemmer joins is marked.

Why not ``whoosh.highlight.highlight``: it builds a Token for every word of
every hit's body and runs its fragmenter over all of them: most of the
search box's time once the ranking is vectorized.  Here the matched words
stay (start, end, term) tuples, fragments are cut around them, snapped to
whole words (Whoosh's ContextFragmenter counts characters and can cut a word
in half), and ranked as Whoosh's ``BasicFragmentScorer`` ranks them; the
marks are written as Whoosh's ``HtmlFormatter`` writes them (``<mark>``
around each match, `` … `` between fragments, every other character
escaped), without a Token and a Fragment object per match.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from heapq import nlargest

from whoosh import query as wq

from indexer.analysis import MAX_WORD_CHARS, SECTION_BREAK, WORD_CHAR_RE, find_words
from search.query import PrefixPhrase, glob_tail, positive_leaves

#: A snippet is at most two fragments of about SNIPPET_CHARS characters of
#: matches with SURROUND_CHARS of context each side: about three lines on a
#: desktop, so a screen holds four or five results rather than two.
SNIPPET_CHARS = 160
SURROUND_CHARS = 50
#: Snippets look for matches in the first CHARLIMIT characters of a body
#: (Whoosh's default limit too): bounds the work per hit on huge articles.
CHARLIMIT = 2**15
#: The article page marks matches in its first WHOLE_CHARLIMIT characters
#: (several times the longest news article); past them the text is shown
#: unmarked, so one huge record cannot hold a server thread highlighting it.
WHOLE_CHARLIMIT = 2**19
#: Texts of at least NEEDLES_FROM characters together are searched for the
#: words that hold a needle (the texts normalized in place, ``spans``);
#: shorter (one headline) are split into their words, each looked up in the
#: analyzer's word cache, which costs less than normalizing them in numpy.
NEEDLES_FROM = 160
_SPACES = " \t\n\u00a0"
_WORD_RUN_RE = re.compile(f"[^{_SPACES}]*")


BETWEEN = " … "


@dataclass(frozen=True)
class Marks:
    """What to mark in one field: the index terms a query asks for, its
    phrases (their words are marked where they make the phrase, as the
    phrase matched, not wherever one of them occurs), and its prefixes and
    wildcards as one expression the other index terms are matched against.

    A prefix is marked by its pattern rather than by the terms the ranking
    expanded it to: every backend marks the same words (a cluster expands
    on its own side), and so does Lucene's highlighter, which matches a
    prefix's automaton against the document's words."""

    terms: frozenset[str] = frozenset()
    #: Anchored at both ends of a line (``ArabicAnalyzer.spans``).
    pattern: re.Pattern | None = None
    #: A phrase's words: a term, or a prefix word's pattern (anchored too).
    phrases: tuple[tuple[str | re.Pattern, ...], ...] = ()
    #: Letters that each term ``pattern`` or a phrase's prefix word matches
    #: contains (a prefix; a wildcard's first literal); None: not known.
    pattern_letters: frozenset[str] | None = None

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases) or self.pattern is not None

    @cached_property
    def words(self) -> frozenset[str]:
        """The terms to look for: loose, or in a phrase."""
        return self.terms.union(word for phrase in self.phrases for word in phrase
                                if isinstance(word, str))

    @cached_property
    def needles(self) -> frozenset[str] | None:
        """What every term to mark contains (``ArabicAnalyzer.spans``):
        the terms, and the letters of the patterns; None if not known."""
        if self.scan is None:
            return self.words
        if self.pattern_letters is None:
            return None
        return self.words | self.pattern_letters

    @cached_property
    def scan(self) -> re.Pattern | None:
        """The expression of every other term to look for: ``pattern``, or
        a phrase's prefix word."""
        parts = [word.pattern for phrase in self.phrases for word in phrase
                 if not isinstance(word, str)]
        if not parts:
            return self.pattern
        if self.pattern is not None:
            parts.insert(0, self.pattern.pattern)
        return re.compile("|".join(sorted(set(parts))), re.MULTILINE)


NO_MARKS = Marks()


def query_marks(query: wq.Query) -> dict[str, Marks]:
    """The words to mark, per field: the query's positive terms, phrases,
    prefixes and wildcards (not the words it excludes)."""
    terms: dict[str, set[str]] = {}
    phrases: dict[str, set[tuple]] = {}
    patterns: dict[str, set[str]] = {}
    letters: dict[str, set[str]] = {}  # a run of letters each pattern's terms contain
    for leaf in positive_leaves(query):
        name = leaf.fieldname
        if isinstance(leaf, PrefixPhrase):
            phrases.setdefault(name, set()).add(tuple(
                word if prefix is None else _anchored(re.escape(prefix) + ".*")
                for word, prefix in zip(leaf.words, leaf.prefixes, strict=True)))
            letters.setdefault(name, set()).update(p for p in leaf.prefixes if p is not None)
        elif isinstance(leaf, wq.Term):
            terms.setdefault(name, set()).add(leaf.text)
        elif isinstance(leaf, wq.Phrase) and len(leaf.words) > 1:
            phrases.setdefault(name, set()).add(tuple(leaf.words))
        elif isinstance(leaf, wq.Phrase):
            terms.setdefault(name, set()).update(leaf.words)
        elif isinstance(leaf, wq.Prefix):
            patterns.setdefault(name, set()).add(re.escape(leaf.text) + ".*")
            letters.setdefault(name, set()).add(leaf.text)
        elif leaf.text.strip("*"):  # a wildcard; a bare * would mark every word
            patterns.setdefault(name, set()).add(_glob(leaf.text))
            letters.setdefault(name, set()).add(next(p for p in leaf.text.split("*") if p))
    return {name: Marks(frozenset(terms.get(name, ())),
                        _anchored("|".join(sorted(patterns[name]))) if name in patterns else None,
                        tuple(sorted(phrases.get(name, ()), key=str)),
                        frozenset(letters.get(name, ())))
            for name in terms.keys() | phrases.keys() | patterns.keys()}


def _anchored(expression: str) -> re.Pattern:
    """``expression`` matching a whole line (a term, in ``spans``)."""
    return re.compile(f"^(?:{expression})$", re.MULTILINE)


def _glob(text: str) -> str:
    """A regular expression matching a term in full as the ``*`` wildcard
    ``text`` does, in linear time (``glob_tail``)."""
    start, *inner, end = text.split("*")
    literals = [part for part in inner if part] + ([end] if end else [])
    return re.escape(start) + glob_tail(literals, ".", not end) + ("" if end else ".*")


def _phrase_matches(text: str, matches: list[tuple[int, int, str]], marks: Marks,
                    analyzer) -> list[tuple[int, int, str]]:
    """``matches`` without the words found only as a phrase's word where
    they do not make the phrase: its words one after another, with no
    indexed word between them (stopwords are not indexed, so they may be)
    and not across sections, as the phrase query matches them."""
    keep = [term in marks.terms or (marks.pattern is not None and marks.pattern.fullmatch(term))
            for _, _, term in matches]
    adjacent: dict[int, bool] = {}

    def next_to(i: int) -> bool:  # matches[i] and matches[i + 1] are neighbours
        if i not in adjacent:
            gap = text[matches[i][1]:matches[i + 1][0]]
            adjacent[i] = SECTION_BREAK not in gap and (gap.isspace() or all(
                len(word) > MAX_WORD_CHARS or analyzer.analyze_word(word)[2]
                for word in find_words(gap)))
        return adjacent[i]

    for phrase in marks.phrases:
        n, first = len(phrase), phrase[0]
        # A phrase starts at a match of its first word: only there are its
        # other words and the gaps between them looked at.
        for i in [i for i in range(len(matches) - n + 1) if _is(matches[i][2], first)]:
            if all(_is(matches[i + k][2], phrase[k]) for k in range(1, n)) and all(
                    next_to(i + k) for k in range(n - 1)):
                keep[i:i + n] = [True] * n
    return [match for match, kept in zip(matches, keep, strict=True) if kept]


def _is(term: str, word: str | re.Pattern) -> bool:
    """Whether ``term`` is a phrase's word: the term itself, or one its
    prefix word's pattern matches."""
    return term == word if isinstance(word, str) else word.fullmatch(term) is not None


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _marked(text: str, matches: list[tuple[int, int, str]], start: int, end: int) -> str:
    """``text[start:end]`` escaped, each of ``matches`` in it in ``<mark>``."""
    out = []
    i = start
    for first, last, _ in matches:
        if first < i:  # overlaps the previous mark (Whoosh's formatter skips it too)
            continue
        out.append(_escape(text[i:first]))
        out.append(f"<mark>{_escape(text[first:last])}</mark>")
        i = last
    out.append(_escape(text[i:end]))
    return "".join(out)


def lead(text: str, chars: int = SNIPPET_CHARS) -> str:
    """The start of ``text`` (escaped, cut on a word boundary): the snippet of a
    hit that matched only in its headline or metadata."""
    text = _lead_words(text, chars)
    if len(text) <= chars:
        return html.escape(text, quote=False)
    cut = text.rfind(" ", 0, chars)
    return html.escape(text[: cut if cut > 0 else chars], quote=False) + " …"


def _lead_words(text: str, chars: int) -> str:
    """A start of ``text``'s words one space apart, longer than ``chars``
    when the text's words are: its first part, split, is the start of the
    whole text split (a word the cut shortens is shortened at its end).
    Why: a lead shows its first ``chars`` characters, and splitting a
    whole body costs more than the rest of the lead."""
    window = 2 * chars + 64
    while window < len(text):
        joined = " ".join(text[:window].split())
        if len(joined) > chars:
            return joined
        window *= 4
    return " ".join(text.split())


def highlight_text(text: str, marks: Marks, analyzer, whole: bool = False, top: int = 2) -> str:
    """Highlight the words of ``text`` whose index terms (e.g. stems) ``marks``
    asks for (``highlight_texts`` of one text).

    ``whole`` returns all of the text (the article page); otherwise up to
    ``top`` word-aligned fragments, or the lead of the text when nothing matched.
    """
    return highlight_texts([text], marks, analyzer, whole, top)[0]


def highlight_texts(texts: list[str], marks: Marks, analyzer, whole: bool = False,
                    top: int = 2) -> list[str]:
    """``highlight_text`` of each of ``texts`` (a page's headlines, or its
    bodies), their matched words found in one pass over them all.

    Why together: finding a text's matched words has a cost per text (the
    analyzer's look-ups set up, the text normalized in a few numpy calls,
    its words matched to the terms) that is most of a short text's and a
    good part of a body's; the texts are joined, a SECTION_BREAK between
    two (no word and no phrase spans it), searched once, and the matches
    shared out by where each text starts."""
    found: list[list[tuple[int, int, str]]] = [[] for _ in texts]
    if marks:
        scanned = [_scanned(text, WHOLE_CHARLIMIT if whole else CHARLIMIT) for text in texts]
        starts, at = [], 0
        for part in scanned:
            starts.append(at)
            at += len(part) + len(SECTION_BREAK)
        joined = SECTION_BREAK.join(scanned)
        needles = marks.needles if len(joined) >= NEEDLES_FROM else None
        matches = analyzer.spans(joined, marks.words, marks.scan, needles)
        if marks.phrases:
            matches = _phrase_matches(joined, matches, marks, analyzer)
        for start, end, term in matches:
            i = bisect_right(starts, start) - 1
            found[i].append((start - starts[i], end - starts[i], term))
    return [_highlighted(text, matches, whole, top) for text, matches in zip(texts, found,
                                                                               strict=True)]


def _highlighted(text: str, matches: list[tuple[int, int, str]], whole: bool, top: int) -> str:
    """``text`` with its ``matches`` marked: whole, or in fragments."""
    if not text:
        return ""
    if not matches:
        return _escape(text) if whole else lead(text)
    if whole:
        return _marked(text, matches, 0, len(text))
    return BETWEEN.join(_marked(text, found, start, end)
                        for start, end, found in best_fragments(text, matches, top))


def _scanned(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, less a word the limit
    would cut (its first part would be analyzed, and marked, as a word)."""
    if len(text) <= limit:
        return text
    cut = limit
    while cut > limit - MAX_WORD_CHARS and WORD_CHAR_RE.match(text, cut):
        cut -= 1
    return text[:cut]


def best_fragments(text: str, matches: list[tuple[int, int, str]], top: int,
                   maxchars: int = SNIPPET_CHARS, surround: int = SURROUND_CHARS
                   ) -> list[tuple[int, int, list[tuple[int, int, str]]]]:
    """The ``top`` fragments with the most (and most varied) matches, in
    text order: (start, end, its matches) each.

    Every fragment is cut and scored, but only the chosen ones are moved
    back to where their first word starts (a walk back over characters):
    a body with many matches has many fragments."""
    cuts = []  # (start before snapping, end of the fragment before, end, first match, past last)
    count, size, word_end = len(matches), len(text), _WORD_RUN_RE.match
    i = previous_end = 0
    while i < count:
        start = max(0, matches[i][0] - surround)
        j = i + 1
        while j < count and matches[j][1] - start <= maxchars:
            j += 1
        end = word_end(text, min(size, matches[j - 1][1] + surround)).end()
        while j < count and matches[j][0] < end:  # shown, so marked too
            end = max(end, matches[j][1])
            j += 1
        cuts.append((start, previous_end, end, i, j))
        previous_end = end
        i = j
    if len(cuts) <= top:
        chosen = range(len(cuts))
    elif len({term for _, _, term in matches}) == 1:  # one term: a score is 100 a match
        chosen = sorted(nlargest(top, range(len(cuts)), key=lambda k: (
            cuts[k][4] - cuts[k][3], -k)))
    else:
        chosen = sorted(nlargest(top, range(len(cuts)), key=lambda k: (
            _score(matches[cuts[k][3]:cuts[k][4]]), -k)))
    fragments = []
    for k in chosen:
        start, previous_end, end, i, j = cuts[k]
        # Fragments never overlap: two of them would repeat the text between.
        start = max(_word_start(text, start), previous_end)
        while text[start] in _SPACES:  # starts after the previous fragment: on a word
            start += 1
        fragments.append((start, end, matches[i:j]))
    return fragments


def _score(matches: list[tuple[int, int, str]]) -> int:
    """Whoosh's BasicFragmentScorer: matches, times 100 per distinct term."""
    return len(matches) * 100 * len({term for _, _, term in matches})


def _word_start(text: str, i: int) -> int:
    while i > 0 and text[i - 1] not in _SPACES:
        i -= 1
    return i
