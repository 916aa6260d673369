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
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


@lru_cache(maxsize=1)
def protected_words() -> frozenset[str]:
    """Words whose leading ``و`` belongs to the word (shipped data file)."""
    try:
        text = resources.files("indexer").joinpath("data/protected.txt").read_text("utf-8")
    except FileNotFoundError:
        return frozenset()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def light10(word: str, protected: frozenset[str] = frozenset()) -> str:
    """Stem one normalized word: conjunction ``و``, one article, then suffixes."""
    if word in protected:
        return word
    if len(word) >= 4 and word[0] == "و":
        rest = word[1:]
        # ``و`` + a protected word (``ووزير``) -> the protected word.
        if rest in protected:
            return rest
        word = rest
    for prefix in PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            word = word[len(prefix):]
            break
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            word = word[: -len(suffix)]
    return word


def identity(word: str, protected: frozenset[str] = frozenset()) -> str:
    """No stemming (the ablation's baseline and the exact-form fields)."""
    return word


STEMMERS = {"light10": light10, "none": identity}
