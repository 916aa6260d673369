"""Arabic orthographic normalization of single tokens.

Each rule below is a documented choice (tests in ``tests/test_analysis.py``);
users type Arabic with or without hamza, diacritics, tatweel, with ``ة`` or
``ه`` and ``ى`` or ``ي``, and all of these must find the same words.

The functions work on one token at a time, never on the raw document: the
tokenizer keeps offsets into the original text so highlighting marks the right
characters even in vocalized text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import numpy as np
import pyarabic.araby as araby

#: Rules applied by :func:`normalize`, in order. Kept as data so the quality
#: ablation (``scripts/ablation.py``) can switch each one off.
RULES = (
    "tashkeel",  # strip harakat, shadda, sukun (pyarabic) and Quranic marks
    "tatweel",  # strip kashida (pyarabic)
    "ligature",  # lam-alef ligatures -> lam + alef (pyarabic)
    "presentation",  # Arabic presentation forms (PDF/OCR text) -> base letters (NFKC)
    "alef",  # أ إ آ ٱ -> ا
    "hamza_carriers",  # ؤ ئ -> ء  (مسؤول / مسئول, both common spellings)
    "yeh",  # ى ی -> ي  (alef maksura, Persian yeh)
    "teh_marbuta",  # ة -> ه
    "persian",  # ک -> ك, ہ ھ -> ه, Persian/Urdu letters to Arabic ones
    "digits",  # Arabic-Indic and Persian digits -> ASCII
    "lower",  # Latin lowercase
)

# Marks pyarabic.strip_tashkeel does not cover: superscript alef (U+0670),
# Quranic annotation signs (U+0610-U+061A, U+06D6-U+06ED), and the extended
# harakat U+0653-U+065F.  Deleting them makes Quranic/vocalized spellings match
# the plain ones (``الرحمٰن`` -> ``الرحمن``).
_EXTRA_MARKS = dict.fromkeys(
    [*range(0x0610, 0x061B), *range(0x0653, 0x0660), 0x0670, *range(0x06D6, 0x06EE)]
)

# Zero-width and bidi controls that copy-paste leaves inside words.
_INVISIBLE = dict.fromkeys([0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x061C, 0xFEFF])

_LETTER_FOLDS = {
    "alef": {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"},
    "hamza_carriers": {"ؤ": "ء", "ئ": "ء"},
    "yeh": {"ى": "ي", "ی": "ي", "ې": "ي", "ۍ": "ي"},
    "teh_marbuta": {"ة": "ه"},
    "persian": {"ک": "ك", "ڪ": "ك", "ہ": "ه", "ھ": "ه", "ە": "ه", "ۀ": "ه"},
    # pyarabic has no digit folding; str.translate is the fast way.
    "digits": {
        **{chr(0x0660 + i): str(i) for i in range(10)},
        **{chr(0x06F0 + i): str(i) for i in range(10)},
    },
}


def _table(rules) -> dict[int, str | None]:
    table: dict[int, str | None] = dict(_INVISIBLE)
    if "tashkeel" in rules:
        table.update(_EXTRA_MARKS)
    for rule, folds in _LETTER_FOLDS.items():
        if rule in rules:
            table.update({ord(k): v for k, v in folds.items()})
    return table


_PRESENTATION_FORMS = re.compile("[\ufb50-\ufeff]")


def has_presentation_forms(token: str) -> bool:
    return _PRESENTATION_FORMS.search(token) is not None


def _pyarabic_steps(rules, table):
    """The character rules in their order, through pyarabic (defines them)."""

    def steps(text: str) -> str:
        if "ligature" in rules:
            text = araby.normalize_ligature(text)
        if "tashkeel" in rules:
            text = araby.strip_tashkeel(text)
        if "tatweel" in rules:
            text = araby.strip_tatweel(text)
        return text.translate(table)

    return steps


def make_normalizer(rules=RULES):
    """Return a ``normalize(token) -> str`` applying ``rules`` (a subset of RULES)."""
    rules = _checked(rules)
    combined = _character_map(rules)

    def normalize(token: str) -> str:
        if "presentation" in rules and has_presentation_forms(token):
            token = unicodedata.normalize("NFKC", token)
        token = token.translate(combined)
        if "lower" in rules:
            token = token.lower()
        return token

    return normalize


def _checked(rules) -> frozenset[str]:
    rules = frozenset(rules)
    unknown = rules - set(RULES)
    if unknown:
        raise ValueError(f"unknown normalization rules: {sorted(unknown)}")
    return rules


def _character_map(rules: frozenset[str]) -> dict[int, str]:
    """The characters that ``rules`` other than NFKC and lowercasing change,
    each with what they become: those rules map one character at a time,
    so together they are one str.translate table, each entry made by
    running pyarabic's functions on that character.  pyarabic's
    strip_tashkeel scans a string in Python, too slow for whole texts
    (duplicate detection)."""
    table = _table(rules)
    steps = _pyarabic_steps(rules, table)
    touched = {*map(chr, table), *araby.TASHKEEL, araby.TATWEEL, *"\ufefb\ufef7\ufef9\ufef5"}
    combined = {ord(ch): steps(ch) for ch in touched}
    return {code: out for code, out in combined.items() if out != chr(code)}


#: The default normalizer, used by the analyzer and by dedup/suggestions.
normalize = make_normalizer()


# normalize_text runs over every article's full text (duplicate detection),
# too much text to go a word at a time through a cache.  ``normalize``
# maps each character on its own (the rules are one translate table) except
# for NFKC (presentation forms), lowercasing that expands or depends on the
# next letter (final sigma), and characters outside the BMP; so on a text
# without those, the words joined by single spaces can be mapped through one
# array of all 65,536 code points at once, with numpy.  A word whose letters
# are all deleted leaves "" between two spaces either way.
DELETED = 0xFFFFFFFF
UNMAPPED = 0xFFFFFFFE  # a character the array cannot map: the text goes word by word


def code_point_map(rules: tuple[str, ...] = RULES) -> np.ndarray:
    """Per BMP code point, what ``make_normalizer(rules)`` makes of it on
    its own: the normalized code point, DELETED, or UNMAPPED where
    normalizing a word is not normalizing each of its characters
    (presentation forms go through NFKC, the final sigma lowercases by
    context, some letters lowercase to two).  Made once per set of rules."""
    return _code_point_map(_checked(rules))


@cache
def _code_point_map(rules: frozenset[str]) -> np.ndarray:
    # Only the characters a rule can change are normalized one by one (a
    # few thousand of the 65,536): the others are their own normalization.
    # Every process that searches or builds makes this table once, before
    # its first answer.
    normalize_one = make_normalizer(rules)
    chars = list(map(chr, range(0x10000)))
    changed = set(_character_map(rules)).union(range(0xFB50, 0xFF00), [0x03A3])
    if "lower" in rules:
        changed.update(code for code, (ch, low) in enumerate(zip(
            chars, map(str.lower, chars), strict=True)) if ch != low)
    mapped = np.arange(0x10000, dtype=np.uint32)
    for code in sorted(changed):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates never occur in a str from a decoded file
        ch = chars[code]
        out = normalize_one(ch)
        if has_presentation_forms(ch) or ch == "\u03a3" or len(out) > 1:
            mapped[code] = UNMAPPED
        elif not out:
            mapped[code] = DELETED
        else:
            mapped[code] = ord(out)
    return mapped


def normalize_text(text: str) -> str:
    """Normalize a whole string word by word (for keys and comparisons, never for
    text that will be highlighted): the words (``str.split``), each through
    ``normalize``, joined by one space."""
    return normalize_points(" ".join(text.split())).tobytes().decode("utf-32-le")


def normalize_points(text: str) -> np.ndarray:
    """The code points (uint32) of ``text`` normalized word by word, its
    whitespace kept as it is (``normalize_text`` gives it single spaces
    first), for callers that go on with numpy (story signatures)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    if codes.size and codes.max() <= 0xFFFF:
        mapped = code_point_map()[codes]
        if mapped.max() < UNMAPPED:
            return mapped
        if not (mapped == UNMAPPED).any():
            return mapped[mapped != DELETED]
    if not codes.size:
        return codes
    words = " ".join(map(normalize, text.split(" ")))
    return np.frombuffer(words.encode("utf-32-le"), dtype=np.uint32)
