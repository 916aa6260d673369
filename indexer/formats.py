"""Whoosh posting formats that take the analyzer's word list in one call.

Whoosh's ``Frequency`` and ``Positions`` formats build a Token object per word
and count them in Python generators; a build analyzes every article's text
three times (body and its two views), and that per-word machinery cost about
as much as the analysis itself (bench profile, docs/performance.md).  These
give Whoosh exactly the same postings from ``ArabicAnalyzer.index_sections``.
Any other analyzer, or a value that is not a string, goes the generic way.

arshif's build does not use them (indexer/segment.py numbers the words
itself); they serve any other Whoosh writer given the schema (``ix.writer()``,
the tests' reference index).  The classes are pickled in the index's schema, so their
names must stay.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from itertools import chain

from whoosh.formats import Frequency, Positions
from whoosh.system import pack_uint


class WordCounts(Frequency):
    """``Frequency`` (term counts, no positions) for the field views."""

    def word_values(self, value, analyzer, **kwargs):
        sections = getattr(analyzer, "index_sections", None)
        if sections is None or not isinstance(value, str) or kwargs.get("mode") != "index":
            return super().word_values(value, analyzer, **kwargs)
        counts = Counter(chain.from_iterable(sections(value)))
        boost = self.field_boost
        return ((term, freq, freq * boost, pack_uint(freq)) for term, freq in counts.items())


class WordPositions(Positions):
    """``Positions`` (counts and positions: phrases) for headline, body, keywords."""

    def word_values(self, value, analyzer, **kwargs):
        index_terms = getattr(analyzer, "index_terms", None)
        if index_terms is None or not isinstance(value, str) or kwargs.get("mode") != "index":
            return super().word_values(value, analyzer, **kwargs)
        positions = defaultdict(list)
        for term, pos in index_terms(value):
            positions[term].append(pos)
        boost, encode = self.field_boost, self.encode
        return ((term, len(p), len(p) * boost, encode(p)) for term, p in positions.items())
