"""The report page: Chinese by default and English in the same file, county names, the misreadable figures explained,
a CJK font stack (issue 15)."""

from __future__ import annotations

import re

import pytest

from silentcert.services.rounds.county_names import county_name
from silentcert.services.rounds.report import FONT_STACK, render_html
from silentcert.services.rounds.report_text import TEXT, VALUES


def _report() -> dict:
    return {
        "round_id": "2021-10", "as_of": "2021-10-31", "pensioners": 3, "certified": 2,
        "certification_rate": 2 / 3, "previous": None, "overpayment_total": 1500.0, "overpayment_confirmed": 1000.0,
        "weak_evidence": {"threshold_log_odds": 9.3, "highest_log_odds": 9.9, "can_certify": True},
        "county_names": {"360702": "章贡区"},
        "figures": {
            "status": [["certified", 2], ["deceased", 1]], "channels": [["carried", 1], ["silent strong", 1]],
            "silent_sources": [["vaccination", 1]], "counties": [["360702", 2, 2], ["999999", 0, 1]],
            "period_states": [["valid", 2]], "notices": [["exempt / sms", 2], ["overdue / letter+unit", 1]],
            "flags": [["confirmed_death / high", 1, 1000.0], ["unconfirmed_death / medium", 1, 500.0]],
            "link_rate": [["vaccination", 1, 0, 0, 0, 1]], "probability_histogram": [["0.9–1.0", 1]],
            "rejects": [],
        },
    }


def _shown(page: str, language: str) -> str:
    """The text a reader of `language` sees: the other language's elements removed, tags stripped."""
    other = "en" if language == "zh" else "zh"
    page = re.sub(rf"<(span|tspan) class={other} [^>]*>.*?</\1>", "", page)
    return re.sub(r"<[^>]+>", " ", page.split("<main>", 1)[1])


def test_chinese_is_the_default_and_english_is_in_the_same_file() -> None:
    page = render_html(_report())
    assert page.startswith("<!doctype html><html lang=zh-CN>")
    assert "<input type=radio name=lang class=lang id=lang-zh checked>" in page
    assert "#lang-zh:checked~main .en,#lang-en:checked~main .zh{display:none}" in page
    chinese, english = _shown(page, "zh"), _shown(page, "en")
    assert "已认证人员的认证渠道" in chinese and "Channel split" not in chinese
    assert "Channel split of certified pensioners" in english and "认证渠道" not in english
    assert "免认证 / 短信" in chinese and "逾期 / 信件+单位" in chinese and "exempt / sms" in english


def test_every_label_has_both_languages() -> None:
    for key, texts in {**TEXT, **VALUES}.items():
        assert len(texts) == 2 and all(t.strip() for t in texts), key


def test_english_can_be_the_one_shown_first() -> None:
    page = render_html(_report(), lang="en")
    assert page.startswith("<!doctype html><html lang=en>") and "id=lang-en checked" in page
    with pytest.raises(ValueError, match="zh, en"):
        render_html(_report(), lang="fr")


def test_counties_show_their_names_next_to_the_codes() -> None:
    page = render_html(_report())
    assert "360702 章贡区" in page
    assert "999999" in page  # a code the table does not know is still shown
    assert county_name("360702") == "章贡区" and county_name("360799") == "赣州市" and county_name("990000") is None


def test_the_figures_that_could_be_misread_are_explained() -> None:
    chinese, english = _shown(render_html(_report()), "zh"), _shown(render_html(_report()), "en")
    assert "of which confirmed deaths" in english and "¥1,000.00" in english and "overpayment_confirmed" in english
    assert "其中已确认死亡" in chinese
    assert "“carried”: the certification period in the registry" in english
    assert "On a first round these periods come from the registry file itself" in english


def test_the_page_asks_for_common_system_cjk_fonts() -> None:
    for family in ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei"):
        assert f'"{family}"' in FONT_STACK
    assert FONT_STACK.endswith("sans-serif") and f"font-family:{FONT_STACK}" in render_html(_report())
