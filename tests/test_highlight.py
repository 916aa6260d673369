"""Highlighting: the same words as indexing marks, in well-chosen fragments."""

from __future__ import annotations

import html
import re

from hypothesis import assume, given, settings, strategies as st
from whoosh import highlight, query as wq
from whoosh.analysis import Token

from indexer.analysis import SECTION_BREAK, ArabicAnalyzer
from search.highlight import (
    NO_MARKS,
    SNIPPET_CHARS,
    SURROUND_CHARS,
    WHOLE_CHARLIMIT,
    Marks,
    best_fragments,
    highlight_text,
    highlight_texts,
    lead,
    query_marks,
)
from search.query import PrefixPhrase

ANALYZER = ArabicAnalyzer()
WORDS = ["الاقتصاد", "اقتصادي", "والاقتصاد", "النفط", "نفطية", "في", "من", "الوزير", "وزير",
         "الأسواقُ", "سوق", "قطر", "تقرير", "عن", "ﻻ", "٢٠٢٣", "Oil", "<b>", "&amp;"]


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=40),
       terms=st.sets(st.sampled_from(["اقتصاد", "نفط", "وزير", "سوق", "في", "oil"]), max_size=3),
       seps=st.sampled_from([" ", "، ", "\n", " - "]))
def test_spans_are_the_indexed_words(words, terms, seps):
    """Exactly the tokens the indexer makes whose term is in ``terms``."""
    text = seps.join(words)
    expected = [(t.startchar, t.endchar, t.text) for t in ANALYZER(text, chars=True, mode="index")
                if t.text in terms]
    assert ANALYZER.spans(text, frozenset(terms)) == expected
    assert ANALYZER.spans(text, frozenset(terms), needles=frozenset(terms)) == expected


#: Characters that test where words begin and end once normalized: marks
#: deleted inside words, controls deleted between them, ``_``; and, in
#: UNMAPPED, a ligature and a presentation form (NFKC), letters that
#: lowercase to two or by context, a character outside the BMP.
TRICKY = ("نفطاقتصادوزيرالسوقأإآةىي" + "\u064e\u0651\u0670\u0640\u200c\u200d"
          + "\u200b\u200e\u200f\u061c\ufeff" + " _،.\n" + "σIiOil٢3")
UNMAPPED = "ﻻﺍΣİ😀\uffff"


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(alphabet=TRICKY, max_size=50),
                      st.text(alphabet=TRICKY + UNMAPPED, max_size=50),
                      # a page's texts joined, some with a character not
                      # normalized alone and some without
                      st.lists(st.one_of(st.text(alphabet=TRICKY, max_size=30),
                                         st.text(alphabet=TRICKY + UNMAPPED, max_size=30)),
                               min_size=2, max_size=4).map(SECTION_BREAK.join)),
       extra=st.sets(st.sampled_from(["نفط", "اقتصاد", "وزير", "سوق", "oil", "ي", "σ", "i"]),
                     max_size=3),
       pick=st.integers(min_value=0, max_value=2**16))
def test_spans_of_the_words_holding_a_needle_are_all_the_spans(text, extra, pick):
    """Looking only at the words where a needle occurs (the text normalized
    in place) marks what analyzing every word marks, whatever the text."""
    indexed = sorted({t.text for t in ANALYZER(text, mode="index")})
    terms = frozenset(extra | set(indexed[pick % len(indexed):][:2] if indexed else []))
    expected = [(t.startchar, t.endchar, t.text) for t in ANALYZER(text, chars=True, mode="index")
                if t.text in terms]
    assert ANALYZER.spans(text, terms, needles=terms) == expected


