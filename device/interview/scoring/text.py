"""Text handling shared by the scorer: language guess, sentences, content terms (en words, zh bigrams).

Typed answers and transcripts take the same path. Transcripts often come without punctuation, so a
run-on "sentence" is cut into windows of the original words: evidence always quotes text that the
candidate actually said or typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_EN_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
_ZH_SPLIT = re.compile(r"(?<=[。！？；!?;])|\n+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

#: A "sentence" longer than this (words, or characters in zh) is cut into windows of WINDOW.
MAX_SENTENCE_EN, WINDOW_EN = 40, 25
MAX_SENTENCE_ZH, WINDOW_ZH = 80, 50

# Function words carry no content: a short, standard English stop list (articles, pronouns,
# auxiliaries, prepositions, conjunctions).
STOP_EN = frozenset(
    """a an the and or but if then else of to in on at by for with from as into onto about over under
    than too very so such that this these those there here it its it's is are was were be been being
    am do does did doing have has had having i me my we our us you your he him his she her they them
    their what which who whom whose when where why how all any both each few more most other some no
    nor not only own same can could will would shall should may might must just also s t don't i'm
    i've i'd we're they're you're can't won't isn't aren't wasn't weren't one two up out off again
    further once because while during before after above below between through until against""".split()  # noqa: SIM905
)
# Particles and pronouns that would otherwise make most Chinese bigrams look shared.
STOP_ZH_CHARS = frozenset("的了是在我你他她它们这那就也都和与及或而但又很把被给对从向让吗呢吧啊")


def detect_lang(text: str) -> str:
    """"zh" when CJK characters outnumber Latin letters, else "en"."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return "zh" if cjk > 0 and cjk >= latin / 3 else "en"


def split_sentences(text: str, lang: str) -> list[str]:
    """The answer's sentences as they were written, long unpunctuated runs cut into windows."""
    pieces = _ZH_SPLIT.split(text) if lang == "zh" else _EN_SPLIT.split(text)
    out: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        out.extend(_windows(piece, lang))
    return out


def _windows(sentence: str, lang: str) -> list[str]:
    if lang == "zh":
        if len(sentence) <= MAX_SENTENCE_ZH:
            return [sentence]
        # Prefer cutting at commas; fall back to fixed windows of characters.
        parts = [p for p in re.split(r"(?<=[，,、])", sentence) if p.strip()]
        return _pack(parts, WINDOW_ZH, len, "")
    words = sentence.split()
    if len(words) <= MAX_SENTENCE_EN:
        return [sentence]
    parts = [p for p in re.split(r"(?<=,)\s+", sentence) if p.strip()]
    if max(len(p.split()) for p in parts) > MAX_SENTENCE_EN:
        parts = [" ".join(words[i : i + WINDOW_EN]) for i in range(0, len(words), WINDOW_EN)]
    return _pack(parts, WINDOW_EN, lambda p: len(p.split()), " ")


def _pack(parts: list[str], window: int, measure: Callable[[str], int], joiner: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    for part in parts:
        if current and sum(measure(p) for p in current) + measure(part) > window:
            out.append(joiner.join(p.strip() for p in current))
            current = []
        current.append(part)
    if current:
        out.append(joiner.join(p.strip() for p in current))
    return out


def _stem(word: str) -> str:
    # A deliberately small suffix stripper: enough to match "answers"/"answered"/"answering".
    for suffix in ("ations", "ation", "ingly", "ings", "ing", "edly", "ies", "ied", "es", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
    return word


def words(text: str) -> list[str]:
    """Lower-cased word tokens (en) of ``text``."""
    return _WORD.findall(text.lower())


def content_terms(text: str, lang: str) -> set[str]:
    """Stemmed content words (en) or CJK character bigrams plus any Latin words (zh)."""
    latin = {_stem(w) for w in words(text) if w not in STOP_EN and not w.isdigit()}
    if lang != "zh":
        return latin
    grams: set[str] = set()
    for run in _CJK_RUN.findall(text):
        # A particle ends a stretch: a bigram never spans it ("查了物流" gives 物流, not 查物).
        for part in re.split(f"[{''.join(STOP_ZH_CHARS)}]+", run):
            grams.update(a + b for a, b in zip(part, part[1:], strict=False))
            if len(part) == 1:
                grams.add(part)
    return grams | latin


def length_units(text: str, lang: str) -> int:
    """Words (en) or CJK characters plus Latin words (zh): the unit of pace and of "said nothing"."""
    n_words = len(words(text))
    return len(_CJK.findall(text)) + n_words if lang == "zh" else n_words
