"""Curation pages (staff only) and the agents' quick-reply search. Writes go through
``bot.services``; the decision shown in the test console comes from ``bot.engine.evaluate``,
the same code the bot runs, without writing anything."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from rapidfuzz import fuzz, process, utils

from bot.intents import detect_intent, guess_language
from inbox import bounds

from . import engine, index_cache, orders
from . import services as bot_services
from .forms import AddVariantForm, AnswerForm, ImportForm
from .import_export import ImportFailed, export_csv, export_json, import_file
from .models import BotSettings, CannedAnswer, UnansweredQuestion
from .reasons import reason_label

#: Unanswered questions at least this similar (rapidfuzz token_set_ratio on the normalized
#: text) are shown as one group.
GROUP_SIMILARITY = 80
QUICK_REPLY_LIMIT = 8


def staff_required(view):
    """Log in first; signed-in agents who are not staff get 403, not a login loop."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if request.path.startswith("/bot/api/"):
                return JsonResponse({"error": _("Log in first.")}, status=401)
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied(_("Only administrators can curate the bot."))
        return view(request, *args, **kwargs)

    return wrapper


# --- answers ------------------------------------------------------------------------------------


@staff_required
def answers_list(request):
    query = request.GET.get("q", "").strip()
    answers = CannedAnswer.objects.prefetch_related("variants", "inboxes").order_by("locale", "title")
    if query:
        answers = answers.filter(Q(title__icontains=query) | Q(text__icontains=query) | Q(tags__icontains=query)
                                 | Q(variants__text__icontains=query)).distinct()
    return render(request, "bot/answers.html", {"answers": answers, "query": query,
                                                "import_form": ImportForm()})


@staff_required
def answer_new(request):
    """A new answer; ``?from=<unanswered ids>`` prefills it from a group of unanswered questions."""
    if request.method == "POST":
        form = AnswerForm(request.POST)
        if form.is_valid():
            try:
                answer = bot_services.answer_create(
                    title=form.cleaned_data["title"], text=form.cleaned_data["text"],
                    locale=form.cleaned_data["locale"], tags=form.cleaned_data["tags"],
                    variants=form.variant_list(), inboxes=form.cleaned_data["inboxes"],
                    kind=form.cleaned_data.get("kind") or "text")
            except bot_services.CurationError as exc:
                form.add_error(None, str(exc))
            else:
                ids = form.unanswered_ids()
                if ids:
                    bot_services.unanswered_resolve(ids=ids, answer=answer)
                messages.success(request, _("Answer “%(title)s” created.") % {"title": answer.title})
                return redirect(reverse("bot:unanswered") if ids else reverse("bot:answers"))
    else:
        ids = bounds.id_list(request.GET.get("from", ""), name="from")
        rows = list(UnansweredQuestion.objects.filter(pk__in=ids).order_by("-count"))
        initial = {}
        if rows:
            initial = {"title": rows[0].example[:200], "variants": "\n".join(r.example for r in rows),
                       "locale": rows[0].language or "pt", "unanswered": ",".join(str(r.pk) for r in rows)}
        form = AnswerForm(initial=initial)
    return render(request, "bot/answer_form.html", {"form": form})


@staff_required
def answers_import(request):
    if request.method != "POST":
        return redirect("bot:answers")
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a .csv or .json file to import."))
        return redirect("bot:answers")
    upload = form.cleaned_data["file"]
    try:
        result = import_file(upload.name, upload.read())
    except ImportFailed as exc:
        return render(request, "bot/import_errors.html", {"errors": exc.errors, "filename": upload.name},
                      status=400)
    messages.success(request, _("Imported %(file)s: %(created)s created, %(updated)s updated.") % {
        "file": upload.name, "created": result.created, "updated": result.updated})
    return redirect("bot:answers")


