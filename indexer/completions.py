"""Completions for the search box: the words and two-word phrases of the
archive's headlines, counted, in one file per generation.

Why headlines: they are what people search for, short and written with
care, and their phrases (``وزير الخارجية``) are names and topics; a body's
word pairs are mostly grammar.  Why a file written at index time: ranking
by frequency needs counts over the whole archive, which a keystroke cannot
afford to compute.

An entry is a word of a headline that is not a stopword, or two such words
next to each other (no punctuation between them).  Its *key* is what the
analyzer's normalizer makes of it (hamza, ``ى``/``ي``, ``ة``/``ه``,
tashkeel and tatweel do not matter), each word without its article
(``indexer.stem.strip_article``), so ``الرياض`` and ``رياض`` are one entry
and the article may be typed or not.  An entry counts the live headlines
that hold it; it is shown as its most frequent spelling (ties: the first in
code point order).  Phrases found in a single headline are left out.

The file is derived from the generation's live documents, so a build and
an ``--update`` that hold the same articles write the same file.

An array file (indexer/arrayfile.py), ``COMPLETIONS.arr``, holding the
entries sorted by their keys' UTF-8 bytes:

- ``key_bytes`` / ``key_ends``: the keys (words joined by one space);
- ``text_bytes`` / ``text_ends``: the spelling shown for each;
- ``counts`` (uint32): the headlines holding each;
- ``by_count`` (uint32): the entries from the most frequent down (ties in
  key order), where the completions of a short prefix, a large share of
  the entries, are found without sorting them.
"""

from __future__ import annotations

import os
import re
from array import array
from itertools import chain, pairwise
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index

from indexer.analysis import MAX_WORD_CHARS, WORD_RE
from indexer.arrayfile import ArrayFile, ArrayFileWriter
from indexer.stem import PREFIXES, strip_article
from indexer.stored import StoredFields, stored_path

NAME = "COMPLETIONS.arr"
KIND = "completions"
VERSION = 1
#: A phrase must occur in this many headlines to be offered.
MIN_PHRASE_COUNT = 2
#: Below this many entries a prefix's range is sorted; above, ``by_count``
#: is walked until enough of them fall in the range.
_SCAN_FROM = 4096
#: The bare article, which a word being typed may so far be.
_ARTICLE = "ال"


def entries(headline: str, analyzer) -> set[tuple[str, str]]:
    """The (key, spelling) of the words and phrases of one headline."""
    words = _Words(analyzer)
    return {(words.key_text(key), words.spelling(spelling))
            for key, spelling in _coded_entries(headline, words)}


class _Words:
    """The distinct headline words met so far, numbered: each surface word
    is analyzed once, and its key and spelling are numbers from then on."""

    def __init__(self, analyzer):
        self.analyzer = analyzer
        # surface -> its entry's codes (``_coded_entries``), () for no entry
        self.numbers: dict[str, tuple[int, ...]] = {}
        self.keys: dict[str, int] = {}
        self.surfaces: list[str] = []

    def number(self, surface: str) -> tuple[int, ...]:
        """A word's (key code, spelling code, key number + 1, spelling
        number + 1): its entry's codes and what a phrase ending with it
        adds to its first word's; () for no entry."""
        found = self.numbers.get(surface)
        if found is None:
            key = _entry_key(surface, self.analyzer)
            found = ()
            if key:
                number = self.keys.setdefault(key, len(self.keys))
                spelling = len(self.surfaces)
                found = (number << 32, spelling << 32, number + 1, spelling + 1)
                self.surfaces.append(surface)
            self.numbers[surface] = found
        return found

    def key_text(self, code: int) -> str:
        return _decoded(code, list(self.keys))

    def spelling(self, code: int) -> str:
        return _decoded(code, self.surfaces)


def _decoded(code: int, texts: list[str]) -> str:
    """The text of an entry's code (below), given its words' texts."""
    first, second = code >> 32, code & _LOW
    return texts[first] if not second else f"{texts[first]} {texts[second - 1]}"


#: An entry, key or spelling, is one int64: its first word's number in the
#: high 32 bits, and its second's plus one in the low bits (0: a word).
_LOW = (1 << 32) - 1


#: A headline split into its words and what is between them:
#: [before the first word, word, between, word, ..., after the last].
_SPLIT_WORDS_RE = re.compile(f"({WORD_RE.pattern})")


