"""A text's story signature: MinHash of its normalized word shingles.

The one definition of what makes two articles "the same story with small
edits" at the level of their words (indexer/stories.py groups them): the
text is normalized with the analyzer's normalizer (indexer/normalize.py:
hamza, tashkeel, ة/ه, ى/ي and digits do not count as edits), split into
words, and its set of SHINGLE_WORDS-word shingles is summarised by a
``datasketch`` MinHash of NUM_PERM permutations.  The share of equal values
of two signatures estimates the Jaccard similarity of the two shingle sets.

The codec's per-document writer computes each document's signature from
its stored body (indexer/docvalues.py), so every segment holds its
documents' signatures and an update reuses those of the segments it keeps.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
from datasketch import LeanMinHash, MinHash

from indexer.normalize import normalize_text

#: The stored field whose text is shingled.
FIELD = "body"
#: Words per shingle: three words keep word order (a reworded sentence
#: changes its shingles) without making every small edit a large change.
SHINGLE_WORDS = 3
#: Permutations of a signature: the Jaccard estimate's standard error at
#: 0.5 is 0.044, and a signature is 512 bytes.
NUM_PERM = 128
SEED = 1
#: datasketch's permutation scheme, named because signatures are stored.
SCHEME = "affine32"
#: Bodies of fewer words are never grouped: a short text (a caption, a
#: one-line brief) shares most of its shingles with unrelated ones.
MIN_WORDS = 20

#: The signature of a text too short to group (datasketch's empty MinHash).
EMPTY = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
_WORD = re.compile(r"\w+")


def _hash(shingle: bytes) -> int:
    """A shingle's 32-bit hash: CRC-32 is the same in every process and run
    (Python's ``hash`` is salted) and fast in C, unlike datasketch's
    default SHA-1."""
    return zlib.crc32(shingle)


_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_hash).permutations


def shingles(text: str) -> set[bytes]:
    """The word shingles of a text, normalized (empty under MIN_WORDS words)."""
    words = _WORD.findall(normalize_text(text))
    if len(words) < MIN_WORDS:
        return set()
    return {" ".join(words[i:i + SHINGLE_WORDS]).encode("utf-8")
            for i in range(len(words) - SHINGLE_WORDS + 1)}


def signature(text: str) -> np.ndarray:
    """The MinHash signature of a text's shingles: NUM_PERM uint32 (EMPTY
    for a text under MIN_WORDS words)."""
    found = shingles(text)
    if not found:
        return EMPTY
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=_hash,
                      permutations=_PERMUTATIONS, scheme=SCHEME)
    minhash.update_batch(found)
    return minhash.hashvalues.astype(np.uint32)


def is_empty(signatures: np.ndarray) -> np.ndarray:
    """Which rows of ``signatures`` stand for a text too short to group."""
    return (signatures == EMPTY).all(axis=-1)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of two signatures' shingle sets."""
    return float(np.count_nonzero(a == b)) / len(a)


def lean(values: np.ndarray) -> LeanMinHash:
    """A stored signature as datasketch's MinHash (for its LSH index)."""
    return LeanMinHash(seed=SEED, hashvalues=values.astype(np.uint64), scheme=SCHEME)
