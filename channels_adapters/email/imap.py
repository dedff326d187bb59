"""Polling an inbox's IMAP folder without losing or re-importing mail.

State is a small dict the integrator stores on the inbox after every poll::

    {"uidvalidity": 1712345678, "last_uid": 42, "resync_until": 0}

Order of work for the caller: ``poll_mailbox`` -> store every returned message (dedupe by
Message-ID) -> save ``new_state`` -> ``mark_processed(config, uids)``. A crash before the
state is saved fetches the same messages again (the Message-ID dedupe drops them); a crash
after it never re-imports them.

First connection and UIDVALIDITY change: the stored UIDs mean nothing any more, so only
UNSEEN messages that already exist are imported (processed mail was marked seen or moved
away), plus everything that arrives afterwards; Message-ID dedupe covers the rest.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_BATCH = 50
DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
SECURITY_MODES = ("ssl", "starttls", "none")


class MailboxError(Exception):
    """Polling failed; the message says what to fix. ``temporary`` errors go away by
    themselves (server down), the others need someone to change the settings."""

    temporary = False


class MailboxUnavailable(MailboxError):
    temporary = True


class MailboxLoginFailed(MailboxError):
    temporary = False


class MailboxFolderError(MailboxError):
    temporary = False


def _tls_context(config: Mapping[str, Any]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=config.get("imap_ca_file") or None)


def connect_imap(config: Mapping[str, Any], *, timeout: float | None = None) -> imaplib.IMAP4:
    """A logged-in connection. Raises ``MailboxError`` subclasses with a clear message."""
    host = config.get("imap_host") or ""
    security = (config.get("imap_security") or "ssl").lower()
    if not host:
        raise MailboxFolderError("imap_host is not configured")
    if security not in SECURITY_MODES:
        raise MailboxFolderError(f"imap_security must be one of {SECURITY_MODES}, not {security!r}")
    port = int(config.get("imap_port") or (993 if security == "ssl" else 143))
    timeout = float(timeout or config.get("imap_timeout") or DEFAULT_TIMEOUT)
    where = f"IMAP {host}:{port}"
    try:
        if security == "ssl":
            conn = imaplib.IMAP4_SSL(host, port, ssl_context=_tls_context(config), timeout=timeout)
        else:
            conn = imaplib.IMAP4(host, port, timeout=timeout)
            if security == "starttls":
                conn.starttls(ssl_context=_tls_context(config))
    except ssl.SSLError as exc:
        raise MailboxFolderError(f"{where}: TLS failed: {exc}") from exc
    except (TimeoutError, socket.timeout) as exc:
        raise MailboxUnavailable(f"{where} did not answer within {timeout:g}s") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxUnavailable(f"{where} unreachable: {exc}") from exc
    username = config.get("imap_username") or ""
    try:
        conn.login(username, config.get("imap_password") or "")
    except imaplib.IMAP4.error as exc:
        _logout(conn)
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise MailboxLoginFailed(f"{where} refused the login for {username!r}: {detail}") from exc
    except OSError as exc:
        raise MailboxUnavailable(f"{where} dropped the connection during login: {exc}") from exc
    return conn


def _logout(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except Exception:
        try:
            conn.shutdown()
        except Exception:
            pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _select(conn: imaplib.IMAP4, folder: str, *, readonly: bool) -> int:
    typ, data = conn.select(_quote(folder), readonly=readonly)
    if typ != "OK":
        raise MailboxFolderError(f"folder {folder!r} cannot be opened: {_text(data)}")
    _, values = conn.response("UIDVALIDITY")
    try:
        return int(values[0])
    except (TypeError, ValueError, IndexError):
        raise MailboxFolderError(f"folder {folder!r}: the server sent no UIDVALIDITY") from None


def _text(data) -> str:
    return " ".join(d.decode(errors="replace") if isinstance(d, bytes) else str(d) for d in data or [] if d)


def _search(conn: imaplib.IMAP4, *criteria: str) -> list[int]:
    typ, data = conn.uid("SEARCH", *criteria)
    if typ != "OK":
        raise MailboxError(f"UID SEARCH {' '.join(criteria)} failed: {_text(data)}")
    return sorted(int(x) for x in b" ".join(d for d in data if d).split())


def _fetch_items(conn: imaplib.IMAP4, uids: list[int], what: str) -> dict[int, bytes]:
    typ, data = conn.uid("FETCH", ",".join(map(str, uids)), what)
    if typ != "OK":
        raise MailboxError(f"UID FETCH failed: {_text(data)}")
    found: dict[int, bytes] = {}
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            match = re.search(rb"UID (\d+)", item[0])
            if match:
                found[int(match.group(1))] = item[1]
    return found


def _sizes(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    typ, data = conn.uid("FETCH", ",".join(map(str, uids)), "(UID RFC822.SIZE)")
    if typ != "OK":
        raise MailboxError(f"UID FETCH RFC822.SIZE failed: {_text(data)}")
    sizes: dict[int, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes):
            uid, size = re.search(rb"UID (\d+)", line), re.search(rb"RFC822\.SIZE (\d+)", line)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _too_large_stand_in(headers: bytes, size: int, limit: int) -> bytes:
    """The headers of a mail too large to download, with a text body saying so: the mail keeps
    its Message-ID, sender and thread, and the agent knows to look in the mailbox."""
    headers = re.sub(rb"(?im)^(content-[a-z-]+|mime-version):.*(\r?\n[ \t].*)*\r?\n", b"", headers)
    note = (f"[This e-mail is {size / 1048576:.1f} MB, over the {limit / 1048576:.1f} MB limit of this inbox "
            "(imap_max_message_bytes), so it was not downloaded. It is still in the mailbox.]\r\n")
    return (headers.rstrip(b"\r\n") + b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"X-Inbox-Not-Downloaded: " + str(size).encode() + b"\r\n\r\n" + note.encode())


def _fetch(conn: imaplib.IMAP4, uids: list[int], *, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> list[tuple[int, bytes]]:
    """The raw messages of ``uids``; one over ``max_bytes`` is replaced by its headers and a note
    (see ``_too_large_stand_in``), so a huge mail neither fills memory nor blocks the mailbox."""
    if not uids:
        return []
    sizes = _sizes(conn, uids)
    large = [uid for uid in uids if sizes.get(uid, 0) > max_bytes]
    small = [uid for uid in uids if uid not in large]
    found = _fetch_items(conn, small, "(UID BODY.PEEK[])") if small else {}
    if large:
        for uid, headers in _fetch_items(conn, large, "(UID BODY.PEEK[HEADER])").items():
            found[uid] = _too_large_stand_in(headers, sizes[uid], max_bytes)
    return [(uid, found[uid]) for uid in uids if uid in found]


def poll_mailbox(config: Mapping[str, Any], state: Mapping[str, Any] | None, *,
                 batch_size: int = DEFAULT_BATCH) -> tuple[list[tuple[int, bytes]], dict[str, int]]:
    """New messages in ``imap_folder`` (default INBOX), oldest first, at most ``batch_size``.

    Messages are read with ``BODY.PEEK`` so polling itself marks nothing as seen.
    """
    state = dict(state or {})
    folder = config.get("imap_folder") or "INBOX"
    conn = connect_imap(config)
    try:
        uidvalidity = _select(conn, folder, readonly=True)
        last_uid = int(state.get("last_uid") or 0)
        resync_until = int(state.get("resync_until") or 0)
        if state.get("uidvalidity") != uidvalidity:
            # new mailbox or UIDs renumbered: existing mail counts only if still unseen
            everything = _search(conn, "ALL")
            last_uid, resync_until = 0, (everything[-1] if everything else 0)
        candidates: list[int] = []
        if last_uid < resync_until:
            candidates += _search(conn, f"UID {last_uid + 1}:{resync_until}", "UNSEEN")
        start = max(last_uid, resync_until) + 1
        # "N:*" always matches the highest UID even when it is below N, hence the filter
        candidates += [uid for uid in _search(conn, f"UID {start}:*") if uid >= start]
        batch = sorted(set(candidates))[:batch_size]
        max_bytes = int(config.get("imap_max_message_bytes") or DEFAULT_MAX_MESSAGE_BYTES)
        messages = _fetch(conn, batch, max_bytes=max_bytes)
        if len(batch) < len(set(candidates)):
            new_last = batch[-1]
        else:
            # nothing more to read: the resync window is finished
            new_last = max([last_uid, resync_until, *batch])
        new_state = {"uidvalidity": uidvalidity, "last_uid": new_last,
                     "resync_until": resync_until if new_last < resync_until else 0}
        return messages, new_state
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise MailboxUnavailable(f"IMAP connection lost while polling {folder!r}: {exc}") from exc
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"IMAP error while polling {folder!r}: {exc}") from exc
    finally:
        _logout(conn)


def mark_processed(config: Mapping[str, Any], uids: Iterable[int]) -> None:
    """Mark stored messages: ``imap_processed_action`` "seen" (default) adds \\Seen, "move"
    moves them to ``imap_processed_folder`` (created when missing)."""
    uids = sorted({int(u) for u in uids})
    if not uids:
        return
    folder = config.get("imap_folder") or "INBOX"
    action = (config.get("imap_processed_action") or "seen").lower()
    if action not in ("seen", "move"):
        raise MailboxFolderError(f"imap_processed_action must be 'seen' or 'move', not {action!r}")
    target = config.get("imap_processed_folder") or "Processed"
    conn = connect_imap(config)
    uid_set = ",".join(map(str, uids))
    try:
        _select(conn, folder, readonly=False)
        typ, data = conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen)")
        if typ != "OK":
            raise MailboxError(f"marking {uid_set} seen failed: {_text(data)}")
        if action == "move":
            typ, data = conn.create(_quote(target))
            if typ != "OK" and b"exist" not in b" ".join(d for d in data if isinstance(d, bytes)).lower():
                raise MailboxFolderError(f"folder {target!r} cannot be created: {_text(data)}")
            if "MOVE" in conn.capabilities:
                typ, data = conn.uid("MOVE", uid_set, _quote(target))
                if typ != "OK":
                    raise MailboxFolderError(f"moving {uid_set} to {target!r} failed: {_text(data)}")
            else:
                typ, data = conn.uid("COPY", uid_set, _quote(target))
                if typ != "OK":
                    raise MailboxFolderError(f"copying {uid_set} to {target!r} failed: {_text(data)}")
                conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
                conn.expunge()
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise MailboxUnavailable(f"IMAP connection lost while marking messages: {exc}") from exc
    except imaplib.IMAP4.error as exc:
        raise MailboxError(f"IMAP error while marking messages: {exc}") from exc
    finally:
        _logout(conn)
