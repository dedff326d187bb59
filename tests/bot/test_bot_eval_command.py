"""The ``bot_eval`` management command on a tiny CSV."""

import csv
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

TRAIN = [
    ("my card has not arrived", "card_arrival"),
    ("where is my new card", "card_arrival"),
    ("how do i reset my password", "password"),
    ("forgot my password", "password"),
    ("can i pay with paypal", "payment"),
    ("do you accept paypal payments", "payment"),
]
TEST = [
    ("my new card still has not arrived", "card_arrival"),
    ("i forgot the password", "password"),
    ("paypal payment accepted?", "payment"),
    ("what is the weather in lisbon", "oos"),
]


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "category"])
        w.writerows(rows)


@pytest.fixture
def files(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_csv(train, TRAIN)
    write_csv(test, TEST)
    return train, test


def figures(output):
    return {line.split()[0]: line.split()[1] for line in output.splitlines() if line and not line.startswith("#")}


def test_test_run_prints_figures_and_writes_rows(files, tmp_path):
    out, buf = tmp_path / "results.csv", StringIO()
    call_command("bot_eval", train=str(files[0]), test=str(files[1]), k=2, out=str(out), stdout=buf)
    f = figures(buf.getvalue())
    assert f["questions"] == "4" and f["in_scope"] == "3" and f["oos_questions"] == "1"
    assert float(f["top1_accuracy"]) == 1.0
    assert float(f["oos_answered"]) == 0.0
    assert f["index_size"] == "6"
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [r["expected"] for r in rows] == [c for _, c in TEST]
    assert rows[0]["predicted"] == "card_arrival"


def test_latency_run(files):
    buf = StringIO()
    call_command("bot_eval", train=str(files[0]), latency=True, sizes="30,60", stdout=buf)
    lines = buf.getvalue().splitlines()
    assert lines[0].split() == ["variants", "build_s", "cpu_s", "p50_ms", "p99_ms", "max_rss_mb"]
    assert [line.split()[0] for line in lines[1:]] == ["30", "60"]
    assert all(float(line.split()[4]) >= float(line.split()[3]) for line in lines[1:])


def test_encoder_option_fuses_and_reports_encoding(files):
    buf = StringIO()
    call_command("bot_eval", train=str(files[0]), test=str(files[1]), k=3, encoder="hashing", stdout=buf)
    figures = dict(line.split(None, 1) for line in buf.getvalue().splitlines()[1:])
    assert figures["encoder"].strip() == "hashing@1"
    assert float(figures["encode_p99_ms"]) >= float(figures["encode_p50_ms"]) > 0
    assert 0.0 <= float(figures["top1_accuracy"]) <= 1.0
    buf = StringIO()
    call_command("bot_eval", train=str(files[0]), test=str(files[1]), k=3, encoder="none", stdout=buf)
    assert "encoder                    none" in buf.getvalue()


def test_bad_input_is_a_clear_error(files, tmp_path):
    with pytest.raises(CommandError, match="file not found"):
        call_command("bot_eval", train=str(tmp_path / "missing.csv"), test=str(files[1]))
    with pytest.raises(CommandError, match="nothing to do"):
        call_command("bot_eval", train=str(files[0]))
    bad = tmp_path / "bad.csv"
    bad.write_text("question,label\nhi,x\n")
    with pytest.raises(CommandError, match="text,category"):
        call_command("bot_eval", train=str(bad), test=str(files[1]))
    with pytest.raises(CommandError, match="--sizes"):
        call_command("bot_eval", train=str(files[0]), latency=True, sizes="10,abc")
