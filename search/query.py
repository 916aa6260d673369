"""Parse what a person typed into a Whoosh query.

Whoosh's query language (AND/OR/NOT, "phrases", field:term, grouping) plus
what Arabic users type without switching keyboards: ``-word`` to exclude,
Arabic field names (``العنوان:``, ``المصدر:``, ``الكلمات:``, ``النص:``,
``التاريخ:``), and Arabic punctuation treated as punctuation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh import qparser, query as wq
from whoosh.query.compound import CompoundQuery
from whoosh.query.wrappers import WrappingQuery

#: Arabic (and short English) aliases for field names in queries.
FIELD_ALIASES = {
    "headline": ["العنوان", "عنوان", "title"],
    "body": ["النص", "نص", "المتن", "text"],
    "keywords": ["الكلمات", "كلمات", "الوسوم"],
    "source": ["المصدر", "مصدر"],
    "date": ["التاريخ", "تاريخ"],
}

#: Fields searched when the query names none, with their query boosts
#: (fields missing from an older index are skipped).  ``body`` also indexes
#: the headline; ``body_exact`` / ``body_skel`` are its unstemmed and
#: vowel-less views (indexer/schema.py).  Chosen by measurement: docs/quality.md.
DEFAULT_FIELD_BOOSTS = {"headline": 0.75, "body": 1.0, "keywords": 1.0,
                        "body_exact": 0.3, "body_skel": 0.3}

#: Plain words are OR-ed: AND finds almost nothing for a natural-language
#: question (docs/quality.md).  No coordination bonus: Whoosh's
#: ``OrGroup.factory(scale)`` is lost when the parser flattens the per-field
#: groups of plain words (the ablation measured it as a no-op), and where it
#: survives (explicit OR) its CoordMatcher scores depend on document order.

#: Proximity bonus for plain multi-word queries (no operators, quotes or
#: fields): each pair of consecutive query words found within PROXIMITY_SLOP
#: positions of each other, in order, in one of PROXIMITY_FIELDS adds
#: PROXIMITY_BOOST times the pair's BM25 score.  Positions skip stopwords on
#: both sides, so "قوانين كرة القدم" pairs up as in the text.
PROXIMITY_BOOST = 0.0
PROXIMITY_SLOP = 1
PROXIMITY_FIELDS = ("body",)

#: Views that match MORE documents than the stemmed fields: the skeleton view
#: conflates much as a root would (``حروب`` / ``حرب``, ``عريض`` / ``عرض``).
#: They are added only to OR-ed queries (no AND/NOT, wildcard...) with at
#: least MIN_WIDENING_TERMS words, where they find answers phrased with other
#: forms; a one-word search finds that word, a lone quoted phrase stays a
#: phrase, and misspellings still get "did you mean".
WIDENING_VIEWS = ("body_skel",)
MIN_WIDENING_TERMS = 2

MAX_QUERY_CHARS = 500

# Arabic question mark, comma, semicolon, and '?' (not a wildcard here: people
# end questions with it) become spaces.  Quotes typed on Arabic keyboards and
# smart quotes become the ASCII quote Whoosh knows.
_PUNCT = str.maketrans({"؟": " ", "?": " ", "،": " ", "؛": " ", "«": '"', "»": '"',
                        "“": '"', "”": '"', "„": '"', "٭": "*"})
_SYNTAX_RE = re.compile(r"""[()"'\[\]{}:^~*+\-<>=]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|TO)\b""")


class QueryError(ValueError):
    """A query that cannot be searched at all (e.g. only stopwords)."""


@dataclass(frozen=True)
class Parsed:
    query: wq.Query
    text: str  # the query as cleaned and parsed
    fallback: bool = False  # True when the syntax was malformed and words were used


def clean(text: str) -> str:
    """Bound the length, drop control characters, map Arabic punctuation."""
    text = "".join(ch for ch in text[:MAX_QUERY_CHARS] if ch.isprintable() or ch == " ")
    return " ".join(text.translate(_PUNCT).split())


