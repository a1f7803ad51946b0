"""Mandarin normalisation: simplified characters and numbers as they are read aloud."""

from __future__ import annotations

import pytest

from device.interview.asr.zh_text import cardinal, normalize_zh


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "零"), (10, "十"), (12, "十二"), (105, "一百零五"), (1005, "一千零五"), (2000, "两千"), (20000, "两万"),
     (100010, "十万零一十"), (1000000, "一百万"), (123456789, "一亿二千三百四十五万六千七百八十九")],
)
def test_cardinal(n: int, text: str) -> None:
    assert cardinal(n) == text


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("增长了80%", "增长了百分之八十"), ("2015年", "二零一五年"), ("2个人", "两个人"), ("3.5倍", "三点五倍"),
     ("電話0571", "电话零五七一"), ("這是 測試", "这是测试"), ("共有15家", "共有十五家")],
)
def test_normalize(raw: str, normalised: str) -> None:
    assert normalize_zh(raw) == normalised


def test_numerals_can_be_left_alone() -> None:
    assert normalize_zh("這是80%", numerals=False) == "这是80%"
