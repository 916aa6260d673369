"""Did you mean: a rare word of a query respelt as a much more frequent one.

A query word is respelt only when it is rare in the archive (at most
RARE_SHARE of the articles hold it), no edited headline uses it (a word
KNOWN_HEADLINES headlines hold is a word, however rare), and a respelling
finds at least GAIN times the articles it finds (any article at all, when
it finds none), twice that for the less likely slips.  Why so many: a
given slip is made in far fewer than one of GAIN occurrences of a word,
so a typed word held by more than that share of its respelling's articles
is a word of its own (``يتماثل``, 12 articles, is not a slip of ``يتمثل``,
284), while a misspelt word (``الريض``, 1 article) gets the word meant
(``الرياض``, thousands), and a word the archive simply lacks is not turned
into an unrelated frequent one.

Respellings are the slips people make in Arabic, one at a time: a letter swapped for one of the
same shape but other dots (``ظ``/``ط``), one said alike (``ض``/``ظ``,
``س``/``ص``) or a neighbour on the Arabic keyboard; a long vowel or hamza
left out or added (``ريض``/``رياض``); two letters swapped; a letter
pressed twice or more.  Other edits (``كوفيد`` -> ``كوميد``: ``ف`` and
``م`` share nothing) are not slips, and are never offered.

Each slip is analyzed to its stem, and each distinct stem is one look-up
in the generation's term dictionaries, charged to the request's budget
(RESPELL_UNITS, search/budget.py): one to two hundred per rare word, a
few milliseconds; then the very forms of the few slips whose stem is
frequent enough.  ``scripts/respell_eval.py`` measures the corrections and
the false suggestions on labelled sets (docs/quality.md).
"""

from __future__ import annotations

import itertools

#: A word held by at most this share of the articles (and at least by
#: RARE_FLOOR) may be respelt; a more frequent one is what was meant.
RARE_SHARE = 1 / 1000
RARE_FLOOR = 3
#: A respelling must find this many times the articles the word finds,
#: times its slip's weight (see ``slips``).
GAIN = 50
#: A word that this many headlines hold is a word (headlines are edited).
KNOWN_HEADLINES = 2
#: Only stems of this many letters are respelt: in shorter ones every
#: slip makes another real word.
MIN_STEM = 3
#: The field whose document frequencies are compared (it holds the
#: headline and the body).
FIELD = "body"

#: Letters of one shape told apart by their dots, and letters said alike
#: (as the normalizer leaves them: ة is ه, ى is ي, أ إ آ are ا, ؤ ئ are ء).
_SHAPES = ("بتثني", "جحخ", "دذ", "رز", "سش", "صض", "طظ", "عغ", "فق")
_SOUNDS = ("ضظ", "ذزظ", "سصث", "تط", "هح", "قك", "ءاع", "دض")
#: The Arabic keyboard's rows (normalized): a key's neighbours in its row.
_ROWS = ("ضصثقفغعهخحجد", "شسيبلاتنمكط", "ءءءرلايهوزظ")
#: Letters a writer leaves out or adds: the long vowels and hamza.
_VOWELS = "اويء"


def _letters(groups) -> dict[str, frozenset[str]]:
    """Each letter's companions in ``groups`` (strings of letters that go together)."""
    near: dict[str, set[str]] = {}
    for group in groups:
        for ch in group:
            near.setdefault(ch, set()).update(group)
    return {ch: frozenset(others - {ch}) for ch, others in near.items()}


_SHAPE = _letters(_SHAPES)
_OTHER = _letters(_SOUNDS + tuple(a + b for row in _ROWS for a, b in itertools.pairwise(row)))


def slips(word: str) -> dict[str, int]:
    """Every spelling one slip away from a normalized ``word`` (see the
    module), with how unlikely its slip is: 1 for a long vowel or hamza
    left out or added, letters of one shape, a key pressed twice or more;
    2 for letters said alike, keyboard neighbours, two letters swapped."""
    found: dict[str, int] = {}

    def add(spelling: str, weight: int) -> None:
        if spelling != word and found.get(spelling, 3) > weight:
            found[spelling] = weight

    for i, ch in enumerate(word):
        head, tail = word[:i], word[i + 1:]
        for other in _SHAPE.get(ch, ()):
            add(head + other + tail, 1)
        for other in _OTHER.get(ch, ()):
            add(head + other + tail, 2)
        if ch in _VOWELS or (tail and tail[0] == ch):
            add(head + tail, 1)  # a vowel added, or a letter pressed twice
        if tail:
            add(head + tail[0] + ch + tail[1:], 2)  # two letters swapped
    for i in range(len(word) + 1):
        for vowel in _VOWELS:
            add(word[:i] + vowel + word[i:], 1)
    add("".join(ch for i, ch in enumerate(word) if not i or word[i - 1] != ch), 1)
    return found


