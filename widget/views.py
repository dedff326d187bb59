"""HTTP side of the chat widget: the script, its config, visitor sessions, history, uploads,
e-mail capture, attachment downloads and the demo shop.

The widget runs on the shop's site, so these endpoints are cross-origin: each answers CORS for
the inbox's allowed origins only. They authenticate with the visitor token (``X-Widget-Token``
header, or ``t=`` for ``<img>`` sources), never with cookies, which is why they are exempt
from CSRF: a forged cross-site request carries no token.
"""

from __future__ import annotations

import json
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from channels_adapters.base import InboundAttachment
from channels_adapters.webchat import MAX_TEXT_LENGTH, inbound_from_widget

from inbox import services
from inbox.demo_content import SHOP, demo_language
from inbox.files import _response as attachment_response
from inbox.locale import catalog_language, money
from inbox.models import Attachment, ChannelKind, Inbox
from inbox.presenters import message_payload

from . import auth as widget_auth
from .texts import texts_for, visitor_language

WIDGET_JS = Path(__file__).resolve().parent / "static" / "widget.js"
HISTORY_PAGE = 50
#: Files a visitor may upload: content type -> magic bytes it must start with.
UPLOAD_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}


def max_upload_bytes() -> int:
    return min(getattr(settings, "WIDGET_MAX_UPLOAD_BYTES", 5 * 1024 * 1024), settings.MAX_ATTACHMENT_BYTES)


def _error(message: str, status: int, code: str = "", **extra) -> JsonResponse:
    return JsonResponse({"error": message, "code": code or str(status), **extra}, status=status)


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def widget_endpoint(methods: tuple[str, ...], *, needs_visitor: bool = True):
    """Resolve ``?inbox=``, check the origin, answer CORS preflights, read the visitor token.

    The view gets ``request.widget_inbox`` and (with ``needs_visitor``) ``request.visitor_id``.
    """

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            inbox = Inbox.objects.filter(public_id=request.GET.get("inbox", ""), enabled=True,
                                         channel_kind=ChannelKind.WEBCHAT).first()
            origin = request.headers.get("Origin", "")
            if inbox is None:
                response = _error("Unknown or disabled chat inbox.", 404, "no_inbox")
            elif origin and not inbox.origin_allowed(origin):
                return _error("This website is not allowed to use this chat.", 403, "origin_refused")
            elif request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Access-Control-Allow-Methods"] = ", ".join((*methods, "OPTIONS"))
                response["Access-Control-Allow-Headers"] = "Content-Type, X-Widget-Token"
                response["Access-Control-Max-Age"] = "600"
            elif request.method not in methods:
                response = _error(f"Use {' or '.join(methods)}.", 405, "method")
            else:
                request.widget_inbox = inbox
                request.visitor_id = None
                if needs_visitor:
                    token = request.headers.get("X-Widget-Token") or request.GET.get("t", "")
                    request.visitor_id = widget_auth.read_token(token, inbox=inbox)
                    if request.visitor_id is None:
                        response = _error("Your chat session expired. Start a new one.", 401, "bad_token")
                        return _cors(response, origin)
                response = view(request, *args, **kwargs)
            return _cors(response, origin)

        return wrapper

    return decorator


def _cors(response: HttpResponse, origin: str) -> HttpResponse:
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Vary"] = "Origin"
    return response


def _json_body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ValueError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ValueError("The request body must be a JSON object.")
    return data


# --- the script -----------------------------------------------------------------------------------