def _coded_entries(headline: str, words: _Words) -> set[tuple[int, int]]:
    """``entries`` as (key code, spelling code) pairs.

    The words are looked up in one ``map`` over the split headline, not
    one ``finditer`` match at a time: a build's completions go through
    every headline of the archive, in the serial end of the build."""
    parts = _SPLIT_WORDS_RE.split(headline)
    surfaces = parts[1::2]
    coded = list(map(words.numbers.get, surfaces))
    if None in coded:  # words not met before
        coded = [words.number(surface) if codes is None else codes
                 for codes, surface in zip(coded, surfaces, strict=True)]
    found: set[tuple[int, int]] = set()
    previous: tuple[int, ...] = ()  # the last word, if it was an entry
    # Each word with the text before it.
    for codes, between in zip(coded, parts[:-1:2], strict=True):
        if codes:
            found.add(codes[:2])
            if previous and (not between or between.isspace()):
                found.add((previous[0] | codes[2], previous[1] | codes[3]))
        previous = codes
    return found


def _entry_key(surface: str, analyzer) -> str:
    """A headline word's key; '' for a word that is no entry (a stopword,
    one letter, a word the analyzer does not index)."""
    norm, stop = analyzer.normal_form(surface)
    if stop or len(surface) > MAX_WORD_CHARS or len(norm) < 2:
        return ""
    return strip_article(norm)


#: Entries counted between two reductions to distinct (key, spelling) pairs.
_REDUCE_EVERY = 1 << 22


def write(folder: Path, headlines, analyzer) -> None:
    """Write the completions of ``headlines`` (the live documents', any
    iterable) into the generation in ``folder``.  Written under another name
    and renamed, so a file shared with the previous generation (a hard
    link) is never rewritten in place.

    Why numbers: a million headlines hold millions of distinct word pairs,
    and a Counter of string pairs took gigabytes.  The entries are counted
    as int64 codes, reduced to distinct pairs every _REDUCE_EVERY entries;
    only the entries kept become strings, at the end."""
    words = _Words(analyzer)
    pending = array("q")  # key code, spelling code, key code, ...
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for headline in headlines:
        pending.extend(chain.from_iterable(_coded_entries(headline, words)))
        if len(pending) >= 2 * _REDUCE_EVERY:
            parts.append(_distinct(np.frombuffer(pending, dtype=np.int64).reshape(-1, 2)))
            pending = array("q")
    parts.append(_distinct(np.frombuffer(pending, dtype=np.int64).reshape(-1, 2)))
    keys, spellings, counts = _merged(parts)
    entry_keys, shown, count_array = _chosen(keys, spellings, counts, words)
    order = sorted(range(len(entry_keys)), key=lambda i: entry_keys[i].encode("utf-8"))
    count_array = count_array[np.array(order, dtype=np.int64)].astype(np.uint32)
    by_count = np.lexsort((np.arange(len(order)), -count_array.astype(np.int64)))
    tmp = folder / f"{NAME}.tmp"
    with ArrayFileWriter(str(tmp), KIND, VERSION) as out:
        out.meta["count"] = len(order)
        _put_strings(out, "key", [entry_keys[i] for i in order])
        _put_strings(out, "text", [shown[i] for i in order])
        out.put("counts", count_array, "<u4")
        out.put("by_count", by_count, "<u4")
    os.replace(tmp, folder / NAME)