def test_words_containing_a_needle_are_found_in_the_text_normalized_in_place():
    text = "ارتفع النِّفْطُ والاقتصاد\u200fنفطية، ثم نفـــط و_نفط نفطية"
    found = ANALYZER.occurrences(text, frozenset({"نفط", "فط"}))
    assert found == {word: [(m.start(), m.end()) for m in re.finditer(re.escape(word) + r"(?!\w)",
                                                                     text)
                            if not m.start() or text[m.start() - 1] in " \u200f_"]
                     for word in ("النِّفْطُ", "نفطية", "نفـــط", "نفط")}
    # Each place once, though two needles find it.
    assert [text[a:b] for a, b in found["نفطية"]] == ["نفطية", "نفطية"]
    # Where normalizing a word is not normalizing its letters one by one
    # (a ligature), the words of its section are normalized one by one; the
    # other sections are still searched in place.
    page = SECTION_BREAK.join(["ﻻ نفط، النفط", "نِفْط والنفط"])
    assert ANALYZER.occurrences(page, frozenset({"نفط"})) == {
        "نفط": [(2, 5)], "النفط": [(7, 12)], "نِفْط": [(13, 18)], "والنفط": [(19, 25)]}
    # Where a stem is not a run of the word's letters: every word is analyzed.
    assert ArabicAnalyzer(stemmer="skeleton").occurrences(text, frozenset({"نفط"})) is None


def test_spans_with_a_full_word_cache():
    """Words the bounded cache no longer takes are still found."""
    analyzer = ArabicAnalyzer()
    analyzer.analyze_word("تمهيد")
    # Fill the analyzer's word cache past its bound.
    analyzer._cache.update({f"كلمة{i}": ("", "", True) for i in range(1_000_000)})  # noqa: SLF001
    text = "ارتفع النفط والاقتصاد، ثم النفط"
    assert [text[a:b] for a, b, _ in analyzer.spans(text, {"نفط", "اقتصاد"})] == [
        "النفط", "والاقتصاد", "النفط"]


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=40),
       prefixes=st.sets(st.sampled_from(["اقتص", "نف", "وز", "س", "قطر", "oi", "٢٠"]),
                        min_size=1, max_size=2))
def test_spans_of_a_prefix_are_the_indexed_words_it_matches(words, prefixes):
    """A prefix marks exactly the tokens whose index term starts with it."""
    text = " ".join(words)
    expected = [(t.startchar, t.endchar, t.text) for t in ANALYZER(text, chars=True, mode="index")
                if t.text.startswith(tuple(prefixes))]
    marks = query_marks(wq.Or([wq.Prefix("body", p) for p in prefixes]))["body"]
    assert marks.needles == prefixes
    assert ANALYZER.spans(text, frozenset(), marks.pattern) == expected
    assert ANALYZER.spans(text, frozenset(), marks.pattern, marks.needles) == expected


def test_query_marks_are_the_positive_terms_phrases_prefixes_and_wildcards():
    query = wq.AndNot(wq.Or([wq.Term("body", "وزير"), wq.Prefix("body", "خارج"),
                             wq.Wildcard("headline", "*صاد*"), wq.Phrase("body", ["نفط", "خام"]),
                             wq.Phrase("headline", ["سوق"])]),
                      wq.Or([wq.Term("body", "قطر"), wq.Prefix("body", "سعو")]))
    marks = query_marks(query)
    assert marks["body"].terms == {"وزير"} and marks["body"].phrases == (("نفط", "خام"),)
    assert marks["body"].words == {"وزير", "نفط", "خام"}
    assert marks["body"].pattern.fullmatch("خارجيه") and not marks["body"].pattern.fullmatch("سعود")
    assert marks["headline"].terms == {"سوق"}
    assert marks["headline"].pattern.fullmatch("اقتصاد")
    assert not marks["headline"].pattern.fullmatch("اقتص")
    assert not query_marks(wq.Or([wq.Wildcard("body", "*"), wq.Not(wq.Term("body", "قطر"))]))


@settings(max_examples=300, deadline=None)
@given(glob=st.lists(st.sampled_from(["*", "ا", "ب", "ات", "."]), min_size=1, max_size=7),
       word=st.text(alphabet="اب.ت", max_size=12))
def test_a_wildcard_marks_the_terms_fnmatch_matches(glob, word):
    """The wildcard's expression (atomic groups, linear time) matches a term
    exactly when the shell-style match does."""
    import fnmatch

    text = "".join(glob)
    assume("*" in text and text.strip("*"))
    pattern = query_marks(wq.Wildcard("body", text))["body"].pattern
    assert bool(pattern.fullmatch(word)) == fnmatch.fnmatchcase(word, text)


