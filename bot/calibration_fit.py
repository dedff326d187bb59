"""Fitting the matcher's confidence (``bot.calibration``) on train files alone (pure; no Django).

The confidence must read the same across languages, answer-set sizes and densities, and must
stay low for questions the answers do not cover. It is fitted by logistic regression on
cross-validation folds of the Banking77, Portuguese and Spanish train files (k = 5, 10, 20;
all, 25 and 8 categories), with made-up off-topic questions and with simulated out-of-scope
folds (``oos_folds``: every fifth category of the train file left out of the index, its
questions asked as out of scope). ``cross_validate_oos`` measures the defaults on those
folds (``bench/bot_eval.py --cv-oos``). No test file is read here.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.evaluation import (OOS, Figures, QuestionResult, cv_folds, group_by_category, read_rows, run_questions,
                            summarize)
from bot.matcher import Entry, MatcherConfig, MatcherIndex
from bot.policy import DEFAULT_THRESHOLDS, Thresholds


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iters: int = 50) -> np.ndarray:
    """Newton's method for logistic regression with an intercept; returns [a, b1, b2, ...]."""
    X = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(X @ w, -50, 50)))
        g = X.T @ (p - y) + l2 * w
        H = (X * (p * (1 - p))[:, None]).T @ X + l2 * np.eye(X.shape[1])
        step = np.linalg.solve(H, g)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


# Made-up questions unrelated to any answer set, used as "never right" examples when fitting
# the calibration so that unrelated text gets a low confidence. Not taken from any test file.
OFF_TOPIC = [
    "what is the weather like in lisbon tomorrow",
    "who won the football match last night",
    "can you recommend a good pizza recipe",
    "how tall is the eiffel tower",
    "tell me a joke about cats",
    "what time does the cinema open on sunday",
    "my dog keeps barking at the neighbours",
    "how do I fix a flat bicycle tyre",
    "what is the capital of australia",
    "play some relaxing music",
    "qual a previsao do tempo para amanha",
    "quem ganhou o jogo do flamengo",
    "me indica um filme de terror",
    "como faco bolo de cenoura",
    "cual es la capital de francia",
    "recomiendame una serie de television",
    "que hora es en tokio",
    "i love playing guitar on weekends",
    "the printer in the office is out of paper",
    "how many calories are in an apple",
    "asdfgh qwerty zxcvb",
    "lorem ipsum dolor sit amet",
    # shop questions a banking answer set does not cover (and the reverse for a shop's)
    "do you have these shoes in size 42",
    "when will my pizza be delivered",
    "can i return a dress i bought online",
    "is the blue sofa still in stock",
    "voces entregam no sabado",
    "tienen esta camiseta en talla m",
    # unrelated to any support topic
    "what is the meaning of life",
    "write me a poem about the sea",
    "how do i train for a marathon",
    "which planet is the largest",
    "recommend a good book about history",
    "o que significa saudade",
    # gibberish and keyboard mashing
    "jkjkjk lalala",
    "qqqq wwww eeee",
    "xpto 123 abc",
    "hmmmm",
]


def _asked_features(index: MatcherIndex, asked, stats: list) -> None:
    feats, right, clf = stats
    for text, cat in asked:
        ranked, evidence = index.ranked(text, limit=2)
        if not ranked:
            continue
        top = ranked[0][0]
        feats.append((top, top - (ranked[1][0] if len(ranked) > 1 else 0.0), *evidence))
        right.append(float(str(index.answer_ids[ranked[0][1]]) == cat))
        clf.append(index.classifier is not None)


