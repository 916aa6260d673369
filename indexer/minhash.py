"""A text's story signature: a b-bit MinHash of its normalized word shingles.

The one definition of what makes two articles "the same story with small
edits" at the level of their words (indexer/stories.py groups them): the
text is normalized with the analyzer's normalizer (indexer/normalize.py:
hamza, tashkeel, ة/ه, ى/ي and digits do not count as edits), split into
words (runs of letters, digits and ``_``: the words of ``\\w+``), and its
set of SHINGLE_WORDS-word shingles is summarised by a ``datasketch``
MinHash of NUM_PERM permutations, of which a signature keeps the lowest
BITS bits of each value (b-bit MinHash, Li and König 2010: datasketch's
``bBitMinHash`` keeps the same bits).  The share of equal values of two
signatures, less the share that chance makes equal, estimates the Jaccard
similarity of the two shingle sets (``similarity``).

Words and shingles are hashed with numpy on the text's code points, not
one Python string at a time: each word's hash is computed once, and a
shingle's hash combines its three words' hashes.  A shingle is thus known
by a 32-bit hash, not by its text; two of an article's shingles share one
by chance with a probability of about 2**-32 a pair.

The codec's per-document writer computes each document's signature from
its stored body (indexer/docvalues.py), so every segment holds its
documents' signatures and an update reuses those of the segments it keeps.
"""

from __future__ import annotations

import numpy as np
from datasketch import MinHash

from indexer.normalize import normalize_points

#: The stored field whose text is shingled.
FIELD = "body"
#: Words per shingle: three words keep word order (a reworded sentence
#: changes its shingles) without making every small edit a large change.
SHINGLE_WORDS = 3
#: Permutations of a signature, and the bits kept of each value: 64
#: one-byte values estimate a Jaccard similarity of 0.5 with a standard
#: error of 0.063 in 64 bytes an article; the bits cut add almost nothing
#: to it (CHANCE), and each permutation costs as much as the words' hashing.
NUM_PERM = 64
BITS = 8
SEED = 1
#: datasketch's permutation scheme, named because signatures are stored.
SCHEME = "affine32"
#: Bodies of fewer words are never grouped: a short text (a caption, a
#: one-line brief) shares most of its shingles with unrelated ones.
MIN_WORDS = 20

#: The chance that two values of BITS bits are equal when the minima they
#: were cut from are not: the similarity estimate subtracts it.
CHANCE = 1 / (1 << BITS)

#: The stored signature of a text too short to group.  A real signature
#: is all ones with a probability of 2**-512.
EMPTY = np.full(NUM_PERM, 0xFF, dtype=np.uint8)

_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations

_U64 = np.uint64
#: The polynomial hash of a word's code points: sums of code point x
#: _BASE**position over the text, so that a word's hash is a difference of
#: two prefix sums, shifted back by the inverse power of its start.
_BASE = 0x100000001B3
_TABLE = 1 << 16  # characters of the powers kept (longer texts compute theirs)


def _powers(count: int, base: int) -> np.ndarray:
    """base**0 .. base**(count-1) modulo 2**64."""
    factors = np.full(count, base, dtype=_U64)
    factors[0] = 1
    return np.cumprod(factors, dtype=_U64)


_POWERS = _powers(_TABLE, _BASE)
_INVERSES = _powers(_TABLE, pow(_BASE, -1, 1 << 64))
#: Weights of a shingle's three word hashes (order matters: odd constants).
_SHINGLE_WEIGHTS = (_U64(0x9E3779B97F4A7C15), _U64(0xC2B2AE3D27D4EB4F), _U64(1))
#: Which code points are word characters (``\\w``: ``str.isalnum`` or ``_``),
#: for the Basic Multilingual Plane; the others are looked up one by one.
_WORD_BMP = np.array([ch.isalnum() or ch == "_" for ch in map(chr, range(1 << 16))])


def _mix(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: spreads every input bit over the output."""
    values = values ^ (values >> _U64(33))
    values = values * _U64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> _U64(33))
    values = values * _U64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> _U64(33))


def word_hashes(points: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word of a text given as its code points
    (uint32), in order."""
    is_word = np.zeros(len(points) + 2, dtype=bool)  # a non-word either side
    is_word[1:-1] = _WORD_BMP.take(points, mode="clip")
    high = np.flatnonzero(points > 0xFFFF)
    if len(high):
        is_word[high + 1] = [chr(c).isalnum() for c in points[high].tolist()]
    bounds = np.flatnonzero(is_word[1:] != is_word[:-1])
    starts, ends = bounds[0::2], bounds[1::2]
    if len(points) <= _TABLE:
        powers, inverses = _POWERS[:len(points)], _INVERSES
    else:
        powers, inverses = (_powers(len(points), _BASE),
                            _powers(len(points), pow(_BASE, -1, 1 << 64)))
    sums = np.zeros(len(points) + 1, dtype=_U64)
    np.cumsum(points * powers, out=sums[1:])
    return _mix((sums[ends] - sums[starts]) * inverses[starts] + (ends - starts).astype(_U64))


def shingle_hashes(text: str) -> np.ndarray:
    """The 32-bit hashes of a text's shingles, normalized, in order (a
    shingle met twice twice: a MinHash is the same); empty under MIN_WORDS
    words."""
    words = word_hashes(normalize_points(text))
    if len(words) < MIN_WORDS:
        return np.zeros(0, dtype=np.uint32)
    count = len(words) - SHINGLE_WORDS + 1
    first, second, third = (words[k:k + count] * weight
                            for k, weight in enumerate(_SHINGLE_WEIGHTS))
    return (_mix(first + second + third) >> _U64(32)).astype(np.uint32)


def signature(text: str) -> np.ndarray:
    """The stored signature of a text: NUM_PERM values of BITS bits, uint8
    (EMPTY for a text under MIN_WORDS words)."""
    found = shingle_hashes(text)
    if not len(found):
        return EMPTY
    # The shingles are hashed already: datasketch's hash function is the identity.
    sketch = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int,
                     permutations=_PERMUTATIONS, scheme=SCHEME)
    sketch.update_batch(found.tolist())
    return (sketch.hashvalues & ((1 << BITS) - 1)).astype(np.uint8)


def is_empty(signatures: np.ndarray) -> np.ndarray:
    """Which rows of ``signatures`` (stored) stand for a text too short to group."""
    return (signatures == EMPTY).all(axis=-1)


def estimate(equal: np.ndarray | int) -> np.ndarray | float:
    """The estimated Jaccard similarity of two signatures with ``equal``
    equal values: their share, less the share chance makes equal."""
    return (np.asarray(equal) / NUM_PERM - CHANCE) / (1 - CHANCE)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of two stored signatures' shingle sets."""
    return float(estimate(np.count_nonzero(a == b)))