def test_a_phrase_is_marked_where_its_words_make_it():
    """Where the words follow each other (stopwords between them allowed, as
    the index leaves them out), not wherever one of them occurs, nor across
    a section break."""
    text = ("قال وزير الخارجية إن وزير النفط زار الخارجية. ثم وصل وزير في الخارجية"
            " وأيضا وزير\u2029الخارجية")
    marks = query_marks(wq.Phrase("body", ANALYZER.analyze("وزير الخارجية")))["body"]
    out = highlight_text(text, marks, ANALYZER, whole=True)
    assert re.findall("<mark>(.*?)</mark>", out) == ["وزير", "الخارجية", "وزير", "الخارجية"]
    assert out.startswith("قال <mark>وزير</mark> <mark>الخارجية</mark> إن وزير النفط زار الخارجية.")
    assert "وصل <mark>وزير</mark> في <mark>الخارجية</mark>" in out
    loose = query_marks(wq.Or([wq.Phrase("body", ["وزير", "خارج"]), wq.Term("body", "نفط")]))
    assert re.findall("<mark>(.*?)</mark>", highlight_text(text, loose["body"], ANALYZER,
                                                            whole=True)).count("النفط") == 1
    assert "<mark>" not in highlight_text("وزير النفط زار الخارجية", marks, ANALYZER)


def test_a_phrase_with_a_prefix_word_is_marked_where_its_words_make_it():
    """``"وزير الخار*"``: every form of the prefix word right after the
    phrase's other word, and neither word elsewhere; a loose word of the
    query is still marked wherever it occurs."""
    text = ("قال وزير الخارجية إن وزير خارجيتنا زار الخارج، ووزير النفط في الخارجية"
            " والخارجية وزير")
    phrase = PrefixPhrase("body", ["وزير", "خار"], prefixes=[None, "خار"])
    marks = query_marks(phrase)["body"]
    assert marks.words == {"وزير"} and marks.pattern is None
    out = highlight_text(text, marks, ANALYZER, whole=True)
    assert re.findall("<mark>(.*?)</mark>", out) == ["وزير", "الخارجية", "وزير", "خارجيتنا"]
    with_loose = query_marks(wq.Or([phrase, wq.Term("body", "نفط")]))["body"]
    assert re.findall("<mark>(.*?)</mark>", highlight_text(text, with_loose, ANALYZER,
                                                            whole=True))[-1] == "النفط"
    assert "<mark>" not in highlight_text("الخارجية وزير", marks, ANALYZER, whole=True)


def test_a_prefix_is_marked_in_every_form_it_matches():
    text = "الاقتصاد واقتصادي والاقتصادية، لكن القصة عن النفط"
    marks = query_marks(wq.Prefix("body", "اقتص"))["body"]
    assert re.findall("<mark>(.*?)</mark>", highlight_text(text, marks, ANALYZER, whole=True)) == [
        "الاقتصاد", "واقتصادي", "والاقتصادية"]


def _fragments(out: str) -> list[str]:
    return out.removesuffix(" …").split(" … ")


def test_snippet_fragments_are_whole_words_and_never_overlap():
    filler = " ".join(["كلمة"] * 60)
    text = f"بداية {filler} الاقتصاد {filler} النفط والاقتصاد {filler} اقتصادي نهاية"
    out = highlight_text(text, Marks(frozenset({"اقتصاد", "نفط"})), ANALYZER, top=3)
    frags = [html.unescape(re.sub("</?mark>", "", f)) for f in _fragments(out)]
    assert len(frags) == 3
    position = 0
    for frag in frags:
        found = text.index(frag, position)  # in order, and each a substring of the text
        assert found >= position
        assert found == 0 or text[found - 1] == " "
        end = found + len(frag)
        assert end == len(text) or text[end] == " "
        assert len(frag) <= SNIPPET_CHARS + 2 * SURROUND_CHARS
        position = end
    assert out.count("<mark>") == 4


def test_a_snippet_is_two_fragments_at_most():
    """Short, dense snippets: a page of results is not two per screen."""
    filler = " ".join(["كلمة"] * 60)
    text = f"بداية {filler} الاقتصاد {filler} النفط والاقتصاد {filler} اقتصادي نهاية"
    out = highlight_text(text, Marks(frozenset({"اقتصاد", "نفط"})), ANALYZER)
    assert len(_fragments(out)) == 2
    assert len(re.sub("<[^>]+>", "", out)) <= 2 * (SNIPPET_CHARS + 2 * SURROUND_CHARS) + 3


