"""Tests for decoding archive files, format detection and the JSON/JSONL/CSV/SGML readers."""

from __future__ import annotations

import codecs
import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from indexer.article import Article, Reject
from indexer.decode import (
    UnreadableFile,
    clean_text,
    decode_bytes,
    read_text,
    unescape_references,
)
from indexer.readers.archive import read_file
from indexer.readers.detect import detect_format
from indexer.readers.records import read_csv, read_json, read_jsonl, resolve_mapping
from indexer.readers.sgml import read_sgml

FIXTURES = Path(__file__).parent / "fixtures" / "records"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"


def articles(items):
    return [x for x in items if isinstance(x, Article)]


def rejects(items):
    return [x for x in items if isinstance(x, Reject)]


# --------------------------------------------------------------------------
# decode


@pytest.mark.parametrize("name", ["utf8_bom.txt", "utf16le_bom.txt", "utf16be_bom.txt"])
def test_bom_files_decode_without_bom(name):
    assert read_text(FIXTURES / name) == "عنوان الملف\nنص قصير للتجربة.\n"


def test_cp1256_file_decodes_to_arabic():
    text = read_text(FIXTURES / "cp1256.txt")
    assert text.startswith("تقرير قديم من الأرشيف\n")
    assert "محفوظا في الأرشيف" in text


def test_crlf_lone_cr_and_nul_are_normalized():
    assert read_text(FIXTURES / "crlf.txt") == "السطر الأول\nالسطر الثاني\nالسطر الثالث\n"


def test_binary_junk_with_txt_name_is_refused():
    with pytest.raises(UnreadableFile, match="binary"):
        read_text(FIXTURES / "junk.txt")


@pytest.mark.parametrize("name", ["empty.txt", "blank.txt"])
def test_empty_and_blank_files_are_refused(name):
    with pytest.raises(UnreadableFile) as info:
        read_text(FIXTURES / name)
    assert info.value.reason == "empty file"
    assert isinstance(info.value, ValueError)


def test_bom_only_file_is_empty():
    with pytest.raises(UnreadableFile, match="empty file"):
        decode_bytes(codecs.BOM_UTF16_LE + " \n".encode("utf-16-le"))


def test_permission_error_becomes_reason(monkeypatch):
    def deny(path, flags, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(UnreadableFile, match="permission denied"):
        read_text(FIXTURES / "utf8_bom.txt")


def test_directory_and_missing_file_are_refused(tmp_path):
    with pytest.raises(UnreadableFile, match="directory"):
        read_text(tmp_path)
    with pytest.raises(UnreadableFile, match="not found"):
        read_text(tmp_path / "nothing.txt")


def test_utf8_with_one_bad_byte_stays_utf8():
    good = "خبر طويل بالعربية عن الاقتصاد والسياسة والرياضة. " * 10
    data = good.encode("utf-8") + b"\xff" + good.encode("utf-8")
    text = decode_bytes(data)
    assert text.startswith(good)
    assert text.count("\ufffd") == 1


def test_undecodable_bytes_that_are_not_cp1256_text_are_refused():
    # Not UTF-8, no control bytes, but cp1256 reads them as © ® ° ± ¶ · » «.
    with pytest.raises(UnreadableFile, match="Windows-1256"):
        decode_bytes(b"\xa9\xae\xb0\xb1\xb6\xb7\xbb\xab" * 20)


def test_invalid_utf16_after_bom_is_refused():
    with pytest.raises(UnreadableFile, match="UTF-16"):
        decode_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8\x41")  # lone surrogate, odd length


def test_clean_text_replaces_controls_keeps_newlines_and_tabs():
    assert clean_text("أ\x1a\x1aب\tج\r\nد\x02ه\x85و") == "أ ب\tج\nد ه و"


def test_clean_text_changes_exactly_controls_surrogates_and_noncharacters():
    """Every BMP code point and the ends of every plane: a character is
    left alone unless it is a control (not tab or newline; CR ends a line), a surrogate or
    a noncharacter (clean_text first looks for any character to clean in
    one scan, which must miss none and never change text that has none)."""
    points = [*range(0x10000), *(plane * 0x10000 + last for plane in range(1, 17)
                                 for last in (0, 0xFFFD, 0xFFFE, 0xFFFF))]
    for point in points:
        char = chr(point)
        dirty = (point < 0x20 and char not in "\t\n") or 0x7F <= point <= 0x9F \
            or 0xD800 <= point <= 0xDFFF or 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE
        assert (clean_text(f"a{char}b") != f"a{char}b") == dirty, hex(point)


# --------------------------------------------------------------------------
# detect_format


@pytest.mark.parametrize(
    "name, expected",
    [
        ("ant_style.txt", "sgml"),
        ("articles.json", "json"),
        ("single.json", "json"),
        ("articles.jsonl", "jsonl"),
        ("articles.csv", "csv"),
        ("export.tsv", "csv"),
        ("export_csv.txt", "csv"),
        ("cp1256.txt", "text"),
        ("utf8_bom.txt", "text"),
    ],
)
def test_detect_format_of_fixtures(name, expected):
    path = FIXTURES / name
    assert detect_format(path, read_text(path)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\ufeff  \n<DOC>\n<DOCNO>x</DOCNO>", "sgml"),
        ('<?xml version="1.0"?>\n<DOC id="a">\n<TEXT>نص</TEXT></DOC>', "sgml"),
        ("<!DOCTYPE html>\n<html><body>نص</body></html>", "text"),
        ("[تحديث] عنوان الخبر\nنص الخبر.", "text"),
        ('[\n  {"title": "مكسور",\n', "json"),  # broken JSON: the reader reports it
        ('{"a": 1}\n{"a": 2}\n', "jsonl"),
        ("عنوان، فيه فاصلة\nنص الخبر، وفيه فواصل أيضا.", "text"),
        ("title,body\nعنوان,نص", "csv"),
    ],
)
def test_detect_format_by_content_not_name(text, expected):
    assert detect_format("archive/item.txt", text) == expected