def _distinct(pairs: np.ndarray, weights: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (key, spelling) rows of ``pairs``, sorted, and how many
    of each (``weights`` summed, or rows counted)."""
    if not len(pairs):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    keys, spellings = pairs[order, 0], pairs[order, 1]
    first = np.flatnonzero(np.concatenate([[True], (keys[1:] != keys[:-1])
                                           | (spellings[1:] != spellings[:-1])]))
    n = np.ones(len(order), np.int64) if weights is None else weights[order]
    return keys[first], spellings[first], np.add.reduceat(n, first)


def _merged(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    pairs = np.stack([np.concatenate([p[0] for p in parts]),
                      np.concatenate([p[1] for p in parts])], axis=1)
    return _distinct(pairs, np.concatenate([p[2] for p in parts]))


def _chosen(keys: np.ndarray, spellings: np.ndarray, counts: np.ndarray, words: _Words
            ) -> tuple[list[str], list[str], np.ndarray]:
    """The entries offered (every word; a phrase in MIN_PHRASE_COUNT
    headlines or more): their keys, the spelling each is shown as (its most
    frequent; ties: the first in code point order) and their counts."""
    if not len(keys):
        return [], [], np.zeros(0, np.int64)
    first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    group = np.cumsum(np.concatenate([[False], keys[1:] != keys[:-1]]))
    totals = np.add.reduceat(counts, first)
    # A spelling's place in code point order: two words' order is that of
    # their pairs (no word holds a space, which sorts below every letter).
    rank = np.empty(len(words.surfaces), dtype=np.int64)
    rank[np.array(sorted(range(len(words.surfaces)), key=words.surfaces.__getitem__),
                  dtype=np.int64)] = np.arange(len(words.surfaces))
    second = spellings & _LOW
    second_rank = np.where(second > 0, rank[np.maximum(second - 1, 0)], -1)
    best = np.lexsort((second_rank, rank[spellings >> 32], -counts, group))
    best = best[np.concatenate([[True], group[best][1:] != group[best][:-1]])]
    kept = np.flatnonzero(((keys[first] & _LOW) == 0) | (totals >= MIN_PHRASE_COUNT))
    key_texts = list(words.keys)
    surfaces = words.surfaces
    return ([_decoded(int(k), key_texts) for k in keys[first][kept]],
            [_decoded(int(s), surfaces) for s in spellings[best][kept]],
            totals[kept])


def _put_strings(out: ArrayFileWriter, name: str, values: list[str]) -> None:
    encoded = [v.encode("utf-8") for v in values]
    out.put(f"{name}_bytes", np.frombuffer(b"".join(encoded), dtype=np.uint8), "u1")
    out.put(f"{name}_ends", np.cumsum([len(v) for v in encoded], dtype=np.int64), "<i8")


class Completions:
    """A generation's completions file, memory-mapped.

    Raises ``indexer.arrayfile.ArrayFileError`` for a file that is not a
    complete completions file of this version."""

    def __init__(self, folder: Path | str, analyzer):
        self._file = ArrayFile(os.path.join(folder, NAME), KIND, VERSION)
        self.analyzer = analyzer
        self.count = int(self._file.meta["count"])
        self._key_bytes = self._file.array("key_bytes")
        self._key_ends = self._file.array("key_ends")
        self._text_bytes = self._file.array("text_bytes")
        self._text_ends = self._file.array("text_ends")
        self._counts = self._file.array("counts")
        self._by_count = self._file.array("by_count")
        if not (len(self._key_ends) == len(self._text_ends) == len(self._counts)
                == len(self._by_count) == self.count):
            raise ValueError("completions file: its arrays disagree")

    def _key(self, i: int) -> bytes:
        start = int(self._key_ends[i - 1]) if i else 0
        return self._key_bytes[start:int(self._key_ends[i])].tobytes()

    def _text(self, i: int) -> str:
        start = int(self._text_ends[i - 1]) if i else 0
        return self._text_bytes[start:int(self._text_ends[i])].tobytes().decode("utf-8")

    def _bisect(self, key: bytes) -> int:
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            if self._key(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def starting(self, prefix: str, limit: int) -> list[tuple[str, int]]:
        """(spelling, count) of the ``limit`` most frequent entries whose key
        starts with ``prefix`` (a key), most frequent first."""
        raw = prefix.encode("utf-8")
        lo = self._bisect(raw)
        hi = self._bisect(raw + b"\xff")  # no UTF-8 byte is 0xff: past every key with the prefix
        if hi - lo <= _SCAN_FROM:
            counts = self._counts[lo:hi].astype(np.int64)
            order = np.lexsort((np.arange(hi - lo), -counts))[:limit] + lo
        else:
            order = []
            for start in range(0, self.count, _SCAN_FROM):
                chunk = self._by_count[start:start + _SCAN_FROM]
                order.extend(chunk[(chunk >= lo) & (chunk < hi)][:limit - len(order)].tolist())
                if len(order) >= limit:
                    break
        return [(self._text(int(i)), int(self._counts[i])) for i in order]

    def spelling(self, word: str) -> str:
        """The archive's most frequent spelling of a normalized ``word``
        (``اسراءيل`` -> ``إسرائيل``), or the word itself when its headlines
        spell it otherwise (with another article or clitic) or never."""
        key = strip_article(word)
        raw = key.encode("utf-8")
        i = self._bisect(raw)
        if i < self.count and self._key(i) == raw:
            shown = self._text(i)
            if self.analyzer.analyze_word(shown)[0] == word:
                return shown
        return word

    def headlines(self, word: str) -> int:
        """How many live headlines hold a normalized ``word`` (with or
        without its article); 0 for a stopword or a word no headline holds."""
        raw = strip_article(word).encode("utf-8")
        i = self._bisect(raw)
        return int(self._counts[i]) if i < self.count and self._key(i) == raw else 0

    def complete(self, text: str, limit: int = 8) -> list[tuple[str, int]]:
        """Completions of what was typed so far: (the whole text to search,
        the headlines holding its completed part), most frequent first.

        The last word (being typed) is completed, with the word before it
        as a phrase's first word when that gives a phrase, else alone; a
        text that ends with a space asks for the phrases its last word
        begins.  What comes before is kept as typed."""
        words = list(WORD_RE.finditer(text))
        if not words or not text.strip():
            return []
        typing = not text[-1].isspace()
        last = self._typed_keys(words[-1].group(), partial=typing)
        groups = []  # (where the completed part starts in text, its keys), best first
        if typing and len(words) >= 2:
            before = self._typed_keys(words[-2].group(), partial=False)
            groups.append((words[-2].start(), [f"{a} {b}" for a in before for b in last]))
        groups.append((words[-1].start(), last if typing else [k + " " for k in last]))
        for start, keys in groups:
            found = sorted((hit for key in keys for hit in self.starting(key, limit)),
                           key=lambda hit: -hit[1])
            values = dict.fromkeys(text[:start] + shown for shown, _ in found)
            counts = {text[:start] + shown: n for shown, n in reversed(found)}
            if values:  # a phrase of the last two words: the last alone would stray from it
                return [(v, counts[v]) for v in list(values)[:limit]]
        return []

    def _typed_keys(self, word: str, partial: bool) -> list[str]:
        """The keys a typed word may stand for: none for a stopword (no
        entry holds one).  A word still being typed may be the article so
        far (``ا``, ``ال``: any word may follow, key '') or the article and
        a letter (``الر``: the article goes as soon as a letter follows)."""
        norm, _, stop = self.analyzer.analyze_word(word)
        if not partial:
            return [] if stop else [strip_article(norm)]
        if norm in PREFIXES:
            return [""]
        key = strip_article(norm)
        if key == norm:
            for article in PREFIXES:
                if norm.startswith(article) and len(norm) > len(article):
                    return [norm[len(article):]]
        return [key, ""] if _ARTICLE.startswith(norm) else [key]


#: A segment's headlines as its build wrote them (``write_headlines``): read
#: by the completions instead of every document's stored fields, then deleted.
HEADLINES_EXTENSION = ".headlines"
HEADLINES_KIND = "headlines"


def headlines_path(folder: str, segment) -> str:
    """Where the build leaves ``segment``'s headlines until the completions are written."""
    return os.path.join(folder, segment.make_filename(HEADLINES_EXTENSION))


def write_headlines(path: str, headlines: list[str]) -> None:
    """Leave a new segment's headlines (one a document, in order) for the
    completions: an array file of their UTF-8 bytes and ends.

    Why: the completions are the serial end of a build, and reading the
    headlines from the stored fields decompresses every whole document."""
    with ArrayFileWriter(path, HEADLINES_KIND, VERSION) as out:
        out.meta["count"] = len(headlines)
        _put_strings(out, "headline", headlines)


def _written_headlines(path: str) -> list[str]:
    found = ArrayFile(path, HEADLINES_KIND, VERSION)
    data, ends = found.array("headline_bytes").tobytes(), found.array("headline_ends").tolist()
    return [data[start:end].decode("utf-8") for start, end in pairwise([0, *ends])]


def headlines_of(folder: Path, searcher):
    """The headlines of the live documents of a searcher over the
    generation in ``folder``, one at a time: a segment's headlines file
    where its build left one for each of its documents, else its stored
    fields scanned in order (``StoredFields.scan``)."""
    for sub, _ in searcher.leaf_searchers():
        reader = sub.reader()
        written = headlines_path(str(folder), reader.segment())
        headlines = _written_headlines(written) if os.path.exists(written) else []
        if len(headlines) == reader.doc_count_all() > 0:
            yield from (headlines[docnum] for docnum in reader.all_doc_ids())
            continue
        path = stored_path(str(folder), reader.segment())
        if not os.path.exists(path):  # written by Whoosh's own codec (tests compare with it)
            yield from (reader.stored_fields(d).get("headline", "") for d in reader.all_doc_ids())
            continue
        live = np.zeros(reader.doc_count_all(), dtype=bool)
        live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True
        for docnum, fields in StoredFields(path).scan():
            if live[docnum]:
                yield fields.get("headline", "")


def write_generation(folder: Path) -> None:
    """Write the completions of the finished generation in ``folder`` (its
    segments final, its manifest still to come), with the analyzer that
    indexed its headlines."""
    ix = whoosh_index.open_dir(str(folder))
    try:
        with ix.searcher() as searcher:
            write(folder, headlines_of(folder, searcher), ix.schema["headline"].analyzer)
    finally:
        ix.close()
    for path in folder.glob(f"*{HEADLINES_EXTENSION}"):
        path.unlink()