def test_best_fragment_has_the_most_distinct_terms():
    filler = " ".join(["كلمة"] * 60)
    text = (f"النفط {filler} النفط {filler} النفط {filler} "
            f"الاقتصاد والنفط {filler} خاتمة")
    out = highlight_text(text, Marks(frozenset({"اقتصاد", "نفط"})), ANALYZER, top=1)
    assert out.count("<mark>") == 2 and "<mark>الاقتصاد</mark>" in out


def test_a_one_word_snippet_shows_its_densest_fragments():
    """With one term, fragments rank by their matches (the first of equals)."""
    filler = " ".join(["كلمة"] * 60)
    text = (f"النفط {filler} النفط والنفط {filler} النفط {filler} "
            f"نفط النفط نفطي {filler} خاتمة")
    out = highlight_text(text, Marks(frozenset({"نفط"})), ANALYZER, top=1)
    assert out.count("<mark>") == 3 and "<mark>نفطي</mark>" in out
    two = _fragments(highlight_text(text, Marks(frozenset({"نفط"})), ANALYZER, top=2))
    assert [f.count("<mark>") for f in two] == [2, 3]
    ties = f"{filler} النفط والنفط {filler} النفط ونفطي {filler}"
    out = highlight_text(ties, Marks(frozenset({"نفط"})), ANALYZER, top=1)
    assert "<mark>والنفط</mark>" in out and "نفطي" not in out


def test_no_match_gives_the_lead_and_whole_gives_all_text():
    text = "<b>عنوان</b> " + "نص " * 200
    assert highlight_text(text, Marks(frozenset({"اقتصاد"})), ANALYZER).startswith(
        "&lt;b&gt;عنوان&lt;/b&gt;")
    assert highlight_text(text, NO_MARKS, ANALYZER, whole=True) == html.escape(text, quote=False)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["نص", "الاقتصاد", "x" * 70, "<b>", " ", "\n", "\t", " " * 400,
                                 "\u00a0", "\u2029"]), max_size=120),
       st.sampled_from([0, 1, 7, SNIPPET_CHARS]))
def test_the_lead_is_the_start_of_the_text_one_space_between_its_words(parts, chars):
    """Whatever the spaces and however long the text (only its start is
    split), the lead is the text's words one space apart, cut before the
    word that would pass ``chars`` and then marked as cut."""
    text = "".join(parts)
    words = " ".join(text.split())
    if len(words) <= chars:
        expected = html.escape(words, quote=False)
    else:
        cut = words.rfind(" ", 0, chars)
        expected = html.escape(words[:cut if cut > 0 else chars], quote=False) + " …"
    assert lead(text, chars) == expected


def test_the_article_page_marks_a_huge_text_up_to_its_limit_and_shows_it_all():
    """A record of megabytes is shown whole, its matches marked in its first
    WHOLE_CHARLIMIT characters; a word the limit cuts is not half marked
    (``الاقتصادية`` cut to ``الاقتصاد`` would be analyzed as a match)."""
    lines, spaces = divmod(WHOLE_CHARLIMIT - 18, 5)
    head = "الاقتصاد " + "كلمه\n" * lines + " " * (spaces + 1)
    text = head + "الاقتصادية " + "الاقتصاد " * 1000
    assert len(head) + len("الاقتصاد") == WHOLE_CHARLIMIT
    out = highlight_text(text, Marks(frozenset({"اقتصاد"})), ANALYZER, whole=True)
    assert html.unescape(re.sub("</?mark>", "", out)) == text
    assert out.count("<mark>") == 1 and out.startswith("<mark>الاقتصاد</mark> كلمه")


