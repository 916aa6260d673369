"""Bad input loses nothing: one archive holding every kind of bad or odd file.

``CASES`` is the catalogue: each case writes one kind of bad input into the
archive and says what must happen to it.  One ``arshif index --rejects FILE
--json`` run (in-process, through the real click command) indexes the whole
archive; then, per case:

* ``indexed``  - the file's articles are in the index (checked by id, and by a
                 word that must be found when ``find`` is given);
* ``rejected`` - the file gave no article and the rejects report names it with
                 a reason containing the expected words;
* ``partial``  - some records indexed, the others reported one by one;
* ``skipped``  - deliberately not read (hidden files), so not counted either.

And for the whole run: the good articles are all indexed, the summary counts
add up (files = files with articles + files rejected; every record indexed,
duplicate or rejected; report lines = counters), and the build ends (a hang
guard: no reader is quadratic on hostile input; speed is measured in bench/).

Permission problems are simulated (tests run as root in CI, where chmod 000
stops nothing): ``os.open`` raises PermissionError for one file and
``os.scandir`` for one folder.  A real chmod variant runs when not root.

``scripts/reliability_report.py`` reuses ``CASES`` to print the outcomes table
of docs/reliability.md.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from arshif.cli import main
from conftest import hang_guard
from indexer import manifest
from indexer.readers.archive import read_file
from search.backend import Request
from search.engine import Engine

DATE = "تاريخ النشر: 26th, September 2023 GMT"
FOOTER = "المصدر | مصدر الاختبار\nكلمات دلالية: اختبار، مدخلات"


def article(headline: str, body: str, date: str = DATE, footer: str = FOOTER) -> str:
    lines = [headline] + ([date] if date else []) + [body] + ([footer] if footer else [])
    return "\n".join(lines) + "\n"


@dataclass
class Case:
    """One kind of bad input: where it goes, how to write it, what must happen."""

    name: str  # short id, also the test id
    what: str  # one line for the docs table
    path: str  # below the archive root
    write: Callable[[Path], None]  # writes the fixture at this path
    expect: str  # indexed | rejected | partial | skipped
    reason: str = ""  # words the reject reason must contain (rejected/partial)
    find: str = ""  # a word a search must find in this file's article(s)
    ids: tuple[str, ...] = ()  # article ids that must be indexed
    indexed: int | None = None  # exact number of articles from this file
    rejected: int | None = None  # exact number of rejected records (partial)
    date_report: str = ""  # words of the "date" report line expected for it
    files: int = 1  # how many inputs the walker yields for it


def text_file(content: str, encoding: str = "utf-8", bom: bytes = b"") -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bom + content.encode(encoding))
    return write


def raw(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return write


def _junk(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def _symlink_loop(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "inside.txt").write_text(article("خبر داخل مجلد دائري",
                                             "نص خبر المجلد الدائري كلمةالحلقة"), "utf-8")
    (path / "again").symlink_to(".", target_is_directory=True)


def _dangling(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path.parent / "does-not-exist.txt")


def _dir_named_txt(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "inner.txt").write_text(article("مقال داخل مجلد اسمه ملف", "نص كلمةالمجلدالملف هنا"),
                                    "utf-8")


def _locked_folder(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "secret.txt").write_text(article("خبر في مجلد مغلق", "نص لا يقرأ"), "utf-8")


def _duplicate(path: Path) -> None:
    text = article("خبر مكرر في ملفين", "نص الخبر المكرر كلمةالتكرار")
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "dup_a.txt").write_text(text, "utf-8")
    path.write_text(text.replace("المكرر", "المكرَّر"), "utf-8")  # same after normalization


def _jsonl_mixed(path: Path) -> None:
    good = [{"id": f"jl{n}", "title": f"سجل جيد {n}", "body": f"نص السجل الجيد رقم {n} كلمةالسطور"}
            for n in (1, 2, 3)]
    lines = [json.dumps(good[0], ensure_ascii=False),
             '{"id": "broken", "title": "سطر مكسور", "body": "نص',  # invalid JSON
             json.dumps(good[1], ensure_ascii=False),
             '["not", "an", "object"]',
             '{"id": "huge-number", "body": ' + "1" * 5000 + "}",  # int over 4300 digits
             '{"id": "deep", "body": ' + "[" * 50_000 + "}",  # RecursionError
             json.dumps({"id": "nobody", "title": "بلا نص", "body": ""}, ensure_ascii=False),
             json.dumps(good[2], ensure_ascii=False)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")


def _many_read_also(path: Path) -> None:
    teasers = "\n".join(f"اقرأ أيضاً\nعنوان مقال مرتبط رقم {n}" for n in range(3000))
    block = "\n".join(f"إقرأ أيضاً:\nمقال مضمن رقم {n}\nنص المقال المضمن رقم {n} كلمةالمضمن"
                      for n in range(1, 301))
    text = "\n".join(["مقال بآلاف علامات اقرأ أيضا", DATE, "نص المقال الرئيسي كلمةالعلامات",
                      teasers, FOOTER, block]) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def _sgml_truncated(path: Path) -> None:
    text = ("<DOC>\n<DOCNO>TR-1</DOCNO>\n<TITLE>وثيقة كاملة</TITLE>\n"
            "<TEXT>\nنص كامل كلمةالمبتورة\n</TEXT>\n</DOC>\n"
            "<DOC>\n<DOCNO>TR-2</DOCNO>\n<TITLE>وثيقة مبتورة</TITLE>\n<TEXT>\nنص انقطع في منتصف ")
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:-1])  # and mid UTF-8 character too


def _sgml_hostile(path: Path) -> None:
    # Each of these runs is quadratic for a backtracking tag pattern (minutes for ~1 MB).
    text = ("<DOC>\n<DOCNO>HOST-1</DOCNO>\n<TITLE>وثيقة عدائية</TITLE>\n<TEXT>نص كلمةالعدائية "
            + "<TEXT " * 40_000 + "\n" + "\n<a " * 40_000 + "<" + " " * 200_000
            + "</TEXT>\n</DOC>\n"
            + "<DOC " * 40_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


GOOD = [(f"good/g{n}.txt", f"خبر سليم رقم {n}",
         f"نص الخبر السليم رقم {n} كلمةسليمة{n}") for n in range(1, 6)]

CASES: list[Case] = [
    *[Case(f"good_{n}", "a normal article", p, text_file(article(h, b)), "indexed",
           find=f"كلمةسليمة{n}")
      for n, (p, h, b) in enumerate(GOOD, 1)],
    # -- empty and nearly empty ---------------------------------------------
    Case("empty", "zero bytes", "bad/empty.txt", raw(b""), "rejected", "empty file"),
    Case("whitespace", "spaces, tabs and newlines only", "bad/whitespace.txt",
         raw(b"  \n\t \r\n \n"), "rejected", "empty file"),
    Case("bom_only", "a UTF-8 byte-order mark and nothing else", "bad/bom_only.txt",
         raw(codecs.BOM_UTF8), "rejected", "empty file"),
    Case("bom16_only", "a UTF-16 byte-order mark and a newline", "bad/bom16_only.txt",
         raw(codecs.BOM_UTF16_LE + "\n".encode("utf-16-le")), "rejected", "empty file"),
    Case("headline_only", "a headline line and nothing else", "bad/headline_only.txt",
         text_file("عنوان بلا نص\n"), "rejected", "empty body"),
    Case("date_only", "only a date line", "bad/date_only.txt", text_file(DATE + "\n"), "rejected",
         "empty body"),
    Case("zero_width_only", "only zero-width characters", "bad/zero_width_only.txt",
         text_file("\u200b\u200c\u200d\n\u2060\n"), "rejected", "no letters or digits"),
    Case("tashkeel_only", "headline and body of diacritics only", "bad/tashkeel_only.txt",
         text_file("\u064b\u064c\u064d\u064e\n\u064f\u0650\u0651\u0652\n"), "rejected",
         "no letters or digits"),
    # -- dates ------------------------------------------------------------------
    Case("no_date", "no date line", "bad/no_date.txt",
         text_file(article("خبر بلا تاريخ", "نص كلمةبلاتاريخ", date="")), "indexed",
         find="كلمةبلاتاريخ", date_report="no date"),
    Case("bad_date", "a date that cannot be read", "bad/bad_date.txt",
         text_file(article("خبر بتاريخ غريب", "نص كلمةتاريخغريب", date="تاريخ النشر: قبل ساعتين")),
         "indexed", find="كلمةتاريخغريب", date_report="unparseable date"),
    Case("future_date", "dated 2999", "bad/future_date.txt",
         text_file(article("خبر من المستقبل", "نص كلمةالمستقبل",
                           date="تاريخ النشر: 1st, January 2999 GMT")),
         "indexed", find="كلمةالمستقبل", date_report="unparseable date"),
    Case("ancient_date", "dated 1066", "bad/ancient_date.txt",
         text_file(article("خبر قديم جدا", "نص كلمةهاستينغز",
                           date="تاريخ النشر: 14th, October 1066 GMT")),
         "indexed", find="كلمةهاستينغز", date_report="unparseable date"),
    Case("absurd_day", "31 February", "bad/absurd_day.txt",
         text_file(article("خبر بيوم مستحيل", "نص كلمةفبراير",
                           date="تاريخ النشر: 31st, February 2023 GMT")),
         "indexed", find="كلمةفبراير", date_report="unparseable date"),
    # -- encodings and line ends ---------------------------------------------------
    Case("cp1256", "Windows-1256", "bad/cp1256.txt",
         text_file(article("خبر بترميز ويندوز", "نص كلمةويندوز"), "cp1256"), "indexed",
         find="كلمةويندوز"),
    Case("utf16le_bom", "UTF-16 LE with BOM", "bad/utf16le.txt",
         text_file(article("خبر بترميز يونيكود", "نص كلمةيونيكودصغير"), "utf-16-le",
                   codecs.BOM_UTF16_LE),
         "indexed", find="كلمةيونيكودصغير"),
    Case("utf16be_bom", "UTF-16 BE with BOM", "bad/utf16be.txt",
         text_file(article("خبر بترميز يونيكود كبير", "نص كلمةيونيكودكبير"), "utf-16-be",
                   codecs.BOM_UTF16_BE),
         "indexed", find="كلمةيونيكودكبير"),
    Case("utf16_no_bom", "UTF-16 LE without a BOM", "bad/utf16_nobom.txt",
         text_file(article("Latin headline", "plain ascii body text here"), "utf-16-le"),
         "rejected", "binary"),
    Case("utf8_bom", "UTF-8 with BOM", "bad/utf8_bom.txt",
         text_file(article("خبر بعلامة ترتيب", "نص كلمةالعلامة"), "utf-8", codecs.BOM_UTF8),
         "indexed", find="كلمةالعلامة"),
    Case("latin1", "French in ISO-8859-1 (read as cp1256, where é is é)", "bad/latin1.txt",
         text_file(article("Élection présidentielle", "Le résultat électoral inattendu", date="",
                           footer=""),
                   "latin-1"),
         "indexed", find="inattendu"),
    Case("mixed_eol", "CRLF, CR and LF mixed", "bad/mixed_eol.txt",
         raw(article("خبر بنهايات أسطر مختلطة", "سطر أول كلمةالأسطر\rسطر ثان\r\nسطر ثالث")
             .replace("\n", "\r\n", 2).encode("utf-8")), "indexed", find="كلمةالأسطر"),
    Case("cr_only", "old Mac CR line ends only", "bad/cr_only.txt",
         raw(article("خبر بنهايات ماك", "نص كلمةماك").replace("\n", "\r").encode("utf-8")),
         "indexed", find="كلمةماك"),
    Case("utf8_cut_mid_char", "UTF-8 cut in the middle of a character", "bad/utf8_cut.txt",
         raw(article("خبر مقطوع", "نص كلمةمقطوع ثم حرف مقطوع").encode("utf-8")[:-2]),
         "indexed", find="كلمةمقطوع"),
    # -- control bytes and binary -------------------------------------------------
    Case("nul_bytes", "two NUL bytes inside an article", "bad/nul_bytes.txt",
         raw(article("خبر فيه\x00 صفر", "نص كلمةالصفر\x00 هنا").encode("utf-8")), "indexed",
         find="كلمةالصفر"),
    Case("control_chars", "stray U+001A and U+0002 controls", "bad/controls.txt",
         text_file(article("خبر فيه\x1a رموز تحكم", "نص كلمةالتحكم\x02 هنا")), "indexed",
         find="كلمةالتحكم"),
    Case("binary_junk", "4 KB of random bytes named .txt", "bad/junk.txt", raw(_junk(4096, 1)),
         "rejected", "binary"),
    Case("png_as_txt", "a PNG header and data named .txt", "bad/image.txt",
         raw(b"\x89PNG\r\n\x1a\n" + _junk(2000, 2)), "rejected", "binary"),
    Case("gzip_as_txt", "a gzip-compressed article named .txt", "bad/article.txt.gz.txt",
         raw(gzip.compress(article("خبر مضغوط", "نص مضغوط").encode("utf-8"), mtime=0)), "rejected",
         "binary"),
    Case("jpg_suffix", "random bytes named .jpg", "bad/photo.jpg", raw(_junk(3000, 3)), "rejected",
         "binary"),
    # -- size and shape -------------------------------------------------------------
    Case("one_mb_line", "headline + one 1 MB body line", "bad/one_mb_line.txt",
         text_file("خبر بسطر ضخم\n" + ("كلمة طويلة " * 100_000) + "كلمةالسطرالضخم\n"), "indexed",
         find="كلمةالسطرالضخم"),
    # Past HEADLINE_MAX_WORDS words a line is a paragraph: the file's body, no headline.
    Case("one_mb_headline", "a single 1 MB line, no newline", "bad/one_mb_headline.txt",
         text_file("سطر " * 250_000), "indexed", find="سطر"),
    Case("long_word", "a 10,000-letter word", "bad/long_word.txt",
         text_file(article("خبر بكلمة طويلة", "ب" * 10_000 + " كلمةالطويلة")), "indexed",
         find="كلمةالطويلة"),
    Case("keywords_spaces", "keywords line with 1 MB of spaces inside", "bad/kw_spaces.txt",
         text_file(article("خبر بكلمات دلالية غريبة", "نص كلمةالمسافات",
                           footer="كلمات دلالية: أ" + " " * 1_000_000 + "ب")), "indexed",
         find="كلمةالمسافات"),
    Case("many_read_also", "3000 teaser markers and 300 embedded articles",
         "bad/many_read_also.txt", _many_read_also, "indexed", find="كلمةالمضمن", indexed=301),
    Case("read_also_empty", "a trailing 'read also' marker with nothing after it",
         "bad/read_also_empty.txt",
         text_file(article("خبر بعلامة أخيرة فارغة", "نص كلمةالعلامةالأخيرة") + "إقرأ أيضاً:\n"),
         "indexed", find="كلمةالعلامةالأخيرة"),
    Case("only_tashkeel_body", "headline + a body of diacritics only", "bad/tashkeel_body.txt",
         text_file("عنوان بنص من الحركات\n\u064e\u064f\u0650\u0651\n"), "rejected",
         "no letters or digits"),
    # -- Unicode oddities -------------------------------------------------------------
    Case("bidi_marks", "RLM/LRM, ZWJ/ZWNJ, RLE…PDF, RLI, BOM inside words", "bad/bidi.txt",
         text_file(article("\u200fخبر\u200e بعلامات \u202bاتجاه\u202c\u2067",
                           "نص كلمة\u200dالاتجاه\u200c هنا \ufeffوعلامة")), "indexed",
         find="كلمةالاتجاه"),
    Case("latin_only", "an English article", "bad/latin.txt",
         text_file(article("Volcano erupts in Iceland",
                           "The volcano near Grindavik erupted again overnight.",
                           date="تاريخ النشر: 2024-01-14", footer="")), "indexed", find="volcano"),
    Case("html_as_txt", "an HTML page named .txt", "bad/page.txt",
         text_file("<html><head><title>صفحة</title></head>\n"
                   "<body>\n<p>نص كلمةالصفحة</p>\n</body></html>\n"),
         "indexed", find="كلمةالصفحة"),
    # -- duplicates and file-system oddities ---------------------------------------------
    Case("duplicate", "the same article under two names (one spelling variant)", "bad/dup_b.txt",
         _duplicate, "rejected", "duplicate", files=2),
    Case("symlink_loop", "a folder containing a symlink to itself (its article is read once)",
         "bad/loop",
         _symlink_loop, "indexed", "symlink loop", find="كلمةالحلقة", indexed=1, files=2),
    Case("dangling_symlink", "a symlink to a missing file", "bad/dangling.txt", _dangling,
         "rejected", "unreadable"),
    Case("unreadable", "permission denied (simulated: tests run as root)", "bad/unreadable.txt",
         text_file(article("خبر لا يقرأ", "نص")), "rejected", "permission denied"),
    Case("locked_folder", "a folder that cannot be listed (simulated)", "bad/locked",
         _locked_folder, "rejected", "unreadable folder"),
    Case("dir_named_txt", "a directory named x.txt (holding an article)", "bad/folder.txt",
         _dir_named_txt, "indexed", find="كلمةالمجلدالملف", ids=("bad/folder.txt/inner",)),
    Case("hidden", "a hidden file (.name): skipped by design, like .git", "bad/.hidden.txt",
         text_file(article("خبر مخفي", "نص مخفي")), "skipped", files=0),
    # -- records: JSON, JSON Lines, CSV ---------------------------------------------------
    Case("jsonl_mixed",
         "JSON Lines: 3 good lines among broken JSON, non-object, 5000-digit number, "
         "50k-deep nesting, empty body", "bad/records.jsonl", _jsonl_mixed, "partial",
         "invalid JSON", find="كلمةالسطور", ids=("jl1", "jl2", "jl3"), rejected=5),
    Case("json_truncated", "a JSON array cut in the middle", "bad/truncated.json",
         text_file('[{"id": "t1", "title": "أ", "body": "نص"}, {"id": "t2", "title": "ب", "bo'),
         "rejected", "invalid JSON"),
    Case("json_deep", "[[[[… 100,000 deep", "bad/deep.json", text_file("[" * 100_000), "rejected",
         "invalid JSON"),
    Case("json_scalar", "a JSON file holding just 42", "bad/scalar.json", text_file("42\n"),
         "rejected", ""),
    Case("json_wrong_types", "JSON records with null, number, list and object fields",
         "bad/types.json",
         text_file(json.dumps([{"id": 7, "title": None, "body": ["فقرة أولى كلمةالأنواع",
                                                                 ["فقرة", 2]],
                                "date": {"x": 1}, "keywords": 5},
                               {"id": "empty-obj"}], ensure_ascii=False)),
         "partial", "empty body", find="كلمةالأنواع", ids=("7",), rejected=1),
    Case("csv_short_rows", "CSV rows with missing columns", "bad/short.csv",
         text_file("id,title,body,date\ncs1,عنوان قصير,نص كلمةالأعمدة\ncs2,عنوان فقط\n"),
         "partial", "empty body", find="كلمةالأعمدة", ids=("cs1",), rejected=1),
    Case("csv_extra_columns", "CSV row with an unquoted comma (extra columns)", "bad/extra.csv",
         text_file("id,title,body\nce1,عنوان,نص سليم كلمةالزائدة\nce2,عنوان,نص, فيه فاصلة زائدة\n"),
         "partial", "fields but the header has", find="كلمةالزائدة", ids=("ce1",), rejected=1),
    Case("csv_no_body", "CSV without any body column", "bad/nobody.csv",
         text_file("id,title,summary\nx1,عنوان,ملخص\n"), "rejected", "no body column"),
    Case("csv_unclosed_quote", "CSV with a quote never closed (it swallows the rows after it)",
         "bad/quote.csv",
         text_file('id,title,body\ncq0,عنوان,نص كلمةالاقتباس\ncq1,عنوان,"نص مفتوح\n'
                   'cq2,عنوان آخر,نص آخر\n'),
         "partial", "unclosed quote", find="كلمةالاقتباس", ids=("cq0",), rejected=1),
    # -- SGML -------------------------------------------------------------------------------
    Case("sgml_raw_amp_lt", "SGML with unescaped & and <", "bad/raw.sgml",
         text_file("<DOC>\n<DOCNO>RAW-1</DOCNO>\n<TITLE>S&P و AT&T</TITLE>\n"
                   "<TEXT>\nنص فيه 3 < 5 و Q&A كلمةالرموز\n</TEXT>\n</DOC>\n"),
         "indexed", find="كلمةالرموز", ids=("RAW-1",)),
    Case("sgml_truncated", "SGML cut mid document (and mid character)", "bad/truncated_sgml.txt",
         _sgml_truncated, "indexed", find="كلمةالمبتورة", ids=("TR-1", "TR-2")),
    Case("sgml_no_doc", "starts like SGML but has no <DOC>", "bad/nodoc.sgml",
         text_file("<DOCNO>X</DOCNO>\n<TEXT>نص</TEXT>\n"), "indexed"),
    Case("sgml_hostile", "SGML with 40k unclosed tags, 200 KB of spaces, 40k '<DOC '",
         "bad/hostile.sgml", _sgml_hostile, "indexed", find="كلمةالعدائية", ids=("HOST-1",)),
]

def write_archive(root: Path) -> Path:
    for case in CASES:
        case.write(root / case.path)
    return root


@dataclass
class Outcome:
    summary: dict
    report: list[dict]
    docs: list[dict]  # stored fields of every indexed article
    root: Path
    home: Path
    seconds: float
    output: str = ""
    by_path: dict = field(default_factory=dict)

    def rel(self, path: str) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return path

    def entries(self, case: Case, kind: str | None = None) -> list[dict]:
        mine = []
        for e in self.report:
            rel = self.rel(e["path"])
            if ((rel == case.path or rel.startswith(case.path + "/"))
                    and (kind is None or e["kind"] == kind)):
                mine.append(e)
        return mine

    def articles(self, case: Case) -> list[dict]:
        return [d for d in self.docs
                if (r := self.rel(d["path"])) == case.path or r.startswith(case.path + "/")]


def index_bad_archive(archive: Path, home: Path, rejects: Path, simulate_permissions: bool = True,
                      jobs: int = 1) -> Outcome:
    """Run ``arshif index ARCHIVE --rejects FILE --json [--jobs N]`` on the bad archive."""
    unreadable = {case.path for case in CASES if case.name == "unreadable"}
    locked = [archive / case.path for case in CASES if case.name == "locked_folder"]
    real_open = os.open
    real_scandir = os.scandir

    def os_open(path, flags, *args, **kwargs):
        if (simulate_permissions and not isinstance(path, int)
                and Path(os.fsdecode(path)).as_posix().endswith(tuple(unreadable))):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    def scandir(path="."):
        if (simulate_permissions and not isinstance(path, int)  # fds: multiprocessing's own
                and any(Path(os.fsdecode(path)) == p for p in locked)):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_scandir(path)

    started = time.perf_counter()  # a figure for docs/reliability.md, not a test
    # The quadratic readers took minutes on sgml_hostile / keywords_spaces.
    with pytest.MonkeyPatch.context() as mp, hang_guard("building the bad archive"):
        mp.setattr(os, "open", os_open)
        mp.setattr(os, "scandir", scandir)
        result = CliRunner().invoke(main, ["index", str(archive), "--index", str(home),
                                           "--rejects", str(rejects), "--json", "--jobs",
                                           str(jobs)])
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = json.loads(result.stdout)
    report = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    ix = manifest.open_current(home)
    with ix.searcher() as s:
        docs = [dict(d) for d in s.all_stored_fields()]
    return Outcome(summary, report, docs, archive, home, seconds, result.output)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory) -> Outcome:
    root = tmp_path_factory.mktemp("bad")
    return index_bad_archive(write_archive(root / "archive"), root / "index",
                             root / "rejects.jsonl")


@pytest.fixture(scope="module")
def engine(outcome) -> Engine:
    return Engine(outcome.home)


def found(engine: Engine, word: str) -> set[str]:
    return {h.id for h in engine.search(Request(q=word, per_page=100, facets=False)).hits}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_bad_input(case: Case, outcome: Outcome, engine: Engine):
    articles = outcome.articles(case)
    rejected = outcome.entries(case, "rejected") + outcome.entries(case, "duplicate")
    reasons = " | ".join(e["reason"] for e in rejected)
    if case.expect == "indexed":
        assert articles, f"{case.path}: nothing indexed; rejects: {reasons}"
        if case.reason:  # indexed, and something about it reported (symlink loop)
            assert case.reason in reasons, reasons
        else:
            assert not rejected, reasons
    elif case.expect == "partial":
        assert articles, f"{case.path}: nothing indexed; rejects: {reasons}"
        assert rejected and all(e["record"] for e in rejected), reasons
        assert case.reason in reasons
    elif case.expect == "rejected":
        assert not articles, f"{case.path} was indexed: {[a['headline'][:40] for a in articles]}"
        assert rejected, f"{case.path}: neither indexed nor reported"
        assert case.reason in reasons, reasons
        assert all(e["reason"] for e in rejected)
    elif case.expect == "skipped":
        assert not articles and not rejected
    if case.rejected is not None:
        assert len(rejected) == case.rejected, reasons
    if case.indexed is not None:
        assert len(articles) == case.indexed
    ids = {a["id"] for a in articles}
    assert set(case.ids) <= ids, ids
    if case.find:
        hits = found(engine, case.find)
        assert hits & ids, f"{case.find!r} finds {hits}, not {ids}"
    if case.date_report:
        dates = outcome.entries(case, "date")
        assert dates and case.date_report in dates[0]["reason"]


def test_the_rest_of_the_archive_is_indexed(outcome: Outcome, engine: Engine):
    for n, (path, headline, _) in enumerate(GOOD, 1):
        assert {d["headline"] for d in outcome.docs if outcome.rel(d["path"]) == path} == {headline}
        assert found(engine, f"كلمةسليمة{n}") == {path[:-4]}


def test_summary_counts_add_up(outcome: Outcome):
    s = outcome.summary
    # Files that gave articles: indexed ones, or only duplicates of indexed ones.
    with_articles = {d["path"] for d in outcome.docs} | {
        e["path"] for e in outcome.report if e["kind"] == "duplicate"}
    rejected = [e for e in outcome.report if e["kind"] == "rejected"]
    rejected_files = {e["path"] for e in rejected if e["path"] not in with_articles}
    # Every input is counted exactly once: files with articles + files rejected.
    assert s["files"] == len(with_articles) + s["files_rejected"] + s["files_unchanged"]
    assert s["files_rejected"] == len(rejected_files)
    assert s["files"] == sum(c.files for c in CASES)
    # Every record: indexed, a duplicate, or rejected (inside a good file or as a whole file).
    assert s["indexed"] == len(outcome.docs)
    assert s["duplicates"] == sum(e["kind"] == "duplicate" for e in outcome.report)
    assert s["records_rejected"] == sum(e["path"] in with_articles for e in rejected)
    assert sum(s["reasons"].values()) == len(rejected)
    assert s["dates_missing"] == sum(e["kind"] == "date" for e in outcome.report)
    assert s["dates_missing"] == sum(1 for d in outcome.docs if "date" not in d)
    # The report is JSON Lines of {"kind", "path", "record", "reason"}.
    assert all(set(e) == {"kind", "path", "record", "reason"} for e in outcome.report)


def test_jobs_two_counts_and_indexes_the_bad_archive_the_same(outcome: Outcome, tmp_path):
    """Each of 2 processes reads part of the archive (indexer/parallel.py); the
    summary, the report (in walk order) and the indexed articles are those of
    one process."""
    two = index_bad_archive(outcome.root, tmp_path / "index", tmp_path / "rejects.jsonl", jobs=2)
    volatile = ("elapsed", "generation", "articles_per_second")
    assert ({k: v for k, v in two.summary.items() if k not in volatile}
            == {k: v for k, v in outcome.summary.items() if k not in volatile}
            | {"index": two.summary["index"]})
    assert two.report == outcome.report
    assert sorted(two.docs, key=lambda d: d["id"]) == sorted(outcome.docs, key=lambda d: d["id"])


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="running as root: chmod 000 does not stop root "
                           "(simulated in test_each_bad_input)")
def test_real_unreadable_file_and_folder(tmp_path):  # pragma: no cover - CI runs as root
    root = tmp_path / "archive"
    (root / "locked").mkdir(parents=True)
    (root / "locked" / "a.txt").write_text(article("خبر", "نص"), "utf-8")
    (root / "secret.txt").write_text(article("خبر سري", "نص سري"), "utf-8")
    (root / "ok.txt").write_text(article("خبر عادي", "نص عادي"), "utf-8")
    os.chmod(root / "secret.txt", 0)
    os.chmod(root / "locked", 0)
    try:
        result = CliRunner().invoke(main, ["index", str(root), "--index", str(tmp_path / "ix"),
                                           "--rejects", str(tmp_path / "r.jsonl"), "--json"])
    finally:
        os.chmod(root / "locked", 0o755)
    assert result.exit_code == 0, result.output
    reasons = (tmp_path / "r.jsonl").read_text("utf-8")
    assert "permission denied" in reasons and "unreadable folder" in reasons
    assert json.loads(result.stdout)["indexed"] == 1


@pytest.mark.slow
def test_twenty_megabyte_article(tmp_path):
    """A 20 MB article (generated here, never committed) is indexed and found."""
    rng = random.Random(20)
    words = ["الاقتصاد", "السياسة", "النفط", "الحكومة", "المنطقة", "الأسواق", "التقرير", "العالم"]
    folder = tmp_path / "archive"
    folder.mkdir()
    with open(folder / "huge.txt", "w", encoding="utf-8") as fh:
        fh.write("مقال ضخم جدا\n" + DATE + "\n")
        size = 0
        while size < 20 * 1024 * 1024:
            line = " ".join(rng.choice(words) for _ in range(80)) + "\n"
            fh.write(line)
            size += len(line.encode("utf-8"))
        fh.write("كلمةالنهايةالضخمة\n" + FOOTER + "\n")
    (folder / "small.txt").write_text(article("خبر صغير", "نص كلمةصغيرة"), "utf-8")
    args = ["index", str(folder), "--index", str(tmp_path / "ix"), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["indexed"] == 2
    engine = Engine(tmp_path / "ix")
    assert found(engine, "كلمةالنهايةالضخمة") == {"huge"}
    assert found(engine, "كلمةصغيرة") == {"small"}


def test_all_case_names_are_unique():
    assert len({c.name for c in CASES}) == len(CASES) >= 30
    assert len({c.path for c in CASES}) == len(CASES)



# -- special files: only regular files are read, nothing hangs or fills memory ----------------

def _index(sources: list[Path], home: Path, *options: str) -> tuple[dict, list[dict]]:
    """``arshif index SOURCES --json --rejects …``: the summary and the report.

    Under a hang guard: before, a named pipe blocked the build forever and
    /dev/zero was read until memory ran out; the guard makes such a
    regression fail instead of hanging the suite (not a speed check)."""
    rejects = home.parent / f"{home.name}-rejects.jsonl"
    args = ["index", *map(str, sources), "--index", str(home), "--json",
            "--rejects", str(rejects), *options]
    with hang_guard("indexing special files"):
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    report = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    return json.loads(result.stdout), report


def _rejected(report: list[dict]) -> dict[str, str]:
    """{file name: reason} of the rejected files."""
    return {Path(e["path"]).name: e["reason"] for e in report if e["kind"] == "rejected"}


def _ids(home: Path) -> set[str]:
    with manifest.open_current(home).searcher() as s:
        return {d["id"] for d in s.all_stored_fields()}


@pytest.fixture
def special_archive(tmp_path) -> Path:
    """An archive with a named pipe, a link to /dev/zero, links out of the
    archive (to a file and to a folder), a link to itself, a link to its
    parent folder, and one good article."""
    archive, outside = tmp_path / "archive", tmp_path / "outside"
    (archive / "a").mkdir(parents=True)
    outside.mkdir()
    (archive / "a" / "good.txt").write_text(article("خبر جيد", "نص كلمةجيدة"), "utf-8")
    (outside / "secret.txt").write_text(article("خبر خارجي", "نص كلمةخارجية"), "utf-8")
    os.mkfifo(archive / "a" / "pipe.txt")
    (archive / "a" / "zero.txt").symlink_to("/dev/zero")
    (archive / "a" / "out.txt").symlink_to(outside / "secret.txt")
    (archive / "a" / "outdir").symlink_to(outside, target_is_directory=True)
    (archive / "a" / "self.txt").symlink_to(archive / "a" / "self.txt")
    (archive / "a" / "up").symlink_to(archive, target_is_directory=True)
    return archive


def test_special_files_are_reported_and_the_build_ends(special_archive, tmp_path):
    summary, report = _index([special_archive], tmp_path / "ix")
    rejected = _rejected(report)
    assert rejected["pipe.txt"] == "not a regular file (a named pipe)"
    for name in ("zero.txt", "out.txt", "outdir"):
        assert rejected[name].startswith("symlink to outside the given folders"), name
        assert "--follow-symlinks" in rejected[name]
    assert rejected["self.txt"].startswith("symlink loop")
    assert rejected["up"].startswith("symlink loop")
    assert _ids(tmp_path / "ix") == {"a/good"}
    assert summary["indexed"] == 1 and summary["files_rejected"] == len(rejected) == 6


def test_follow_symlinks_reads_links_out_of_the_folders_but_never_devices(special_archive,
                                                                          tmp_path):
    summary, report = _index([special_archive], tmp_path / "ix", "--follow-symlinks")
    rejected = _rejected(report)
    assert rejected["zero.txt"] == "not a regular file (a character device)"
    assert rejected["pipe.txt"] == "not a regular file (a named pipe)"
    assert "out.txt" not in rejected and "outdir" not in rejected
    assert _ids(tmp_path / "ix") == {"a/good", "a/out"}  # outdir/secret is a duplicate of out
    assert summary["duplicates"] == 1


def test_a_symlink_between_given_folders_is_read(tmp_path):
    """"The given folders" are all the sources: a link from one into another stays inside."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (two / "b.txt").write_text(article("خبر ب", "نص كلمةباء"), "utf-8")
    (one / "link.txt").symlink_to(two / "b.txt")
    summary, report = _index([one, two], tmp_path / "ix")
    assert not _rejected(report)
    assert summary["indexed"] == 1 and summary["duplicates"] == 1