# --------------------------------------------------------------------------
# JSON


def test_json_array():
    path = FIXTURES / "articles.json"
    items = list(read_json(path, None))
    assert len(items) == 5
    first, second, third, fourth, fifth = items

    assert first.id == "n-1"
    assert first.headline == "افتتاح مكتبة عامة جديدة في وسط المدينة"
    assert "\x1a" not in first.body and "الكتب مجانا" in first.body
    assert first.date == datetime(2015, 7, 21, 9, 15)
    assert first.date_text == "2015-07-21 09:15:00"
    assert first.source == "جريدة المثال"
    assert first.keywords == ["ثقافة", "مكتبات"]
    assert first.path == str(path)

    # No id: path#record; empty headline is fine; "published" is a date name;
    # keywords split on both commas.
    assert second.id == f"{path}#2"
    assert second.headline == ""
    assert second.body == "أمطار غزيرة تهطل على المناطق الشمالية مساء الأحد."
    assert second.date == datetime(2018, 2, 18)
    assert second.keywords == ["طقس", "أمطار", "شتاء"]

    assert third == Reject(str(path), "empty body", "record 3")
    assert isinstance(fourth, Reject) and fourth.record == "record 4"

    # Keys are matched case-insensitively; an unparseable date keeps its text.
    assert fifth.id == "n-5" and fifth.headline == "عنوان بحروف كبيرة"
    assert fifth.date is None and fifth.date_text == "أمس"
    assert fifth.date_problem == "unparseable date: 'أمس'"


def test_json_single_object():
    [item] = read_json(FIXTURES / "single.json", None)
    assert item.headline == "اجتماع وزراء الزراعة العرب"
    assert item.id.endswith("single.json#1")
    assert item.date == datetime(2023, 9, 26)


def test_json_wrapper_object_and_text_argument():
    text = json.dumps({"count": 2, "articles": [{"title": "أ", "text": "نص أ"},
                                                {"title": "ب", "text": "نص ب"}]})
    items = list(read_json("wrapped.json", {}, text=text))
    assert [a.headline for a in items] == ["أ", "ب"]
    assert [a.id for a in items] == ["wrapped.json#1", "wrapped.json#2"]


@pytest.mark.parametrize(
    "text, reason",
    [
        ('[{"title": "x", ', "invalid JSON"),
        ("[]", "no records in file"),
        ("42", "expected an array"),
    ],
)
def test_json_file_level_rejects(text, reason):
    [item] = read_json("bad.json", None, text=text)
    assert isinstance(item, Reject) and reason in item.reason and item.path == "bad.json"


