"""Evaluation on a tiny synthetic CSV."""

import csv

import pytest

from bot import evaluation, latency
from bot.matcher import MatcherIndex


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "category"])
        w.writerows(rows)


TRAIN = [
    ("my card has not arrived", "card_arrival"),
    ("where is my new card", "card_arrival"),
    ("how do i reset my password", "password"),
    ("forgot my password", "password"),
    ("extra card row not in first k", "card_arrival"),
    ("can i pay with paypal", "payment"),
    ("do you accept paypal payments", "payment"),
]
TEST = [
    ("my new card still has not arrived", "card_arrival"),
    ("i forgot the password", "password"),
    ("paypal payment accepted?", "payment"),
    ("what is the weather in lisbon", "oos"),
]


@pytest.fixture
def files(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_csv(train, TRAIN)
    write_csv(test, TEST)
    return train, test


def test_load_first_k_keeps_file_order(files):
    entries = evaluation.load_first_k(files[0], k=2)
    assert [(e.answer_id, e.text) for e in entries if e.answer_id == "card_arrival"] == [
        ("card_arrival", "my card has not arrived"), ("card_arrival", "where is my new card")]
    assert len(entries) == 6
    with pytest.raises(ValueError):
        evaluation.load_first_k(files[0], k=0)


def test_bad_csv_gives_clear_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("question,label\nhi,x\n")
    with pytest.raises(ValueError, match="text,category"):
        evaluation.read_rows(bad)


def test_evaluate_and_write_rows(files, tmp_path):
    figures, results = evaluation.evaluate(files[0], files[1], k=2)
    assert figures.questions == 4 and figures.in_scope == 3 and figures.oos_questions == 1
    assert figures.top1_accuracy == 1.0
    assert figures.oos_answered == 0.0
    assert figures.index_size == 6
    assert 0 <= figures.answered_share <= 1 and figures.latency_p99_ms >= figures.latency_p50_ms
    out = tmp_path / "out.csv"
    evaluation.write_rows(results, out)
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert list(rows[0]) == ["text", "expected", "predicted", "confidence", "decision"]
    assert [r["expected"] for r in rows] == [c for _, c in TEST]
    assert all(r["decision"] in ("answer", "suggest", "handoff") for r in rows)


def make(conf, right):
    return evaluation.QuestionResult("q", "a", "a" if right else "b", conf, "answer", conf, 0.0, 0.0)


def test_coverage_at_precision():
    # sorted by confidence: R R W R W  -> prefix precisions 1, 1, .67, .75, .6
    res = [make(0.9, True), make(0.8, True), make(0.7, False), make(0.6, True), make(0.5, False)]
    assert evaluation.coverage_at_precision(res, 0.9) == pytest.approx(2 / 5)
    assert evaluation.coverage_at_precision(res, 0.7) == pytest.approx(4 / 5)
    assert evaluation.coverage_at_precision([], 0.9) == 0.0


def test_fit_logistic_recovers_direction():
    import numpy as np
    x = np.linspace(0, 1, 200)[:, None]
    y = (x[:, 0] > 0.5).astype(float)
    w = evaluation.fit_logistic(x, y, l2=1e-2)
    assert w[1] > 0 and abs(-w[0] / w[1] - 0.5) < 0.05


def test_synthetic_entries_deterministic():
    texts = ["my card has not arrived", "how do i reset my password", "can i pay with paypal"]
    a = latency.synthetic_entries(texts, 50)
    assert a == latency.synthetic_entries(texts, 50) and len(a) == 50
    assert MatcherIndex.build(a).size == 50
