"""Mandarin output normalisation: simplified characters and numbers written as spoken.

Whisper often writes traditional characters and Arabic digits ("80%", "2015年", "2个"); booth
transcripts (and the references speech is scored against) use simplified characters and numbers as
they are read aloud. :func:`normalize_zh` converts both; it is applied to the Whisper engine's zh output.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ["", "十", "百", "千"]
_BIG_UNITS = ["", "万", "亿", "万亿"]
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)(%|％)?")
#: Measure words after which 2 is read 两 (两个人, not 二个人).
_LIANG_BEFORE = "个位只条张件种次本岁年天点台辆块名家所"


@lru_cache(maxsize=1)
def _t2s() -> Any:
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, tables loaded once

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    result: str = _t2s().convert(text)
    return result


def _four(n: int) -> str:
    """0 < n < 10000 in characters, with 零 for inner zeros (1005 -> 一千零五)."""
    out = []
    digits = f"{n:04d}"
    zero = False
    started = False
    for pos, ch in enumerate(digits):
        d = int(ch)
        unit = _SMALL_UNITS[3 - pos]
        if d == 0:
            zero = started
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS[d] + unit)
        started = True
    return "".join(out)


def cardinal(n: int) -> str:
    """An integer read as a quantity: 12 -> 十二, 105 -> 一百零五, 20000 -> 两万."""
    if n == 0:
        return "零"
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out: list[str] = []
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        g = groups[index]
        if g == 0:
            pending_zero = bool(out)
            continue
        if out and (pending_zero or g < 1000):
            out.append("零")
        pending_zero = False
        out.append(_four(g) + _BIG_UNITS[index])
    text = "".join(out)
    if text.startswith("一十"):
        text = text[1:]  # 十二, not 一十二
    if text.startswith("二") and len(text) > 1 and text[1] in "千万亿":
        text = "两" + text[1:]
    return text


def digit_string(s: str) -> str:
    return "".join(_DIGITS[int(c)] for c in s)


def _number(match: re.Match[str], text: str) -> str:
    value, percent = match.group(1), match.group(2)
    whole, _, fraction = value.partition(".")
    after = text[match.end() : match.end() + 1]
    if percent:
        spoken = cardinal(int(whole)) + ("点" + digit_string(fraction) if fraction else "")
        return "百分之" + spoken
    if fraction:
        return cardinal(int(whole)) + "点" + digit_string(fraction)
    if after == "年" and len(whole) == 4:
        return digit_string(whole)  # 2015年 -> 二零一五年
    if (len(whole) > 1 and whole.startswith("0")) or len(whole) > 12:
        return digit_string(whole)  # codes and phone numbers are read digit by digit
    if whole == "2" and after and after in _LIANG_BEFORE:
        return "两"
    return cardinal(int(whole))


def numbers_to_chinese(text: str) -> str:
    return _NUMBER.sub(lambda m: _number(m, text), text)


def normalize_zh(text: str, *, numerals: bool = True) -> str:
    """Simplified characters, numbers as read aloud (unless ``numerals`` is False), no spaces between Chinese."""
    text = to_simplified(text)
    if numerals:
        text = numbers_to_chinese(text)
    return re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", text).strip()
