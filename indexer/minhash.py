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

from functools import cache

import numpy as np

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


def _words(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a 64-bit hash of each word, where it starts) of a text given as its
    code points (uint32), in order."""
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
    hashes = _mix((sums[ends] - sums[starts]) * inverses[starts] + (ends - starts).astype(_U64))
    return hashes, starts


def word_hashes(points: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word of a text given as its code points
    (uint32), in order."""
    return _words(points)[0]


def _shingled(words: np.ndarray) -> np.ndarray:
    """The 32-bit hash of each run of SHINGLE_WORDS consecutive word hashes."""
    count = len(words) - SHINGLE_WORDS + 1
    first, second, third = (words[k:k + count] * weight
                            for k, weight in enumerate(_SHINGLE_WEIGHTS))
    return (_mix(first + second + third) >> _U64(32)).astype(np.uint32)


def shingle_hashes(text: str) -> np.ndarray:
    """The 32-bit hashes of a text's shingles, normalized, in order (a
    shingle met twice twice: a MinHash is the same); empty under MIN_WORDS
    words."""
    words = word_hashes(normalize_points(text))
    if len(words) < MIN_WORDS:
        return np.zeros(0, dtype=np.uint32)
    return _shingled(words)


#: Texts whose signatures are computed together: numpy's cost per call is
#: paid once for them all, and their shingles' permutations (a row of
#: NUM_PERM values each) stay a few megabytes.
BATCH = 16
#: datasketch's affine32 permutations of a shingle hash: MurmurHash3's 32-bit
#: finalizer, then ``a * h + b`` modulo 2**32, with the permutations' (a, b).
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35),
           np.uint32(16))


@cache
def permutations() -> tuple[np.ndarray, np.ndarray]:
    """The permutations' (a, b), a column each: what datasketch's
    ``MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations``
    holds (a test compares them), drawn here the way it draws them.

    Why not that call: datasketch's package imports scipy, half a second
    of start-up in each process of a build, while these are two draws of
    NUM_PERM numbers."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a[:, None], b[:, None]


_SPACE = np.array([ord(" ")], dtype=np.uint32)


def signatures(texts: list[str]) -> np.ndarray:
    """The stored signature of each text: NUM_PERM values of BITS bits,
    uint8, a row each (EMPTY for a text under MIN_WORDS words).

    The values are datasketch's: ``MinHash(num_perm=NUM_PERM, seed=SEED,
    scheme=SCHEME, hashfunc=int).update_batch(shingle_hashes(text))`` (a
    test compares them).  Why not that call: it hashes each shingle with a
    Python call and builds a MinHash per text, most of a signature's cost;
    here the permutations of a batch of texts' shingles are one numpy
    expression."""
    out = np.empty((len(texts), NUM_PERM), dtype=np.uint8)
    for first in range(0, len(texts), BATCH):
        out[first:first + BATCH] = _batch(texts[first:first + BATCH])
    return out


def signature(text: str) -> np.ndarray:
    """The stored signature of one text (``signatures``)."""
    return signatures([text])[0]


def _batch(texts: list[str]) -> np.ndarray:
    points = [normalize_points(text) for text in texts]
    # A space after each text: no word runs from one text into the next.
    joined = np.concatenate([part for found in points for part in (found, _SPACE)])
    text_starts = np.cumsum([0] + [len(found) + 1 for found in points[:-1]])
    words, starts = _words(joined)
    out = np.tile(EMPTY, (len(texts), 1))
    if len(words) < SHINGLE_WORDS:
        return out
    owner = np.searchsorted(text_starts, starts, side="right") - 1
    counts = np.bincount(owner, minlength=len(texts))
    first_owner = owner[:len(words) - SHINGLE_WORDS + 1]
    kept = (first_owner == owner[SHINGLE_WORDS - 1:]) & (counts[first_owner] >= MIN_WORDS)
    if not kept.any():
        return out
    shingles, owners = _shingled(words)[kept], first_owner[kept]
    s1, m1, s2, m2, s3 = _FMIX32
    mixed = shingles ^ (shingles >> s1)
    mixed = mixed * m1
    mixed = mixed ^ (mixed >> s2)
    mixed = mixed * m2
    mixed = mixed ^ (mixed >> s3)
    # A row per permutation, so each text's minimum is over contiguous values.
    a, b = permutations()
    permuted = a * mixed + b  # uint32: the wraparound is the modulo
    firsts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    minima = np.minimum.reduceat(permuted, firsts, axis=1)
    out[owners[firsts]] = (minima.T & ((1 << BITS) - 1)).astype(np.uint8)
    return out


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
