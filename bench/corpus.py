"""Corpus staging and the query set for bench.py (stdlib only).

The bench never indexes the corpora in place: it writes a *staged* copy in a
temporary folder with the held-out articles removed (and, with ``--quick``,
only a sample of the rest), so that every engine indexes exactly the same
files.  SaudiNewsNet JSON arrays are rewritten without the held-out records;
ANT files (one article each) are symlinked.

The held-out articles' headlines become the queries: they are not in the
index, which is what a real searcher's query looks like (a topic, not a copy
of one indexed headline).
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

SAUDI = "saudinewsnet"
ANT = "ant"
CORPORA = {SAUDI: "saudinewsnet", ANT: "ant-multisource"}

#: Query kinds, in report order.  "ranked" and "searchbox" are *modes* run over
#: every kind (see workers.py).
KINDS = ("word1", "words2_4", "words6plus", "phrase2", "date_filtered", "newest")
PLAIN_KINDS = ("word1", "words2_4", "words6plus", "phrase2")
KIND_LABELS = {
    "word1": "1 word",
    "words2_4": "2-4 words",
    "words6plus": "6+ words",
    "phrase2": '"2-word phrase"',
    "date_filtered": "2-4 words + date range",
    "newest": "2-4 words, sort=newest",
}
#: A week around the held-out article's date.
DATE_WINDOW_DAYS = 3

# Letters/digits of any script; punctuation, quotes and colons are dropped so
# that no engine's query syntax ("field:", quotes) is triggered by accident.
_WORD_RE = re.compile(r"[^\W_]+")
_TITLE_RE = re.compile(r"<TITLE>(.*?)</TITLE>", re.S | re.I)
_TIME_RE = re.compile(r"<TIME>(.*?)</TIME>", re.S | re.I)
#: Function words never used as a 1-word query or a phrase edge (the bench
#: picks content words; each engine may drop stopwords differently).
_FUNCTION_WORDS = frozenset(
    ["في", "من", "على", "إلى", "الى", "عن", "مع", "بعد", "قبل", "بين", "حتى", "منذ",
     "خلال", "ضد", "عند", "لدى", "أن", "إن", "أو", "ثم", "لا", "لم", "لن", "ما", "هذا",
     "هذه", "ذلك", "تلك", "التي", "الذي", "الذين", "كل", "بعض", "غير", "وفي", "ومن",
     "وعلى", "وإلى", "والى", "وعن", "ومع", "هل", "قد", "كان", "كانت", "يكون", "تكون",
     "أمام", "حول", "عبر", "دون", "تحت", "فوق", "ليس", "لها", "له", "به", "بها", "فيها",
     "منها", "عليه", "عليها"]
)


class CorpusMissing(SystemExit):
    pass


def corpora_root() -> Path:
    """``<workspace>/shared/corpora``, i.e. two levels above the repository."""
    return Path(__file__).resolve().parents[2] / "shared" / "corpora"


def check_corpora(names: list[str]) -> Path:
    root = corpora_root()
    missing = [CORPORA[n] for n in names if not (root / CORPORA[n]).is_dir()]
    if missing:
        raise CorpusMissing(
            f"bench: corpus folder(s) not found: {', '.join(str(root / m) for m in missing)}\n"
            "bench: the bench expects the shared corpora beside the repository "
            "(<workspace>/shared/corpora/{saudinewsnet,ant-multisource}); "
            "see shared/corpora/README.md"
        )
    if SAUDI in names and not list((root / CORPORA[SAUDI] / "dataset").glob("*.json")):
        raise CorpusMissing(f"bench: no *.json files in {root / CORPORA[SAUDI] / 'dataset'}")
    return root


@dataclass
class Unit:
    """One article of a corpus: where it is, and (once known) headline and date."""

    corpus: str
    path: str  # the file
    index: int = -1  # record number inside a JSON array (SaudiNewsNet); -1 for a file
    headline: str = ""
    day: str = ""  # ISO date or ''


def _saudi_files(root: Path) -> list[Path]:
    return sorted((root / CORPORA[SAUDI] / "dataset").glob("*.json"))


def _ant_files(root: Path) -> list[Path]:
    base = root / CORPORA[ANT]
    return sorted(p for p in base.rglob("*.txt") if p.is_file())


def load_units(root: Path, names: list[str]) -> tuple[list[Unit], dict[str, list]]:
    """Every article of the chosen corpora (SaudiNewsNet records are loaded)."""
    units: list[Unit] = []
    records: dict[str, list] = {}
    if SAUDI in names:
        for path in _saudi_files(root):
            data = json.loads(path.read_text("utf-8"))
            records[str(path)] = data
            for i, rec in enumerate(data):
                rec = rec if isinstance(rec, dict) else {}
                units.append(Unit(SAUDI, str(path), i, str(rec.get("title") or ""),
                                  str(rec.get("date_extracted") or "")[:10]))
    if ANT in names:
        units.extend(Unit(ANT, str(p)) for p in _ant_files(root))
    return units, records


def _fill_ant(unit: Unit) -> None:
    """Headline and date of one ANT file (read only for held-out candidates)."""
    raw = Path(unit.path).read_bytes().decode("utf-8", "replace")
    m = _TITLE_RE.search(raw)
    unit.headline = " ".join(m.group(1).split()) if m else ""
    m = _TIME_RE.search(raw)
    if m:
        try:
            unit.day = email.utils.parsedate_to_datetime(m.group(1).strip()).date().isoformat()
        except (TypeError, ValueError):
            unit.day = ""


def words(headline: str) -> list[str]:
    return _WORD_RE.findall(headline)


def is_content(word: str) -> bool:
    return len(word) >= 3 and not word.isdigit() and word not in _FUNCTION_WORDS


def select(units: list[Unit], n_queries: int, max_articles: int | None, seed: int):
    """(held-out units, indexed units): a fixed-seed sample.

    A held-out article needs a headline of 3+ words with a content word and a
    parseable date, so that it can give every query kind.
    """
    rng = random.Random(seed)
    order = list(range(len(units)))
    rng.shuffle(order)
    held: list[int] = []
    for i in order:
        if len(held) >= n_queries:
            break
        u = units[i]
        if u.corpus == ANT:
            _fill_ant(u)
        ws = words(u.headline)
        if len(ws) >= 3 and any(is_content(w) for w in ws) and u.day:
            held.append(i)
    held_set = set(held)
    rest = [i for i in order if i not in held_set]
    if max_articles is not None:
        rest = rest[:max_articles]
    return [units[i] for i in held], sorted(rest)


def stage(units: list[Unit], keep: list[int], records: dict[str, list], dest: Path) -> list[Path]:
    """Write the indexed articles under ``dest``; return the source folders."""
    by_corpus: dict[str, list[Unit]] = {}
    for i in keep:
        by_corpus.setdefault(units[i].corpus, []).append(units[i])
    sources = []
    if SAUDI in by_corpus:
        out = dest / SAUDI
        out.mkdir(parents=True)
        per_file: dict[str, list[int]] = {}
        for u in by_corpus[SAUDI]:
            per_file.setdefault(u.path, []).append(u.index)
        for path, idxs in sorted(per_file.items()):
            data = records[path]
            kept = [data[i] for i in sorted(idxs)]
            (out / Path(path).name).write_text(
                json.dumps(kept, ensure_ascii=False, indent=1), "utf-8")
        sources.append(out)
    if ANT in by_corpus:
        out = dest / ANT
        base = corpora_root() / CORPORA[ANT]
        for u in by_corpus[ANT]:
            rel = Path(u.path).relative_to(base)
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(u.path, target)
        sources.append(out)
    return sources


@dataclass
class Query:
    kind: str
    q: str
    date_from: str = ""
    date_to: str = ""
    sort: str = "relevance"
    article: str = ""  # the held-out headline it came from

    def as_dict(self) -> dict:
        return asdict(self)


def span_of(rng: random.Random, ws: list[str], lo: int, hi: int) -> list[str]:
    n = rng.randint(lo, min(hi, len(ws)))
    start = rng.randint(0, len(ws) - n)
    span = ws[start:start + n]
    if not any(is_content(w) for w in span):  # prefer a span that says something
        for start in range(len(ws) - n + 1):
            if any(is_content(w) for w in ws[start:start + n]):
                return ws[start:start + n]
    return span


def make_queries(held: list[Unit], seed: int) -> list[Query]:
    """Every kind from every held-out headline (6+ words only where it has 6)."""
    rng = random.Random(seed + 1)
    out: list[Query] = []
    for u in held:
        ws = words(u.headline)
        content = [w for w in ws if is_content(w)]
        head = " ".join(ws)
        out.append(Query("word1", rng.choice(content), article=head))
        out.append(Query("words2_4", " ".join(span_of(rng, ws, 2, 4)), article=head))
        if len(ws) >= 6:
            out.append(Query("words6plus", " ".join(ws[:16]), article=head))
        pairs = [(a, b) for a, b in pairwise(ws) if is_content(a) and is_content(b)]
        pairs = pairs or list(pairwise(ws))
        a, b = rng.choice(pairs)
        out.append(Query("phrase2", f'"{a} {b}"', article=head))
        day = date.fromisoformat(u.day)
        out.append(Query("date_filtered", " ".join(span_of(rng, ws, 2, 4)),
                         (day - timedelta(days=DATE_WINDOW_DAYS)).isoformat(),
                         (day + timedelta(days=DATE_WINDOW_DAYS)).isoformat(), article=head))
        out.append(Query("newest", " ".join(span_of(rng, ws, 2, 4)), sort="newest", article=head))
    return out
