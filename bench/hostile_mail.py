"""Hostile e-mails, and how long the real parsing entry point takes on each.

``python bench/hostile_mail.py`` builds every mail of ``HOSTILE`` and times
``EmailAdapter.parse_raw`` (what both the IMAP poller and the webhook task call), printing one
line per mail and exiting non-zero when one takes over the budget (1 s by default). The
builders are imported by ``tests/email/test_limits.py``, which checks the caps themselves
(never the timing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _head(extra: str = "", content_type: str = "text/plain; charset=utf-8") -> str:
    return (
        "From: Attacker <evil@example.test>\r\nTo: support@shop.test\r\n"
        "Subject: hostile\r\nMessage-ID: <hostile@example.test>\r\n"
        f"{extra}MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    )


def many_parts(n: int = 10_000) -> bytes:
    parts = "".join(f"--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(n))
    return (_head(content_type='multipart/mixed; boundary="b"') + parts + "--b--\r\n").encode()


def many_attachments(n: int = 5_000) -> bytes:
    parts = "".join(
        f'--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; '
        f'filename="f{i}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n' for i in range(n))
    return (_head(content_type='multipart/mixed; boundary="b"') + "--b\r\n\r\nhello\r\n" + parts + "--b--\r\n").encode()


def many_recipients(n: int = 50_000) -> bytes:
    to = ", ".join(f"r{i}@example.test" for i in range(n))
    return (_head(f"Cc: {to}\r\n") + "hello\r\n").encode()


def many_named_recipients(n: int = 20_000) -> bytes:
    to = ",\r\n ".join(f'"Person, {i}" <r{i}@example.test>' for i in range(n))
    return (_head(f"To: {to}\r\n") + "hello\r\n").encode()


def nested_divs(n: int = 100_000) -> bytes:
    html = "<div>" * n + "deep" + "</div>" * n
    return (_head(content_type="text/html; charset=utf-8") + html + "\r\n").encode()


def nested_unclosed(n: int = 100_000) -> bytes:
    html = "<b><i><span>" * (n // 3) + "deep"
    return (_head(content_type="text/html; charset=utf-8") + html + "\r\n").encode()


def nested_multipart(n: int = 2_000) -> bytes:
    body = "innermost\r\n"
    for i in range(n):
        body = f'Content-Type: multipart/mixed; boundary="n{i}"\r\n\r\n--n{i}\r\n{body}\r\n--n{i}--\r\n'
    return (_head(content_type='multipart/mixed; boundary="top"') + f"--top\r\n{body}--top--\r\n").encode()


def nested_rfc822(n: int = 500) -> bytes:
    inner = "From: a@b.test\r\nSubject: inner\r\n\r\nbottom\r\n"
    for _ in range(n):
        inner = f"From: a@b.test\r\nSubject: fwd\r\nContent-Type: message/rfc822\r\n\r\n{inner}"
    return (_head(content_type="message/rfc822") + inner).encode()


def huge_html(megabytes: int = 4) -> bytes:
    row = "<p>lorem <a href='http://x.test/a'>ipsum</a> <b>dolor</b> sit amet</p>\n"
    return (_head(content_type="text/html; charset=utf-8") + row * (megabytes * 1024 * 1024 // len(row))).encode()


def many_tags_flat(n: int = 300_000) -> bytes:
    return (_head(content_type="text/html; charset=utf-8") + "<b>x</b>" * n).encode()


def long_header(n: int = 2_000_000) -> bytes:
    return (_head(f"X-Junk: {'a' * n}\r\nSubject2: {'=?utf-8?q?x?= ' * 50_000}\r\n") + "hi\r\n").encode()


def many_headers(n: int = 100_000) -> bytes:
    return (_head("".join(f"X-H{i}: v\r\n" for i in range(n))) + "hi\r\n").encode()


def long_quoted_text(n: int = 200_000) -> bytes:
    text = "hello\r\n" + "".join(f"> quoted line {i}\r\n" for i in range(n))
    return (_head() + text).encode()


def many_lines_attribution(n: int = 200_000) -> bytes:
    return (_head() + "On " + "x " * n + "\r\n" * 3 + "wrote:\r\n").encode()


HOSTILE = {
    "10,000 MIME parts": many_parts,
    "5,000 attachments": many_attachments,
    "50,000 recipients": many_recipients,
    "20,000 named recipients": many_named_recipients,
    "100,000 nested <div>": nested_divs,
    "100,000 unclosed inline tags": nested_unclosed,
    "2,000 nested multiparts": nested_multipart,
    "500 nested message/rfc822": nested_rfc822,
    "4 MB of HTML": huge_html,
    "300,000 flat tags": many_tags_flat,
    "2 MB header": long_header,
    "100,000 headers": many_headers,
    "200,000 quoted lines": long_quoted_text,
    "400 KB attribution-like line": many_lines_attribution,
}


def _baseline(adapter, rounds: int = 50) -> float:
    """CPU seconds for one ordinary Gmail reply (the same run's yardstick)."""
    raw = (Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "email" / "gmail_reply__en.eml").read_bytes()
    started = time.process_time()
    for _ in range(rounds):
        adapter.parse_raw(raw)
    return (time.process_time() - started) / rounds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1.0, help="CPU seconds allowed per mail")
    parser.add_argument("--only", default="", help="substring of the mails to run")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_TESTING", "1")
    from channels_adapters.email import EmailAdapter

    adapter = EmailAdapter({"address": "support@shop.test"})
    worst = 0.0
    for name, build in HOSTILE.items():
        if args.only and args.only not in name:
            continue
        raw = build()
        started, wall = time.process_time(), time.perf_counter()
        parsed = adapter.parse_raw(raw)
        elapsed = time.process_time() - started  # CPU time: other jobs on a shared machine barely move it
        wall = time.perf_counter() - wall
        worst = max(worst, elapsed)
        message = parsed.messages[0] if parsed.messages else None
        detail = ""
        if message is not None:
            detail = (f"text {len(message.text):>7} chars, html {len(message.html):>7}, "
                      f"{len(message.attachments):>3} attachments, {len(message.metadata.get('limits', []))} limits hit")
        print(f"{name:<32} {len(raw) / 1024:>8.0f} KB  cpu {elapsed:6.3f} s  wall {wall:6.3f} s  {detail}")
    baseline = _baseline(adapter)
    print(f"worst: {worst:.3f} s CPU (budget {args.budget:g} s); a normal reply parses in {baseline * 1000:.2f} ms "
          f"CPU, so the worst hostile mail costs {worst / baseline:.0f} normal mails")
    return 0 if worst < args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
