"""The combination rule: how sub-scores (each 0..1) make one content score (0..5). Written, not fitted.

Sub-scores (scorer.py computes them, each with its evidence):
- ``key_points``:  for every key point (the reference answer's sentences when the rubric lists none),
                   the best cosine of any answer sentence (or of the whole answer), placed on the encoder's
                   unrelated..paraphrase scale; the mean over key points. Semantic coverage.
- ``reference``:   cosine of the whole answer with the whole reference answer, on the same scale.
- ``terms``:       share of the rubric's content terms (stemmed words; Chinese character bigrams) that the
                   answer uses, leaving out terms the question itself contains ("question demoting",
                   Mohler & Mihalcea 2009: repeating the question is not knowing the answer). Lexical
                   coverage, which catches exact technical terms an encoder blurs.
- ``anchors``:     the rubric level whose anchor text the answer is closest to, as a similarity-weighted
                   mean level (softmax over scaled similarities, temperature ANCHOR_TEMPERATURE), on 0..1.
- ``structure``:   share of situation / task / action / result found (behavioural questions).
- ``specificity``: concrete actions, numbers, a stated outcome, each saturating (behavioural questions).

The weights are chosen on principle and were not tuned on any graded data:
- Knowledge questions (what the answer says): the three ways of comparing with the rubric count
  equally; nobody has shown one to be better, so none is preferred. Anchors, when present, count as
  much as one of them. Structure and specificity are reported but weigh nothing: a definition needs
  no STAR story.
- Behavioural questions ("tell me about a time..."): half the weight on agreement with the rubric as
  above, the other half on how the answer is told, split evenly between anchors (what behaviour was
  shown), structure and specificity. This follows the structured-interview practice of rating both
  the behaviour and the completeness of the example.
A missing part (no anchors, no reference answer) drops out and the remaining weights are renormalised.
"""

from __future__ import annotations

SCALE_MAX = 5

WEIGHTS: dict[str, dict[str, float]] = {
    "knowledge": {"key_points": 1.0, "reference": 1.0, "terms": 1.0, "anchors": 1.0,
                  "structure": 0.0, "specificity": 0.0},
    "behavioural": {"key_points": 1.0, "reference": 0.5, "terms": 0.5, "anchors": 1.0,
                    "structure": 1.0, "specificity": 1.0},
}

#: Softmax temperature on the 0..1 similarity scale: 0.1 means an anchor 0.1 closer counts e (2.7) times more.
ANCHOR_TEMPERATURE = 0.1

#: An answer with fewer words (en) or characters (zh) than this gets no content score (one word can be a
#: full answer: "push" to "which operation adds to a stack?"), and neither does a declared non-answer:
#: it is "no answer", said so, never a 0 that reads like a bad answer.
MIN_WORDS = {"en": 1, "zh": 1}


def combine(subscores: dict[str, float | None], kind: str) -> float:
    """Weighted mean of the available sub-scores, on 0..SCALE_MAX, rounded to 0.01."""
    weights = WEIGHTS[kind]
    total = 0.0
    weight_sum = 0.0
    for name, value in subscores.items():
        w = weights.get(name, 0.0)
        if value is None or w == 0.0:
            continue
        total += w * value
        weight_sum += w
    if weight_sum == 0.0:
        return 0.0
    return round(SCALE_MAX * total / weight_sum, 2)