def test_a_special_file_given_as_a_source_is_reported(tmp_path):
    os.mkfifo(tmp_path / "pipe.jsonl")
    good = tmp_path / "good.txt"
    good.write_text(article("خبر جيد", "نص كلمةجيدة"), "utf-8")
    _summary, report = _index([tmp_path / "pipe.jsonl", good], tmp_path / "ix")
    assert _rejected(report) == {"pipe.jsonl": "not a regular file (a named pipe)"}


def test_a_file_swapped_for_a_pipe_after_listing_is_refused_without_blocking(tmp_path):
    """The type is checked on the opened descriptor, opened with O_NONBLOCK:
    a pipe that replaces a listed file does not block the read."""
    os.mkfifo(tmp_path / "late.txt")
    with hang_guard("reading a named pipe"):
        result = read_file(tmp_path / "late.txt")
    assert [r.reason for r in result.rejects] == ["not a regular file (a named pipe)"]


def test_folders_nested_deeper_than_the_recursion_limit(tmp_path):
    """The walk keeps its own stack: 1,500 nested folders are read (os.walk recursed)."""
    deep = tmp_path / "archive"
    deep.mkdir()
    folder = os.open(deep, os.O_RDONLY)
    try:
        for _ in range(1500):
            os.mkdir("d", dir_fd=folder)
            inner = os.open("d", os.O_RDONLY, dir_fd=folder)
            os.close(folder)
            folder = inner
        fd = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, dir_fd=folder)
        os.write(fd, article("خبر عميق", "نص كلمةعميقة").encode("utf-8"))
        os.close(fd)
    finally:
        os.close(folder)
    (deep / "top.txt").write_text(article("خبر أعلى", "نص كلمةعليا"), "utf-8")
    try:
        summary, _report = _index([deep], tmp_path / "ix")
        assert summary["indexed"] == 2
        assert _ids(tmp_path / "ix") == {"top", "d/" * 1500 + "deep"}
    finally:
        _remove_deep(deep)


