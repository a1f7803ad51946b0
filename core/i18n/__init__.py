"""Every string a person reads, in zh-CN and en. Screens pick a language; codes never change."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Literal

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")


@cache
def catalog(language: Language) -> dict[str, str]:
    text = resources.files("core.i18n").joinpath(f"{language}.json").read_text(encoding="utf-8")
    data: dict[str, str] = json.loads(text)
    return data


def t(key: str, language: Language, **values: object) -> str:
    """The message ``key`` in ``language``; falls back to the key itself so a gap is visible, not fatal."""
    template = catalog(language).get(key, key)
    return template.format(**values) if values else template


def both(key: str, **values: object) -> dict[str, str]:
    return {language: t(key, language, **values) for language in LANGUAGES}