def respell_word(word: str, stem_of, articles: int, doc_frequencies, charge,
                 form_frequencies=None, headlines=None) -> str | None:
    """The word to offer for a normalized ``word``, or None.  The slips
    are made on the word and looked up by their stems, so a slip that
    moves a suffix (``مفاوضت`` -> ``مفاوضات``, stem ``مفاوض``) counts.

    ``stem_of(word)``: its term ('' if not indexed); ``articles``: the live
    articles; ``doc_frequencies(stems)``: the articles holding each of a
    list of stems (a backend counts them as it can: one look-up each, or
    one request for all); ``charge(n)``: spend n look-ups from the
    request's budget; ``form_frequencies(words)``: the articles holding
    each very form (the unstemmed view), when the index has one: then the
    typed form and the respelt forms are what is compared, so a rare but
    real inflection (``وافقنا``) is not turned into a form no one writes
    (``وافقان``, stem ``وافق``) whose stem is merely frequent, and a
    misspelling whose stem is a frequent word (``السرقيه``, stem ``سرق``)
    is still respelt; ``headlines(word)``: the headlines holding the word,
    when known."""
    stem = stem_of(word)
    if len(stem) < MIN_STEM:
        return None
    # A word many headlines hold is known: one look-up in the completions,
    # where its article count is one per segment.
    if headlines is not None and headlines(word) >= KNOWN_HEADLINES:
        return None
    count = doc_frequencies if form_frequencies is None else form_frequencies
    held = count([stem if form_frequencies is None else word])[0]
    if held > max(RARE_FLOOR, articles * RARE_SHARE):
        return None
    need = max(1, GAIN * held)
    # stem -> its slips, (weight, slip) each
    stems: dict[str, list[tuple[int, str]]] = {}
    for candidate, weight in sorted(slips(word).items()):
        term = stem_of(candidate)
        if len(term) >= MIN_STEM and term != stem:
            stems.setdefault(term, []).append((weight, candidate))
    if not stems:
        return None
    charge(len(stems))
    # A stem's articles bound its forms': only a frequent stem's slips are looked up.
    kept = [(n, found) for found, n in zip(stems.values(), doc_frequencies(list(stems)),
                                           strict=True) if n >= need]
    if form_frequencies is None:
        # each stem by its likeliest slip, the first in code point order
        hits = [(weight, -n, candidate) for n, found in kept
                for weight, candidate in [min(found)] if n >= need * weight]
    else:
        forms = [(weight, candidate) for _, found in kept for weight, candidate in found]
        charge(len(forms))
        counts = form_frequencies([candidate for _, candidate in forms]) if forms else []
        hits = [(weight, -n, candidate) for (weight, candidate), n
                in zip(forms, counts, strict=True) if n >= need * weight]
    # The likeliest slip first, then the most articles found.
    return min(hits)[2] if hits else None


def counted_one_by_one(frequency):
    """``doc_frequencies`` for a backend that counts one term at a time."""
    return lambda terms: [frequency(term) for term in terms]


def suggest(text: str, analyzer, articles: int, doc_frequencies, charge,
            spelling=lambda word: word, form_frequencies=None, headlines=None,
            kept=lambda word, find: find()) -> str | None:
    """``text`` with its rare, misspelt words respelt; None when none is.

    Operators, field names, phrases and wildcards are left alone (only
    plain words are respelt).  A respelt word is normalized;
    ``spelling(word)`` may give the spelling it is shown in (hamza and
    all: the archive's most frequent).  ``kept(word, find)``: a normalized
    word's respelling, ``find()`` when the backend has not kept it (a
    respelling costs tens of look-ups, and a query comes back: its next
    page, the next reader)."""
    def stem_of(word: str) -> str:
        # Cached: a query's words and their slips come back in later queries.
        return analyzer.index_term(word, cached=True)

    changed = False
    out = []
    for word in text.split():
        norm, _, stop = analyzer.analyze_word(word)
        better = None if stop or not word.isalnum() else kept(norm, lambda norm=norm: respell_word(
            norm, stem_of, articles, doc_frequencies, charge, form_frequencies, headlines))
        if better:
            out.append(spelling(better))
            changed = True
        else:
            out.append(word)
    return " ".join(out) if changed else None
