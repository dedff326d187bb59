"""Instagram Direct adapter, on the "Instagram API with Instagram Login" (graph.instagram.com).

We follow the Instagram Login flavour rather than the older "Messenger Platform for
Instagram" because it needs no Facebook Page: a shop connects its Instagram professional
account directly, and the webhook, signature and Send API are the Messenger ones we already
speak (``messaging`` events, ``X-Hub-Signature-256``, ``/me/messages``).

Config keys (the inbox's channel configuration):

- ``instagram_account_id``: the Instagram professional account id (``entry[].id`` of the
  webhook); entries for other accounts are skipped.
- ``access_token``: an Instagram User access token with ``instagram_business_manage_messages``.
- ``app_secret``: the Instagram app secret, which signs webhook bodies.
- ``verify_token``: the token typed into the webhook subscription form.
- ``graph_api_base``: default ``https://graph.instagram.com/v21.0`` (``INSTAGRAM_GRAPH_API_BASE``).
- ``api_timeout``: seconds per request, default 15. ``max_media_bytes``: default 25 MB.
- ``human_agent_tag``: bool; when true, messages with ``messaging_tag="HUMAN_AGENT"`` may go out
  up to 7 days after the customer's last message.

What is not a direct message is skipped with a recorded reason, not imported: comments and
@mentions in posts (``changes`` with field ``comments``, ``mentions``...), because answering
them is public moderation, a different workflow from the inbox's private conversations.

Story media (story replies and mentions) is served from a CDN URL that stops working when the
story expires (24 hours), so it becomes an attachment that the download task fetches at once;
the link stays in ``metadata["story"]``.

Outbound text is limited to 1,000 bytes of UTF-8; attachments are sent by URL (Instagram fetches
them; it takes no uploads on this API), before the text, so quick replies stay on the last
message.
"""

from __future__ import annotations

from typing import Any

from . import meta
from .base import (
    InboundAttachment,
    InboundMessage,
    OutboundAttachment,
    ParsedWebhook,
    PermanentSendError,
    StatusUpdate,
)
from .messenger_platform import MessengerPlatformAdapter
from .meta import as_dict, as_list, as_str

DEFAULT_GRAPH_API_BASE = "https://graph.instagram.com/v21.0"
MAX_TEXT_BYTES = 1000
MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio", "file": "file"}
#: Shared posts and reels: shown as a link with its caption; the media stays on Instagram.
SHARE_KINDS = {"share": "post", "ig_post": "post", "ig_reel": "reel", "reel": "reel"}
#: ``changes`` fields that are not direct messages, and why we leave them out.
NOT_DIRECT_MESSAGES = {
    "comments": "comments on posts are public; answer them on Instagram",
    "live_comments": "comments on live videos are public; answer them on Instagram",
    "mentions": "mentions in posts and comments are public; answer them on Instagram",
    "story_insights": "story statistics are not messages",
}
HEART = "\u2764\ufe0f"


