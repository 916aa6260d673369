"""The embedded backend: ranked search over the live Whoosh generation.

``Engine`` keeps the live generation open (its arrays shared by all
threads, a Whoosh searcher per thread for stored fields and the
vocabulary) and reopens it when ``arshif index`` has published a new one,
so a running server answers from the new index without a restart.

Every query goes the same way: parse (search/query.py), evaluate into a
match with scores (search/matching.py), then the page, the facets and the
hit count all read that one match, and the page's hits are highlighted
(search/highlight.py).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
from whoosh import query as wq, scoring
from whoosh.util.times import long_to_datetime

from indexer import completions, manifest, store
from indexer.analysis import find_words
from indexer.arrayfile import ArrayFileError
from indexer.dates import printed_hijri
from indexer.schema import body_views
from search import highlight, matching, messages, respell
from search.backend import (
    MAX_OTHERS,
    MAX_PAGE,
    STORY_PER_PAGE,
    Article,
    Hit,
    Request,
    Result,
    SearchError,
    Story,
    StoryPage,
    story_page,
)
from search.budget import (
    HIGHLIGHT_UNITS,
    PATTERN_UNITS,
    RESPELL_UNITS,
    Budget,
    Metered,
    QueryTooCostly,
    ServerBusy,
)
from search.facets import count_facets, counts_of, source_facet
from search.generation import Generation
from search.highlight import CHARLIMIT, NO_MARKS, WHOLE_CHARLIMIT, query_marks
from search.query import (
    MAX_QUERY_CHARS,
    Parsed,
    count_patterns,
    make_parser,
    parse,
    with_source,
)
from search.settings import SearchSettings
from search.sources import SourceNames
from search.timeline import count_timeline

#: Terms of an article that make its "more like this" query.
MORE_LIKE_TERMS = 12
#: A page of stories reads at most this many times its articles of the
#: ranking: a query whose best articles are a few stories printed many times
#: still fills its page, and no page reads a ranking without bound.
STORY_DEPTH = 8


def _iso(value) -> str | None:
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat()
    return None


def _day(value: int) -> str:
    """A date column value (Whoosh's microseconds) as an ISO day."""
    return long_to_datetime(value).date().isoformat()


def date_filter(date_from: date | None, date_to: date | None) -> wq.Query | None:
    if not date_from and not date_to:
        return None
    start = datetime.combine(date_from, datetime.min.time()) if date_from else None
    end = datetime.combine(date_to, datetime.max.time()) if date_to else None
    return wq.DateRange("date", start, end)


@dataclass
class _Live:
    """One published generation, opened: what every thread shares."""

    name: str
    index: object
    parser: object
    generation: Generation
    sources: SourceNames
    completions: completions.Completions
    stats: dict | None = None  # Engine.stats, computed once: a generation never changes


class Engine:
    """Search one index home; safe to share between threads."""

    def __init__(self, home: Path, settings: SearchSettings | None = None):
        self.home = Path(home)
        self.settings = settings or SearchSettings()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._live: _Live | None = None
        self._current = store.CurrentName(self.home)

    # -- the live generation -------------------------------------------------
    def _open_live(self) -> _Live:
        """The live generation, opened once and reopened after a rebuild."""
        name = self._current.name()
        live = self._live
        if live is None or live.name != name:
            with self._lock:
                live = self._live
                if live is None or live.name != name:
                    live = self._open(name)
                    self._live = live
        return live

    def _open(self, name: str) -> _Live:
        # Open the generation whose name we read, so the label is right even
        # if another rebuild publishes meanwhile.
        folder = store.generation_dir(self.home, name)
        ix = manifest.open_index(folder, self.home)
        s = self.settings
        with ix.searcher() as searcher:
            gen = Generation(searcher, str(folder), s.k1, s.b)
        names = SourceNames(manifest.read(folder).get("source_names", {}),
                            gen.texts("source")[1] if "source" in ix.schema else [])
        try:
            done = completions.Completions(folder, ix.schema["headline"].analyzer)
        except (OSError, ArrayFileError, KeyError) as exc:
            raise store.IndexDamaged(f"{completions.NAME}: {exc}") from exc
        return _Live(name, ix, make_parser(ix.schema, s, names), gen, names, done)

    def view(self) -> _View:
        """This thread's view of the live generation.

        A request takes one view and uses only it, so a rebuild published
        meanwhile cannot mix two generations' document numbers.  The
        previous searcher is not closed here: a request in this thread may
        still hold it; it is released with the last reference.
        """
        live = self._open_live()
        current = getattr(self._local, "view", None)
        if current is None or current.live is not live:
            # Whoosh's BM25F with the engine's parameters: Whoosh's own
            # ranking over this searcher is the engine's (the tests compare).
            weighting = scoring.BM25F(B=self.settings.b, K1=self.settings.k1)
            current = self._local.view = _View(live, live.index.searcher(weighting=weighting))
        return current

    def generation(self) -> str:
        return self._open_live().name

    def searcher(self):
        """This thread's Whoosh searcher over the live generation, weighted
        with the engine's BM25F (stored fields; the tests' reference ranking)."""
        return self.view().searcher

    @property
    def analyzer(self):
        return self.view().analyzer

    def parse(self, text: str) -> Parsed:
        return parse(self.view().live.parser, text)

    def complete(self, text: str, limit: int = 8) -> list[tuple[str, int]]:
        if len(text) > MAX_QUERY_CHARS:
            raise SearchError(f"the query is too long: at most {MAX_QUERY_CHARS} characters")
        return self._open_live().completions.complete(text, limit)

    def summary(self) -> dict:
        live = self._open_live()
        return {"articles": len(live.generation.live_docs), "generation": live.name}

    def stats(self) -> dict:
        """What the live generation holds: live articles only (an update or a
        parallel build leaves deleted documents in the segments).

        Counted once per generation (the home page shows it on every visit);
        each caller gets its own copy."""
        live = self._open_live()
        if live.stats is None:
            live.stats = self._count(live)
        return copy.deepcopy(live.stats)

    def _count(self, live: _Live) -> dict:
        gen, docs = live.generation, live.generation.live_docs
        folder = self.home / live.name
        info = manifest.read(folder)
        codes, names = gen.texts("source")
        counts = np.bincount(codes[docs], minlength=len(names))
        sources = sorted(((names[i], int(counts[i])) for i in np.flatnonzero(counts)),
                         key=lambda kv: (-kv[1], kv[0]))
        codes, months = gen.texts("month")
        present = np.flatnonzero(np.bincount(codes[docs], minlength=len(months)))
        dated = sorted({months[c] for c in present.tolist()} - {""})
        return {
            "path": str(self.home),
            "generation": live.name,
            "articles": len(docs),
            "undated": int(len(docs) - np.count_nonzero(gen.numbers("date")[1][docs])),
            "date_min": dated[0] if dated else None,
            "date_max": dated[-1] if dated else None,
            "sources": sources,
            "source_names": source_names(sources, live.sources),
            "size_bytes": store.disk_size(folder),
            "fingerprint": info.get("fingerprint"),
            "built_at": info.get("built_at"),
        }

    # -- search ---------------------------------------------------------------
    def search(self, req: Request) -> Result:
        req.check()
        started = time.perf_counter()
        with self.view().metered() as view:
            return _search(view, req, started)

    def ranked_ids(self, query: str | Request, limit: int = 100) -> list[tuple[str, int, float]]:
        """(id, rank, score) of the top ``limit`` of a query, or of a request
        (its filters and sort, not its page): the search box's ranking
        without stored fields, highlights or facets."""
        req = query if isinstance(query, Request) else Request(q=query)
        with self.view().metered() as view:
            parsed = view.parse(req.q)
            if parsed.query is wq.NullQuery:
                return []
            match, order, _ = _ranking(view, view.expand_terms(parsed.query), req,
                                       view.filters(req), limit, every=False)
            docnums, scores = matching.top(match, limit, order)
            ids = view.gen.ids(docnums)
        # numpy rounds the hundred scores in one call; Python's round costs
        # a decimal conversion each (they differ only on a binary value a
        # hair from a half-way point, far below a score's meaning).
        return list(zip(ids, range(1, len(ids) + 1), scores.round(4).tolist(), strict=True))

    # -- articles -------------------------------------------------------------
    def article(self, article_id: str, q: str = "") -> Article | None:
        view = self.view()
        docnum = view.searcher.document_number(id=article_id)
        if docnum is None:
            return None
        doc = view.gen.stored_fields(docnum)
        terms = query_marks(parse(view.live.parser, q).query) if q else {}
        return make_article(doc, terms, view.analyzer, view.live.sources)

    def story(self, article_id: str, page: int = 1,
              per_page: int = STORY_PER_PAGE) -> StoryPage | None:
        """A page of the story of ``article_id`` (indexer/stories.py): its
        articles oldest first, with their headlines (stored fields, read for
        this page only), sources and dates (doc values)."""
        view = self.view()
        docnum = view.searcher.document_number(id=article_id)
        if docnum is None:
            return None
        gen = view.gen
        found = gen.stories
        members = found.members(int(found.story[docnum])).tolist()
        codes, sources = gen.texts("source")
        values, present = gen.numbers("date")
        first = gen.ids(members[:1])[0]

        def member(d: int) -> dict:
            doc = view.gen.stored_fields(d)
            source = sources[codes[d]]
            return {"id": doc.get("id", ""), "headline": doc.get("headline", ""),
                    "source": source, "source_name": view.live.sources.name(source),
                    "date": _day(int(values[d])) if present[d] else None,
                    "url": doc.get("url", "")}

        return story_page(first, members, page, per_page, member)

    def more_like_this(self, article_id: str, limit: int = 5) -> list[Hit]:
        """Articles most similar to ``article_id``, one per story and none of
        its own story: its key terms (Whoosh's Bo1 model over the stored
        body) OR-ed, ranked like any query.  None
        (an empty list) past the work budget or while another costly search
        runs: the article page shows them beside the article, not instead."""
        try:
            return self._more_like_this(article_id, limit)
        except (QueryTooCostly, ServerBusy):
            return []

    def _more_like_this(self, article_id: str, limit: int) -> list[Hit]:
        with self.view().metered() as view:
            docnum = view.searcher.document_number(id=article_id)
            if docnum is None:
                return []
            # The key terms of the body's first WHOLE_CHARLIMIT characters,
            # the part the page marks: a huge record is not analyzed whole.
            body = view.gen.stored_fields(docnum).get("body", "")
            terms = view.searcher.key_terms_from_text(
                "body", body[:WHOLE_CHARLIMIT], numterms=MORE_LIKE_TERMS)
            if not terms:
                return []
            match = view.match(wq.Or([wq.Term("body", t, boost=w) for t, w in terms]))
            # The article's own story is the same news printed elsewhere, not
            # similar news; every other story is shown once, by its
            # best-scored article, as the results show it.
            story = view.gen.stories.story
            others = story.take(match.docs) != story[docnum]
            match = matching.Match(match.docs[others], match.scores[others])
            docnums, scores = matching.top(match, STORY_DEPTH * limit)
            _, first = np.unique(story.take(docnums), return_index=True)
            chosen = np.sort(first)[:limit]
            return view.hits(docnums.take(chosen).tolist(), scores.take(chosen).tolist(), 1, {},
                             False)


@dataclass
class _View:
    """One thread's handle on one generation: everything a request reads.
    ``metered()`` gives one request's copy, whose reads count against that
    request's budget (search/budget.py)."""

    live: _Live
    searcher: object
    meter: Metered | None = None

    @property
    def gen(self) -> Generation | Metered:
        return self.meter or self.live.generation

    def metered(self) -> _View:
        """One request's copy, used as ``with view.metered() as v:`` so the
        request's budget is closed (search/budget.py's gate) however it ends."""
        return replace(self, meter=Metered(self.live.generation, Budget()))

    def __enter__(self) -> _View:
        return self

    def __exit__(self, *exc) -> None:
        if self.meter is not None:
            self.meter.budget.close()

    def parse(self, text: str) -> Parsed:
        """``text`` parsed; its wildcards are charged first (PATTERN_UNITS),
        so a query of many is refused before Whoosh's parser runs."""
        if self.meter is not None:
            self.meter.charge(PATTERN_UNITS * count_patterns(text))
        return parse(self.live.parser, text)

    @property
    def analyzer(self):
        return self.searcher.schema["body"].analyzer

    def match(self, q: wq.Query) -> matching.Match:
        return matching.evaluate(q, self.gen, self.searcher.reader())

    def best(self, q: wq.Query, limit: int, keep: matching.Match | None,
             every: bool = False, unfiltered: bool = False) -> matching.Match:
        return matching.best(q, self.gen, self.searcher.reader(), limit, keep, every,
                             unfiltered)

    def expand_terms(self, q: wq.Query) -> wq.Query:
        return matching.expand_terms(q, self.gen, self.searcher.reader())

    def filters(self, req: Request) -> matching.Match | None:
        """The documents the request's filters (dates, sources) let through;
        None without filters."""
        filters = filter_query(req, self.live.sources)
        return self.match(filters) if filters is not None else None

    def score_docs(self, q: wq.Query, docs: np.ndarray) -> matching.Match:
        return matching.score_docs(q, self.gen, self.searcher.reader(), docs)

    def first_in_order(self, q: wq.Query, keep: matching.Match | None, limit: int,
                       newest: bool, every: bool) -> tuple[np.ndarray, np.ndarray | None]:
        gen = self.gen
        return matching.first_in_order(q, gen, self.searcher.reader(), keep, limit,
                                       gen.date_order(newest), gen.date_sequence(newest), every)

    def matching_docs(self, q: wq.Query, keep: matching.Match | None) -> np.ndarray:
        """Every document ``q`` matches within ``keep``."""
        return matching.matching_docs(q, self.gen, self.searcher.reader(), keep)

    def hits(self, docnums: list[int], scores, first_rank: int, terms,
             with_highlight: bool) -> list[Hit]:
        """The hits of ``docnums`` (ranked from ``first_rank``), made from their
        stored fields by ``make_hits``."""
        docs = [self.gen.stored_fields(d) for d in docnums]
        if with_highlight:  # the analyzer runs over what is highlighted: charged by length
            self.gen.charge(HIGHLIGHT_UNITS * sum(
                len(doc.get("headline", "")) + min(len(doc.get("body", "")), CHARLIMIT)
                for doc in docs))
        return make_hits(docs, scores, first_rank, terms, with_highlight, self.analyzer,
                         self.live.sources)

    def stories(self, docnums: list[int]) -> list[Story]:
        """The story of each of ``docnums``: its first article and the others
        (ids, sources and dates from the doc values, one lookup for all: no
        stored fields read).  Most articles are a story alone: they are told
        by their story's size, without reading its members."""
        if not docnums:
            return []
        gen = self.gen
        found = gen.stories
        sizes = found.sizes(found.story.take(docnums)).tolist()
        wanted: list[int] = []  # per article: its story's first article, then the others
        others: list[list[int]] = []
        for d, size in zip(docnums, sizes, strict=True):
            group = found.members(int(found.story[d])) if size > 1 else None
            listed = [] if group is None else group[group != d][:MAX_OTHERS].tolist()
            wanted.append(d if group is None else int(group[0]))
            wanted.extend(listed)
            others.append(listed)
        ids = iter(gen.ids(np.array(wanted, dtype=np.int64)))
        codes, sources = gen.texts("source")
        values, present = gen.numbers("date")
        out = []
        for size, listed in zip(sizes, others, strict=True):
            first = next(ids)
            out.append(Story(id=first, articles=size, more=size - 1, others=[
                {"id": next(ids), "source": sources[codes[d]],
                 "source_name": self.live.sources.name(sources[codes[d]]),
                 "date": _day(int(values[d])) if present[d] else None}
                for d in listed]))
        return out


def make_hits(docs: list[dict], scores, first_rank: int, terms, with_highlight: bool,
              analyzer, names: SourceNames) -> list[Hit]:
    """Hits from articles' stored fields (a page of them, ranked from
    ``first_rank``, with their ``scores``), their matches (``terms``) marked,
    the page's headlines together and its bodies together
    (``highlight.highlight_texts``): every backend's hits are made here."""
    headlines = [doc.get("headline", "") for doc in docs]
    bodies = [doc.get("body", "") for doc in docs]
    if with_highlight:
        marked = highlight.highlight_texts(headlines, terms.get("headline", NO_MARKS), analyzer,
                                           whole=True)
        snippets = highlight.highlight_texts(bodies, terms.get("body", NO_MARKS), analyzer)
    else:
        marked = [highlight.lead(headline, 10_000) for headline in headlines]
        snippets = [highlight.lead(body) for body in bodies]
    return [Hit(id=doc["id"], rank=rank, score=round(float(score or 0), 4), headline=headline,
                headline_html=hl, snippet_html=snippet, date=_iso(doc.get("date")),
                source=doc.get("source", ""), source_name=names.name(doc.get("source", "")))
            for rank, doc, score, headline, hl, snippet in zip(
                range(first_rank, first_rank + len(docs)), docs, scores, headlines, marked,
                snippets, strict=True)]


def make_article(doc: dict, terms, analyzer, names: SourceNames) -> Article:
    """The article page's article from its stored fields, the query's matches
    (``terms``) marked in its headline and body: every backend's articles are
    made here."""
    art = Article(id=doc["id"], headline=doc.get("headline", ""), body=doc.get("body", ""),
                  date=_iso(doc.get("date")), date_text=doc.get("date_text", ""),
                  source=doc.get("source", ""), keywords=doc.get("keywords", ""),
                  related=json.loads(doc.get("related") or "[]"), parent=doc.get("parent", ""))
    if art.date and printed_hijri(art.date_text):
        art.date_hijri = art.date_text
    art.source_name, art.source_url = names.name(art.source), names.url(art.source)
    art.url, art.author = doc.get("url", ""), doc.get("author", "")
    art.body_html = highlight.highlight_text(art.body, terms.get("body", NO_MARKS), analyzer,
                                             whole=True)
    art.headline_html = highlight.highlight_text(art.headline, terms.get("headline", NO_MARKS),
                                                 analyzer, whole=True)
    return art


def _search(view: _View, req: Request, started: float) -> Result:
    """One request's answer, read through its metered view."""
    parsed = view.parse(req.q)
    result = Result(query=parsed.text, total=0, stories=0, page=req.page, pages=0, last_page=0,
                    per_page=req.per_page, took_ms=0.0)
    if answered_early(result, parsed, req, view.live.sources):
        result.took_ms = elapsed_ms(started)
        return result
    query, keep = view.expand_terms(parsed.query), view.filters(req)
    wider = req.facets and bool(req.sources)
    docnums, scores, matched, unfiltered = _story_ranking(view, query, req, keep, wider)
    everywhere = None
    if wider:
        # The source facet is counted without the source filter, so that it
        # offers the other sources to add, with what each would bring; the
        # matches within the filter are among these.
        dated = view.filters(replace(req, sources=()))
        everywhere = (view.matching_docs(query, dated) if unfiltered is None
                      else matching.within(unfiltered, dated))
    if matched is None:
        matched = (view.matching_docs(query, keep) if everywhere is None
                   else matching.within(everywhere, keep))
    result.total = len(matched)
    result.stories = view.gen.stories.distinct(matched)
    if req.facets:
        counts = counts_of(view.gen, matched)
        result.facets = count_facets(view.gen, counts)
        if everywhere is not None:
            result.facets["source"] = source_facet(counts_of(view.gen, everywhere))
        name_sources(result.facets, view.live.sources)
        result.timeline = count_timeline(view.gen, counts, req.date_from, req.date_to)
    count_pages(result, req)
    start = (req.page - 1) * req.per_page
    terms = query_marks(parsed.query)
    shown = [int(d) for d in docnums[start:]]
    result.hits = view.hits(shown, scores[start:].tolist(), start + 1, terms, req.highlight)
    for hit, story in zip(result.hits, view.stories(shown), strict=True):
        hit.story = story
    try:  # on every query: a rare misspelt word hides many articles (search/respell.py)
        result.suggestion = _suggest(view, parsed)
    except (QueryTooCostly, ServerBusy):  # a respelling helps; the answer can go without
        result.suggestion = None
    return conclude(result, req, started)


# -- what every backend's answer shares ------------------------------------------
# The cluster backend (search/cluster/backend.py) answers through these too, so
# that both say the same things in the same cases.

def answered_early(result: Result, parsed: Parsed, req: Request, names: SourceNames) -> bool:
    """True when the request searches nothing, ``result`` saying why: an
    empty query, only common words, a date that is not one, or a source that
    matches none."""
    if parsed.bad_date:
        explain(result, messages.BAD_DATE)
        return True
    if parsed.query is wq.NullQuery:
        # Only punctuation or brackets ("((((") is no word at all: an empty query.
        explain(result, messages.ONLY_COMMON_WORDS if find_words(parsed.text)
                else messages.EMPTY_QUERY)
        return True
    result.unknown_sources = unknown_sources(req, names)
    if result.unknown_sources:
        explain(result, messages.UNKNOWN_SOURCE)
        return True
    # A source the query itself names (المصدر:…) and no article has: its
    # clause matches nothing, and the answer says so whatever else matched.
    result.unknown_sources = [unknown_source(typed, names, parsed.text)
                              for typed in parsed.unknown_sources]
    return False


def unknown_sources(req: Request, names: SourceNames) -> list[dict]:
    """The request's sources that match no indexed source, each with the
    closest known one."""
    return [unknown_source(typed, names) for typed in req.sources if not names.resolve(typed)]


def unknown_source(typed: str, names: SourceNames, query: str | None = None) -> dict:
    """A source that matches none, with the closest known one, and, for one
    the query names, the query naming the closest instead."""
    found = {"source": typed, "closest": names.closest(typed)}
    if query is not None and found["closest"]:
        found["query"] = with_source(query, typed, found["closest"])
    return found


def source_names(sources: list[tuple[str, int]], names: SourceNames) -> dict[str, str]:
    """The display names of ``stats``'s sources that have one (a sources
    file gave it): every backend's stats name them here."""
    return {value: names.name(value) for value, _ in sources
            if value and names.name(value) != value}


def name_sources(facets: dict, names: SourceNames) -> None:
    """The source facet's values with their display names."""
    for item in facets.get("source", ()):
        item["name"] = names.name(item["value"])


def count_pages(result: Result, req: Request) -> None:
    """The pages the hits (stories) fill, and the deepest one that can be opened."""
    result.pages = -(-result.stories // req.per_page) if result.stories else 0
    result.last_page = min(result.pages, MAX_PAGE)


def conclude(result: Result, req: Request, started: float) -> Result:
    """The answer's closing message (nothing found, a page past the last)
    and the time it took."""
    if not result.total:
        explain(result, messages.UNKNOWN_SOURCE if result.unknown_sources else messages.NO_RESULTS)
    elif req.page > result.pages:
        explain(result, messages.PAST_LAST_PAGE)
    result.took_ms = elapsed_ms(started)
    return result


def _ranking(view: _View, query: wq.Query, req: Request, keep: matching.Match | None,
             limit: int, every: bool = True, unfiltered: bool = False
             ) -> tuple[matching.Match, np.ndarray | None, np.ndarray | None]:
    """``query``'s match within ``keep`` (the request's filters), the sort
    key of its order (None: by score), and every document it matches, or
    None when that is still to be found (or, ``every`` False, not wanted).
    The match lists every document the query matches regardless of
    ``keep`` when that came on the way (``Match.unfiltered``; a sum of
    terms lists them only when asked, ``unfiltered``: it costs a pass).

    A sum of terms (plain words, expanded prefixes) is not scored in full:
    ranked by score, ``matching.best`` keeps only the documents that can be
    among the first ``limit``; ranked by date, the matching documents are
    found without scores and only the first ``limit`` of them are scored.
    Where ``best`` scored every match (no pruning paid), its documents are
    every match; where it pruned, the matches it listed on the way."""
    order = None if req.sort == "relevance" else view.gen.date_order(req.sort == "newest")
    if not matching.prunable(query):
        match = view.match(query)
        if keep is not None:
            whole, match = match.docs, matching.restrict(match, keep)
            match.unfiltered = whole
        return match, order, match.docs
    if order is None:
        match = view.best(query, limit, keep, every, unfiltered)
        return match, None, match.docs if match.complete else match.matched
    first, matched = view.first_in_order(query, keep, limit, req.sort == "newest", every)
    return view.score_docs(query, first), order, matched


def explain(result: Result, code: str) -> None:
    """``result``'s message: its code and the Arabic text (search/messages.py)."""
    result.code, result.message = code, messages.arabic(code)


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started``, to a tenth: finer is timer noise."""
    return round((time.perf_counter() - started) * 1000, 1)


def _story_ranking(view: _View, query: wq.Query, req: Request, keep: matching.Match | None,
                   unfiltered: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The first ``page * per_page`` stories of the ranking, each as its
    best-ranked article: (docnums, scores, every matching document or None,
    and every one regardless of ``keep`` when that came on the way, as
    ``_ranking`` says, or None).

    The ranked articles are read deep enough to hold that many distinct
    stories: twice as many first, then four times deeper, up to STORY_DEPTH
    times as many (past that a page may show fewer stories)."""
    need = req.page * req.per_page
    story = view.gen.stories.story
    limit = 2 * need
    while True:
        match, order, matched = _ranking(view, query, req, keep, limit, True, unfiltered)
        docnums, scores = matching.top(match, limit, order)
        _, first = np.unique(story[docnums], return_index=True)
        first = np.sort(first)[:need]
        if len(first) == need or len(docnums) < limit or limit >= STORY_DEPTH * need:
            return docnums[first], scores[first], matched, match.unfiltered
        limit = min(4 * limit, STORY_DEPTH * need)


def filter_query(req: Request, names: SourceNames) -> wq.Query | None:
    """The request's date and source filters as one query (None: no filter);
    typed sources are matched to indexed values by ``names``, and sources
    that match none filter out everything."""
    sources = None
    if req.sources:
        values = sorted({v for typed in req.sources for v in names.resolve(typed)})
        sources = (wq.Or([wq.Term("source", v) for v in values]) if values
                   else wq.NullQuery)
    filters = [f for f in (date_filter(req.date_from, req.date_to), sources) if f is not None]
    return wq.And(filters) if len(filters) > 1 else (filters[0] if filters else None)


# -- did you mean -----------------------------------------------------------------

def _suggest(view: _View, parsed: Parsed) -> str | None:
    """The query with its rare, misspelt words respelt (search/respell.py),
    each look-up charged to the request's budget; a word's respelling is
    kept with the generation (``Generation.derived``)."""
    gen = view.gen

    def charge(lookups: int) -> None:
        gen.charge(lookups * RESPELL_UNITS)

    schema = view.searcher.schema
    exact = next((name for name in body_views(schema)
                  if schema[name].analyzer.stemmer == "none"), None)
    return respell.suggest(
        parsed.text, view.analyzer, len(gen.live_docs),
        respell.counted_one_by_one(lambda stem: gen.doc_frequency(respell.FIELD, stem)), charge,
        view.live.completions.spelling,
        exact and respell.counted_one_by_one(lambda form: gen.doc_frequency(exact, form)),
        view.live.completions.headlines,
        lambda word, find: gen.derived(("respelt", word), find))
