"""Security headers: a CSP on every HTML page, SVG and HTML uploads served as sandboxed
downloads, and `manage.py check --deploy` clean under production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile

from inbox import services
from inbox.models import Attachment
from tests.factories import make_agent, make_inbox, receive

pytestmark = pytest.mark.django_db

KEY = "x" * 43 + "="  # a syntactically valid Fernet key (32 bytes of url-safe base64)


@pytest.mark.parametrize("url", ["/login/", "/", "/bot/console/", "/retention/reports/", "/demo-shop/",
                                 "/admin/", "/api/docs/"])
def test_every_html_page_has_a_content_security_policy(client, url):
    client.force_login(make_agent("root", staff=True, is_superuser=True))
    response = client.get(url)
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip())
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"


@pytest.mark.parametrize("filename, content_type, inline", [
    ("logo.svg", "image/svg+xml", False),
    ("page.html", "text/html", False),
    ("photo.png", "image/png", True),
])
def test_uploads_that_can_carry_scripts_are_sandboxed_downloads(client, settings, tmp_path, filename,
                                                                content_type, inline):
    settings.MEDIA_ROOT = tmp_path
    agent = make_agent("ana")
    inbox = make_inbox("webchat", members=[agent])
    conversation = receive(inbox, "hi", auto_reply=False).conversation
    message = services.add_note(conversation=conversation, author=agent, text="see file")
    attachment = Attachment(message=message, filename=filename, content_type=content_type)
    attachment.file.save(filename, ContentFile(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
                         save=True)
    client.force_login(agent)
    response = client.get(f"/files/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline" if inline else "attachment")
    assert "sandbox" in response["Content-Security-Policy"] and response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("extra", [{}, {"REDIS_URL": "redis://127.0.0.1:6399/0"}])
def test_check_deploy_is_clean_under_production_settings(extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "PYTEST_VERSION", "DJANGO_TESTING",
                                                            "DATABASE_URL", "REDIS_URL")}
    env.update(SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="support.example.com", ENCRYPTION_KEYS=KEY,
               PUBLIC_BASE_URL="https://support.example.com", DATA_DIR=str(tmp_path), **extra)
    run = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                         cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no issues" in run.stdout


def test_https_base_url_turns_on_hsts_and_the_redirect(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "PYTEST_VERSION", "DJANGO_TESTING")}
    env.update(SECRET_KEY=secrets.token_urlsafe(50), PUBLIC_BASE_URL="https://support.example.com",
               DATA_DIR=str(tmp_path))
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE)")
    run = subprocess.run([sys.executable, "-c", code], cwd=django_settings.BASE_DIR,
                         env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"}, capture_output=True, text=True,
                         timeout=60)
    assert run.stdout.split() == ["True", "31536000", "True"], run.stderr
