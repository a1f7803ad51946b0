"""Score one answer against its question's rubric: a content score 0..5 with its evidence.

Typed answers and transcripts go through the same ``score_answer``. An empty answer, silence, or a
declared non-answer ("I don't know", "not answered", 不知道) gets no content score: the verdict says
"no-answer" so a reviewer sees that nothing was said, never a low score that reads like a bad answer.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from device.interview.bank import Bank, Rubric
from device.interview.scoring import rule
from device.interview.scoring.encoders import F32, Encoder, ScaleAnchors, encoder_for, load_encoder
from device.interview.scoring.structure import sentence_cues, specificity_score, structure_score
from device.interview.scoring.text import content_terms, detect_lang, length_units, split_sentences

VERDICT_SCORED = "scored"
VERDICT_NO_ANSWER = "no-answer"

# Whole-answer phrases that say "I have no answer". Matched on the entire answer (after trimming
# punctuation), so an answer that merely contains "I don't know" somewhere is still scored.
_NON_ANSWERS = re.compile(
    r"^(?:no answer|not answered|n/?a|none|pass|skip|i don'?t know|i do not know|no idea|no comment|"
    r"不知道|我不知道|没有|没有回答|不清楚|跳过|无)$"
)
_HTML = re.compile(r"<\s*br\s*/?\s*>|<\s*/?\s*p\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{1,40}>")

#: A key point counts as "covered" in the evidence when its best match reaches half the scale.
COVERED_AT = 0.5


@dataclass
class Match:
    kind: str  # "key-point", "reference" or "anchor"
    text: str
    similarity: float  # raw cosine
    scaled: float  # cosine on the encoder's unrelated..paraphrase scale, 0..1
    level: int | None = None  # anchors only


@dataclass
class SentenceEvidence:
    index: int  # position in the answer's sentences; -1 = the whole answer
    sentence: str
    best: Match | None
    star: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)


@dataclass
class KeyPointEvidence:
    key_point: str
    sentence: str  # the answer sentence (or the whole answer) that matches it best
    sentence_index: int
    similarity: float
    scaled: float
    covered: bool


@dataclass
class AnswerScore:
    verdict: str
    score: float | None  # 0..SCALE_MAX, None when nothing was answered
    scale_max: int
    lang: str
    encoder: str
    subscores: dict[str, float | None]
    evidence: list[SentenceEvidence]
    key_points: list[KeyPointEvidence]
    terms_matched: list[str]
    terms_missed: list[str]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["subscores"] = {k: (None if v is None else round(v, 4)) for k, v in self.subscores.items()}
        return out


def clean(text: str) -> str:
    """Line-break tags become line breaks and other tags go (answers pasted from web forms carry them)."""
    return _TAG.sub(" ", _HTML.sub("\n", text)).strip()


def is_non_answer(text: str) -> bool:
    core = re.sub(r"[\s.!?。！？,，:：;；\-—()（）\"“”]+", " ", text.lower().replace("’", "'")).strip()
    return not core or bool(_NON_ANSWERS.match(core))


class _EmbeddingCache:
    """Rubric texts repeat for every candidate: embed each once (bounded, least recently used out)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], F32] = OrderedDict()

    def embed(self, encoder: Encoder, texts: list[str], cache: bool) -> F32:
        if not cache:
            return encoder.embed(texts)
        missing = [t for t in dict.fromkeys(texts) if (encoder.name, t) not in self._items]
        if missing:
            for text, vector in zip(missing, encoder.embed(missing), strict=True):
                self._items[(encoder.name, text)] = vector
                if len(self._items) > self._size:
                    self._items.popitem(last=False)
        for t in texts:
            self._items.move_to_end((encoder.name, t))
        return np.stack([self._items[(encoder.name, t)] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def clear(self) -> None:
        self._items.clear()


RUBRIC_CACHE = _EmbeddingCache()


def prepare_bank(bank: Bank) -> None:
    """Embed every rubric text of ``bank`` now (a booth does it when the bank loads), so scoring an
    answer embeds only the answer."""
    encoder = load_encoder(encoder_for(bank.lang))
    for q in bank.questions:
        r = q.rubric
        texts = [*(r.key_points or split_sentences(clean(r.reference_answer), bank.lang)),
                 *([clean(r.reference_answer)] if r.reference_answer.strip() else []),
                 *(text for _, text in sorted(r.anchors.items()))]
        RUBRIC_CACHE.embed(encoder, texts, cache=True)


def score_answer(
    question: str,
    answer: str,
    rubric: Rubric,
    lang: str = "",
    encoder: Encoder | None = None,
    cache_rubric: bool = True,
) -> AnswerScore:
    """Score ``answer`` to ``question`` against ``rubric``; ``lang`` "en"/"zh" or "" to detect it."""
    text = clean(answer)
    reference = clean(rubric.reference_answer)
    lang = lang if lang in ("en", "zh") else detect_lang(text or reference or question)
    if encoder is None:
        encoder = load_encoder(encoder_for(lang))
    scale = encoder.scales.get(lang) or next(iter(encoder.scales.values()))
    if is_non_answer(text) or length_units(text, lang) < rule.MIN_WORDS[lang]:
        return AnswerScore(VERDICT_NO_ANSWER, None, rule.SCALE_MAX, lang, encoder.name,
                           dict.fromkeys(rule.WEIGHTS[rubric.kind]), [], [], [], [])

    sentences = split_sentences(text, lang)
    # The whole answer is a candidate too: a short answer's meaning can span its sentences.
    candidates = [*sentences, text] if len(sentences) > 1 else sentences
    key_points = list(rubric.key_points) or split_sentences(reference, lang)
    anchors = sorted(rubric.anchors.items())
    rubric_texts = [*key_points, *([reference] if reference else []), *(a for _, a in anchors)]
    answer_vectors = encoder.embed(candidates)
    rubric_vectors = RUBRIC_CACHE.embed(encoder, rubric_texts, cache_rubric)
    sims = answer_vectors @ rubric_vectors.T  # [candidates, rubric texts]
    n_kp = len(key_points)
    kp_sims = sims[:, :n_kp]
    ref_col = n_kp if reference else None
    anchor_sims = sims[:, n_kp + (1 if reference else 0) :]

    def index_of(row: int) -> int:
        return -1 if row >= len(sentences) else row

    key_evidence: list[KeyPointEvidence] = []
    for j, point in enumerate(key_points):
        row = int(np.argmax(kp_sims[:, j]))
        cos = float(kp_sims[row, j])
        key_evidence.append(KeyPointEvidence(point, candidates[row], index_of(row), round(cos, 4),
                                             round(scale.unit(cos), 4), scale.unit(cos) >= COVERED_AT))

    subscores: dict[str, float | None] = {
        "key_points": float(np.mean([k.scaled for k in key_evidence])) if key_evidence else None,
        # The whole answer (last candidate, or the only sentence) against the whole reference.
        "reference": scale.unit(float(sims[-1, ref_col])) if ref_col is not None else None,
        "terms": None,
        "anchors": _anchor_level(anchor_sims, anchors, scale) if anchors else None,
    }
    matched, missed = _term_coverage(question, [*key_points, reference], text, lang)
    if matched or missed:
        subscores["terms"] = len(matched) / (len(matched) + len(missed))
    cues = [sentence_cues(s, lang) for s in sentences]
    subscores["structure"] = structure_score(cues)
    subscores["specificity"] = specificity_score(cues)

    evidence = [
        SentenceEvidence(i, s, _best_match(sims[i], key_points, reference, anchors, scale), c.star, c.numbers)
        for i, (s, c) in enumerate(zip(sentences, cues, strict=True))
    ]
    return AnswerScore(
        VERDICT_SCORED, rule.combine(subscores, rubric.kind), rule.SCALE_MAX, lang, encoder.name, subscores,
        evidence, key_evidence, sorted(matched), sorted(missed),
    )


def _anchor_level(anchor_sims: F32, anchors: list[tuple[int, str]], scale: ScaleAnchors) -> float:
    levels = np.array([level for level, _ in anchors], np.float64)
    best = np.array([scale.unit(float(v)) for v in anchor_sims.max(axis=0)])
    weights = np.exp((best - best.max()) / rule.ANCHOR_TEMPERATURE)
    expected = float((weights * levels).sum() / weights.sum())
    return float((expected - levels.min()) / (levels.max() - levels.min()))


def _term_coverage(question: str, rubric_texts: list[str], answer: str, lang: str) -> tuple[set[str], set[str]]:
    wanted: set[str] = set()
    for t in rubric_texts:
        wanted |= content_terms(t, lang)
    demoted = wanted - content_terms(question, lang)
    wanted = demoted or wanted  # a rubric made only of the question's words still counts them
    have = content_terms(answer, lang)
    return wanted & have, wanted - have


def _best_match(
    row: F32, key_points: list[str], reference: str, anchors: list[tuple[int, str]], scale: ScaleAnchors
) -> Match | None:
    labelled: list[tuple[str, str, int | None]] = [("key-point", k, None) for k in key_points]
    if reference:
        labelled.append(("reference", reference, None))
    labelled.extend(("anchor", a, level) for level, a in anchors)
    if not labelled:
        return None
    j = int(np.argmax(row))
    kind, text, level = labelled[j]
    cos = float(row[j])
    return Match(kind, text, round(cos, 4), round(scale.unit(cos), 4), level)
