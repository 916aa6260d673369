"""The user's one-article-per-file format, on the example article and variants."""

from datetime import datetime
from pathlib import Path

import pytest

from indexer.article import Reject
from indexer.readers.archive import FileResult, iter_files, read_file
from indexer.readers.text import clean_source, parse_text_article

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "archive" / "000_be18b8559e209b80.txt"


@pytest.fixture(scope="module")
def example():
    result = read_file(EXAMPLE, roots=[EXAMPLE.parent])
    assert not result.rejects
    return result.articles


def test_example_headline_date_source_keywords(example):
    main = example[0]
    assert main.id == "000_be18b8559e209b80"
    assert main.headline == "حفتر يزور روسيا لإجراء مباحثات.. وبنغازي: تلبية لدعوة رسمية"
    assert main.date == datetime(2023, 9, 26)
    assert main.date_text == "26th, September 2023 GMT"
    assert main.source == "الخليج الجديد"
    assert main.keywords == ["خليفة حفتر الشرق الليبي"]


def test_example_teaser_is_a_related_headline_not_body(example):
    main = example[0]
    teaser = "إيكونوميست: حفتر يستغل كارثة فيضانات ليبيا لبسط نفوذه"
    assert teaser in main.related
    assert "إيكونوميست" not in main.body
    assert "اقرأ أيضاً" not in main.body
    # Body paragraphs on both sides of the teaser are kept, in order.
    assert main.body.startswith("بدأ قائد الشرق الليبي")
    assert main.body.rstrip().endswith("وفي الجنوب الليبي.")
    assert "المصدر" not in main.body and "كلمات دلالية" not in main.body


def test_example_trailing_article_is_its_own_document(example):
    assert len(example) == 2
    other = example[1]
    assert other.id == "000_be18b8559e209b80~1"
    assert other.parent == "000_be18b8559e209b80"
    assert other.headline == "روسيا وأوكرانيا تتفقان على تقديم خطط رسمية لوقف إطلاق النار"
    assert other.body.startswith("أعلن رئيس الوفد الروسي")
    assert other.date is None  # no date of its own: none is guessed
    assert "روسيا وأوكرانيا" not in example[0].body


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("الخليج الجديد + متابعاتالمصدر: الخليج الجديد", "الخليج الجديد"),
        ("الجزيرة + وكالات", "الجزيرة"),
        ("العربية", "العربية"),
        (" بي بي سي | ", "بي بي سي"),
    ],
)
def test_clean_source(raw, expected):
    assert clean_source(raw) == expected


@pytest.mark.parametrize(
    "marker",
    ["اقرأ أيضاً", "اقرأ أيضا", "إقرأ أيضاً:", "اقرا ايضا", "اقرأ أيضًا :", "إقرأ أيضاً", "اقرأ أيضاً."],
)
def test_read_also_spellings(marker):
    text = (f"عنوان الخبر\nتاريخ النشر: 2024-01-03\nفقرة أولى\n{marker}\nعنوان خبر آخر\n"
            "فقرة ثانية\nالمصدر | الجزيرة")
    [article] = parse_text_article(text, "x.txt", "x")
    assert article.related == ["عنوان خبر آخر"]
    assert article.body == "فقرة أولى\nفقرة ثانية"


def test_keywords_with_separators():
    text = "عنوان\nفقرة\nكلمات دلالية: ليبيا، روسيا, حفتر"
    [article] = parse_text_article(text, "x.txt", "x")
    assert article.keywords == ["ليبيا", "روسيا", "حفتر"]


def test_several_trailing_articles_and_their_dates():
    text = "\n".join([
        "العنوان الرئيسي", "تاريخ النشر: 2024-01-03", "نص الخبر", "المصدر | العربية",
        "إقرأ أيضاً:", "خبر أول", "تاريخ النشر: 2023-12-01", "نص الخبر الأول",
        "إقرأ أيضاً:", "خبر ثان", "نص الخبر الثاني",
    ])
    main, first, second = parse_text_article(text, "x.txt", "x")
    assert main.body == "نص الخبر"
    assert (first.headline, first.body, first.date) == ("خبر أول", "نص الخبر الأول",
                                                        datetime(2023, 12, 1))
    assert (second.id, second.headline, second.date) == ("x~2", "خبر ثان", None)


def test_unparseable_date_is_kept_missing_and_reported():
    [article] = parse_text_article("عنوان\nتاريخ النشر: أمس مساءً\nنص", "x.txt", "x")
    assert article.date is None
    assert article.date_problem == "unparseable date: 'أمس مساءً'"


def test_arabic_date_forms_in_the_date_line():
    text = "عنوان\nتاريخ النشر: الثلاثاء ٢٦ أيلول ٢٠٢٣ - 10:30 م\nنص"
    [article] = parse_text_article(text, "x.txt", "x")
    assert article.date == datetime(2023, 9, 26, 22, 30)


