"""Scoring a structured-interview answer against its rubric, on the device, with evidence.

A score is advice for a human reviewer: every number comes with the answer sentences and the rubric
text (anchor, key point, reference sentence) that produced it. The combination rule is written out in
``rule.py``; nothing in it was fitted to graded answers. Delivery figures (pace, pauses, fillers) live
in ``delivery.py`` and never enter a score.
"""
