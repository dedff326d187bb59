"""The layers import one way: ``inbox`` knows nothing of the bot, retention or the widget, and
adapters know nothing of Django models (docs/architecture.md, "Which way the imports run")."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ALONE = """
import sys
import django
django.setup()
import inbox.services, inbox.inbound, inbox.outbound, inbox.webhooks, inbox.tasks  # noqa: E401
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('bot', 'retention', 'widget'))
assert not loaded, loaded
from django.core.management import call_command
call_command('migrate', verbosity=0)
from channels_adapters.base import InboundMessage
from inbox import services
from inbox.models import Inbox
inbox = Inbox.objects.create(name='web', channel_kind='webchat')
result = services.receive_inbound(inbox=inbox, inbound=InboundMessage(provider_message_id='m1', sender_address='v1', text='hi'))
assert result.created and result.conversation.status == 'pending', result.conversation.status
services.resolve(conversation=result.conversation)
print('ok')
"""


def test_write_path_works_without_bot_retention_and_widget():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.layering.settings_inbox_only", "DEBUG": "1",
           "HUEY_IMMEDIATE": "1"}
    env.pop("DATABASE_URL", None)
    run = subprocess.run([sys.executable, "-c", ALONE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith("ok")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def test_inbox_never_imports_bot_retention_or_widget():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("inbox") for name in _imports(path)
        if name.split(".")[0] in ("bot", "retention", "widget")
    ]
    assert offenders == []


def test_adapters_are_translators_without_models_or_services():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("channels_adapters") for name in _imports(path)
        if name.split(".")[0] in ("inbox", "bot", "retention", "widget") or name.startswith("django.db")
    ]
    assert offenders == []


def test_shop_connectors_are_translators_without_models_or_services():
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("shop_connectors") for name in _imports(path)
        if name.split(".")[0] in ("inbox", "bot", "retention", "widget", "shops") or name.startswith("django.db")
    ]
    assert offenders == []


def test_bot_imports_retention_only_by_name():
    """Order answers reach retention through ``settings.BOT_ORDER_PROVIDER``."""
    offenders = [f"{path.relative_to(ROOT)}: {name}" for path in _modules("bot") for name in _imports(path)
                 if name.split(".")[0] in ("retention", "shops")]
    assert offenders == []


def test_only_task_modules_import_task_modules():
    """Services and pipelines enqueue through ``inbox.queue``; nothing but an app's ``ready()``
    imports a ``tasks`` module, so no import circle runs through the tasks."""
    offenders = []
    for package in ("inbox", "bot", "retention", "widget", "channels_adapters", "shops", "shop_connectors"):
        for path in _modules(package):
            if path.name in ("tasks.py", "apps.py"):
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom):
                    module = node.module or ""
                    names = [alias.name for alias in node.names]
                    if module.endswith("tasks") or "tasks" in names:
                        offenders.append(f"{path.relative_to(ROOT)}: from {'.' * node.level}{module} import {names}")
    assert offenders == []


def test_modules_stay_small():
    too_big = []
    for package in ("inbox", "bot", "retention", "widget", "channels_adapters", "config", "shops",
                    "shop_connectors"):
        for path in _modules(package):
            lines = len(path.read_text().splitlines())
            if lines > 500:
                too_big.append(f"{path.relative_to(ROOT)}: {lines}")
    assert too_big == []
