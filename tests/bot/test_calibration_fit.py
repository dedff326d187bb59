"""The calibration fit's folds (train files only): simulated out-of-scope categories, offsets."""

import csv

from bot import calibration_fit, evaluation
from bot.matcher import MatcherConfig


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "category"])
        w.writerows(rows)


def test_oos_folds_hold_every_fifth_category_out_of_scope(tmp_path):
    train = tmp_path / "train.csv"
    _write(train, [(f"question {i} about topic {c}", f"c{c}") for c in range(10) for i in range(4)])
    folds = calibration_fit.oos_folds(train, k=2, offsets=(0, 1, 2), per_category=2)
    assert len(folds) == 3
    for j, (entries, questions) in enumerate(folds):
        out = {f"c{c}" for c in range(10) if c % 5 == j}
        assert out and not out & {e.answer_id for e in entries}
        assert {c for c in {f"c{c}" for c in range(10)} - out} == {e.answer_id for e in entries}
        assert all((cat == "oos") == any(f"topic {o[1:]}" in t for o in out) for t, cat in questions)
    figures, results = calibration_fit.cross_validate_oos(train, k=2, offsets=(0, 1, 2))
    assert figures.oos_questions == sum(r.expected == "oos" for r in results) > 0
    assert figures.in_scope == len(results) - figures.oos_questions


def test_default_offsets_follow_the_rows_per_category(tmp_path):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    _write(small, [(f"q{i} c{c}", f"c{c}") for c in range(3) for i in range(20)])
    _write(large, [(f"q{i} c{c}", f"c{c}") for c in range(3) for i in range(100)])
    assert evaluation.default_offsets(small) == (0, 10, 20)
    assert evaluation.default_offsets(large) == (0, 30, 60)


def test_calibration_features_include_the_out_of_scope_folds(tmp_path):
    train = tmp_path / "train.csv"
    _write(train, [(f"question {i} about topic {c}", f"c{c}") for c in range(10) for i in range(4)])
    cfg = MatcherConfig(use_classifier=False)
    X0, y0, _ = calibration_fit.calibration_features(train, ks=(2,), offsets=(0, 1, 2), config=cfg, subsets=(0,))
    X5, y5, _ = calibration_fit.calibration_features(train, ks=(2,), offsets=(0, 1, 2), config=cfg, subsets=(0,), holdout_every=5)
    assert X5.shape[1] == X0.shape[1] and len(X5) > len(X0)
    assert (y5[len(y0):] == 0).sum() > 0  # held-out questions can never be right
