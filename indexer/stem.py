"""Arabic light stemming (Larkey's light10), on normalized tokens.

Why our own: Whoosh's bundled Arabic stemmer (ISRI) raises ``re.error`` under
Python 3 and is a root stemmer (it conflates far too much for retrieval);
pyarabic has no stemmer; Snowball Arabic never strips ``وال``/``فال``.
light10 is a dozen lines and the IR literature's best light stemmer.

Input must already be normalized (``ة``->``ه``, ``ى``->``ي``, alef forms->``ا``),
so the suffix list below is the normalized spelling of light10's.

Every light stemmer also cuts a stem-initial ``و`` (``وزير``->``زير``, while
``الوزير``->``وزير``).  ``protected`` words keep their first letter; the list
is derived from corpus statistics by ``scripts/make_protected.py``.

light10 also never splits the one-letter proclitics ``ب ل ك ف`` from a word
without the article (``بمصر``, ``لكرة``), nor reads ``للاعب`` as ``ل`` +
``لاعب``.  ``split`` words (same script, same statistics) lose their first
letter before the article and suffixes are stripped.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


def _word_list(name: str) -> frozenset[str]:
    try:
        text = resources.files("indexer").joinpath(f"data/{name}").read_text("utf-8")
    except FileNotFoundError:
        return frozenset()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@lru_cache(maxsize=1)
def protected_words() -> frozenset[str]:
    """Words whose leading ``و`` belongs to the word (data/protected.txt)."""
    return _word_list("protected.txt")


@lru_cache(maxsize=1)
def split_words() -> frozenset[str]:
    """Words that start with the proclitic ``ب ل ك ف`` (data/proclitics.txt)."""
    return _word_list("proclitics.txt")


def light10(word: str, protected: frozenset[str] = frozenset(),
            split: frozenset[str] = frozenset()) -> str:
    """Stem one normalized word: conjunction ``و``, a ``split`` proclitic or one
    article, then suffixes.

    A protected word (``وزير``, ``والده``) keeps its ``و`` and no article is
    looked for in it, but it still loses its suffixes (``وزيره``->``وزير``).
    """
    if len(word) >= 4 and word[0] == "و" and word not in protected:
        word = word[1:]  # ``ووزير`` -> ``وزير``, then as a protected word
    if word in split:
        word = word[1:]  # ``بمصر`` -> ``مصر``, ``للاعب`` -> ``لاعب``
    if word not in protected:
        for prefix in PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= 2:
                word = word[len(prefix):]
                break
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            word = word[: -len(suffix)]
    return word


def strip_article(prefix: str) -> str:
    """A prefix or wildcard query's text without light10's article (``الليب`` ->
    ``ليب``), so it matches stems; unchanged when fewer than two characters,
    or a wildcard, would be left at its start."""
    for article in PREFIXES:
        rest = prefix[len(article):]
        if prefix.startswith(article) and len(rest) >= 2 and not set(rest[:2]) & {"*", "?"}:
            return rest
    return prefix


def identity(word: str, protected: frozenset[str] = frozenset(),
             split: frozenset[str] = frozenset()) -> str:
    """No stemming (the ablation's baseline and the exact-form fields)."""
    return word


_LONG_VOWELS = str.maketrans("", "", "اويء")

#: Shorter stems keep their vowels in the skeleton view: there the vowels
#: carry the word (``عريض`` / ``عرض``, ``كتاب`` / ``كتب``).
SKELETON_MIN_LETTERS = 4


def skeleton(word: str, protected: frozenset[str] = frozenset(),
             split: frozenset[str] = frozenset()) -> str:
    """The light10 stem without long vowels and hamza after its first letter.

    A coarse view for spelling and transliteration variants (``موريتانيا`` /
    ``موريطانيا`` differ elsewhere, but ``ليفربول`` / ``ليفيربول``,
    ``داود`` / ``داوود``, ``بلجيكا`` / ``بلجيكيا``, ``مسؤول`` / ``مسوول`` meet).
    Stems of three letters or fewer are left alone: there the vowels carry
    the word.
    """
    return skeleton_of_stem(light10(word, protected, split))


def skeleton_of_stem(stem: str) -> str:
    """The skeleton view's term for a light10 stem."""
    if len(stem) < SKELETON_MIN_LETTERS:
        return stem
    return stem[0] + stem[1:].translate(_LONG_VOWELS)


STEMMERS = {"light10": light10, "none": identity, "skeleton": skeleton}

#: The stemmers whose stem of a word is a run of the word's own letters (an
#: affix taken off each end): a word can only have the stem ``s`` if ``s``
#: occurs in it, which lets highlighting look for the stems in a text
#: instead of analyzing each of its words (``ArabicAnalyzer.spans``).
INFIX_STEMMERS = frozenset({"light10", "none"})

#: For the stemmers that are a function of the light10 stem: that function
#: (search.query derives the skeleton terms of a query from its stems).
FROM_LIGHT10_STEM = {"light10": lambda stem: stem, "skeleton": skeleton_of_stem}
