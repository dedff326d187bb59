"""Customer texts from the catalogs: weekday names inside a sentence, bot default texts in each
language, and an inbox's own override per language winning over the catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.engine import format_opening
from bot.models import BotSettings
from tests.factories import make_inbox

MONDAY = dt.datetime(2026, 11, 30, 9, 0)


@pytest.mark.parametrize(("language", "expected"), [("pt", "segunda-feira 09:00"), ("es", "lunes 09:00"),
                                                    ("en", "Monday 09:00")])
def test_weekday_names_come_from_the_catalogs(language, expected):
    assert format_opening(MONDAY, language) == expected
    assert format_opening(MONDAY + dt.timedelta(days=5, hours=5), language).endswith(" 14:00")  # 24-hour clock


@pytest.mark.django_db
def test_bot_texts_translated_and_overridden_per_inbox_and_language():
    settings_row, _ = BotSettings.objects.get_or_create(inbox=make_inbox("webchat"))
    key = "handoff_online"
    english = settings_row.text(key, "en")
    portuguese, spanish = settings_row.text(key, "pt"), settings_row.text(key, "es")
    assert len({english, portuguese, spanish}) == 3  # three catalogs, three texts
    settings_row.texts = {key: {"pt": "Já chamo alguém da equipe para você."}}
    settings_row.save()
    assert settings_row.text(key, "pt") == "Já chamo alguém da equipe para você."  # the inbox's own text
    assert settings_row.text(key, "es") == spanish  # other languages keep the catalog's
