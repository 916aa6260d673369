"""The one Arabic analyzer, used at index time and (through the schema) at query time.

It is a single fused Whoosh tokenizer rather than a chain of generator filters
(tokenizer -> normalizer -> stop filter -> stemmer): news vocabulary is Zipfian,
so we cache the whole per-word result (normalized, stopword?, stem) by surface
form and most words cost one dict lookup.  Tokens carry character offsets into
the ORIGINAL text, so highlighting marks the right characters even in text
with diacritics or tatweel.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from functools import cache
from importlib import resources
from operator import itemgetter

import numpy as np
from whoosh.analysis import Token, Tokenizer

from indexer.normalize import DELETED, RULES, UNMAPPED, code_point_map, make_normalizer
from indexer.stem import (
    FROM_LIGHT10_STEM,
    INFIX_STEMMERS,
    PREFIXES,
    STEMMERS,
    SUFFIXES,
    protected_words,
    split_words,
    strip_article,
)

# A word: letters/digits of any script, with Arabic diacritics, Quranic marks,
# tatweel and zero-width joiners allowed INSIDE it (they must not split a word).
# Underscore and punctuation (including ؟ ، ؛) separate words.
_MARKS = r"\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640\u200C\u200D"
_WORD_CHAR = rf"(?:[^\W_]|[{_MARKS}])"
WORD_RE = re.compile(_WORD_CHAR + "+")
WORD_CHAR_RE = re.compile(_WORD_CHAR)
# The same words in one character class, twice as fast: valid on text
# without underscores, which ``find_words`` first turns into spaces.
_WORDS_NO_UNDERSCORE_RE = re.compile(rf"[\w{_MARKS}]+")


def _places(text: str, matched: set[tuple[str, str]]):
    """(start, end, term) of every occurrence of each matched (word, term)
    in ``text``: found with str.find, a token being a maximal run of word
    characters, so an occurrence counts when no word character touches it
    on either side."""
    is_word_char = WORD_CHAR_RE.match
    for word, term in matched:
        i = text.find(word)
        while i >= 0:
            end = i + len(word)
            if not (i and is_word_char(text, i - 1)) and not is_word_char(text, end):
                yield i, end, term
            i = text.find(word, i + 1)


def find_words(text: str) -> list[str]:
    """``WORD_RE.findall(text)``, faster (the build splits every text)."""
    return _WORDS_NO_UNDERSCORE_RE.findall(text.replace("_", " "))


#: Longer "words" (base64 blobs, 1 MB lines of junk) are not indexed.
MAX_WORD_CHARS = 64

#: What ``word_units`` gives a character outside words, and for a mark
#: normalization drops and a character it cannot map: noncharacters, which
#: never are a word's normalized letter.
_SPACE = ord(" ")
UNIT_DELETED = 0xFFFE
UNIT_UNMAPPED = 0xFFFF


@cache
def word_units(rules: tuple[str, ...]) -> np.ndarray:
    """Per UTF-16 code unit, what it becomes in a text whose words are
    normalized in place by ``rules``: ``code_point_map``'s value inside
    words (UNIT_DELETED for a mark dropped, UNIT_UNMAPPED where a character
    cannot be normalized alone), a space outside them (punctuation, ``_``,
    spaces), and UNIT_UNMAPPED for a word character normalized to a
    character that is not one (it would move a word boundary) and for a
    surrogate (half of a code point past the BMP).  Each word of such a text
    is then its normalization, between the same neighbours."""
    mapped = code_point_map(rules)
    # The word characters of the whole BMP, found as runs by one search
    # (not a match per code point: this table is made before a process's
    # first answer).
    is_word = np.zeros(0x10000, dtype=bool)
    for run in WORD_RE.finditer("".join(map(chr, range(0x10000)))):
        is_word[run.start():run.end()] = True
    out = np.where(is_word, mapped, np.uint32(_SPACE))
    single = is_word & (mapped < UNMAPPED)
    moved = single & ((mapped > 0xFFFF) | ~is_word.take(np.minimum(mapped, 0xFFFF)))
    out[moved | (out == UNMAPPED)] = UNIT_UNMAPPED
    out[out == DELETED] = UNIT_DELETED
    out[0xD800:0xE000] = UNIT_UNMAPPED
    return out.astype(np.uint16)


def normalized_in_place(rules: tuple[str, ...], text: str
                        ) -> tuple[str, np.ndarray | None] | None:
    """``text`` with each word normalized by ``rules`` and every other
    character a space, and where each of its characters is in ``text`` (None:
    at the same place, nothing was dropped); None when ``text`` holds a
    character that is not normalized alone (``word_units``).

    Why numpy: one table look-up per character, in C, whatever is looked for
    in the result afterwards (a regular expression of each letter's forms
    costs several nanoseconds a character for each word looked for)."""
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    mapped = word_units(rules).take(units)
    kept = None
    if mapped.size and mapped.max() >= UNIT_DELETED:
        if (mapped == UNIT_UNMAPPED).any():
            return None
        kept = np.flatnonzero(mapped != UNIT_DELETED)
        mapped = mapped.take(kept)
    return mapped.tobytes().decode("utf-16-le"), kept



#: Words whose term ``index_sections`` keeps (about 150 bytes each); past
#: it, that cache starts afresh.  The query-time cache stops growing at
#: MAX_CACHED_WORDS.  (arshif's own build numbers a segment's words in
#: indexer/postings.py instead.)
CACHED_WORDS = 250_000
MAX_CACHED_WORDS = 1_000_000

#: Question words and fillers dropped from queries only: they carry no topic
#: ("من هو", "متى ولد", "كم عدد"). Normalized like everything else.
QUERY_STOPWORDS_TEXT = """
ما ماذا من متى كم أين اين كيف لماذا لما هل أي أية أيهم ايهم اذكر عرف هو هي
ماهو ماهي ممن عمن
"""

#: In queries, a question word behind any one of these one-letter proclitics
#: is one too (``بماذا``, ``لمن``, ``وأين``, ``فهل``).
QUERY_CLITICS = "وفبلك"

#: Joins indexed sections of one field (the headline and the body in
#: ``body``, indexer/schema.py): positions jump by SECTION_GAP there, so no
#: phrase or proximity match spans two sections.
SECTION_BREAK = "\u2029"
SECTION_GAP = 100

#: Words of many shapes (hamza, taa marbuta, alef maqsura, tashkeel, tatweel,
#: ligatures, presentation forms, digits, clitics, affixes, stopwords, a
#: question word, Latin) for ``ArabicAnalyzer.fingerprint``.
PROBE_TEXT = (
    "وبالأمس قالَ الرئيسُ إنّ مدرسةً كُبرى في مصـــر ستُفتح، ومستشفى ﻻ يزال "
    "ﺍﻟﻌﺮﺑﻴﺔ ٢٠٢٣ ۱۲ فالمعلمون والمعلمات كتابها بيوتهم ليفربول ليفيربول وزير "
    "متى ماذا بماذا لمن هل آراء مسؤول سائل Reuters CNN هذا الذي في على"
    + SECTION_BREAK + "عنوان ثانٍ"
)


@cache
def stopword_set(rules: tuple[str, ...]) -> frozenset[str]:
    normalize = make_normalizer(rules)
    text = resources.files("indexer").joinpath("data/stopwords.txt").read_text("utf-8")
    words = (line.strip() for line in text.splitlines())
    return frozenset(normalize(w) for w in words if w and not w.startswith("#"))


@cache
def _query_stopword_set(rules: tuple[str, ...]) -> frozenset[str]:
    normalize = make_normalizer(rules)
    return frozenset(normalize(w) for w in QUERY_STOPWORDS_TEXT.split())


class ArabicAnalyzer(Tokenizer):
    """Tokenize, normalize, drop stopwords and stem in one pass.

    Parameters are plain data so the analyzer pickles into the index schema
    and into ``writer(procs=N)`` subprocesses; the word cache is rebuilt
    lazily in each process and never pickled.
    """

    def __init__(
        self,
        stemmer: str = "light10",
        stopwords: bool = True,
        rules: tuple[str, ...] = RULES,
        protect: bool = True,
        query_stopwords: bool = True,
        proclitics: bool = True,
        query_clitics: str = QUERY_CLITICS,
    ):
        if stemmer not in STEMMERS:
            raise ValueError(f"unknown stemmer {stemmer!r}")
        self.stemmer = stemmer
        self.stopwords = stopwords
        self.rules = tuple(rules)
        self.protect = protect
        self.query_stopwords = query_stopwords
        #: Split the proclitics ``ب ل ك ف`` from the words of data/proclitics.txt.
        self.proclitics = proclitics
        self.query_clitics = query_clitics

    # -- configuration ----------------------------------------------------
    def config(self) -> tuple:
        return (self.stemmer, self.stopwords, self.rules, self.protect, self.query_stopwords,
                self.proclitics, self.query_clitics)

    def settings(self) -> dict:
        """The analyzer's parameters: ``ArabicAnalyzer(**settings())`` is this analyzer."""
        return {"stemmer": self.stemmer, "stopwords": self.stopwords, "rules": list(self.rules),
                "protect": self.protect, "query_stopwords": self.query_stopwords,
                "proclitics": self.proclitics, "query_clitics": self.query_clitics}

    def fingerprint(self) -> str:
        """A digest of what this analyzer does, stored with the index: its
        parameters, the word lists as loaded, the stemmer's affixes, and the
        terms it makes of PROBE_TEXT (so a change to the code of any step
        shows too).  An index whose fingerprint differs must be rebuilt."""
        if not hasattr(self, "_cache"):
            self._setup()
        digest = hashlib.sha256(json.dumps(self.settings(), sort_keys=True).encode())
        for words in (self._stops, self._qstops, self._protected, self._split, PREFIXES,
                      SUFFIXES):
            digest.update("\n".join(sorted(words)).encode() + b"\0")
        digest.update(f"{MAX_WORD_CHARS} {SECTION_GAP} {SECTION_BREAK}".encode())
        for mode in ("index", "query"):
            terms = [(t.text, t.pos, t.startchar, t.endchar)
                     for t in self(PROBE_TEXT, mode=mode, positions=True, chars=True)]
            digest.update(json.dumps(terms, ensure_ascii=False).encode())
        return digest.hexdigest()[:20]

    def __eq__(self, other):
        return type(other) is type(self) and other.config() == self.config()

    def __hash__(self):
        return hash(self.config())

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def view(self, stemmer: str) -> ArabicAnalyzer:
        """The same analyzer with another stemmer: the extra field views
        (``none`` for exact forms, ``skeleton`` for spelling variants)."""
        return ArabicAnalyzer(**{**self.settings(), "stemmer": stemmer})

    def stem_term(self, stem: str) -> str | None:
        """This analyzer's term for a word whose light10 stem is ``stem`` (None
        when it is not a function of that stem, e.g. exact forms)."""
        fn = FROM_LIGHT10_STEM.get(self.stemmer)
        return fn(stem) if fn else None

    # -- per-word analysis (cached) -----------------------------------------
    def _setup(self):
        self._normalize = make_normalizer(self.rules)
        self._stops = stopword_set(self.rules) if self.stopwords else frozenset()
        self._qstops = _query_stopword_set(self.rules) if self.query_stopwords else frozenset()
        self._protected = protected_words() if self.protect else frozenset()
        self._split = split_words() if self.proclitics else frozenset()
        self._stem = STEMMERS[self.stemmer]
        self._cache: dict[str, tuple[str, str, bool]] = {}
        # stem -> the cached surface words (not stopwords) analyzed to it: spans()
        self._surfaces: dict[str, set[str]] = {}
        # index_sections' cache: surface word -> its term, or "" when not
        # indexed.  Kept apart from the query-time cache above, which holds
        # three strings, a tuple and a set entry a word for spans(): for every
        # distinct word of a build, that is several times the memory.
        self._index_cache: dict[str, str] = {}

    def analyze_word(self, surface: str) -> tuple[str, str, bool]:
        """Return (normalized, stem, is_stopword) for one surface word."""
        try:
            return self._cache[surface]
        except AttributeError:
            self._setup()
        except KeyError:
            pass
        result = self._analyze(surface)
        if len(self._cache) < MAX_CACHED_WORDS:  # bound memory on pathological input
            self._cache[surface] = result
            if not result[2]:
                self._surfaces.setdefault(result[1], set()).add(surface)
        return result

    def normal_form(self, surface: str) -> tuple[str, bool]:
        """(normalized, is_stopword) of one surface word: ``analyze_word``
        without the stem, for what keys words by their normalized form (the
        completions), uncached."""
        if not hasattr(self, "_cache"):
            self._setup()
        norm = self._normalize(surface)
        return norm, not norm or norm in self._stops

    def _analyze(self, surface: str) -> tuple[str, str, bool]:
        norm, stop = self.normal_form(surface)
        stem = norm if stop else self._stem(norm, self._protected, self._split)
        return norm, stem, stop

    def analyze(self, text: str, query: bool = False) -> list[str]:
        """The indexed terms of ``text`` (stopwords removed), for tools and tests."""
        return [t.text for t in self(text, mode="query" if query else "index")]

    def spans(self, text: str, terms, pattern: re.Pattern | None = None,
              needles: frozenset[str] | None = None) -> list[tuple[int, int, str]]:
        """(start, end, term) of the words of ``text`` indexed as one of
        ``terms``, or as a term ``pattern`` matches in full (a multiline
        pattern anchored at both ends: it also finds terms one a line).
        ``needles``, when given, holds a string that each such term
        contains (the terms themselves, a prefix's letters): only the words
        that contain one are then looked at.

        The words and terms indexing gives (``__call__``), without a Token
        per word: highlighting scans whole article bodies for every hit.
        """
        analyze_word = self.analyze_word
        # The distinct words of the text that may match: those holding a
        # needle, found with their places (``occurrences``), or else every
        # word (findall runs in C).  Those already analyzed are matched to
        # ``terms`` by set operations on the cache, only new ones are analyzed.
        places = None if needles is None else self.occurrences(text, needles)
        words = set(find_words(text)) if places is None else set(places)
        if not hasattr(self, "_cache"):
            self._setup()
        matched: set[tuple[str, str]] = set()
        cache = self._cache
        new = words.difference(cache)  # or past the cache's bound
        for word in new:
            if len(word) <= MAX_WORD_CHARS:
                _, stem, stop = analyze_word(word)
                if not stop and (stem in terms or (pattern and pattern.fullmatch(stem))):
                    matched.add((word, stem))
        if pattern is not None:
            # The terms of the cached words that the pattern matches join
            # ``terms``: their terms, one a line, are searched by the pattern
            # in one pass (a loop over the words costs more than the rest of
            # a snippet).
            lines = "\n".join(map(itemgetter(1), map(cache.__getitem__, words - new)))
            terms = set(terms).union(pattern.findall(lines))
        for term in terms:
            matched.update((word, term) for word in words & self._surfaces.get(term, set())
                           if len(word) <= MAX_WORD_CHARS)
        if places is not None:
            found = [(start, end, term) for word, term in matched for start, end in places[word]]
        else:
            found = list(_places(text, matched))
        found.sort()
        return found

    def occurrences(self, text: str, needles: frozenset[str]
                    ) -> dict[str, list[tuple[int, int]]] | None:
        """The words of ``text`` whose normalized form contains one of
        ``needles``, each with the (start, end) of its occurrences; None
        when this cannot tell (a stemmer whose stems are not runs of the
        word's letters).

        Why: a snippet needs only the words that may match, and a stem (or a
        prefix of one) is a run of letters of the normalized word, so the
        needles are looked for with ``str.find`` in the text normalized in
        place, words where they occur, instead of analyzing the text word by
        word: a few of its words, not hundreds, are then matched to terms,
        and where they are is known from where their needles are.  A page's
        texts come joined by SECTION_BREAKs: a section holding a character
        that is not normalized alone (a presentation-form ligature, in about
        one body in 400) has its words normalized one by one instead, and
        the others are still searched in place.
        """
        if self.stemmer not in INFIX_STEMMERS or not all(
                needles) or not all(map(WORD_RE.fullmatch, needles)):
            return None
        places: dict[str, list[tuple[int, int]]] = {}
        found = normalized_in_place(self.rules, text)
        if found is not None:
            self._needle_places(text, *found, needles, 0, places)
            return places
        at = 0
        for section in text.split(SECTION_BREAK):
            found = normalized_in_place(self.rules, section)
            if found is not None:
                self._needle_places(section, *found, needles, at, places)
            else:
                wanted = {(word, word) for word in set(find_words(section))
                          if len(word) <= MAX_WORD_CHARS and any(
                              needle in self.analyze_word(word)[0] for needle in needles)}
                for start, end, word in _places(section, wanted):
                    places.setdefault(word, []).append((at + start, at + end))
            at += len(section) + len(SECTION_BREAK)
        return places

    @staticmethod
    def _needle_places(text: str, normal: str, kept: np.ndarray | None,
                       needles: frozenset[str], offset: int,
                       places: dict[str, list[tuple[int, int]]]) -> None:
        """Add to ``places`` the words of ``text`` (at ``offset`` in what
        ``occurrences`` searches) whose form in ``normal`` (``text``
        normalized in place, ``kept`` its characters' places) holds a needle."""
        ends: dict[int, int] = {}  # start -> end of each word found (two needles: once)
        for needle in needles:
            at = normal.find(needle)
            while at >= 0:
                first = normal.rfind(" ", 0, at) + 1
                end = normal.find(" ", at + len(needle))
                end = len(normal) if end < 0 else end
                # The word in ``text``: from past the character before it (or
                # the start) to the one after it, dropped marks included.
                if kept is None:
                    ends[first] = end
                else:
                    ends[int(kept[first - 1]) + 1 if first else 0] = (
                        int(kept[end]) if end < len(kept) else len(text))
                at = normal.find(needle, end)
        for start, end in ends.items():
            places.setdefault(text[start:end], []).append((offset + start, offset + end))

    def index_sections(self, value: str) -> list[list[str]]:
        """The indexed terms of ``value``, in order, per section (the parts
        between SECTION_BREAKs): exactly the words and terms ``__call__``
        yields at index time, without a Token per word.

        The schema's posting formats (indexer/formats.py) use it when
        Whoosh's own writer indexes a document (arshif's build goes through
        indexer/segment.py): a Token per word of every article, three times
        (body and its two views), would cost about as much as the analysis.
        The word split is shared by the views, which analyze the very same
        string one after the other.
        """
        if not hasattr(self, "_cache"):
            self._setup()
        cache = self._index_cache
        if len(cache) >= CACHED_WORDS:
            cache.clear()  # the frequent words come back at once
        out = []
        for words in split_sections(value):
            found = list(map(cache.get, words))
            if None in found:  # words not analyzed yet
                for i, term in enumerate(found):
                    if term is None:  # once per new word, however often it occurs
                        word = words[i]
                        term = cache.get(word)
                        if term is None:
                            term = cache[word] = self.index_term(word)
                        found[i] = term
            out.append([term for term in found if term])
        return out

    def index_term(self, word: str, cached: bool = False) -> str:
        """The term a surface ``word`` is indexed as; "" when it is not indexed.

        ``cached``: through the query-time word cache (``analyze_word``),
        for words that come back from query to query; a build's words are
        numbered per segment instead (indexer/postings.py) and stay out of it."""
        if not hasattr(self, "_cache"):
            self._setup()
        if len(word) > MAX_WORD_CHARS:
            return ""
        _, stem, stop = (self.analyze_word if cached else self._analyze)(word)
        # Interned: the many surface forms of a stem share one string.
        return "" if stop else sys.intern(stem)

    def view_terms(self, base: ArabicAnalyzer, surfaces: list[str],
                   base_terms: list[str]) -> list[str]:
        """This analyzer's ``index_term`` of each of ``surfaces``, given
        ``base``'s terms of them (the build's fused analysis, indexer/postings.py).

        A view of ``base`` (same rules and stopwords, another stemmer) drops
        the words ``base`` drops, and a term that is a function of the light10
        stem (the skeleton) is derived from ``base``'s once per distinct stem.
        """
        if self == base:
            return base_terms
        if self.view(base.stemmer) != base:
            return [self.index_term(word) for word in surfaces]
        derive = FROM_LIGHT10_STEM.get(self.stemmer) if base.stemmer == "light10" else None
        if derive is not None:
            memo: dict[str, str] = {"": ""}
            return [memo[t] if t in memo else memo.setdefault(t, sys.intern(derive(t)))
                    for t in base_terms]
        # Indexed by base, so by this view too: normalize and stem, no stop test.
        if not hasattr(self, "_cache"):
            self._setup()
        normalize, stem = self._normalize, self._stem
        protected, split = self._protected, self._split
        return [sys.intern(stem(normalize(word), protected, split)) if t else ""
                for word, t in zip(surfaces, base_terms, strict=True)]

    def index_terms(self, value: str) -> list[tuple[str, int]]:
        """(term, position) of every indexed word of ``value``, as ``__call__``
        gives them at index time (positions jump SECTION_GAP at a section break)."""
        return list(zip(*self.index_words(value), strict=True))

    def index_words(self, value: str) -> tuple[list[str], list[int]]:
        """``index_terms`` as two lists: the terms, and their positions (what
        the segment writer appends to its arrays, indexer/postings.py)."""
        terms: list[str] = []
        positions: list[int] = []
        pos = 0
        for section, words in enumerate(self.index_sections(value)):
            if section:
                pos += SECTION_GAP
            terms.extend(words)
            positions.extend(range(pos, pos + len(words)))
            pos += len(words)
        return terms, positions

    # -- the Whoosh tokenizer protocol --------------------------------------
    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # Whoosh asks for an untokenized value for wildcard/prefix terms:
            # normalize it but do not stem (a prefix is not a word); in a
            # stemmed field drop a leading article, as stems have none
            # (``الليب*`` finds ``الليبي``).
            t.original = value
            t.text = self._normalize_only(value)
            if self.stemmer != "none":
                t.text = strip_article(t.text)
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        analyze_word = self.analyze_word
        qstops = self._query_stops() if mode == "query" else ()
        pos = start_pos
        gap = value.find(SECTION_BREAK) if positions else -1
        for match in WORD_RE.finditer(value):
            surface = match.group()
            if len(surface) > MAX_WORD_CHARS:
                continue
            while 0 <= gap < match.start():  # no phrase spans a section break
                pos += SECTION_GAP
                gap = value.find(SECTION_BREAK, gap + 1)
            norm, stem, stop = analyze_word(surface)
            if not stop and qstops and (norm in qstops or (
                    len(norm) >= 3 and norm[0] in self.query_clitics and norm[1:] in qstops)):
                stop = True
            if stop:
                if removestops or not norm:
                    continue
                t.stopped = True
            else:
                t.stopped = False
            t.text = stem
            t.boost = 1.0
            if keeporiginal:
                t.original = surface
            if positions:
                t.pos = pos
            pos += 1  # positions skip stopwords on both sides, so phrases agree
            if chars:
                t.startchar = start_char + match.start()
                t.endchar = start_char + match.end()
            yield t

    def _normalize_only(self, value: str) -> str:
        if not hasattr(self, "_cache"):
            self._setup()
        return self._normalize(value)

    def _query_stops(self) -> frozenset[str]:
        if not hasattr(self, "_cache"):
            self._setup()
        return self._qstops


# The last string split into words, and its words per section: a body is
# analyzed by the body field and then by its views, the same str object.
_last_split: tuple[str | None, list[list[str]]] = (None, [])


def split_sections(value: str) -> list[list[str]]:
    """The words of each section of ``value`` (``WORD_RE``; runs in C), the
    same list for the same str object as last time."""
    global _last_split
    last_value, words = _last_split
    if last_value is not value:
        words = [find_words(part) for part in value.split(SECTION_BREAK)]
        _last_split = (value, words)  # one assignment: safe if threads call this
    return words