def make_parser(schema, field_boosts: dict[str, float] | None = None,
                conjunctive: bool = False) -> qparser.QueryParser:
    boosts = field_boosts or DEFAULT_FIELD_BOOSTS
    fields = [f for f in boosts if f in schema and f not in WIDENING_VIEWS]
    group = qparser.AndGroup if conjunctive else qparser.OrGroup
    parser = qparser.MultifieldParser(fields, schema, fieldboosts=boosts, group=group)
    parser.widening = {f: boosts[f] for f in WIDENING_VIEWS if f in boosts and f in schema}
    # For plain_query: what the MultifieldPlugin would search (None: AND grouping).
    parser.plain_fields = None if conjunctive else [(f, boosts[f]) for f in fields]
    parser.add_plugin(qparser.FieldAliasPlugin(FIELD_ALIASES))
    # +/- only at the start of a word: "2023-09" and "حزب-الله" stay whole.
    parser.add_plugin(qparser.PlusMinusPlugin(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-"))
    parser.add_plugin(qparser.GtLtPlugin())
    # '?' is punctuation here, never a single-character wildcard.
    parser.remove_plugin_class(qparser.WildcardPlugin)
    parser.add_plugin(qparser.WildcardPlugin(expr=r"(?P<text>[^ \t\r\n*()]*\*[^ \t\r\n*()]*|\*)"))
    return parser


def parse(parser: qparser.QueryParser, text: str) -> Parsed:
    """Parse; on malformed syntax fall back to the plain words of the query."""
    cleaned = clean(text)
    try:
        q = plain_query(parser, cleaned) or parser.parse(cleaned)
        if not _has_errors(q):
            q = cap_expansions(require_filters(lift_negations(q)))
            q = phrases_need_positions(parser.schema, q)
            q = with_widening(parser, q)
            return Parsed(with_proximity(parser.schema, q, cleaned), cleaned)
    except Exception:  # Whoosh raises assorted errors on odd syntax
        pass
    words = " ".join(_SYNTAX_RE.sub(" ", cleaned).split())
    try:
        q = parser.parse(words) if words else wq.NullQuery
        q = phrases_need_positions(parser.schema, q)
    except Exception:  # a parser bug we have not met: search nothing, never crash
        q = wq.NullQuery
    return Parsed(q, words, fallback=True)


def plain_query(parser: qparser.QueryParser, text: str) -> wq.Query | None:
    """What ``parser.parse`` makes of plain words, built directly; None for
    anything else (operators, quotes, fields, a word the analyzer splits).

    Why: Whoosh's parser spends ~2 ms on a few words (plugins, per-field
    copies, normalizing), as long as the whole vectorized search.  Plain
    words under OR grouping always parse to one flat Or of each word's
    term in each field, in order, duplicates dropped, which is quick to
    build; tests/test_query_plain.py checks it equals the parser's output.
    """
    fields = getattr(parser, "plain_fields", None)
    if fields is None or _SYNTAX_RE.search(text):
        return None
    terms: dict[wq.Term, None] = {}
    for word in text.split():
        for fieldname, boost in fields:
            tokens = list(parser.schema[fieldname].process_text(word, mode="query"))
            if len(tokens) > 1:
                return None
            if tokens:
                terms[wq.Term(fieldname, tokens[0], boost=boost)] = None
    if not terms:
        return wq.NullQuery
    return next(iter(terms)) if len(terms) == 1 else wq.Or(list(terms))


def lift_negations(q: wq.Query) -> wq.Query:
    """``a b NOT c`` / ``a -c`` mean "a or b, but never c".

    Under an OR grouping Whoosh reads ``NOT c`` as one more optional clause
    (``a OR b OR NOT c``), which matches nearly every document.  Rewrite each
    such Or into ``(a OR b) ANDNOT c``.
    """
    if isinstance(q, wq.Or):
        children = [lift_negations(c) for c in q.subqueries]
        nots = [c.query for c in children if isinstance(c, wq.Not)]
        rest = [c for c in children if not isinstance(c, wq.Not)]
        if nots and rest:
            positive = q.__class__(rest, boost=q.boost, **_or_options(q)) if len(rest) > 1 else rest[0]
            negative = wq.Or(nots) if len(nots) > 1 else nots[0]
            return wq.AndNot(positive, negative)
        return q.__class__(children, boost=q.boost, **_or_options(q))
    if isinstance(q, (CompoundQuery, WrappingQuery)):  # And, AndNot, Not, boosts...
        return q.apply(lift_negations)
    return q


#: Fields that narrow a search rather than describe its topic.
FILTER_FIELDS = frozenset({"source", "date", "year", "month"})


def require_filters(q: wq.Query) -> wq.Query:
    """``المصدر:"الجزيرة نت" الاقتصاد`` means "about the economy, FROM al-Jazeera".

    Under OR grouping a source or date clause would be just one more optional
    word; make such clauses of the top-level query required instead.
    """
    if isinstance(q, wq.AndNot):
        return wq.AndNot(require_filters(q.a), q.b)
    if not isinstance(q, wq.Or):
        return q
    filters = [c for c in q.subqueries if c.field() in FILTER_FIELDS]
    if not filters:
        return q
    rest = [c for c in q.subqueries if c.field() not in FILTER_FIELDS]
    topic = [q.__class__(rest, boost=q.boost, **_or_options(q)) if len(rest) > 1 else rest[0]] if rest else []
    return wq.And(topic + filters)


def _or_options(q: wq.Or) -> dict:
    return {"scale": q.scale} if getattr(q, "scale", None) is not None else {}


def proximity_query(schema, text: str) -> wq.Query | None:
    """Optional phrase clauses for consecutive word pairs of a plain query."""
    if PROXIMITY_BOOST <= 0 or _SYNTAX_RE.search(text):
        return None
    clauses = []
    for fieldname in PROXIMITY_FIELDS:
        if fieldname not in schema:
            continue
        field = schema[fieldname]
        if not field.format or not field.format.supports("positions"):
            continue
        terms = [t.text for t in field.analyzer(text, mode="query")]
        pairs = dict.fromkeys((a, b) for a, b in zip(terms, terms[1:]) if a != b)
        clauses.extend(wq.Phrase(fieldname, list(pair), slop=PROXIMITY_SLOP, boost=PROXIMITY_BOOST)
                       for pair in pairs)
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else wq.Or(clauses)


def with_widening(parser: qparser.QueryParser, q: wq.Query) -> wq.Query:
    """``q`` OR the WIDENING_VIEWS terms of a plain query of 2+ words.

    Plain: only terms and phrases, OR-ed (no AND/NOT, wildcard...), so
    widening cannot break what the syntax asked for; a quoted phrase's words
    are widened only beside loose words.  The view terms are computed from
    the parsed ``body`` terms (the views are functions of the light10 stem).
    """
    views = getattr(parser, "widening", {})
    schema = parser.schema
    if (not views or q is wq.NullQuery or "body" not in schema
            or getattr(schema["body"].analyzer, "stemmer", None) != "light10"):
        return q
    stems: list[str] = []
    quoted: list[str] = []

    def collect(sub: wq.Query) -> bool:
        if type(sub) is wq.Term:
            if sub.fieldname == "body":
                stems.append(sub.text)
            return True
        if type(sub) is wq.Phrase:  # one more OR-ed clause
            if sub.fieldname == "body":
                quoted.extend(sub.words)
            return True
        if type(sub) is wq.AndMaybe:  # a bonus (phrases_need_positions)
            return collect(sub.a)
        return type(sub) is wq.Or and all(collect(c) for c in sub.subqueries)

    # Quoted words are widened only beside loose words: a query that is just
    # a phrase keeps phrase semantics.
    if not collect(q) or not stems or len(stems) + len(quoted) < MIN_WIDENING_TERMS:
        return q
    stems += quoted
    clauses = []
    for name, boost in views.items():
        analyzer = schema[name].analyzer
        terms = [analyzer.stem_term(stem) for stem in stems] if boost > 0 else []
        clauses.extend(wq.Term(name, term, boost=boost) for term in terms if term)
    return wq.Or([q, *clauses]) if clauses else q


def with_proximity(schema, q: wq.Query, text: str) -> wq.Query:
    """``q`` plus, for plain multi-word queries, the proximity bonus."""
    if q is wq.NullQuery:
        return q
    bonus = proximity_query(schema, text)
    return q if bonus is None else wq.AndMaybe(q, bonus)


def phrases_need_positions(schema, q: wq.Query) -> wq.Query:
    """Phrases on fields indexed without positions (the ``body_exact`` /
    ``body_skel`` views), where Whoosh would raise, become a bonus: documents
    that match the rest of their OR group and hold all the phrase's words in
    that view score extra.  A quoted phrase still only MATCHES as a phrase,
    in the positional fields."""
    def unpositioned(sub) -> bool:
        if not isinstance(sub, wq.Phrase) or sub.fieldname not in schema:
            return False
        fmt = schema[sub.fieldname].format
        return not (fmt and fmt.supports("positions"))

    if not any(unpositioned(sub) for sub in _walk(q)):
        return q

    def words(phrase: wq.Phrase) -> wq.Query:
        terms = [wq.Term(phrase.fieldname, w) for w in phrase.words]
        return wq.And(terms, boost=phrase.boost) if len(terms) > 1 else (
            wq.Term(phrase.fieldname, terms[0].text, boost=phrase.boost) if terms else wq.NullQuery)

    def fix(sub: wq.Query) -> wq.Query:
        if unpositioned(sub):
            return wq.NullQuery
        if not sub.children():
            return sub
        if isinstance(sub, wq.Or) and any(unpositioned(c) for c in sub.subqueries):
            rest = [fix(c) for c in sub.subqueries if not unpositioned(c)]
            bonus = [words(c) for c in sub.subqueries if unpositioned(c)]
            if not rest:
                return wq.NullQuery
            new = _copy.copy(sub)
            new.subqueries = type(sub.subqueries)(rest)
            return wq.AndMaybe(new, wq.Or(bonus))
        return _map_children(sub, fix)

    return fix(q).normalize()


def _has_errors(q: wq.Query) -> bool:
    """Whoosh marks unparseable bits as ErrorQuery instead of raising."""
    return any(isinstance(sub, wq.qcore._NullQuery) is False and type(sub).__name__ == "ErrorQuery"
               for sub in _walk(q))


def _walk(q: wq.Query):
    yield q
    for child in q.children():
        yield from _walk(child)


def positive_terms(q: wq.Query) -> list[tuple[str, str]]:
    """(field, text) of the terms a document should match (not the excluded ones)."""
    out = []
    if isinstance(q, wq.Not):
        return out
    if isinstance(q, wq.AndNot):
        return positive_terms(q.a)
    if isinstance(q, (wq.Term,)):
        return [(q.fieldname, q.text)]
    if isinstance(q, wq.Phrase):
        return [(q.fieldname, w) for w in q.words]
    for child in q.children():
        out.extend(positive_terms(child))
    return out


# -- bounded expansion (reliability; see docs/reliability.md) ----------------
import copy as _copy  # noqa: E402  (kept with the code that uses them)
import heapq as _heapq  # noqa: E402
from itertools import islice as _islice  # noqa: E402

from whoosh.query.terms import MultiTerm as _MultiTerm  # noqa: E402

#: A prefix, wildcard or term range is searched as its MAX_EXPANSIONS most
#: frequent terms, chosen among at most MAX_SCANNED_TERMS vocabulary entries;
#: ``*`` and ``field:*`` (but not ``source:*``, ``date:*``…) mean every article.
#: Unbounded, Whoosh OR-ed every matching term of the vocabulary: ``ا*`` took
#: 3 s and ``*`` 13 s over a 300k-word vocabulary, before the per-search time
#: limit even started counting.
MAX_EXPANSIONS = 100
MAX_SCANNED_TERMS = 50_000


class _CappedExpansion:
    """Mixin for Whoosh multi-term queries: expand to a bounded set of terms."""

    def _btexts(self, ixreader):
        fieldname = self.field()
        if fieldname not in ixreader.schema:
            return []
        if isinstance(self, wq.PatternQuery) and not isinstance(self, wq.Prefix):
            # Wildcard/Regex: bound the vocabulary scanned, not just the matches
            # (a leading "*" would otherwise test every term of the field).
            field = ixreader.schema[fieldname]
            pattern = re.compile(self._get_pattern())
            prefix = self._find_prefix(self.text)
            candidates = (ixreader.expand_prefix(fieldname, prefix) if prefix
                          else ixreader.lexicon(fieldname))
            found = (b for b in _islice(candidates, MAX_SCANNED_TERMS)
                     if pattern.match(field.from_bytes(b)))
        else:
            found = _islice(super()._btexts(ixreader), MAX_SCANNED_TERMS)
        top = _heapq.nlargest(MAX_EXPANSIONS, found,
                              key=lambda b: ixreader.doc_frequency(fieldname, b))
        return sorted(top)


_CAPPED_CLASSES: dict[type, type] = {}


def _capped_class(cls: type) -> type:
    if cls not in _CAPPED_CLASSES:
        _CAPPED_CLASSES[cls] = type(f"Capped{cls.__name__}", (_CappedExpansion, cls), {})
    return _CAPPED_CLASSES[cls]


def cap_expansions(q: wq.Query) -> wq.Query:
    """Bound the cost of ``*``, prefixes, wildcards and ranges in a parsed query."""
    if isinstance(q, wq.Every):
        if q.fieldname is None or q.fieldname in FILTER_FIELDS:
            return q  # every document (cheap), or a small filter vocabulary
        return wq.Every(boost=q.boost)
    if isinstance(q, _MultiTerm):
        if isinstance(q, _CappedExpansion):
            return q
        text = getattr(q, "text", None)
        if (isinstance(q, wq.Prefix) and not text) or (
                isinstance(q, wq.Wildcard) and text and set(text) <= {"*"}):
            return cap_expansions(wq.Every(q.fieldname, boost=q.boost))
        capped = _copy.copy(q)
        capped.__class__ = _capped_class(type(q))
        return capped
    if not q.children():
        return q
    return _map_children(q, cap_expansions)


def _map_children(q: wq.Query, fn) -> wq.Query:
    """A copy of ``q`` with ``fn`` applied to each child query.

    Whoosh's ``Query.apply`` rebuilds a query from its constructor arguments,
    which loses attributes our capped classes and wrappers carry; this copies
    the node and replaces only its children (``a``/``b`` of binary queries,
    the child of wrappers, ``subqueries`` of compounds)."""
    new = _copy.copy(q)
    for attr in ("a", "b", "child", "query", "q"):
        value = getattr(q, attr, None)
        if isinstance(value, wq.Query):
            setattr(new, attr, fn(value))
    if isinstance(q, wq.compound.BinaryQuery):
        new.subqueries = (new.a, new.b)
    elif isinstance(getattr(q, "subqueries", None), (list, tuple)):
        new.subqueries = type(q.subqueries)(fn(c) for c in q.subqueries)
    return new