def calibration_features(train: str | Path, ks: Sequence[int] = (5, 10, 20), offsets: Sequence[int] = (0, 30, 60),
                         config: MatcherConfig | None = None, off_topic: Sequence[str] = (), subsets: Sequence[int] = (0, 8, 25),
                         seed: int = 3, encoder=None, holdout_every: int = 0, locale: str = "") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, right, uses_classifier) over cross-validation folds of a train file alone.

    Features per question: top score, margin to the runner-up, and the evidence of
    ``MatcherIndex.ranked``. Several k and answer-set sizes (``subsets``: that many random
    categories; 0 = all), so the fitted confidence does not assume one density or one number
    of answers. ``off_topic`` questions (never right) teach it that unrelated text is low.
    ``holdout_every`` = n > 0 adds, per fold, the simulated out-of-scope folds of
    ``oos_folds``: every n-th category left out of the index and its questions asked as
    out of scope, the way real out-of-scope questions look (near the answers' topics).
    """
    rng = random.Random(seed)
    stats: list = [[], [], []]
    for k in ks:
        for entries, questions in cv_folds(train, k, offsets, locale=locale):
            cats = sorted({str(e.answer_id) for e in entries})
            for size in subsets:
                keep = set(rng.sample(cats, size)) if 0 < size < len(cats) else set(cats)
                index = MatcherIndex.build([e for e in entries if str(e.answer_id) in keep], config, encoder=encoder)
                asked = [(t, c) for t, c in questions if c in keep] + [(t, OOS) for t in off_topic]
                # Questions of the dropped categories are out of scope for this answer set.
                asked += [(t, OOS) for t, c in questions[:: max(1, len(questions) // 200)] if c not in keep]
                _asked_features(index, asked, stats)
        if holdout_every:
            for entries, questions in oos_folds(train, k, offsets, holdout_every, locale=locale):
                _asked_features(MatcherIndex.build(entries, config, encoder=encoder), questions, stats)
    feats, right, clf = stats
    return np.asarray(feats), np.asarray(right), np.asarray(clf)


def oos_folds(train: str | Path, k: int = 10, offsets: Sequence[int] = (0, 30, 60), holdout_every: int = 5,
              per_category: int = 20, locale: str = "") -> list[tuple[list[Entry], list[tuple[str, str]]]]:
    """``cv_folds`` with simulated out-of-scope questions: in fold j, the categories at
    positions p (file order) with p % ``holdout_every`` == j % ``holdout_every`` are left out
    of the index, and their questions are asked labelled ``oos`` (the right decision is to
    hand off). Train data only, like the real sets' out-of-scope rows (one intent in five)."""
    cats = [c for c in group_by_category(read_rows(train)) if c != OOS]
    folds = []
    for j, (entries, questions) in enumerate(cv_folds(train, k, offsets, per_category, locale=locale)):
        out = {c for p, c in enumerate(cats) if p % holdout_every == j % holdout_every}
        folds.append(([e for e in entries if e.answer_id not in out],
                      [(t, OOS if c in out else c) for t, c in questions]))
    return folds


def cross_validate_oos(train: str | Path, k: int = 10, offsets: Sequence[int] = (0, 30, 60), holdout_every: int = 5,
                       config: MatcherConfig | None = None, thresholds: Thresholds = DEFAULT_THRESHOLDS, encoder=None,
                       locale: str = "") -> tuple[Figures, list[QuestionResult]]:
    """Cross-validation on a train file with every ``holdout_every``-th category out of scope
    (``oos_folds``): what the defaults do with questions the answers do not cover."""
    results: list[QuestionResult] = []
    for entries, questions in oos_folds(train, k, offsets, holdout_every, locale=locale):
        results += run_questions(MatcherIndex.build(entries, config, encoder=encoder), questions, thresholds)
    return summarize(results), results


def fit_calibration(train: str | Path, ks: Sequence[int] = (5, 10, 20), offsets: Sequence[int] = (0, 30, 60), config: MatcherConfig | None = None,
                    off_topic: Sequence[str] = (), holdout_every: int = 0, locale: str = "") -> dict[str, tuple[float, ...]]:
    """Refit ``bot.calibration.CALIB_CLF`` (indexes with the classifier) and ``CALIB_SIM``
    (similarity only) on a train file alone; returns {"clf": (A, B, C, D), "sim": ...}."""
    out = {}
    X, y, clf = calibration_features(train, ks, offsets, config, off_topic, holdout_every=holdout_every, locale=locale)
    out["clf"] = tuple(float(v) for v in fit_logistic(X[clf], y[clf]))
    sim_cfg = dataclasses.replace(config or MatcherConfig(), use_classifier=False)
    X, y, _ = calibration_features(train, ks, offsets, sim_cfg, off_topic, holdout_every=holdout_every, locale=locale)
    out["sim"] = tuple(float(v) for v in fit_logistic(X, y))
    return out


def fit_fused_calibration(trains: Sequence[str | Path], encoder, ks: Sequence[int] = (5, 10, 20),
                          offsets: Sequence[int] | Sequence[Sequence[int]] = (0, 30, 60),
                          config: MatcherConfig | None = None, off_topic: Sequence[str] = (), holdout_every: int = 0,
                          locales: Sequence[str] | None = None) -> tuple[float, ...]:
    """Refit ``bot.calibration.CALIB_FUSED`` on several train files together (Banking77,
    pt_pt, es), so one confidence holds across languages and answer-set sizes; train files
    only. ``offsets``: one tuple for all files or one per file; ``locales``: each file's
    language (the answers' locale; "" = unknown)."""
    locales = list(locales) if locales is not None else [""] * len(trains)
    per_file = list(offsets) if offsets and not isinstance(offsets[0], int) else [offsets] * len(trains)
    parts = [calibration_features(t, ks, offs, config, off_topic, encoder=encoder, holdout_every=holdout_every, locale=loc)
             for t, offs, loc in zip(trains, per_file, locales)]
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return tuple(float(v) for v in fit_logistic(X, y))
