"""Parse what a person typed into a Whoosh query.

Whoosh's query language (AND/OR/NOT, "phrases", field:term, grouping) plus
what Arabic users type without switching keyboards: ``-word`` to exclude,
Arabic field names (``العنوان:``, ``المصدر:``, ``الكلمات:``, ``النص:``,
``التاريخ:``), and Arabic punctuation treated as punctuation.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from whoosh import fields as wf, qparser, query as wq
from whoosh.qparser import syntax
from whoosh.query.compound import CompoundQuery
from whoosh.query.wrappers import WrappingQuery

from indexer.schema import BadDate, DateField
from search.settings import SearchSettings

#: Arabic (and short English) aliases for field names in queries.
FIELD_ALIASES = {
    "headline": ["العنوان", "عنوان", "title"],
    "body": ["النص", "نص", "المتن", "text"],
    "keywords": ["الكلمات", "كلمات", "الوسوم"],
    "source": ["المصدر", "مصدر"],
    "date": ["التاريخ", "تاريخ"],
}

MAX_QUERY_CHARS = 500

#: Fields the indexer keeps for itself (``--update`` finds a file's articles
#: by ``path``), never searched from a query: ``path:/home*`` would let anyone
#: probe where the server's archive lives.  ``field:`` with one of them is
#: read as plain words.
INTERNAL_FIELDS = frozenset({"path", "signature", "content_key", "date_text", "related", "parent"})

# Arabic question mark, comma, semicolon, and '?' (not a wildcard here: people
# end questions with it) become spaces.  Quotes typed on Arabic keyboards and
# smart quotes become the ASCII quote Whoosh knows.
_PUNCT = str.maketrans({"؟": " ", "?": " ", "،": " ", "؛": " ", "«": '"', "»": '"',
                        "“": '"', "”": '"', "„": '"', "٭": "*"})
# Controls and every kind of space or line break separate words (a NUL or a
# tab between two words must not join them); other characters that are not
# printable (zero-width joiners, bidi marks: inside a word they do not split
# it, as in the index) are dropped.
_SEPARATORS = re.compile(r"[\x00-\x1f\x7f-\x9f\s]")
_SYNTAX_RE = re.compile(r"""[()"'\[\]{}:^~*+\-<>=]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE|TO)\b""")
#: The ``*`` of a prefix as ``plain_query`` builds it: at the end of a word
#: (then a space or the end), after a character that is not one; the word's
#: other characters are checked for syntax as any word's are.
_PLAIN_PREFIX_RE = re.compile(r"(?<=[^\s*])\*(?!\S)")
#: A quoted phrase as ``plain_query`` builds it: quotes that stand as a
#: word's ends, holding words and no syntax.
_PLAIN_PHRASE_RE = re.compile(r'(?<!\S)"([^"]+)"(?!\S)')
#: ``plain_query``'s words and phrases, in order.
_PLAIN_TOKEN_RE = re.compile(_PLAIN_PHRASE_RE.pattern + r"|\S+")


@dataclass(frozen=True)
class Parsed:
    query: wq.Query
    text: str  # the query as cleaned and parsed
    #: Sources the query names (``المصدر:…``) that match no indexed source.
    unknown_sources: tuple[str, ...] = ()
    #: The query names a date (``التاريخ:…``) that is not one: it searches
    #: nothing (``query`` is NullQuery) and says so.
    bad_date: bool = False


class PrefixPhrase(wq.Phrase):
    """A quoted phrase some of whose words were typed with a final ``*``
    (``"وزير الخار*"``): ``prefixes`` holds, per word, the prefix it stands
    for (as a loose ``الخار*`` is parsed in the same field), or None for a
    word matched as itself.

    Whoosh's parser reads the ``*`` of a quoted word as punctuation, so the
    phrase would look for the stem of the unfinished word.  The embedded
    backend searches a prefix word as its expansions (search/matching.py),
    the cluster as a span of the prefix (search/cluster/translate.py)."""

    def __init__(self, fieldname, words, slop=1, boost=1.0, char_ranges=None, prefixes=None):
        super().__init__(fieldname, words, slop=slop, boost=boost, char_ranges=char_ranges)
        self.prefixes = tuple(prefixes) if prefixes is not None else (None,) * len(words)

    def __eq__(self, other):
        return super().__eq__(other) and self.prefixes == other.prefixes

    def __hash__(self):
        return super().__hash__() ^ hash(self.prefixes)

    def normalize(self):
        if len(self.words) == 1 and self.prefixes[0] is not None:
            return wq.Prefix(self.fieldname, self.prefixes[0], boost=self.boost)
        return super().normalize() if len(self.words) < 2 else self

    def __repr__(self):
        return f"{type(self).__name__}({self.fieldname!r}, {self.shown()!r}, slop={self.slop})"

    def __unicode__(self):
        return f'{self.fieldname}:"{" ".join(self.shown())}"'

    __str__ = __unicode__

    def shown(self) -> list[str]:
        """The words, a prefix as ``prefix*``."""
        return [word if prefix is None else f"{prefix}*"
                for word, prefix in zip(self.words, self.prefixes, strict=True)]


