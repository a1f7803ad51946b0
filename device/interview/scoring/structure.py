"""Structure (situation, task, action, result) and specificity (actions, numbers, outcomes) of an answer.

Both are read from cue phrases, per sentence, so each finding points at the sentence that carries it.
The cue lists are written from how behavioural-interview guides describe a STAR answer; they are not
learned. They look only at what was said, never at how (no accent, pace or voice enters here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STAR = ("situation", "task", "action", "result")

_CUES_EN: dict[str, tuple[str, ...]] = {
    "situation": (
        r"\bwhen i (?:was|worked)\b", r"\bat my (?:last|previous|old) (?:job|company|employer|workplace)\b",
        r"\bin my (?:last|previous|former) (?:job|role|position)\b", r"\bthere was (?:a|one) time\b",
        r"\bonce\b", r"\blast (?:year|month|week|summer|winter)\b", r"\bwhile (?:i was )?working\b",
        r"\bwe had (?:a|an)\b", r"\bone day\b", r"\bduring (?:a|my|the)\b", r"\bsituation\b",
    ),
    "task": (
        r"\bmy (?:job|task|role|responsibility|goal) was\b", r"\bi was (?:responsible|asked|in charge)\b",
        r"\bi (?:needed|had) to\b", r"\bthe (?:goal|target|aim|task) was\b", r"\bwe (?:needed|had) to\b",
        r"\bmy aim\b", r"\bit was up to me\b",
    ),
    "action": (
        r"\bi (?:then )?(?:decided|asked|called|explained|checked|organi[sz]ed|set up|spoke|talked|listened|"
        r"apologi[sz]ed|offered|escalated|arranged|contacted|trained|created|wrote|built|fixed|reorgani[sz]ed|"
        r"proposed|suggested|made sure|followed up|reviewed|counted|labelled|labeled|moved|planned|"
        r"prioriti[sz]ed|introduced|started|changed|worked|helped|showed|reported|found|tested|used)\b",
        r"\bso i\b", r"\bfirst(?:ly)?,? i\b", r"\bnext,? i\b", r"\bafter that,? i\b",
    ),
    "result": (
        r"\bas a result\b", r"\bin the end\b", r"\bresult(?:ed|s)? (?:in|was)\b", r"\boutcome\b",
        r"\b(?:reduced|increased|improved|saved|cut|raised|lowered|resolved|solved|fixed|avoided|"
        r"prevented|doubled|halved)\b", r"\bthanked\b", r"\bfinally\b", r"\bi learned\b", r"\bwhich meant\b",
        r"\bended up\b", r"\bsatisfied\b", r"\bon time\b",
    ),
}
_CUES_ZH: dict[str, tuple[str, ...]] = {
    "situation": ("当时", "有一次", "那时候", "以前在", "在上一家", "之前在", "去年", "上个月", "背景", "情况是",
                  "遇到"),
    "task": ("我的任务", "我负责", "我需要", "需要我", "目标是", "任务是", "职责", "我要做的"),
    "action": ("我先", "我首先", "首先", "然后", "接着", "于是", "我立即", "我马上", "我主动", "我联系", "我决定",
               "我安排", "我检查", "我解释", "我道歉", "我提出", "我建议", "我组织", "我跟进", "我核对", "我培训"),
    "result": ("结果", "最后", "最终", "因此", "从而", "减少", "提高", "降低", "提升", "解决了", "满意", "学到",
               "按时", "避免了", "感谢"),
}
_COMPILED_EN = {part: tuple(re.compile(c) for c in cues) for part, cues in _CUES_EN.items()}

_NUMBER_EN = re.compile(
    r"\b\d[\d,.]*%?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|fifty|hundred|"
    r"thousand|half|dozen|percent)\b"
)
_NUMBER_ZH = re.compile(
    r"\d[\d,.]*%?|[一二两三四五六七八九十百千万半]+(?:天|周|小时|分钟|人|件|单|倍|成|年|月|%)|百分之"
)


@dataclass
class SentenceCues:
    """What one answer sentence shows: STAR parts, and whether it names a number."""

    star: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)


def sentence_cues(sentence: str, lang: str) -> SentenceCues:
    cues = SentenceCues()
    if lang == "zh":
        for part in STAR:
            if any(c in sentence for c in _CUES_ZH[part]):
                cues.star.append(part)
        cues.numbers = _NUMBER_ZH.findall(sentence)
    else:
        low = sentence.lower()
        for part in STAR:
            if any(c.search(low) for c in _COMPILED_EN[part]):
                cues.star.append(part)
        cues.numbers = _NUMBER_EN.findall(low)
    return cues


def structure_score(cues: list[SentenceCues]) -> float:
    """Share of the four STAR parts that appear somewhere in the answer (0..1)."""
    found = {part for c in cues for part in c.star}
    return len(found) / len(STAR)


def specificity_score(cues: list[SentenceCues]) -> float:
    """Mean of three saturating indicators: concrete actions (2 sentences = full), numbers (2 = full),
    a stated outcome (1 = full). Saturating, so padding an answer with figures earns nothing more."""
    actions = sum(1 for c in cues if "action" in c.star)
    numbers = sum(len(c.numbers) for c in cues)
    outcomes = sum(1 for c in cues if "result" in c.star)
    return (min(1.0, actions / 2) + min(1.0, numbers / 2) + min(1.0, float(outcomes))) / 3