def test_reader_turns_unreadable_file_into_reject():
    [item] = read_json(FIXTURES / "junk.txt", None)
    assert isinstance(item, Reject) and "binary" in item.reason


def test_json_mapping_overrides_defaults_without_fallback():
    text = json.dumps([{"url": "http://x/1", "titre": "عنوان", "title": "لا", "texte": "نص",
                        "quand": "2023-09-26"}])
    mapping = {"id": "url", "headline": "titre", "body": "texte", "date": "quand"}
    [a] = read_json("m.json", mapping, text=text)
    assert (a.id, a.headline, a.body, a.date) == ("http://x/1", "عنوان", "نص",
                                                  datetime(2023, 9, 26))
    [b] = read_json("m.json", {"headline": "missing"},
                    text=json.dumps([{"title": "x", "body": "نص"}]))
    assert b.headline == ""


def test_mapping_with_unknown_field_is_an_error():
    with pytest.raises(ValueError, match="headlin"):
        resolve_mapping({"headlin": "title"})


def test_empty_first_candidate_falls_through_to_next_name():
    [a] = read_json("x.json", None, text=json.dumps([{"body": "", "content": "المحتوى"}]))
    assert a.body == "المحتوى"


# --------------------------------------------------------------------------
# JSON Lines


def test_jsonl_broken_line_is_rejected_others_read():
    path = FIXTURES / "articles.jsonl"
    items = list(read_jsonl(path, None))
    # A record without an id is named by its line number (line 4 is blank).
    assert [a.id for a in articles(items)] == ["j-1", "j-2", f"{path}#5"]
    bad = rejects(items)
    assert [r.record for r in bad] == ["line 3", "line 6"]
    assert "invalid JSON" in bad[0].reason
    assert "not a JSON object" in bad[1].reason
    assert articles(items)[1].date == datetime(2023, 9, 26)  # "time" field, day-first


def test_jsonl_keeps_unicode_line_separators_inside_strings():
    text = json.dumps({"title": "ع", "body": "سطر\u2028آخر"}, ensure_ascii=False) + "\n"
    [a] = read_jsonl("u.jsonl", None, text=text)
    assert a.body == "سطر\u2028آخر"


# --------------------------------------------------------------------------
# CSV


def test_csv_missing_and_extra_columns():
    path = FIXTURES / "articles.csv"
    items = list(read_csv(path, None))
    good = articles(items)
    assert [a.id for a in good] == ["c-1", "c-2", "c-4"]

    c1, c2, c4 = good
    assert c1.body == "أعلنت الشركة عن مشروع جديد،\nوسيكتمل خلال عامين."  # quoted multi-line
    assert c1.keywords == ["طاقة", "بيئة"]
    assert c1.source == "وكالة المثال" and c1.date == datetime(2023, 9, 26)
    assert (c2.date, c2.date_text, c2.source) == (None, "", "")  # short row: missing -> empty
    assert c4.date == datetime(2023, 9, 27)  # trailing empty cells are harmless

    assert [(r.record, r.reason) for r in rejects(items)] == [
        ("line 5", "row has 7 fields but the header has 6"),
        ("line 8", "empty body"),
    ]


def test_tsv_and_semicolon_csv():
    [tsv] = read_csv(FIXTURES / "export.tsv", None)
    assert tsv.headline == "عنوان مفصول بعلامة الجدولة" and tsv.date == datetime(2023, 9, 26)
    [semi] = read_csv(FIXTURES / "export_csv.txt", None)
    assert semi.headline == "عنوان بفاصلة منقوطة" and semi.body == "نص قصير"


def test_csv_without_body_column_is_one_reject():
    [item] = read_csv("x.csv", None, text="id,title\n1,عنوان\n2,عنوان آخر\n")
    assert isinstance(item, Reject) and "no body column" in item.reason


def test_csv_with_arabic_column_names_via_mapping():
    text = "المعرف,العنوان,النص\nا-1,عنوان عربي,نص عربي\n"
    [a] = read_csv("ar.csv", {"id": "المعرف", "headline": "العنوان", "body": "النص"}, text=text)
    assert (a.id, a.headline, a.body) == ("ا-1", "عنوان عربي", "نص عربي")


