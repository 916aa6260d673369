"""Shared fixtures: small indexes built once per session in temporary folders."""

from __future__ import annotations

import shutil
import signal
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from indexer.writer import build_index

ARCHIVE = Path(__file__).resolve().parent.parent / "data" / "archive"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
XSS = "<script>alert(1)</script>"
XSS_ATTR = "\"'><img src=x onerror=alert(1)>"
XSS_ID = "world/2023#1~x"

#: (file, date, source, headline, topic words); every body says الاقتصاد, so
#: one query matches all 15 (pagination), over 3 sources and 2018..2023.
NEWS = [
    ("gulf/oil", date(2023, 9, 26), "الخليج الجديد", "أسعار النفط ترتفع مع خفض الإنتاج",
     "النفط أوبك"),
    ("gulf/gas", date(2023, 9, 12), "الخليج الجديد", "صادرات الغاز القطري تتضاعف", "الغاز قطر"),
    ("gulf/bank", date(2023, 8, 3), "الخليج الجديد", "البنك المركزي يرفع الفائدة",
     "الفائدة البنوك"),
    ("gulf/gold", date(2022, 12, 1), "الخليج الجديد", "الذهب يسجل أعلى سعر في عام",
     "الذهب المعادن"),
    ("jazeera/quake", date(2023, 2, 6), "الجزيرة", "زلزال مدمر يضرب جنوب تركيا", "الزلزال تركيا"),
    ("jazeera/vote", date(2023, 5, 28), "الجزيرة", "جولة ثانية في الانتخابات التركية",
     "الانتخابات تركيا"),
    ("jazeera/wheat", date(2022, 7, 22), "الجزيرة", "اتفاق الحبوب يعيد شحنات القمح",
     "القمح الحبوب"),
    ("jazeera/flood", date(2023, 9, 11), "الجزيرة", "فيضانات درنة تخلف آلاف الضحايا",
     "الفيضانات ليبيا"),
    ("jazeera/cup", date(2022, 11, 20), "الجزيرة", "افتتاح كأس العالم في قطر", "كأس العالم"),
    ("jazeera/old", date(2018, 3, 15), "الجزيرة", "تقرير قديم عن أسواق المال", "الأسواق المال"),
    ("arabiya/tourism", date(2023, 1, 15), "العربية", "السياحة في السعودية تنمو بسرعة",
     "السياحة السعودية"),
    ("arabiya/jobs", date(2021, 6, 30), "العربية", "البطالة تتراجع في الربع الثاني",
     "البطالة الوظائف"),
    ("arabiya/cars", date(2021, 1, 10), "العربية", "مصنع جديد للسيارات الكهربائية",
     "السيارات الكهرباء"),
    ("arabiya/ports", date(2022, 3, 3), "العربية", "توسعة كبيرة في ميناء جدة", "الموانئ الشحن"),
    ("arabiya/solar", date(2023, 10, 1), "العربية", "أكبر محطة للطاقة الشمسية", "الطاقة الشمسية"),
]
EMBEDDED_HEADLINE = "روسيا توسع صادرات الحبوب إلى أفريقيا"


#: A hang guard's limit (seconds): for inputs that once took minutes to hours
#: (quadratic regexes) and now take milliseconds.
HANG_GUARD_S = 60


class Hang(AssertionError):
    """The guarded code ran past its hang guard."""


@contextmanager
def hang_guard(what: str, seconds: float = HANG_GUARD_S):
    """Fail, rather than hang the suite, if the block runs past ``seconds``.

    Not a speed check (speed is measured in bench/): the limit is thousands
    of times what the code takes, so only a hang, or the old quadratic
    behaviour, reaches it, on any machine.  SIGALRM interrupts Python code
    and regular expressions alike; main thread only (where pytest runs tests).
    """
    def expired(signum, frame):
        raise Hang(f"{what} ran past {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def gmt_date(d: date) -> str:
    """The archive's date line: ``26th, September 2023 GMT``."""
    suffix = "th" if 11 <= d.day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10, "th")
    return f"{d.day}{suffix}, {MONTHS[d.month - 1]} {d.year} GMT"


def article_text(headline, when, body, source, keywords, related="", trailing=""):
    """One article in the user's plain-text format."""
    lines = [headline, f"تاريخ النشر: {gmt_date(when)}", *body]
    if related:
        lines += ["اقرأ أيضاً", related]
    lines += [f"المصدر | {source}", f"كلمات دلالية: {keywords}"]
    if trailing:
        lines += ["إقرأ أيضاً:", trailing]
    return "\n".join(lines) + "\n"


def write_news(folder: Path) -> Path:
    """Write the 15 test articles (+ one hostile, one with a read-also block)."""
    for name, when, source, headline, topic in NEWS:
        body = [f"تقرير عن {topic} وأثره على الاقتصاد في المنطقة.",
                f"ويقول محللون إن {topic} سيبقى في صدارة الأخبار خلال الأشهر المقبلة."]
        extra = {}
        if name == "gulf/oil":
            extra = {"related": "إيكونوميست: النفط يعود إلى الواجهة",
                     "trailing": f"{EMBEDDED_HEADLINE}\n"
                                 "أعلنت موسكو توسيع صادرات القمح والحبوب إلى دول أفريقية."}
        path = folder / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_text(headline, when, body, source, topic.replace(" ", "، "),
                                     **extra),
                        "utf-8")
    hostile = folder / f"{XSS_ID}.txt"
    hostile.parent.mkdir(parents=True, exist_ok=True)
    hostile.write_text(article_text(
        f"خبر عاجل {XSS} {XSS_ATTR}", date(2023, 9, 26),
        [f"نص عاجل فيه {XSS} وكذلك {XSS_ATTR} للاختبار."], f"مصدر {XSS}", "عاجل"), "utf-8")
    return folder


