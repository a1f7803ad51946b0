"""Which language a panel page answers in."""

from __future__ import annotations

from fastapi import Request

from core.i18n import LANGUAGES, Language


def pick_language(request: Request, default: Language) -> Language:
    """?lang= wins, then the browser's Accept-Language, then the device default."""
    wanted = request.query_params.get("lang") or ""
    for language in LANGUAGES:
        if wanted.lower() == language.lower():
            return language
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("zh"):
        return "zh-CN"
    if accept.startswith("en"):
        return "en"
    return default
