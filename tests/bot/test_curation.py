"""Curation: import/export, the test console, unanswered questions, staff-only pages, and the
answer-set version that keeps every process's index in step with edits."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from bot import engine, index_cache
from bot import services as bot_services
from bot.import_export import ImportFailed, export_csv, export_json, import_csv, import_json
from bot.models import AnswerSetVersion, CannedAnswer, QuestionVariant, UnansweredQuestion
from bot.views import unanswered_groups
from inbox.models import Inbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    index_cache.clear()


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_user("admin", password="x", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def agent_client(client, django_user_model):
    user = django_user_model.objects.create_user("agent", password="x")
    client.force_login(user)
    return client


def snapshot():
    return sorted(
        (a.title, a.text, a.locale, a.tags, a.active, tuple(a.variants.values_list("text", flat=True)))
        for a in CannedAnswer.objects.all()
    )


@pytest.fixture
def tricky_answers():
    bot_services.answer_create(
        title="Frete, prazo e \"entrega\"", text="Linha 1, com vírgula\nLinha 2: \"aspas\" e {{contact.first_name}}",
        locale="pt", tags="entrega, frete", variants=["quanto custa o frete?", "prazo; entrega", "ÇÃO ñ 😀"])
    bot_services.answer_create(title="Returns", text="30 days.", locale="en", active=False,
                               variants=["can I return it"])
    bot_services.answer_create(title="Sin variantes", text="Respuesta.", locale="es")
    return snapshot()


@pytest.mark.parametrize("export, load", [(export_csv, import_csv), (export_json, import_json)])
def test_export_import_round_trip(tricky_answers, export, load):
    data = export()
    CannedAnswer.objects.all().delete()
    result = load(data)
    assert (result.created, result.updated) == (3, 0)
    assert snapshot() == tricky_answers
    # Importing the same file again updates in place: no duplicates, same content.
    again = load(data)
    assert (again.created, again.updated) == (0, 3)
    assert snapshot() == tricky_answers


def test_csv_columns_and_variant_separator(tricky_answers):
    lines = export_csv().splitlines()
    assert lines[0] == "title,answer,locale,tags,variants,active"
    assert "quanto custa o frete?|prazo; entrega|ÇÃO ñ 😀" in export_csv()


def test_bad_csv_rows_get_clear_errors_and_nothing_is_imported():
    bot_services.answer_create(title="Existing", text="Keep me.", locale="en")
    before = snapshot()
    data = ("title,answer,locale,tags,variants\n"
            "Good one,Fine answer,pt,,a|b\n"
            ",No title,pt,,\n"
            "Bad locale,Text,fr,,\n"
            "Too many,cells,pt,,x,1,extra\n"
            "Good one,Duplicate,pt,,\n")
    with pytest.raises(ImportFailed) as caught:
        import_csv(data)
    errors = dict(caught.value.errors)
    assert errors[3] == "title is empty"
    assert "locale 'fr' is not one of pt, es, en" in errors[4]
    assert "more cells than columns" in errors[5]
    assert errors[6] == "same title and locale as row 2"
    assert 2 not in errors
    assert snapshot() == before


@pytest.mark.parametrize("data, message", [
    ("name,text\nx,y\n", "Missing column(s) answer, title"),
    (b"title,answer\n\xff\xfe,bad\n", "not UTF-8"),
])
def test_unreadable_csv_files(data, message):
    with pytest.raises(ImportFailed) as caught:
        import_csv(data)
    assert message in str(caught.value)


def test_bad_json_is_rejected():
    with pytest.raises(ImportFailed, match="not valid JSON"):
        import_json("{nope")
    with pytest.raises(ImportFailed, match="row 1: is not an object"):
        import_json("[1]")
    with pytest.raises(ImportFailed, match="variants must be a list"):
        import_json(json.dumps([{"title": "x", "answer": "y", "variants": 3}]))


def test_import_page_reports_errors_and_imports_good_files(staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("answers.csv", b"title,answer,locale\nOk,Fine,pt\nNo answer,,pt\n")
    response = staff.post(reverse("bot:import"), {"file": bad})
    assert response.status_code == 400
    assert "Row 3: answer is empty" in response.content.decode()
    assert not CannedAnswer.objects.exists()

    good = SimpleUploadedFile("answers.json", json.dumps(
        [{"title": "Ok", "answer": "Fine", "locale": "pt", "variants": ["tudo certo?"]}]).encode())
    response = staff.post(reverse("bot:import"), {"file": good}, follow=True)
    assert "1 created, 0 updated" in response.content.decode()
    assert CannedAnswer.objects.get().variants.get().text == "tudo certo?"

    export = staff.get(reverse("bot:export", args=["csv"]))
    assert export["Content-Type"].startswith("text/csv") and b"tudo certo?" in export.content


def test_console_endpoint_ranks_candidates_and_shows_the_decision(staff):
    from bot.management.commands.load_demo_answers import DEMO_ANSWERS

    for locale, title, tags, text, variants in DEMO_ANSWERS:
        bot_services.answer_create(title=title, text=text, locale=locale, tags=tags, variants=variants)
    inbox = Inbox.objects.create(name="Chat", channel_kind="webchat")
    data = staff.get(reverse("bot:console-api"), {"q": "não recebi meu pedido", "inbox": inbox.pk}).json()
    assert data["decision"]["action"] == "answer" and data["decision"]["reason"] == "confident"
    assert data["candidates"][0]["title"] == "Rastrear meu pedido"
    confidences = [c["confidence"] for c in data["candidates"]]
    assert confidences == sorted(confidences, reverse=True) and len(confidences) > 1
    assert data["language"] == "pt" and data["index_size"] > 50

    human = staff.get(reverse("bot:console-api"), {"q": "quero falar com um atendente"}).json()
    assert human["decision"] == {"action": "handoff", "reason": "asked_for_human", "answer_ids": [],
                                 "reason_label": "the customer asked for a person"}
    assert staff.get(reverse("bot:console-api"), {"q": ""}).status_code == 400
    assert staff.get(reverse("bot:console-api"), {"q": "x", "inbox": "nope"}).status_code == 400
    page = staff.get(reverse("bot:console"))
    assert page.status_code == 200 and b"bot/console.js" in page.content


def test_console_follows_the_inbox_thresholds(staff):
    bot_services.answer_create(title="Frete", text="Grátis.", locale="pt", variants=["quanto custa o frete"])
    bot_services.answer_create(title="Frete expresso", text="R$ 30.", locale="pt",
                               variants=["quanto custa o frete expresso"])
    question = {"q": "quanto custa o frete para o nordeste"}
    relaxed = Inbox.objects.create(name="Relaxed", channel_kind="webchat")
    bot_services.settings_update(inbox=relaxed, answer_threshold=0.05, suggest_threshold=0.01, margin=0.0)
    strict = Inbox.objects.create(name="Strict", channel_kind="webchat")
    bot_services.settings_update(inbox=strict, answer_threshold=1.0, suggest_threshold=1.0)
    loose = staff.get(reverse("bot:console-api"), {**question, "inbox": relaxed.pk}).json()
    tight = staff.get(reverse("bot:console-api"), {**question, "inbox": strict.pk}).json()
    assert loose["candidates"][0]["title"] == "Frete" and loose["candidates"][0]["confidence"] < 1.0
    assert tight["thresholds"]["answer"] == 1.0
    assert (loose["decision"]["action"], tight["decision"]["action"]) == ("answer", "handoff")


def record(text, times=1):
    for _ in range(times):
        bot_services.unanswered_record(question=text, language="pt", reason="low_confidence")


def test_unanswered_questions_are_counted_and_grouped_by_similarity():
    record("onde fica a loja física?", 3)
    record("onde fica a loja fisica")  # same normalized text as above
    record("onde fica a loja física em São Paulo", 2)
    record("vocês vendem cartão presente?")
    assert UnansweredQuestion.objects.count() == 3
    assert UnansweredQuestion.objects.get(example="onde fica a loja fisica").count == 4
    groups = unanswered_groups()
    assert [g["count"] for g in groups] == [6, 1]
    assert {q.example for q in groups[0]["questions"]} == {"onde fica a loja fisica", "onde fica a loja física em São Paulo"}
    assert groups[1]["leader"].example == "vocês vendem cartão presente?"


def test_add_a_group_as_variants_of_an_answer(staff):
    answer = bot_services.answer_create(title="Endereço", text="Rua A, 10.", locale="pt")
    record("onde fica a loja física?", 2)
    record("onde fica a loja física em São Paulo")
    page = staff.get(reverse("bot:unanswered"))
    assert page.status_code == 200
    group = unanswered_groups()[0]
    assert f'value="{group["ids"]}"'.encode() in page.content
    version = bot_services.current_answer_version()
    response = staff.post(reverse("bot:unanswered-add-variant"), {"ids": group["ids"], "answer": answer.pk})
    assert response.status_code == 302
    assert set(answer.variants.values_list("text", flat=True)) == {"onde fica a loja física?",
                                                                   "onde fica a loja física em São Paulo"}
    assert not UnansweredQuestion.objects.filter(resolved=False).exists()
    assert UnansweredQuestion.objects.filter(answer=answer).count() == 2
    assert bot_services.current_answer_version()[0] == version[0] + 1
    decision, candidates, answers = engine.evaluate("onde fica a loja física")
    assert decision.action == "answer" and candidates[0].answer_id == answer.pk


def test_new_answer_from_a_group_is_prefilled_and_resolves_it(staff):
    record("vocês vendem cartão presente?", 2)
    ids = unanswered_groups()[0]["ids"]
    form = staff.get(reverse("bot:answer-new"), {"from": ids})
    assert form.status_code == 200
    initial = form.context["form"].initial
    assert initial["title"] == "vocês vendem cartão presente?" and initial["unanswered"] == ids
    response = staff.post(reverse("bot:answer-new"), {
        "title": "Cartão presente", "text": "Sim, de R$ 50 a R$ 500.", "locale": "pt", "tags": "",
        "variants": initial["variants"], "unanswered": ids})
    assert response.status_code == 302 and response["Location"] == reverse("bot:unanswered")
    answer = CannedAnswer.objects.get(title="Cartão presente")
    assert list(answer.variants.values_list("text", flat=True)) == ["vocês vendem cartão presente?"]
    assert UnansweredQuestion.objects.get().resolved
    assert unanswered_groups() == []


def test_new_answer_form_shows_errors(staff):
    response = staff.post(reverse("bot:answer-new"), {"title": "", "text": "x", "locale": "pt"})
    assert response.status_code == 200 and response.context["form"].errors["title"]
    assert not CannedAnswer.objects.exists()


@pytest.mark.parametrize("name, args", [
    ("bot:answers", []), ("bot:console", []), ("bot:unanswered", []), ("bot:answer-new", []),
    ("bot:console-api", []), ("bot:export", ["csv"]),
])
def test_curation_is_staff_only(client, agent_client, name, args):
    assert agent_client.get(reverse(name, args=args), {"q": "frete"}).status_code == 403


def test_curation_posts_are_staff_only(agent_client):
    answer = bot_services.answer_create(title="A", text="B", locale="pt")
    record("pergunta qualquer")
    ids = str(UnansweredQuestion.objects.get().pk)
    assert agent_client.post(reverse("bot:unanswered-add-variant"), {"ids": ids, "answer": answer.pk}).status_code == 403
    assert agent_client.post(reverse("bot:answer-new"), {"title": "x", "text": "y", "locale": "pt"}).status_code == 403
    assert not answer.variants.exists() and CannedAnswer.objects.count() == 1


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(reverse("bot:unanswered"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get(reverse("bot:console-api"), {"q": "x"}).status_code == 401


def test_answers_page_shows_usage_and_helpful_rate(staff):
    answer = bot_services.answer_create(title="Frete", text="Grátis.", locale="pt")
    CannedAnswer.objects.filter(pk=answer.pk).update(usage_count=7, helpful_count=3, not_helpful_count=1)
    html = staff.get(reverse("bot:answers")).content.decode()
    assert "Frete" in html and ">7<" in html and "75%" in html and "(3/4)" in html


def test_two_admins_editing_at_once_last_write_wins_and_indexes_follow():
    answer = bot_services.answer_create(title="Frete", text="v0", locale="pt", variants=["quanto custa o frete"])
    first_view = CannedAnswer.objects.get(pk=answer.pk)
    second_view = CannedAnswer.objects.get(pk=answer.pk)
    index_cache.get_index(None)
    start = bot_services.current_answer_version()
    bot_services.answer_update(answer=first_view, text="first", variants=["quanto custa o frete"])
    bot_services.answer_update(answer=second_view, title="Frete e prazo", text="second",
                               variants=["qual o prazo de entrega"])
    assert CannedAnswer.objects.get(pk=answer.pk).text == "second"
    assert bot_services.current_answer_version()[0] == start[0] + 2
    # The cached index is rebuilt from the last write: the second admin's variants.
    decision, candidates, answers = engine.evaluate("qual o prazo de entrega")
    assert decision.action == "answer" and answers[candidates[0].answer_id].text == "second"
    assert "quanto custa o frete" not in index_cache.get_index(None).variant_text


def test_admin_edits_bump_the_version(staff):
    response = staff.post("/admin/bot/cannedanswer/add/", {
        "title": "Frete", "text": "Grátis.", "locale": "pt", "tags": "", "active": "on",
        "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0", "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000", "variants-0-text": "quanto custa o frete", "variants-0-locale": "",
    })
    assert response.status_code == 302, response.content[:2000]
    assert AnswerSetVersion.objects.get().number == 1
    assert QuestionVariant.objects.get().text == "quanto custa o frete"
    answer = CannedAnswer.objects.get()
    staff.post(f"/admin/bot/cannedanswer/{answer.pk}/delete/", {"post": "yes"})
    assert not CannedAnswer.objects.exists()
    assert AnswerSetVersion.objects.get().number == 2
    assert staff.get("/admin/bot/cannedanswer/").status_code == 200


def test_load_demo_answers_is_idempotent():
    from django.core.management import call_command

    call_command("load_demo_answers", language="all")
    first = snapshot()
    assert len(first) >= 15
    assert {a[2] for a in first} == {"pt", "es", "en"}
    assert all(4 <= len(a[5]) <= 8 for a in first)
    call_command("load_demo_answers", language="all")
    assert snapshot() == first


def test_load_demo_answers_speaks_the_demo_language(settings):
    from django.core.management import call_command

    settings.DEMO_LANGUAGE = "es"
    call_command("load_demo_answers")
    assert set(CannedAnswer.objects.values_list("locale", flat=True)) == {"es"}
    assert CannedAnswer.objects.count() >= 6