def clean(text: str) -> str:
    """Bound the length, drop control characters, map Arabic punctuation."""
    text = _SEPARATORS.sub(" ", text[:MAX_QUERY_CHARS])
    text = "".join(ch for ch in text if ch.isprintable() or ch == " ")
    return " ".join(text.translate(_PUNCT).split())


def count_patterns(text: str) -> int:
    """The wildcard terms in ``text`` (words with ``*``), counted before
    parsing: what search/budget.py charges up front."""
    return sum("*" in word for word in clean(text).split())


def make_parser(schema, settings: SearchSettings, sources=None) -> qparser.QueryParser:
    # The parser sees only the searchable fields: Whoosh's field syntax reads
    # a field name it does not know as text.
    schema = wf.Schema(**{name: field for name, field in schema.items()
                          if name not in INTERNAL_FIELDS})
    boosts = dict(settings.field_boosts)
    views = settings.widening_views
    fields = [f for f in boosts if f in schema and f not in views]
    group = qparser.AndGroup if settings.conjunctive else qparser.OrGroup
    parser = qparser.MultifieldParser(fields, schema, fieldboosts=boosts, group=group)
    parser.widening = {f: boosts[f] for f in views if f in boosts and f in schema}
    parser.body_boost = boosts.get("body", 1.0)  # a word's own boost is body's over this
    parser.source_names = sources  # search/sources.py: what a typed source selects
    parser.min_widening_terms = settings.min_widening_terms
    # For plain_query: what the MultifieldPlugin would search (None: AND grouping).
    parser.plain_fields = None if settings.conjunctive else [(f, boosts[f]) for f in fields]
    parser.field_tokens = {}  # plain_query's analyzed words (_field_tokens)
    parser.add_plugin(qparser.FieldAliasPlugin(FIELD_ALIASES))
    # +/- only at the start of a word: "2023-09" and "حزب-الله" stay whole.
    parser.add_plugin(_PlusMinus(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-"))
    parser.add_plugin(qparser.GtLtPlugin())
    # '?' is punctuation here, never a single-character wildcard.
    parser.remove_plugin_class(qparser.WildcardPlugin)
    parser.add_plugin(qparser.WildcardPlugin(expr=r"(?P<text>[^ \t\r\n*()]*\*[^ \t\r\n*()]*|\*)"))
    return parser


class _PlusMinus(qparser.PlusMinusPlugin):
    """``+`` and ``-`` as Whoosh reads them, but for a query of exclusions
    alone (``-النفط``, ``-النفط -الغاز``): Whoosh searches nothing for it,
    where ``NOT النفط`` finds every article without the word.  Both find
    the articles with none of the words."""

    def do_plusminus(self, parser, group):
        group = super().do_plusminus(parser, group)
        if isinstance(group, syntax.AndNotGroup) and not len(group[0]):
            return syntax.NotGroup([group[1]])
        return group


def parse(parser: qparser.QueryParser, text: str) -> Parsed:
    """Parse; on malformed syntax fall back to the plain words of the query."""
    sources = getattr(parser, "source_names", None)
    cleaned = quote_source_names(clean(text), sources)
    try:
        plain = plain_query(parser, cleaned)
        if plain is not None:
            # Plain words, prefixes and phrases name no date, source or
            # filter field and hold no negation, error or quoted prefix:
            # of the passes below only the last two can change them, and
            # the first of these only a quoted phrase.
            if '"' in cleaned:
                plain = phrases_need_positions(parser.schema, plain)
            return Parsed(with_widening(parser, plain), cleaned)
        q = quoted_dates(parser.schema, parser.parse(cleaned))
        if has_bad_date(q):
            return Parsed(wq.NullQuery, cleaned, bad_date=True)
        if not _has_errors(q):
            q = require_filters(lift_negations(quoted_prefixes(parser, q, cleaned)))
            q, unknown = resolve_sources(q, sources)
            q = phrases_need_positions(parser.schema, q)
            return Parsed(with_widening(parser, q), cleaned, unknown)
    except Exception:  # Whoosh raises assorted errors on odd syntax
        pass
    words = " ".join(_SYNTAX_RE.sub(" ", cleaned).split())
    try:
        q = parser.parse(words) if words else wq.NullQuery
        q = phrases_need_positions(parser.schema, q)
    except Exception:  # a parser bug we have not met: search nothing, never crash
        q = wq.NullQuery
    return Parsed(q, words)


#: The most words a source name typed without quotes may run to.
SOURCE_NAME_WORDS = 4
#: A source clause's field (``المصدر:``), where a clause may begin.
_SOURCE_FIELD = (r'(?<![^\s(+\-])('
                 + "|".join(map(re.escape, ["source", *FIELD_ALIASES["source"]])) + "):")
_SOURCE_CLAUSE = re.compile(_SOURCE_FIELD + r'(?=[^\s"()])')
_NAME_WORD = re.compile(r'[^\s"()]+')


def quote_source_names(text: str, names) -> str:
    """``المصدر:الخليج الجديد`` means the source «الخليج الجديد»: a source
    clause typed without quotes takes the words after it while they make a
    known source's name (search/sources.py), and that name is quoted.  A
    single word stays as typed."""
    if names is None:
        return text
    out, done = [], 0
    for clause in _SOURCE_CLAUSE.finditer(text):
        start = clause.end()
        if start <= done:
            continue
        ends, at = [], start
        while len(ends) < SOURCE_NAME_WORDS and (word := _NAME_WORD.match(text, at)):
            ends.append(word.end())
            if text[word.end():word.end() + 1] != " ":
                break
            at = word.end() + 1
        end = next((e for e in reversed(ends[1:]) if names.resolve(text[start:e])), None)
        if end is not None:
            out += [text[done:start], f'"{text[start:end]}"']
            done = end
    return "".join(out) + text[done:]


def plain_query(parser: qparser.QueryParser, text: str) -> wq.Query | None:
    """What ``parser.parse`` makes of plain words, prefixes (``word*``) and
    quoted phrases of plain words, built directly; None for anything else
    (operators, fields, other wildcards, a word the analyzer splits, a
    phrase that keeps fewer than two words in a field).

    Why: Whoosh's parser spends about as long on a few words (plugins,
    per-field copies, normalizing) as the whole search takes.  Plain
    words under OR grouping always parse to one flat Or of each word's
    term (a prefix's Prefix; a phrase's Phrase, its words' places in
    ``text`` kept) in each field, in order, duplicates dropped, which is
    quick to build; tests/test_query_plain.py checks it equals the
    parser's output.
    """
    fields = getattr(parser, "plain_fields", None)
    if fields is None:
        return None
    phrases = _PLAIN_PHRASE_RE.findall(text)
    if _SYNTAX_RE.search(_PLAIN_PREFIX_RE.sub("", _PLAIN_PHRASE_RE.sub(" ", text))) or any(
            _SYNTAX_RE.search(phrase) for phrase in phrases):
        return None
    queries: dict[wq.Query, None] = {}
    for token in _PLAIN_TOKEN_RE.finditer(text):
        if token.group(1) is not None:
            found = _plain_phrase(parser, fields, token.group(1), token.start(1))
            if found is None:
                return None
            queries.update(dict.fromkeys(found))
            continue
        word = token.group()
        prefix = word.endswith("*")
        for fieldname, boost in fields:
            tokens = _field_tokens(parser, fieldname, word, prefix)
            if len(tokens) > 1:
                return None
            if not tokens:
                continue
            if not prefix:
                queries[wq.Term(fieldname, tokens[0], boost=boost)] = None
                continue
            found = wq.Wildcard(fieldname, tokens[0], boost=boost).normalize()
            if type(found) is not wq.Prefix:
                return None
            queries[found] = None
    if not queries:
        return wq.NullQuery
    return next(iter(queries)) if len(queries) == 1 else wq.Or(list(queries))


#: The words whose terms a parser keeps (``_field_tokens``); past it, it
#: starts afresh (the frequent words come back at once).
PARSED_WORDS = 20_000


def _field_tokens(parser: qparser.QueryParser, fieldname: str, word: str,
                  prefix: bool) -> list[str]:
    """The terms a field makes of one query word (a prefix analyzed whole,
    its stopwords kept, as Whoosh's wildcard node has it analyzed), kept
    with the parser: Whoosh's analysis of a word (a Token through each
    filter) costs more than the rest of a plain query's parse, and the
    same words are searched again and again.  Fields of one analyzer
    share their terms."""
    kept = parser.field_tokens
    field = parser.schema[fieldname]
    key = (id(field.analyzer), type(field), word, prefix)
    tokens = kept.get(key)
    if tokens is None:
        if len(kept) >= PARSED_WORDS:
            kept.clear()
        tokens = kept[key] = list(
            field.process_text(word, mode="query", tokenize=False, removestops=False)
            if prefix else field.process_text(word, mode="query"))
    return tokens


def _plain_phrase(parser: qparser.QueryParser, fields: list[tuple[str, float]], phrase: str,
                  start: int) -> list[wq.Phrase] | None:
    """A quoted phrase's Phrase in each field, as Whoosh's phrase plugin
    makes it (its words as the field analyzes them, their places from
    ``start``, the field's boost); None when a field keeps fewer than two
    of its words (the parser then makes a term, or nothing)."""
    found, analyzed = [], {}
    for fieldname, boost in fields:
        field = parser.schema[fieldname]
        kind = (type(field), id(field.analyzer))
        words = analyzed.get(kind)
        if words is None:  # a token is reused by the analyzer: its values are copied
            words = analyzed[kind] = [(t.text, start + t.startchar, start + t.endchar)
                                      for t in field.tokenize(phrase, mode="query", chars=True)]
        if len(words) < 2:
            return None
        found.append(wq.Phrase(fieldname, [w for w, _, _ in words], boost=boost,
                               char_ranges=[(s, e) for _, s, e in words]))
    return found


def quoted_prefixes(parser: qparser.QueryParser, q: wq.Query, text: str) -> wq.Query:
    """``q`` (parsed from ``text``) with each phrase holding a word typed with
    a final ``*`` made a PrefixPhrase (a quoted single word, a Prefix).  The
    phrase's character ranges say where each of its words was typed, so the
    ``*`` after one is found."""
    def fix(sub: wq.Query) -> wq.Query:
        if type(sub) is wq.Phrase and len(sub.words) > 1 and sub.char_ranges:
            prefixes = [_typed_prefix(parser, sub.fieldname, text, start, end)
                        for start, end in sub.char_ranges]
            if any(prefixes):
                return PrefixPhrase(sub.fieldname, sub.words, slop=sub.slop, boost=sub.boost,
                                    char_ranges=sub.char_ranges, prefixes=prefixes)
            return sub
        if type(sub) is wq.Term and getattr(sub, "endchar", None) is not None:
            # A quoted single word: Whoosh's parser makes it a term.
            prefix = _typed_prefix(parser, sub.fieldname, text, sub.startchar, sub.endchar)
            return sub if prefix is None else wq.Prefix(sub.fieldname, prefix, boost=sub.boost)
        return _map_children(sub, fix) if sub.children() else sub

    return fix(q) if "*" in text else q


def _typed_prefix(parser: qparser.QueryParser, fieldname: str, text: str,
                  start: int | None, end: int | None) -> str | None:
    """The prefix a phrase's word stands for, if a ``*`` follows it."""
    if start is None or end is None or text[end:end + 1] != "*":
        return None
    found = parser.term_query(fieldname, text[start:end] + "*", wq.Wildcard, tokenize=False,
                              removestops=False)
    found = found.normalize() if found is not None else None
    return found.text if isinstance(found, wq.Prefix) and found.text else None


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
        if nots:
            negative = wq.Or(nots) if len(nots) > 1 else nots[0]
            if not rest:  # NOT a NOT b: the articles with neither, not those missing one
                return wq.Not(negative)
            positive = (q.__class__(rest, boost=q.boost, **_or_options(q)) if len(rest) > 1
                        else rest[0])
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
    word; make such clauses of the top-level query required instead.  Clauses
    on the same field stay alternatives (an article has one source and one
    date): ``المصدر:العربية المصدر:الجزيرة`` is from either.
    """
    if isinstance(q, wq.AndNot):
        return wq.AndNot(require_filters(q.a), q.b)
    if not isinstance(q, wq.Or):
        return q
    filters = [c for c in q.subqueries if c.field() in FILTER_FIELDS]
    if not filters:
        return q
    rest = [c for c in q.subqueries if c.field() not in FILTER_FIELDS]
    topic = []
    if rest:
        topic = [q.__class__(rest, boost=q.boost, **_or_options(q)) if len(rest) > 1 else rest[0]]
    by_field: dict[str, list[wq.Query]] = {}
    for clause in filters:
        by_field.setdefault(clause.field(), []).append(clause)
    return wq.And(topic + [alike[0] if len(alike) == 1 else wq.Or(alike)
                           for alike in by_field.values()])


def resolve_sources(q: wq.Query, names) -> tuple[wq.Query, tuple[str, ...]]:
    """``q`` with each source it names (``المصدر:الجزيره``) matched to the
    indexed values the way the source filter matches them (search/sources.py:
    by value or display name, case and spelling aside), and the names that
    match none (such a clause stays, and matches nothing)."""
    unknown: list[str] = []

    def fix(sub: wq.Query) -> wq.Query:
        if type(sub) is wq.Term and sub.fieldname == "source":
            values = names.resolve(sub.text)
            if not values:
                unknown.append(sub.text)
                return sub
            terms = [wq.Term("source", value, boost=sub.boost) for value in values]
            return terms[0] if len(terms) == 1 else wq.Or(terms)
        return _map_children(sub, fix) if sub.children() else sub

    if names is None:
        return q, ()
    q = fix(q)
    return q, tuple(dict.fromkeys(unknown))


def _or_options(q: wq.Or) -> dict:
    return {"scale": q.scale} if getattr(q, "scale", None) is not None else {}


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
    # Each word's stem with the boost the query gives it (1 unless boosted),
    # which its view terms carry too.
    base = parser.body_boost
    stems: list[tuple[str, float]] = []
    quoted: list[tuple[str, float]] = []

    def collect(sub: wq.Query, scale: float = 1.0) -> bool:
        if type(sub) is wq.Term:
            if sub.fieldname == "body":
                stems.append((sub.text, scale * sub.boost / base))
            return True
        if type(sub) is wq.Phrase:  # one more OR-ed clause
            if sub.fieldname == "body":
                quoted.extend((word, scale * sub.boost / base) for word in sub.words)
            return True
        if type(sub) is wq.AndMaybe:  # a bonus (phrases_need_positions)
            return collect(sub.a, scale * sub.boost)
        return type(sub) is wq.Or and all(collect(c, scale * sub.boost) for c in sub.subqueries)

    # Quoted words are widened only beside loose words: a query that is just
    # a phrase keeps phrase semantics.
    if not collect(q) or not stems or len(stems) + len(quoted) < parser.min_widening_terms:
        return q
    stems += quoted
    clauses = []
    for name, boost in views.items():
        analyzer = schema[name].analyzer
        terms = [(analyzer.stem_term(stem), given) for stem, given in stems] if boost > 0 else []
        clauses.extend(wq.Term(name, term, boost=boost * given) for term, given in terms if term)
    return wq.Or([q, *clauses]) if clauses else q


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

    if not any(unpositioned(sub) for sub in walk(q)):
        return q

    def words(phrase: wq.Phrase) -> wq.Query:
        prefixes = getattr(phrase, "prefixes", (None,) * len(phrase.words))
        terms = [wq.Term(phrase.fieldname, w) if prefix is None
                 else wq.Prefix(phrase.fieldname, prefix)
                 for w, prefix in zip(phrase.words, prefixes, strict=True)]
        if len(terms) > 1:
            return wq.And(terms, boost=phrase.boost)
        return terms[0].with_boost(phrase.boost) if terms else wq.NullQuery

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
            new = copy.copy(sub)
            new.subqueries = type(sub.subqueries)(rest)
            # One bonus is not wrapped in an Or: normalizing that Or would copy the
            # bonus whole (Whoosh's with_boost) to give it its own boost again.
            return wq.AndMaybe(new, bonus[0] if len(bonus) == 1 else wq.Or(bonus))
        return _map_children(sub, fix)

    return fix(q).normalize()


def quoted_dates(schema, q: wq.Query) -> wq.Query:
    """``q`` with each quoted date (``التاريخ:"26 سبتمبر 2023"``) read as the
    date field reads a date: Whoosh's phrase syntax hands the date field's
    text over as a term of that text, which matches nothing."""
    def fix(sub: wq.Query) -> wq.Query:
        if (type(sub) is wq.Term and isinstance(sub.text, str) and sub.fieldname in schema
                and isinstance(schema[sub.fieldname], DateField)):
            return schema[sub.fieldname].parse_query(sub.fieldname, sub.text, boost=sub.boost)
        return _map_children(sub, fix) if sub.children() else sub

    return fix(q)


def has_bad_date(q: wq.Query) -> bool:
    """Whether one of ``q``'s date clauses is a date the date field could not
    read (indexer/schema.py marks them)."""
    return any(isinstance(getattr(sub, "error", None), BadDate) for sub in walk(q))


def _has_errors(q: wq.Query) -> bool:
    """Whoosh marks unparseable bits as ErrorQuery instead of raising."""
    return any(type(sub).__name__ == "ErrorQuery" for sub in walk(q))


def walk(q: wq.Query):
    yield q
    for child in q.children():
        yield from walk(child)


def glob_tail(literals: list[str], gap: str, open_end: bool) -> str:
    """The expression of a ``*`` wildcard past its literal start: its other
    literals in order, any run of ``gap`` before each, the last one ending
    the term unless ``open_end`` (the caller anchors the end).

    Each literal but an end one is taken at its first place after the one
    before, in an atomic group: a ``*`` wildcard matches where its literals'
    leftmost places do, and a term that fails is given up in linear time,
    not retried at every way of placing them (``*ا*ا*ا*ا*ا*ا*ا*ا*ظ`` over a
    word of forty alefs would take minutes)."""
    *middle, last = literals if literals and not open_end else [*literals, ""]
    return ("".join(f"(?>{gap}*?{re.escape(lit)})" for lit in middle)
            + (f"{gap}*?{re.escape(last)}" if last else ""))


def positive_leaves(q: wq.Query):
    """The term, phrase, prefix and wildcard queries of ``q`` outside its
    negations: what a matching document has."""
    if isinstance(q, wq.Not):
        return
    if isinstance(q, wq.AndNot):
        yield from positive_leaves(q.a)
    elif isinstance(q, (wq.Term, wq.Phrase, wq.Prefix, wq.Wildcard)):
        yield q
    else:
        for child in q.children():
            yield from positive_leaves(child)


def with_source(text: str, typed: str, name: str) -> str:
    """``text`` (a cleaned query) with its clauses naming the source ``typed``
    naming ``name`` instead: the link of "did you mean" for a source."""
    name_typed = rf'(?:"{re.escape(typed)}"|{re.escape(typed)}(?=[\s)]|$))'
    return re.sub(_SOURCE_FIELD + name_typed, lambda m: f'{m.group(1)}:"{name}"', text)


def _map_children(q: wq.Query, fn) -> wq.Query:
    """``q`` with ``fn`` applied to each child query: a copy when a child
    changed, else ``q`` itself (a rewrite that finds nothing to do copies
    nothing).

    Whoosh's ``Query.apply`` rebuilds a query from its constructor arguments,
    which loses attributes our capped classes and wrappers carry; this copies
    the node and replaces only its children (``a``/``b`` of binary queries,
    the child of wrappers, ``subqueries`` of compounds)."""
    changed = {}
    for attr in ("a", "b", "child", "query", "q"):
        value = getattr(q, attr, None)
        if isinstance(value, wq.Query) and (mapped := fn(value)) is not value:
            changed[attr] = mapped
    binary = isinstance(q, wq.compound.BinaryQuery)
    subqueries = None
    if not binary and isinstance(getattr(q, "subqueries", None), (list, tuple)):
        mapped = [fn(c) for c in q.subqueries]
        if any(m is not c for m, c in zip(mapped, q.subqueries, strict=True)):
            subqueries = type(q.subqueries)(mapped)
    if not changed and subqueries is None:
        return q
    new = copy.copy(q)
    for attr, value in changed.items():
        setattr(new, attr, value)
    if binary:
        new.subqueries = (new.a, new.b)
    elif subqueries is not None:
        new.subqueries = subqueries
    return new
