"""Demo data for a first look: an admin, two agents, one inbox per channel kind, canned
answers, and a few conversations, all in ``DEMO_LANGUAGE`` (inbox/demo_content.py).
Idempotent: running it again changes nothing."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from channels_adapters.base import InboundMessage
from inbox import services
from inbox.demo_content import CONVERSATIONS, INBOXES, SHOP, WIDGET, demo_language
from inbox.models import AgentProfile, Inbox

CREDENTIALS_FILE = settings.DATA_DIR / "demo-credentials.txt"



def channel_config(kind: str, name: str, extra: dict) -> dict:
    """Demo credentials (none real) for each channel kind."""
    if kind == "whatsapp":
        return {"phone_number_id": "demo-phone-id", "access_token": "", "app_secret": "", "templates": [
            {"name": "order_update", "language": extra.get("template_language", "pt_BR"), "params_count": 1}]}
    if kind == "messenger":
        return {"page_id": "demo-page-id", "page_access_token": "", "app_secret": ""}
    if kind == "instagram":
        return {"instagram_account_id": "demo-instagram-id", "access_token": "", "app_secret": ""}
    if kind == "email":
        return {"address": name}
    return {}


class Command(BaseCommand):
    help = "Create the demo admin, agents, inboxes, canned answers and conversations."

    def handle(self, *args, **options):
        self.language = demo_language()
        credentials = self._users()
        inboxes = self._inboxes(credentials["agents"])
        try:
            call_command("load_demo_answers", verbosity=0, language=self.language)
        except Exception as exc:  # the bot app's command; the inbox works without it
            self.stderr.write(f"No demo canned answers: {exc}")
        try:
            call_command("load_demo_shop", verbosity=0, stdout=self.stdout)
        except Exception as exc:  # the shops app's command: a connected demo shop with orders
            self.stderr.write(f"No demo shop: {exc}")
        self._conversations(inboxes)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Admin:  {credentials['admin'][0]} / {credentials['admin'][1]}")
        for username, password in credentials["agents"]:
            self.stdout.write(f"  Agent:  {username} / {password}")

    def _users(self) -> dict:
        User = get_user_model()
        saved = {}
        if CREDENTIALS_FILE.exists():
            for line in CREDENTIALS_FILE.read_text().splitlines():
                name, _, password = line.partition(":")
                saved[name] = password
        created = {}
        for username, staff, display in (("admin", True, "Admin"), ("ana", False, "Ana"), ("bruno", False, "Bruno")):
            password = saved.get(username) or secrets.token_urlsafe(9)
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username=username, password=password, first_name=display,
                                                is_staff=staff, is_superuser=staff)
            elif username not in saved:
                user.set_password(password)
                user.save()
            AgentProfile.objects.get_or_create(user=user, defaults={"display_name": display})
            created[username] = password
        CREDENTIALS_FILE.write_text("".join(f"{k}:{v}\n" for k, v in created.items()))
        CREDENTIALS_FILE.chmod(0o600)
        return {"admin": ("admin", created["admin"]), "agents": [("ana", created["ana"]), ("bruno", created["bruno"])]}

    def _inboxes(self, agents) -> dict[str, Inbox]:
        User = get_user_model()
        members = list(User.objects.filter(username__in=["admin", *[a for a, _ in agents]]))
        inboxes = {}
        widget = WIDGET[self.language]
        for name, kind, extra in INBOXES[self.language]:
            inbox, _ = Inbox.objects.get_or_create(channel_kind=kind, name=name, defaults={
                "channel_config": channel_config(kind, name, extra),
                "greeting": widget["greeting"] if kind == "webchat" else "",
                "widget_settings": {"color": "#4f46e5", "title": widget["title"], "position": "right"},
                "default_language": self.language,
                "currency": SHOP[self.language]["currency"],
            })
            inbox.members.add(*members)
            inboxes[kind] = inbox
        return inboxes

    def _conversations(self, inboxes: dict[str, Inbox]) -> None:
        for kind, address, name, email, subject, texts in CONVERSATIONS[self.language]:
            inbox = inboxes[kind]
            for index, text in enumerate(texts):
                with transaction.atomic():
                    # The bot answers the web chat; the other demo channels have no real
                    # credentials, so their conversations wait for an agent.
                    result = services.receive_inbound(inbox=inbox, auto_reply=kind == "webchat", inbound=InboundMessage(
                        provider_message_id=f"demo-{kind}-{address}-{index}", sender_address=address,
                        sender_name=name, contact_email=email, text=text,
                        metadata={"subject": subject} if subject else {},
                    ))
                    if kind != "webchat" and result.created and result.conversation.status == "bot":
                        services.hand_off(conversation=result.conversation, reason="asked_for_human")