def _remove_deep(top: Path) -> None:
    """Remove a deep chain of ``d`` folders (shutil.rmtree, used by pytest's
    clean-up, recurses once a level): lift the chain one level at a time."""
    while top.exists():
        for entry in top.iterdir():
            if entry.name != "d":
                entry.unlink()
        if (top / "d").exists():
            spare = top.with_name(top.name + "-rest")
            os.rename(top / "d", spare)
            os.rmdir(top)
            os.rename(spare, top)
        else:
            os.rmdir(top)


def test_a_file_over_the_size_limit_is_reported(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "big.txt").write_text(article("خبر كبير", "نص " * 300_000), "utf-8")
    (archive / "small.txt").write_text(article("خبر صغير", "نص كلمةصغيرة"), "utf-8")
    summary, report = _index([archive], tmp_path / "ix", "--max-file-size", "500K")
    assert _rejected(report) == {"big.txt": "file larger than 500 KB (--max-file-size)"}
    assert _ids(tmp_path / "ix") == {"small"}
    summary, _ = _index([archive], tmp_path / "ix2")  # the default limit is larger
    assert summary["indexed"] == 2


@pytest.mark.parametrize("first_long", [True, False])
def test_a_json_lines_line_over_the_size_limit_is_reported_the_rest_read(tmp_path, first_long):
    """A JSON Lines file of any size is read in parts; a line over the limit
    is one record reported (read in bounded pieces, never held whole)."""
    archive = tmp_path / "archive"
    archive.mkdir()
    long = {"id": "long", "headline": "طويل", "body": "نص " * 400_000}
    lines = [{"id": f"r{n}", "headline": f"خبر {n}", "body": f"نص كلمة{n}"} for n in range(5)]
    lines.insert(0 if first_long else 3, long)
    (archive / "data.jsonl").write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    summary, report = _index([archive], tmp_path / "ix", "--max-file-size", "1M")
    reasons = {e["record"]: e["reason"] for e in report if e["kind"] == "rejected"}
    line = 1 if first_long else 4
    assert reasons == {f"line {line}": "line larger than 1 MB (--max-file-size)"}
    assert _ids(tmp_path / "ix") == {f"r{n}" for n in range(5)}
    assert summary["records_rejected"] == 1
