"""Did you mean: a rare word of a query respelt as a much more frequent one.

A query word is respelt only when it is rare in the archive (at most
RARE_SHARE of the articles hold it) and a respelling finds at least GAIN
times the articles it finds (any article at all, when it finds none): a
misspelt word (``الريض``, 1 article) gets the word meant (``الرياض``,
thousands), while a word the archive simply lacks is not turned into an
unrelated frequent one.

Respellings are the slips people make in Arabic, one at a time, on the
word's stem (the term the index holds): a letter swapped for one of the
same shape but other dots (``ظ``/``ط``), one said alike (``ض``/``ظ``,
``س``/``ص``) or a neighbour on the Arabic keyboard; a long vowel or hamza
left out or added (``ريض``/``رياض``); two letters swapped; a letter
pressed twice or more.  Other edits (``كوفيد`` -> ``كوميد``: ``ف`` and
``م`` share nothing) are not slips, and are never offered.

Each candidate is one look-up in the generation's term dictionaries,
charged to the request's budget (RESPELL_UNITS, search/budget.py): about
a hundred per rare word, well under a millisecond.
"""

from __future__ import annotations

import itertools

#: A word held by at most this share of the articles (and at least by
#: RARE_FLOOR) may be respelt; a more frequent one is what was meant.
RARE_SHARE = 1 / 2000
RARE_FLOOR = 3
#: A respelling must find this many times the articles the word finds.
GAIN = 10
#: Only stems of this many letters are respelt: in shorter ones every
#: slip makes another real word.
MIN_STEM = 3
#: The field whose document frequencies are compared (it holds the
#: headline and the body).
FIELD = "body"

#: Letters of one shape told apart by their dots, and letters said alike
#: (as the normalizer leaves them: ة is ه, ى is ي, أ إ آ are ا, ؤ ئ are ء).
_ALIKE = ("بتثني", "جحخ", "دذ", "رز", "سش", "صض", "طظ", "عغ", "فق",
          "ضظ", "ذزظ", "سصث", "تط", "هح", "قك", "ءاع", "دض")
#: The Arabic keyboard's rows (normalized): a key's neighbours in its row.
_ROWS = ("ضصثقفغعهخحجد", "شسيبلاتنمكط", "ءءءرلايهوزظ")
#: Letters a writer leaves out or adds: the long vowels and hamza.
_VOWELS = "اويء"


def _near_letters() -> dict[str, frozenset[str]]:
    near: dict[str, set[str]] = {}
    for group in _ALIKE:
        for ch in group:
            near.setdefault(ch, set()).update(group)
    for row in _ROWS:
        for a, b in itertools.pairwise(row):
            near.setdefault(a, set()).add(b)
            near.setdefault(b, set()).add(a)
    return {ch: frozenset(others - {ch}) for ch, others in near.items()}


_NEAR = _near_letters()


def slips(stem: str) -> set[str]:
    """Every spelling one slip away from ``stem`` (see the module)."""
    found = set()
    for i, ch in enumerate(stem):
        head, tail = stem[:i], stem[i + 1:]
        found.update(head + other + tail for other in _NEAR.get(ch, ()))
        if ch in _VOWELS or (tail and tail[0] == ch):
            found.add(head + tail)  # a vowel added, or a letter pressed twice
        if tail:
            found.add(head + tail[0] + ch + tail[1:])  # two letters swapped
    for i in range(len(stem) + 1):
        found.update(stem[:i] + vowel + stem[i:] for vowel in _VOWELS)
    squeezed = "".join(ch for i, ch in enumerate(stem) if not i or stem[i - 1] != ch)
    found.add(squeezed)  # a letter pressed three times
    found.discard(stem)
    return found


def respell_word(stem: str, articles: int, doc_frequency, charge) -> str | None:
    """The stem to offer for ``stem``, or None.  ``articles``: the live
    articles; ``doc_frequency(stem)``: the articles holding a stem;
    ``charge(n)``: spend n look-ups from the request's budget."""
    if len(stem) < MIN_STEM:
        return None
    held = doc_frequency(stem)
    if held > max(RARE_FLOOR, articles * RARE_SHARE):
        return None
    need = max(1, GAIN * held)
    best, best_held = None, need - 1
    candidates = sorted(slips(stem))
    charge(len(candidates))
    for candidate in candidates:
        n = doc_frequency(candidate)
        if n > best_held:
            best, best_held = candidate, n
    return best


def suggest(text: str, analyzer, articles: int, doc_frequency, charge) -> str | None:
    """``text`` with its rare, misspelt words respelt; None when none is.

    Operators, field names, phrases and wildcards are left alone (only
    plain words are respelt); a respelt word keeps what the user typed
    around its stem (``الريض`` -> ``الرياض``), normalized."""
    changed = False
    out = []
    for word in text.split():
        _, stem, stop = analyzer.analyze_word(word)
        better = None if stop or not word.isalnum() else respell_word(
            stem, articles, doc_frequency, charge)
        norm = analyzer.analyze_word(word)[0]
        at = norm.find(stem) if better else -1
        respelt = norm[:at] + better + norm[at + len(stem):] if at >= 0 else None
        if respelt and analyzer.analyze_word(respelt)[1] == better:
            out.append(respelt)
            changed = True
        else:
            out.append(word)
    return " ".join(out) if changed else None