def widget_js(request):
    """``/widget.js``: served from the app's origin, so the script learns where its server is."""
    response = HttpResponse(WIDGET_JS.read_bytes(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- API ------------------------------------------------------------------------------------------


@widget_endpoint(("GET",), needs_visitor=False)
def config_view(request):
    inbox = request.widget_inbox
    look = inbox.widget_settings or {}
    language = visitor_language(request.GET.get("lang", ""), inbox)
    return JsonResponse({
        "inbox": inbox.public_id,
        "language": language,
        "texts": texts_for(language),
        "title": look.get("title") or inbox.name,
        "color": look.get("color") or "#2563eb",
        "position": "left" if look.get("position") == "left" else "right",
        "avatar_url": look.get("avatar_url", ""),
        "greeting": inbox.greeting,
        "pre_chat_form": bool(look.get("pre_chat_form")),
        "availability": widget_auth.availability(inbox=inbox),
        "limits": {"max_text": MAX_TEXT_LENGTH, "max_upload_bytes": max_upload_bytes(),
                   "upload_types": sorted(UPLOAD_TYPES)},
    })


@widget_endpoint(("POST",), needs_visitor=False)
def session_view(request):
    """Start or resume a visitor session: ``{"token"?, "user_id"?, "user_hash"?, "name"?,
    "email"?, "email_hash"?}`` → ``{"token", "resumed", "identified", "conversation_id", "has_email"}``.

    A forged or expired token quietly starts a new anonymous session; a wrong identity hash is
    refused with 403 (the widget then carries on anonymously)."""
    inbox = request.widget_inbox
    try:
        data = _json_body(request)
    except ValueError as exc:
        return _error(str(exc), 400, "bad_json")
    visitor_id = widget_auth.read_token(data.get("token"), inbox=inbox)
    resumed = visitor_id is not None
    if not resumed:
        if widget_auth.rate_limited("session-ip", _client_ip(request)):
            return _error("Too many new chats from your network. Please try again later.", 429, "rate_limited")
        visitor_id = widget_auth.new_visitor_id()
    identified = False
    if data.get("user_id") not in (None, ""):
        try:
            widget_auth.identify_visitor(inbox=inbox, visitor_id=visitor_id, user_id=data.get("user_id"),
                                         user_hash=data.get("user_hash"), name=data.get("name") or "",
                                         email=data.get("email") or "", email_hash_value=data.get("email_hash") or "")
        except widget_auth.IdentityError as exc:
            return _error(str(exc), 403, "identity_refused")
        except ValueError as exc:
            return _error(str(exc), 400, "invalid")
        identified = True
    contact = widget_auth.visitor_contact(visitor_id=visitor_id)
    conversation = widget_auth.visitor_conversation(inbox=inbox, visitor_id=visitor_id)
    return JsonResponse({
        "token": widget_auth.issue_token(inbox=inbox, visitor_id=visitor_id),
        "resumed": resumed,
        "identified": identified,
        "conversation_id": conversation.pk if conversation else None,
        "status": conversation.status if conversation else None,
        "has_email": bool(contact and contact.email),
        "name": contact.name if contact else "",
    })


@widget_endpoint(("GET",))
def messages_view(request):
    """History. ``after=<id>``: the next messages after that id, oldest first (page until
    ``has_more`` is false). Without it: the latest page."""
    inbox = request.widget_inbox
    try:
        limit = min(max(int(request.GET.get("limit", HISTORY_PAGE)), 1), 100)
        after = int(request.GET["after"]) if request.GET.get("after") not in (None, "") else None
    except ValueError:
        return _error("after and limit must be numbers.", 400, "invalid")
    messages = widget_auth.visitor_messages(inbox=inbox, visitor_id=request.visitor_id)
    if after is not None:
        page = list(messages.filter(pk__gt=after)[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
    else:
        page = list(messages.order_by("-id")[: limit + 1])
        has_more = len(page) > limit
        page = list(reversed(page[:limit]))
    conversation = widget_auth.visitor_conversation(inbox=inbox, visitor_id=request.visitor_id)
    return JsonResponse({
        "messages": [message_payload(m, for_customer=True) for m in page],
        "has_more": has_more,
        "conversation_id": conversation.pk if conversation else None,
        "status": conversation.status if conversation else None,
    })


@widget_endpoint(("POST",))
def upload_view(request):
    """Multipart: ``file`` (an image or a PDF), ``client_id``, optional ``text``."""
    inbox, visitor_id = request.widget_inbox, request.visitor_id
    upload = request.FILES.get("file")
    if upload is None:
        return _error("Choose a file to send.", 400, "no_file")
    limit = max_upload_bytes()
    if upload.size > limit:
        return _error(f"Files can be at most {limit // (1024 * 1024)} MB.", 413, "too_large")
    data = upload.read()
    content_type = next((kind for kind, magics in UPLOAD_TYPES.items()
                         if any(data.startswith(magic) for magic in magics)), None)
    if content_type == "image/webp" and data[8:12] != b"WEBP":
        content_type = None
    if content_type is None:
        return _error("Only images (PNG, JPEG, GIF, WebP) and PDF files can be sent.", 415, "bad_type")
    if widget_auth.rate_limited("upload-visitor", visitor_id):
        return _error("You are sending files too quickly. Please wait a few minutes.", 429, "rate_limited")
    filename = Path(upload.name or "file").name[:200] or "file"
    try:
        inbound = inbound_from_widget(
            visitor_id=visitor_id, client_id=request.POST.get("client_id", ""), text=request.POST.get("text", ""),
            attachments=[InboundAttachment(kind="image" if content_type.startswith("image/") else "file",
                                           content_type=content_type, filename=filename, data=data, size=len(data))],
        )
    except ValueError as exc:
        return _error(str(exc), 400, "invalid")
    result = services.receive_inbound(inbox=inbox, inbound=inbound)
    return JsonResponse({"message": message_payload(result.message, for_customer=True), "duplicate": not result.created},
                        status=201 if result.created else 200)


@widget_endpoint(("POST",))
def contact_view(request):
    """The visitor leaves an e-mail address or a phone number (and optionally a name)."""
    if widget_auth.rate_limited("contact-visitor", request.visitor_id):
        return _error("Too many changes. Please wait a few minutes.", 429, "rate_limited")
    try:
        data = _json_body(request)
        contact = widget_auth.capture_contact_details(inbox=request.widget_inbox, visitor_id=request.visitor_id,
                                                      email=data.get("email") or "", name=data.get("name") or "",
                                                      phone=data.get("phone") or "")
    except ValueError as exc:
        return _error(str(exc), 400, "invalid")
    return JsonResponse({"ok": True, "has_email": bool(contact.email), "name": contact.name})


@widget_endpoint(("GET",))
def attachment_view(request, pk: int):
    """A file of one of the visitor's own messages (``?inbox=&t=<token>`` so ``<img>`` can load it)."""
    attachment = (Attachment.objects.select_related("message")
                  .filter(pk=pk, message__in=widget_auth.visitor_messages(inbox=request.widget_inbox,
                                                                          visitor_id=request.visitor_id)).first())
    if attachment is None:
        return _error("No such file.", 404, "not_found")
    try:
        response = attachment_response(attachment)
    except Http404:
        return _error("This file is not stored.", 404, "not_stored")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


# --- demo -----------------------------------------------------------------------------------------


def demo_shop(request):
    """A fake shop page with hostile global CSS, embedding the widget of the first enabled
    web chat inbox: shows the snippet working and the Shadow DOM isolation."""
    inbox = Inbox.objects.filter(channel_kind=ChannelKind.WEBCHAT, enabled=True).order_by("pk").first()
    language = inbox.default_language if inbox and inbox.default_language in SHOP else demo_language()
    shop = SHOP[language]
    currency = (inbox.currency if inbox and inbox.currency else shop["currency"])
    products = [{"name": name, "description": text, "price": money(price, currency, catalog_language(language))}
                for name, text, price in shop["products"]]
    return render(request, "widget/demo_shop.html", {"inbox": inbox, "shop": shop, "products": products,
                                                      "language": catalog_language(language)})