def test_matches_past_the_scan_limit_are_not_searched_for_snippets():
    text = "كلمة " * 10_000 + "الاقتصاد"
    assert "<mark>" not in highlight_text(text, Marks(frozenset({"اقتصاد"})), ANALYZER)
    marks = Marks(frozenset({"اقتصاد"}))
    assert "<mark>الاقتصاد</mark>" in highlight_text(text, marks, ANALYZER, whole=True)


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS + ["كلمة"] * 12), max_size=300),
       terms=st.sets(st.sampled_from(["اقتصاد", "نفط", "وزير", "سوق"]), min_size=1, max_size=3))
def test_every_shown_match_is_marked(words, terms):
    text = " ".join(words)
    out = highlight_text(text, Marks(frozenset(terms)), ANALYZER)
    if "<mark>" not in out:
        assert not ANALYZER.spans(text[:2**15], frozenset(terms))
        return
    position = 0
    for frag in _fragments(out):
        plain = html.unescape(re.sub("</?mark>", "", frag))
        position = text.index(plain, position) + len(plain)  # in order, no overlap
        assert frag.count("<mark>") == len(ANALYZER.spans(plain, frozenset(terms)))


class _MarkFormatter(highlight.HtmlFormatter):
    """Whoosh's formatter as the reference for search/highlight.py's marks."""

    def __init__(self):
        super().__init__(tagname="mark", between=" … ")

    def format_token(self, text, token, replace=False):
        word = highlight.get_text(text, token, replace)
        return f"<mark>{highlight.htmlescape(word, quote=False)}</mark>"


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=120),
       terms=st.sets(st.sampled_from(["اقتصاد", "نفط", "وزير", "سوق", "oil"]), min_size=1,
                     max_size=3),
       whole=st.booleans())
def test_marks_are_whooshs(words, terms, whole):
    """The marks and escaping are what Whoosh's HtmlFormatter writes for the
    same fragments and matches."""
    text = " ".join(words)
    matches = ANALYZER.spans(text, frozenset(terms))
    got = highlight_text(text, Marks(frozenset(terms)), ANALYZER, whole=whole)
    if not matches or not text:
        return
    tokens = [Token(chars=True, startchar=a, endchar=b, text=term, boost=1.0)
              for a, b, term in matches]
    if whole:
        fragments = [highlight.Fragment(text, tokens, 0, len(text))]
    else:
        fragments = [highlight.Fragment(text, [t for t in tokens if a <= t.startchar < b], a, b)
                     for a, b, _ in best_fragments(text, matches, 2)]
    assert got == _MarkFormatter()(text, fragments)


_PAGE_WORDS = [*WORDS, "وزير الخارجية", "الخارجية", "\u2029", "\n", "", "كلمة " * 40]
_PAGE_QUERIES = [
    wq.Term("body", "اقتصاد"),
    wq.Phrase("body", ["وزير", "خارج"]),
    wq.Or([wq.Term("body", "خارج"), wq.Term("body", "وزير")]),
    wq.Prefix("body", "نفط"),
    PrefixPhrase("body", ["وزير", "خار"], prefixes=[None, "خار"]),
    wq.Or([wq.Term("body", "اقتصاد"), wq.Wildcard("body", "ق*ر")]),
]


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(_PAGE_WORDS), max_size=40).map(" ".join),
                      max_size=12),
       query=st.sampled_from(_PAGE_QUERIES), whole=st.booleans())
def test_a_page_marked_together_is_each_text_marked_alone(texts, query, whole):
    """A page's texts are searched joined: no word, phrase or mark crosses
    from one to the next, and each text's marks are where they are when it
    is marked alone (a phrase's first word ending one text and its last
    word starting the next is no match)."""
    marks = query_marks(query)["body"]
    alone = [highlight_texts([text], marks, ANALYZER, whole)[0] for text in texts]
    assert highlight_texts(texts, marks, ANALYZER, whole) == alone


def test_a_phrase_is_not_made_across_two_texts_of_a_page():
    marks = query_marks(wq.Phrase("body", ["وزير", "خارج"]))["body"]
    assert "<mark>" not in "".join(highlight_texts(["قال الوزير", "الخارجية قالت"], marks,
                                                   ANALYZER, whole=True))
    assert highlight_texts(["قال الوزير", "الخارجية قالت", "الوزير الخارجية"], marks, ANALYZER,
                           whole=True)[2] == "<mark>الوزير</mark> <mark>الخارجية</mark>"