@pytest.mark.parametrize(
    "encoding, bom",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1256", b""), ("utf-16-le", b"\xff\xfe")],
)
def test_encodings_and_line_ends(tmp_path, encoding, bom):
    text = ("حفتر يزور روسيا\r\nتاريخ النشر: 26th, September 2023 GMT\r\n"
            "بدأ قائد الشرق الليبي زيارة.\r\nالمصدر | الخليج الجديد\r\n")
    path = tmp_path / "a.txt"
    path.write_bytes(bom + text.encode(encoding))
    [article] = read_file(path, roots=[tmp_path]).articles
    assert article.headline == "حفتر يزور روسيا"
    assert article.body == "بدأ قائد الشرق الليبي زيارة."
    assert article.source == "الخليج الجديد"
    assert article.date == datetime(2023, 9, 26)


def read_all(root: Path) -> list[FileResult]:
    """Every file under ``root``, read as ``arshif index`` reads it."""
    return [FileResult(x.path, rejects=[x]) if isinstance(x, Reject) else read_file(x, roots=[root])
            for x in iter_files([root])]


def test_archive_walk_reports_every_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.txt").write_text("عنوان\nنص الخبر", "utf-8")
    (tmp_path / "empty.txt").write_text("", "utf-8")
    (tmp_path / "headline-only.txt").write_text("عنوان فقط\n", "utf-8")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "loop").symlink_to(tmp_path)
    results = read_all(tmp_path)
    articles = [a for r in results for a in r.articles]
    rejects = {Path(x.path).name: x.reason for r in results for x in r.rejects}
    assert [a.id for a in articles] == ["sub/good"]
    assert rejects["empty.txt"] == "empty file"
    assert rejects["headline-only.txt"] == "empty body"
    assert "photo.jpg" in rejects  # formats are told by content, not by name: still reported
    assert any("symlink loop" in reason for reason in rejects.values())


def test_auto_format_tells_sgml_from_the_users_txt(tmp_path):
    (tmp_path / "ant.txt").write_text(
        "<DOC>\n<DOCNO>X-1</DOCNO>\n<TITLE>عنوان & آخر</TITLE>\n"
        "<TIME>Sun, 15 Jul 2018 21:56:56 +0400</TIME>\n"
        "<TEXT>\nنص فيه < و & بلا ترميز\n</TEXT>\n</DOC>\n", "utf-8")
    (tmp_path / "mine.txt").write_text("عنوان خبري\nتاريخ النشر: 2024-01-03\nنص الخبر", "utf-8")
    articles = {a.id: a for r in read_all(tmp_path) for a in r.articles}
    assert articles["X-1"].headline == "عنوان & آخر"
    assert "<" in articles["X-1"].body
    assert articles["X-1"].date == datetime(2018, 7, 15, 21, 56, 56)
    assert articles["mine"].date == datetime(2024, 1, 3)


# -- HEADLINE_MAX_WORDS: a line longer than that is a paragraph, not a headline --
PARAGRAPH = " ".join(["كلمة"] * 40)  # 40 words: a scraped paragraph, not a title


def test_a_paragraph_on_line_one_is_body_not_headline():
    """A file that starts with its text has no headline; its text stays searchable."""
    (main,) = parse_text_article(f"{PARAGRAPH}\nتاريخ النشر: 2023-09-26\nفقرة ثانية\n", "x", "x")
    assert main.headline == ""
    assert main.body == f"{PARAGRAPH}\nفقرة ثانية"


def test_a_paragraph_after_a_teaser_marker_is_body_not_a_related_headline():
    (main,) = parse_text_article(f"عنوان\nفقرة\nاقرأ أيضاً\n{PARAGRAPH}\nخاتمة\n", "x", "x")
    assert main.related == []
    assert main.body == f"فقرة\n{PARAGRAPH}\nخاتمة"


def test_a_paragraph_opening_a_read_also_article_is_its_body():
    text = f"عنوان\nفقرة\nالمصدر | مصدر\nإقرأ أيضاً:\n{PARAGRAPH}\nتتمة\n"
    _main, extra = parse_text_article(text, "x", "x")
    assert (extra.headline, extra.body, extra.parent) == ("", f"{PARAGRAPH}\nتتمة", "x")


def test_a_headline_of_the_largest_length_is_still_a_headline():
    from indexer.readers.text import HEADLINE_MAX_WORDS

    title = " ".join(["خبر"] * HEADLINE_MAX_WORDS)
    (main,) = parse_text_article(f"{title}\nنص\nاقرأ أيضاً\n{title}\n", "x", "x")
    assert main.headline == title and main.related == [title] and main.body == "نص"