def test_csv_header_only_is_reported():
    [item] = read_csv("h.csv", None, text="title,body\n")
    assert isinstance(item, Reject) and item.reason == "no records in file"


# --------------------------------------------------------------------------
# SGML


def test_sgml_multiple_docs_with_raw_ampersand_and_angle_bracket():
    path = FIXTURES / "ant_style.txt"
    items = list(read_sgml(path, read_text(path), None))
    assert len(items) == 4
    first, second, third, fourth = items

    assert first.id == "XX-economy-1-20180218"
    assert first.headline == "شركة S&P تخفض التصنيف"
    assert "النمو < 2%" in first.body and "a<b" in first.body
    # Character references are decoded with every format's (below), not here.
    assert "&amp; الأسواق" in first.body and first.body.endswith("هادئة &#1575;.")
    decoded = read_file(path, "sgml").articles[0]
    assert "& الأسواق" in decoded.body and decoded.body.endswith("هادئة ا.")
    assert "ملخص" not in first.body  # ABSTRACT is not body
    assert first.date == datetime(2018, 2, 18, 21, 35, 43)
    assert first.date_text == "Sun, 18 Feb 2018 21:35:43 +0400"
    assert first.source == "مصدر"

    # Alternative tag names, and a control character removed.
    assert second.headline == "وثيقة ثانية بعنوان HEADLINE"
    assert second.body == "النص الثاني  في الملف نفسه."
    assert second.date == datetime(2018, 2, 19)

    assert third == Reject(str(path), "empty body", "DOC 3 (XX-economy-3-20180220)")

    # Gigaword style: lower-case tags, id attribute, <P> paragraphs.
    assert fourth.id == "GW-4"
    assert fourth.body == "الفقرة الأولى.\n\nالفقرة الثانية."


def test_sgml_without_docno_uses_path_and_number():
    text = "<DOC>\n<TEXT>\nنص أول\n</TEXT>\n</DOC>\n<DOC>\n<TEXT>\nنص ثان\n</TEXT>\n</DOC>\n"
    assert [a.id for a in read_sgml("a/b.txt", text, None)] == ["a/b.txt#1", "a/b.txt#2"]


def test_sgml_truncated_file_still_reads_text():
    text = "<DOC>\n<DOCNO>T-1</DOCNO>\n<TITLE>عنوان</TITLE>\n<TEXT>\nنص مقطوع بلا نهاية"
    [a] = read_sgml("t.txt", text, None)
    assert (a.id, a.headline, a.body) == ("T-1", "عنوان", "نص مقطوع بلا نهاية")


def test_sgml_unclosed_field_stops_at_next_tag():
    text = "<DOC>\n<DOCNO>T-2</DOCNO>\n<TITLE>عنوان بلا إغلاق\n<TEXT>\nالنص\n</TEXT>\n</DOC>"
    [a] = read_sgml("t.txt", text, None)
    assert (a.headline, a.body) == ("عنوان بلا إغلاق", "النص")


def test_sgml_mapping_and_no_doc():
    text = "<DOC>\n<DOCNO>M-1</DOCNO>\n<ABSTRACT>\nالملخص\n</ABSTRACT>\n</DOC>"
    [a] = read_sgml("m.txt", text, {"body": "ABSTRACT"})
    assert a.body == "الملخص"
    [r] = read_sgml("m.txt", "مجرد نص", None)
    assert isinstance(r, Reject) and "no <DOC>" in r.reason


# --------------------------------------------------------------------------
# Real corpora (/work/shared/corpora), when present


SAUDI = CORPORA / "saudinewsnet" / "dataset" / "2015-07-21.json"
ANT = CORPORA / "ant-multisource"


@pytest.mark.skipif(not SAUDI.is_file(), reason=f"SaudiNewsNet not found at {SAUDI}")
def test_real_saudinewsnet_json_with_default_mapping():
    text = read_text(SAUDI)
    assert detect_format(SAUDI, text) == "json"
    items = list(read_json(SAUDI, None, text=text))
    assert len(items) == 2972
    good = articles(items)
    assert all(r.reason == "empty body" for r in rejects(items))
    assert len(good) > 2800  # 84 records in this file have an empty body

    first = good[0]
    assert first.id == f"{SAUDI}#1"
    assert first.headline.startswith("بريطانيا: أربعة محاور")  # from "title"
    assert first.body.startswith("حدد رئيس الوزراء البريطاني")  # from "content"
    assert first.date == datetime(2015, 7, 21, 2, 51, 32)  # from "date_extracted"
    assert first.source == "aawsat"
    assert all(a.date is not None and a.date.date() == datetime(2015, 7, 21).date() for a in good)
    assert all(a.body.strip() and "\x1a" not in a.body for a in good)
    assert len({a.id for a in good}) == len(good)


