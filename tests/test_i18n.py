"""Every screen speaks zh-CN and en: the two catalogs hold the same keys with the same placeholders, and
every key a page template names literally exists (``t`` falls back to the key itself, so a gap would show
a raw key to a user instead of failing)."""

from __future__ import annotations

import re
import string
from pathlib import Path

from core.i18n import LANGUAGES, Language, catalog

TEMPLATES = Path(__file__).resolve().parents[1] / "device" / "panel" / "templates"
LITERAL_KEY = re.compile(r"""\bt(?:_other)?\(\s*["']([a-zA-Z0-9_.\-]+)["']""")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = (catalog(language) for language in LANGUAGES)
    assert sorted(set(zh) ^ set(en)) == []
    assert [k for k in zh if placeholders(zh[k]) != placeholders(en[k])] == []


def test_every_key_a_template_names_exists() -> None:
    named = {key for page in TEMPLATES.glob("*.html") for key in LITERAL_KEY.findall(page.read_text("utf-8"))}
    assert len(named) > 50
    # "prefix." ~ code builds a key at run time: some key must at least start with the prefix.
    def known(key: str, language: Language) -> bool:
        keys = catalog(language)
        return any(k.startswith(key) for k in keys) if key.endswith(".") else key in keys

    missing = sorted(k for k in named for language in LANGUAGES if not known(k, language))
    assert missing == []