@staff_required
@require_GET
def answers_export(request, fmt: str):
    if fmt == "csv":
        response = HttpResponse(export_csv(), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = HttpResponse(export_json(), content_type="application/json; charset=utf-8")
    else:
        raise Http404(_("Export as .csv or .json."))
    response["Content-Disposition"] = f'attachment; filename="canned-answers.{fmt}"'
    return response


# --- test console -------------------------------------------------------------------------------


@staff_required
def console(request):
    from inbox.models import Inbox

    from . import vectors

    return render(request, "bot/console.html", {"inboxes": Inbox.objects.order_by("name"),
                                                "semantic": vectors.semantic_status()})


@staff_required
@require_GET
def console_api(request):
    """What the bot would do with ``q`` in ``inbox`` (all answers without one): ranked
    candidates with confidences, and the decision. Writes nothing."""
    from inbox.models import Inbox

    text = request.GET.get("q", "").strip()
    if not text:
        return JsonResponse({"error": _("Type a question.")}, status=400)
    if len(text) > 2000:
        return JsonResponse({"error": _("Questions are limited to 2000 characters.")}, status=400)
    inbox = None
    if request.GET.get("inbox"):
        try:
            inbox = Inbox.objects.get(pk=bounds.bounded_int(request.GET["inbox"], name="inbox"))
        except (ValueError, Inbox.DoesNotExist):
            return JsonResponse({"error": _("Unknown inbox.")}, status=400)
        except bounds.OutOfRange as exc:
            return JsonResponse({"error": str(exc)}, status=400)
    settings_row = bot_services.settings_for(inbox) if inbox else None
    language = guess_language(text)
    decision, candidates, answers = engine.evaluate(text, inbox=inbox, settings_row=settings_row, language=language)
    thresholds = engine.thresholds_of(settings_row or BotSettings())
    chosen = [c.answer_id for c in decision.candidates]
    return JsonResponse({
        "question": text,
        "language": language,
        "intent": detect_intent(text) or "",
        "decision": {"action": decision.action, "reason": decision.reason, "reason_label": reason_label(decision.reason),
                     "answer_ids": chosen},
        "thresholds": {"answer": thresholds.answer, "suggest": thresholds.suggest, "margin": thresholds.margin},
        "candidates": engine.candidates_json(candidates, answers),
        "index_size": index_cache.get_index(inbox).size,
    })


# --- unanswered questions -----------------------------------------------------------------------


def unanswered_groups(rows=None, *, similarity: int = GROUP_SIMILARITY) -> list[dict]:
    """Open unanswered questions grouped by similarity, biggest groups first. Greedy: each
    question joins the first group whose leader it resembles, leaders taken by count."""
    if rows is None:
        rows = UnansweredQuestion.objects.filter(resolved=False).order_by("-count", "-last_seen")[:500]
    groups: list[dict] = []
    for row in rows:
        for group in groups:
            if fuzz.token_set_ratio(row.key, group["leader"].key) >= similarity:
                group["questions"].append(row)
                group["count"] += row.count
                group["last_seen"] = max(group["last_seen"], row.last_seen)
                break
        else:
            groups.append({"leader": row, "questions": [row], "count": row.count, "last_seen": row.last_seen})
    for group in groups:
        group["ids"] = ",".join(str(r.pk) for r in group["questions"])
    groups.sort(key=lambda g: (-g["count"], -g["last_seen"].timestamp()))
    return groups


@staff_required
def unanswered(request):
    return render(request, "bot/unanswered.html", {
        "groups": unanswered_groups(),
        "answers": CannedAnswer.objects.order_by("locale", "title").only("pk", "title", "locale"),
    })


@staff_required
@require_POST
def unanswered_add_variant(request):
    form = AddVariantForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Pick the answer these questions should lead to."))
        return redirect("bot:unanswered")
    try:
        created = bot_services.unanswered_add_as_variants(ids=form.id_list(), answer=form.cleaned_data["answer"])
    except bot_services.CurationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, ngettext("Added %(count)s variant to “%(title)s”.", "Added %(count)s variants to “%(title)s”.",
                                          len(created)) % {"count": len(created), "title": form.cleaned_data["answer"].title})
    return redirect("bot:unanswered")


@staff_required
@require_POST
def unanswered_dismiss(request):
    ids = bounds.id_list(request.POST.get("ids", ""), name="ids")
    bot_services.unanswered_resolve(ids=ids, answer=None)
    messages.success(request, _("Dismissed."))
    return redirect("bot:unanswered")


# --- quick replies for agents -------------------------------------------------------------------


@require_GET
def quick_replies_api(request):
    """Canned answers matching ``q`` for the composer of ``conversation``, text filled for its
    contact and the asking agent. Any agent who can see the conversation may use it."""
    from inbox.models import Conversation
    from inbox.selectors import can_access_conversation

    if not request.user.is_authenticated:
        return JsonResponse({"error": _("Log in first.")}, status=401)
    try:
        conversation = Conversation.objects.select_related("inbox", "contact").get(
            pk=bounds.bounded_int(request.GET.get("conversation", ""), name="conversation"))
    except (ValueError, Conversation.DoesNotExist):
        return JsonResponse({"error": _("Unknown conversation.")}, status=404)
    except bounds.OutOfRange as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if not can_access_conversation(request.user, conversation):
        return JsonResponse({"error": _("Unknown conversation.")}, status=404)
    query = request.GET.get("q", "").strip()[:200]
    answers = list(index_cache.answers_for(conversation.inbox).prefetch_related("variants"))
    if query:
        choices = {a.pk: " ".join([a.title, a.tags, *(v.text for v in a.variants.all())]) for a in answers}
        ranked = process.extract(query, choices, scorer=fuzz.WRatio, processor=utils.default_process,
                                 limit=QUICK_REPLY_LIMIT, score_cutoff=50)
        by_id = {a.pk: a for a in answers}
        picked = [(by_id[key], score) for _text, score, key in ranked]
    else:
        picked = [(a, 100.0) for a in sorted(answers, key=lambda a: (-a.usage_count, a.title))[:QUICK_REPLY_LIMIT]]
    latest = orders.latest_order(conversation.contact_id)

    def text_of(answer) -> str:
        text = engine.fill_variables(answer.text, contact=conversation.contact, agent=request.user,
                                     inbox=conversation.inbox)
        if not orders.is_order_answer(answer):
            return text
        if latest is None:
            return orders.fill_order_variables(text, None, answer.locale)
        return orders.render(text, latest, answer.locale)

    language = (conversation.contact.locale or "pt")[:2].lower()
    results = [{"id": a.pk, "title": a.title, "locale": a.locale, "tags": a.tag_list, "score": round(score, 1),
                "text": text_of(a)} for a, score in picked]
    # The customer's own orders, insertable like answers ("/pedido", "/1001").
    for item in orders.composer_items(conversation.contact_id, language, query):
        results.append({"id": item["id"], "title": item["title"], "locale": language, "tags": [], "score": 100.0,
                        "text": item["text"]})
    return JsonResponse({"results": results, "orders": orders.composer_variables(conversation.contact_id, language)})