@pytest.fixture(scope="session")
def news_index(tmp_path_factory) -> Path:
    """An index home of the test articles above (built once; do not modify)."""
    root = tmp_path_factory.mktemp("news")
    build_index([write_news(root / "archive")], root / "index")
    return root / "index"


@pytest.fixture(scope="session")
def archive_index(tmp_path_factory) -> Path:
    """An index home of a copy of the bundled ``data/archive``."""
    root = tmp_path_factory.mktemp("archive")
    shutil.copytree(ARCHIVE, root / "archive")
    build_index([root / "archive"], root / "index")
    return root / "index"


@pytest.fixture(scope="session")
def opensearch_node():
    """One OpenSearch node for the session (tests/opensearch_node.py).

    Skips the tests that use it, with the reason, where Java or the
    distribution is missing; in CI (``CI=true``) that is a failure, since
    .ci/run fetches the distribution."""
    from tests.opensearch_node import Node, running

    with running(Node()) as node:
        yield node


# -- stories: one agency story printed by several papers (indexer/stories.py) --------------

#: The agency story: a body of 70 words.
STORY = ("أعلن وزير الخارجية في مؤتمر صحفي عقده اليوم في الرياض أن المملكة ستستضيف الشهر "
         "المقبل اجتماعا وزاريا موسعا يضم ممثلين عن أكثر من ثلاثين دولة لبحث سبل دعم "
         "الاستقرار في المنطقة وتعزيز التعاون الاقتصادي بين دولها. وأوضح الوزير أن الاجتماع "
         "سيناقش ملفات الطاقة والأمن الغذائي وسلاسل الإمداد، إضافة إلى التطورات السياسية "
         "الأخيرة، مشيرا إلى أن الدعوات وجهت إلى جميع الدول المعنية وأن الترتيبات "
         "اللوجستية تسير وفق الجدول المحدد. وأكد أن بلاده حريصة على إنجاح الاجتماع "
         "والخروج بنتائج عملية تخدم شعوب المنطقة.")
#: The same story edited as a paper edits an agency story: the opening reworded,
#: a clause cut, a sentence added.
STORY_EDITED = ("قال وزير الخارجية في مؤتمر صحفي عقده اليوم في الرياض إن المملكة ستستضيف الشهر "
                "المقبل اجتماعا وزاريا موسعا يضم ممثلين عن أكثر من ثلاثين دولة لبحث سبل دعم "
                "الاستقرار في المنطقة وتعزيز التعاون الاقتصادي بين دولها. وأوضح الوزير أن "
                "الاجتماع سيناقش ملفات الطاقة والأمن الغذائي وسلاسل الإمداد، مشيرا إلى أن "
                "الدعوات وجهت إلى جميع الدول المعنية وأن الترتيبات اللوجستية تسير وفق الجدول "
                "المحدد. وأكد أن بلاده حريصة على إنجاح الاجتماع والخروج بنتائج عملية تخدم "
                "شعوب المنطقة. ويأتي الاجتماع بعد سلسلة من اللقاءات الثنائية.")
#: Another story on the same subject, in the same words where news shares them.
OTHER_STORY = ("استقبل وزير الخارجية في مكتبه بالرياض اليوم سفير اليابان لدى المملكة، وجرى "
               "خلال الاستقبال استعراض العلاقات الثنائية بين البلدين وسبل تطويرها في المجالات "
               "الاقتصادية والثقافية والتعليمية. كما بحث الجانبان عددا من القضايا الإقليمية "
               "والدولية ذات الاهتمام المشترك، وأكد السفير حرص بلاده على توسيع الشراكة مع "
               "المملكة في مجالات الطاقة المتجددة والتقنية، وعلى زيادة عدد الطلاب المبتعثين "
               "إلى الجامعات اليابانية خلال العام المقبل.")
#: A short brief, printed twice word for word: too short to group.
BRIEF = "وزير الخارجية يصل إلى الرياض في زيارة رسمية."

#: (file, date, source, headline, body): 1-3 are one story (an exact and an
#: edited copy, with other headlines); 4 another story; 5 the same text a month
#: later (a story again, not the first one); 6-7 briefs.
STORY_NEWS = [
    ("spa/visit", date(2023, 9, 26), "واس", "وزير الخارجية: الرياض تستضيف اجتماعا وزاريا", STORY),
    ("riyadh/visit", date(2023, 9, 26), "الرياض", "اجتماع وزاري موسع في الرياض الشهر المقبل",
     STORY),
    ("madina/visit", date(2023, 9, 27), "المدينة", "المملكة تستضيف ممثلي ثلاثين دولة",
     STORY_EDITED),
    ("spa/japan", date(2023, 9, 26), "واس", "وزير الخارجية يستقبل سفير اليابان", OTHER_STORY),
    ("spa/again", date(2023, 10, 30), "واس", "الرياض تستضيف اجتماعا وزاريا موسعا", STORY),
    ("riyadh/brief", date(2023, 9, 26), "الرياض", "وصول وزير الخارجية", BRIEF),
    ("madina/brief", date(2023, 9, 26), "المدينة", "وزير الخارجية في الرياض", BRIEF),
]


def write_story_news(folder: Path, items=None) -> Path:
    for name, when, source, headline, body in items or STORY_NEWS:
        path = folder / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_text(headline, when, [body], source, "وزير الخارجية"), "utf-8")
    return folder


@pytest.fixture(scope="session")
def story_index(tmp_path_factory) -> Path:
    """An index home of STORY_NEWS (built once; do not modify)."""
    root = tmp_path_factory.mktemp("stories")
    build_index([write_story_news(root / "archive")], root / "index")
    return root / "index"