@pytest.mark.skipif(not ANT.is_dir(), reason=f"ANT corpus not found at {ANT}")
def test_real_ant_sgml_files():
    paths = [sorted(source.glob("*/*.txt"))[0] for source in sorted(ANT.iterdir())
             if source.is_dir()]
    paths += sorted(ANT.glob("BBC/internationalNews/*.txt"))[:5]
    assert len(paths) >= 5
    for path in paths:
        text = read_text(path)
        assert detect_format(path, text) == "sgml", path
        [article] = read_sgml(path, text, None)
        assert article.id == path.stem
        assert article.headline and "<" not in article.headline
        assert len(article.body) > 40 and "</TEXT>" not in article.body
        assert article.date is not None and 2012 <= article.date.year <= 2018
        assert article.source


# --------------------------------------------------------------------------
# HTML character references


def test_character_references_are_read_closed_by_a_semicolon_only():
    assert unescape_references("&quot;نص&quot; &#8220;أ&#8221; &#x201C;ب&#X201d;") == \
        '"نص" \u201cأ\u201d \u201cب\u201d'
    assert unescape_references("أ&nbsp;ب &amp;amp; &lt;b&gt;") == "أ\xa0ب &amp; <b>"
    # Legacy names without ";" (html.unescape reads "&copy" as ©), names of
    # no character, and a lone "&" stay as written.
    for kept in ("&copy 2015", "AT&T", "&not here", "&foo; &#; &#xZZ;", "R & D", "&"):
        assert unescape_references(kept) == kept
    text = "نص بلا مراجع"
    assert unescape_references(text) is text


REFERENCES_HEADLINE = "ارتفاع &quot;فلكي&quot; لأسعار &#8220;الشاليهات&#8221;"
REFERENCES_BODY = "قال&nbsp;المدير إن AT&T و&copy 2015 &amp; &foo; باقية كما هي."


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "sgml", "text"])
def test_every_format_decodes_character_references(tmp_path, fmt):
    """Exports of news sites (SaudiNewsNet: one record in 130) carry their
    pages' escaped text: the page and the index get the characters."""
    record = {"title": REFERENCES_HEADLINE, "content": REFERENCES_BODY,
              "source": "&#1593;&#1603;&#1575;&#1592;", "date": "2015-07-21",
              "url": "https://example.com/a?x=1&amp;copy=2"}
    path = tmp_path / f"a.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    elif fmt == "csv":
        path.write_text("title,content,source,date,url\n" + ",".join(
            f'"{record[k]}"' for k in ("title", "content", "source", "date", "url")) + "\n",
            encoding="utf-8")
    elif fmt == "sgml":
        path.write_text(f"<DOC>\n<DOCNO>a-1</DOCNO>\n<TITLE>{REFERENCES_HEADLINE}</TITLE>\n"
                        f"<SRC>{record['source']}</SRC>\n<TIME>2015-07-21</TIME>\n"
                        f"<TEXT>\n{REFERENCES_BODY}\n</TEXT>\n</DOC>\n", encoding="utf-8")
    else:
        path.write_text(f"{REFERENCES_HEADLINE}\nتاريخ النشر: 2015-07-21\n{REFERENCES_BODY}\n"
                        f"المصدر | {record['source']}\n", encoding="utf-8")
    [article] = read_file(path, fmt).articles
    assert article.headline == 'ارتفاع "فلكي" لأسعار \u201cالشاليهات\u201d'
    assert article.body == "قال\xa0المدير إن AT&T و&copy 2015 & &foo; باقية كما هي."
    assert article.source == "عكاظ"
    if fmt in ("json", "jsonl", "csv"):  # an address is kept as written
        assert article.url == "https://example.com/a?x=1&amp;copy=2"
