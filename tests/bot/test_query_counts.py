"""The curation pages keep a constant number of queries as answers and questions grow."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bot import services as bot_services
from tests.factories import make_inbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("admin", password="x", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def add_answers(n: int, tag: str) -> None:
    inboxes = [make_inbox("webchat"), make_inbox("whatsapp")]
    for i in range(n):
        answer = bot_services.answer_create(title=f"Answer {tag}{i}", text=f"Text {tag}{i}",
                                            variants=[f"question {tag}{i}", f"other {tag}{i}"], inboxes=inboxes)
        bot_services.answer_used(answer_id=answer.pk)


def test_answers(staff):
    add_answers(2, "a")
    small = count(staff, "/bot/answers/")
    add_answers(15, "b")
    assert b"Answer b14" in staff.get("/bot/answers/").content
    assert count(staff, "/bot/answers/") == small


def test_unanswered(staff):
    def ask(n: int, tag: str) -> None:
        for i in range(n):
            bot_services.unanswered_record(question=f"question {tag}{i} number {i * 7919}", language="en",
                                           reason="no_match")
            bot_services.answer_create(title=f"Answer {tag}{i}", text="text", variants=[f"v {tag}{i}"])

    ask(2, "a")
    small = count(staff, "/bot/unanswered/")
    ask(15, "b")
    page = staff.get("/bot/unanswered/").content.decode()
    assert all(f"question b{i} number" in page and f"Answer b{i} (" in page for i in range(15))
    assert count(staff, "/bot/unanswered/") == small