class InstagramAdapter(MessengerPlatformAdapter):
    kind = "instagram"
    token_key = "access_token"
    platform = "Instagram"
    account_noun = "account"
    #: The settings name the registry reads the default Graph base URL from.
    graph_api_setting = "INSTAGRAM_GRAPH_API_BASE"

    @property
    def account_id(self) -> str:
        return as_str(self.config.get("instagram_account_id"))

    def _client(self) -> meta.GraphClient:
        return meta.GraphClient(
            self.config.get("graph_api_base") or DEFAULT_GRAPH_API_BASE,
            as_str(self.config.get(self.token_key)),
            timeout=float(self.config.get("api_timeout") or meta.DEFAULT_API_TIMEOUT),
        )

    # --- inbound --------------------------------------------------------------------------------

    def parse(self, body, headers) -> ParsedWebhook:
        payload = meta.load_payload(body, "instagram")
        result = ParsedWebhook()
        for e_index, entry in enumerate(payload["entry"]):
            where = f"entry[{e_index}]"
            if not isinstance(entry, dict):
                result.skipped.append(f"{where}: not an object")
                continue
            entry_account = as_str(entry.get("id"))
            if self.account_id and entry_account != self.account_id:
                result.skipped.append(
                    f"{where}: for account {entry_account!r}, not this inbox's {self.account_id!r}")
                continue
            handled = False
            for key, standby in (("messaging", False), ("standby", True)):
                if isinstance(entry.get(key), list):
                    handled = True
                    for i, event in enumerate(entry[key]):
                        self._parse_event(as_dict(event), f"{where}.{key}[{i}]", result, standby=standby)
            if isinstance(entry.get("changes"), list):
                handled = True
                for c_index, change in enumerate(entry["changes"]):
                    field = as_str(as_dict(change).get("field")) or "?"
                    reason = NOT_DIRECT_MESSAGES.get(field, "not a direct message")
                    result.skipped.append(f"{where}.changes[{c_index}]: field {field!r} skipped: {reason}")
            if not handled:
                others = sorted(str(k) for k in entry if k not in ("id", "time"))
                result.skipped.append(f"{where}: no 'messaging' list (has {', '.join(others) or 'nothing'})")
        return result

    def _customer_of(self, sender: str, recipient: str) -> tuple[str, bool]:
        """The customer's id and whether the event is the business's own (an echo)."""
        if self.account_id and sender == self.account_id:
            return recipient, True
        return sender, False

    def _parse_event(self, event: dict[str, Any], where: str, result: ParsedWebhook, *, standby: bool) -> None:
        sender = as_str(as_dict(event.get("sender")).get("id"))
        recipient = as_str(as_dict(event.get("recipient")).get("id"))
        when, notes = meta.parse_timestamp(event.get("timestamp"), millis=True)
        if standby:
            notes = {**notes, "standby": True}
        message: InboundMessage | None = None
        if isinstance(event.get("message"), dict):
            message = self._parse_message(event["message"], sender, recipient, where, result)
        elif isinstance(event.get("message_edit"), dict):
            message = self._parse_edit(event["message_edit"], sender, recipient, where, result)
        elif isinstance(event.get("reaction"), dict):
            message = self._parse_reaction(event["reaction"], sender, where, result, event.get("timestamp"))
        elif isinstance(event.get("postback"), dict):
            postback = event["postback"]
            if not sender:
                result.skipped.append(f"{where}: postback without sender")
                return
            # Ice breakers (the questions offered before a first message) arrive as postbacks.
            message = InboundMessage(
                provider_message_id=as_str(postback.get("mid")) or f"postback:{sender}:{event.get('timestamp')}",
                sender_address=sender,
                text=as_str(postback.get("title")) or as_str(postback.get("payload")),
                quick_reply_payload=as_str(postback.get("payload")),
                metadata={"type": "postback"},
            )
            if isinstance(postback.get("referral"), dict):
                message.metadata["referral"] = postback["referral"]
            if not message.text:
                message.unsupported = True
                message.text = "[unsupported message type: empty postback]"
        elif isinstance(event.get("read"), dict):
            self._parse_read(event["read"], sender, when, where, result)
            return
        else:
            kinds = sorted(str(k) for k in event if k not in ("sender", "recipient", "timestamp"))
            result.skipped.append(f"{where}: event {', '.join(kinds) or '(empty)'} is not handled")
            return
        if message is not None:
            message.sent_at = when
            message.metadata.update(notes)
            result.messages.append(message)

    def _parse_read(self, read: dict[str, Any], sender: str, when, where: str, result: ParsedWebhook) -> None:
        """``messaging_seen``: the customer saw our messages up to ``mid``. Instagram sends no
        watermark, so the event time serves as one (everything sent before it was seen)."""
        if not sender:
            result.skipped.append(f"{where}: read without sender")
            return
        mid = as_str(read.get("mid"))
        if mid:
            result.statuses.append(
                StatusUpdate(status="read", provider_message_id=mid, recipient_address=sender, timestamp=when))
        result.statuses.append(StatusUpdate(status="read", recipient_address=sender, timestamp=when, watermark=when))

    def _parse_edit(self, raw: dict[str, Any], sender: str, recipient: str, where: str,
                    result: ParsedWebhook) -> InboundMessage | None:
        mid = as_str(raw.get("mid"))
        customer, is_echo = self._customer_of(sender, recipient)
        if not mid or not customer:
            result.skipped.append(f"{where}: edit without 'mid' or sender")
            return None
        count = as_str(raw.get("num_edit")) or "1"
        return InboundMessage(
            provider_message_id=f"edit:{mid}:{count}",
            sender_address=customer,
            text=as_str(raw.get("text")),
            edit_of_provider_id=mid,
            is_echo=is_echo,
            metadata={"type": "edit", "num_edit": count},
        )

    def _parse_reaction(self, raw: dict[str, Any], sender: str, where: str, result: ParsedWebhook,
                        timestamp: Any) -> InboundMessage | None:
        target = as_str(raw.get("mid"))
        if not sender or not target:
            result.skipped.append(f"{where}: reaction without sender or mid")
            return None
        if self.account_id and sender == self.account_id:
            result.skipped.append(f"{where}: the business's own reaction")
            return None
        removed = raw.get("action") == "unreact"
        emoji = as_str(raw.get("emoji")) or (HEART if as_str(raw.get("reaction")) == "love" else as_str(raw.get("reaction")))
        return InboundMessage(
            provider_message_id=f"reaction:{target}:{sender}:{timestamp}",
            sender_address=sender,
            text="" if removed else emoji,
            reaction_to_provider_id=target,
            metadata={"type": "reaction", "reaction_removed": removed},
        )

    def _parse_message(self, raw: dict[str, Any], sender: str, recipient: str, where: str,
                       result: ParsedWebhook) -> InboundMessage | None:
        mid = as_str(raw.get("mid"))
        is_echo = bool(raw.get("is_echo"))
        customer = recipient if is_echo else sender
        if not mid or not customer:
            result.skipped.append(f"{where}: message without 'mid' or sender")
            return None
        if raw.get("is_deleted"):
            return InboundMessage(provider_message_id=f"unsend:{mid}", sender_address=customer,
                                  unsend_of_provider_id=mid, is_echo=is_echo, metadata={"type": "unsend"})
        msg = InboundMessage(provider_message_id=mid, sender_address=customer, text=as_str(raw.get("text")),
                             is_echo=is_echo, metadata={"type": "message"})
        if raw.get("is_unsupported"):
            msg.unsupported = True
            msg.text = msg.text or "[unsupported message type: not available through the API]"
            return msg
        quick_reply = as_dict(raw.get("quick_reply"))
        if quick_reply.get("payload"):
            msg.quick_reply_payload = as_str(quick_reply["payload"])
        if isinstance(raw.get("referral"), dict):
            msg.metadata["referral"] = raw["referral"]
        reply_to = as_dict(raw.get("reply_to"))
        story = as_dict(reply_to.get("story"))
        if reply_to.get("mid"):
            msg.reply_to_provider_id = as_str(reply_to["mid"])
        elif story.get("url") or story.get("id"):
            self._add_story(msg, "reply", as_str(story.get("url")), as_str(story.get("id")))
        self._read_attachments(msg, as_list(raw.get("attachments")))
        if not msg.text and not msg.attachments and not msg.unsupported:
            msg.unsupported = True
            msg.text = "[unsupported message type: empty message]"
        return msg

    @staticmethod
    def _add_story(msg: InboundMessage, kind: str, url: str, story_id: str = "") -> None:
        msg.metadata["story"] = {"type": kind, "url": url, "id": story_id}
        if url:
            # The link expires with the story: the download task keeps a copy while it lasts.
            msg.attachments.append(InboundAttachment(kind="image", url=url, filename=f"story-{kind}"))
        if not msg.text:
            msg.text = "Mentioned you in their story" if kind == "mention" else "Replied to your story"

    def _read_attachments(self, msg: InboundMessage, attachments: list[Any]) -> None:
        unsupported: list[str] = []
        links: list[str] = []
        shared: list[dict[str, str]] = []
        for attachment in attachments:
            attachment = as_dict(attachment)
            kind = as_str(attachment.get("type")) or "unknown"
            payload = as_dict(attachment.get("payload"))
            url = as_str(payload.get("url"))
            if kind in MEDIA_KINDS and url:
                is_sticker = kind == "image" and payload.get("sticker_id")
                msg.attachments.append(InboundAttachment(kind="sticker" if is_sticker else MEDIA_KINDS[kind], url=url))
            elif kind == "like_heart":
                msg.metadata["sticker"] = "like_heart"
                msg.text = msg.text or HEART
            elif kind == "story_mention":
                self._add_story(msg, "mention", url, as_str(payload.get("id")))
            elif kind in SHARE_KINDS and (url or payload.get("title")):
                media_id = as_str(payload.get("ig_post_media_id") or payload.get("reel_video_id"))
                if any(s["url"] == url or (media_id and s["media_id"] == media_id) for s in shared):
                    continue  # a post share arrives as both "share" and "ig_post"
                title = as_str(payload.get("title"))
                shared.append({"kind": SHARE_KINDS[kind], "url": url, "title": title, "media_id": media_id})
                label = "Shared a reel" if SHARE_KINDS[kind] == "reel" else "Shared a post"
                links.append(": ".join(p for p in (label, " ".join(x for x in (title, url) if x)) if p))
            elif kind == "fallback":
                title = as_str(attachment.get("title")) or as_str(payload.get("title"))
                links.append(" ".join(p for p in (title, url or as_str(attachment.get("url"))) if p) or "[shared content]")
            else:
                unsupported.append(kind)
        if shared:
            msg.metadata["shared"] = shared
        if links:
            msg.text = "\n".join(([msg.text] if msg.text else []) + links)
        if unsupported:
            msg.metadata["unsupported_attachments"] = unsupported
            if not msg.text and not msg.attachments:
                msg.unsupported = True
                msg.text = f"[unsupported message type: {', '.join(unsupported)}]"

    def fetch_profile(self, igsid: str) -> dict[str, str]:
        """``{"name", "username", "profile_pic"}``; the name falls back to ``@username``."""
        info = self._client().request("GET", igsid, query={"fields": "name,username,profile_pic"})
        username = as_str(info.get("username"))
        return {
            "name": as_str(info.get("name")) or (f"@{username}" if username else ""),
            "username": username,
            "profile_pic": as_str(info.get("profile_pic")),
        }

    # --- outbound (the rest is MessengerPlatformAdapter's) -------------------------------------

    def check_text(self, text: str) -> None:
        size = len(text.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise PermanentSendError(
                f"The text is {size:,} bytes; Instagram allows at most {MAX_TEXT_BYTES:,} "
                "(about 1,000 letters, fewer with emoji or accents). Shorten it or send it in parts.",
                code="text_too_long")

    def attachment_spec(self, attachment: OutboundAttachment) -> dict[str, Any]:
        if not attachment.url:
            raise PermanentSendError(
                f"The attachment {attachment.filename!r} has no public URL; Instagram fetches "
                "attachments from a URL (check PUBLIC_BASE_URL)", code="invalid_message")
        return {"type": self._attachment_kind(attachment), "payload": {"url": attachment.url}}

    def test_connection(self) -> str:
        info = self._client().request("GET", "me", query={"fields": "user_id,username,name"})
        account = as_str(info.get("user_id")) or as_str(info.get("id"))
        if self.account_id and account and account != self.account_id:
            raise PermanentSendError(
                f"The token belongs to Instagram account {account}, not the configured {self.account_id}",
                code="invalid_message")
        username = as_str(info.get("username"))
        return f"@{username or '?'} ({account or '?'})"
