"""What a search answer says about itself, and the codes that tell the cases apart.

The JSON API's human texts are Arabic, the language of the product's
interface, so a client can show them as they are; ``arshif search`` prints
the English text of the same code (terminals render mixed-direction text
poorly).  Programs compare ``code``, never the text.
"""

from __future__ import annotations

EMPTY_QUERY = "empty_query"
ONLY_COMMON_WORDS = "only_common_words"
NO_RESULTS = "no_results"
PAST_LAST_PAGE = "past_last_page"
UNKNOWN_SOURCE = "unknown_source"
BAD_DATE = "bad_date"

#: code -> (Arabic for the API and the page, English for the command line)
TEXTS = {
    EMPTY_QUERY: ("اكتب كلمة أو أكثر للبحث.", "empty query"),
    ONLY_COMMON_WORDS: ("الاستعلام لا يحوي إلا كلمات شائعة جدًا؛ جرّب كلمات أكثر تحديدًا.",
                        "only common words, nothing to search"),
    NO_RESULTS: ("لم نجد مقالات تطابق بحثك.", "nothing matched"),
    PAST_LAST_PAGE: ("لا توجد نتائج في هذه الصفحة: هي بعد آخر صفحة من النتائج.",
                     "the page is past the last page of results"),
    UNKNOWN_SOURCE: ("لا يوجد مصدر بهذا الاسم في الأرشيف.", "no source of that name"),
    BAD_DATE: ("لم نفهم التاريخ في الاستعلام: اكتبه مثل 2023 أو 2023-09 أو 2023-09-26.",
               "a date in the query is not a date: write 2023, 2023-09 or 2023-09-26"),
}


def arabic(code: str) -> str:
    return TEXTS[code][0]


def english(code: str) -> str:
    return TEXTS[code][1]
