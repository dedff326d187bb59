"""``manage.py bot_encode``: store the sentence vector of every answer title and question
variant for the configured encoder (``BOT_ENCODER``), e.g. after changing or upgrading it.

    python manage.py bot_encode [--encoder NAME] [--prune]

Only texts without a vector for this encoder version are encoded, so running it again is
cheap; ``--prune`` then deletes vectors of other encoders and of texts no longer used.
"""

from __future__ import annotations

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bot import encoders, vectors


class Command(BaseCommand):
    help = "Encode every question variant and answer title that has no stored vector yet."

    def add_arguments(self, parser):
        parser.add_argument("--encoder", default=None, help="registry name (default: settings.BOT_ENCODER)")
        parser.add_argument("--prune", action="store_true", help="delete vectors of other encoders and unused texts")

    def handle(self, *args, encoder=None, prune=False, **options):
        name = encoder or settings.BOT_ENCODER
        if name == encoders.NONE:
            self.stdout.write("BOT_ENCODER is none: the bot matches on words only, nothing to encode")
            return
        try:
            enc = encoders.create(name, threads=settings.BOT_ENCODER_THREADS).load()
        except encoders.EncoderUnavailable as exc:
            raise CommandError(str(exc)) from exc
        started = time.perf_counter()
        tty = getattr(self.stdout, "isatty", lambda: False)() or sys.stdout.isatty()

        def progress(done: int, total: int) -> None:
            width = 30
            filled = width * done // total if total else width
            line = f"{enc.key}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            if tty:
                self.stdout.write("\r" + line, ending="")
                self.stdout.flush()
            elif done == total or done % (vectors.BATCH * 8) == 0:
                self.stdout.write(line)

        count = vectors.encode_missing(enc, progress=progress)
        if tty:
            self.stdout.write("")
        self.stdout.write(f"encoded {count} texts with {enc.key} in {time.perf_counter() - started:.1f} s")
        if prune:
            self.stdout.write(f"pruned {vectors.prune(enc)} stale vectors")
