"""Polling a real Dovecot on 127.0.0.1."""

import pytest

from channels_adapters.email import (
    MailboxLoginFailed,
    MailboxUnavailable,
    mark_processed,
    parse_email,
    poll_mailbox,
)
from tests.mailservers import dovecot, free_port  # noqa: F401


def mail(n: int) -> bytes:
    return (f"From: Customer {n} <c{n}@example.test>\r\nTo: support@shop.test\r\n"
            f"Subject: Question {n}\r\nMessage-ID: <q{n}@example.test>\r\n\r\nQuestion number {n}\r\n").encode()


def ids(messages):
    return [parse_email(raw).message_id for _, raw in messages]


def test_new_mail_is_imported_once(dovecot):
    config = dovecot.config()
    dovecot.append(mail(1))
    dovecot.append(mail(2))
    messages, state = poll_mailbox(config, {})
    assert ids(messages) == ["<q1@example.test>", "<q2@example.test>"]
    assert messages[0][1].endswith(b"Question number 1\r\n")
    # reading does not mark anything seen: only mark_processed does
    assert all("Seen" not in flags for flags in dovecot.flags().values())

    again, state = poll_mailbox(config, state)
    assert again == []
    dovecot.append(mail(3))
    newer, state = poll_mailbox(config, state)
    assert ids(newer) == ["<q3@example.test>"]


def test_restart_with_saved_state_imports_nothing_twice(dovecot):
    config = dovecot.config()
    dovecot.append(mail(1))
    _, state = poll_mailbox(config, {})
    saved = dict(state)  # what the integrator stores on the inbox
    dovecot.append(mail(2))
    # a new process starts with only the saved state
    messages, state = poll_mailbox(dict(config), saved)
    assert ids(messages) == ["<q2@example.test>"]
    assert poll_mailbox(config, state)[0] == []


def test_batches(dovecot):
    config = dovecot.config()
    for n in range(1, 6):
        dovecot.append(mail(n))
    seen: list[str] = []
    state: dict = {}
    for _ in range(3):
        messages, state = poll_mailbox(config, state, batch_size=2)
        seen += ids(messages)
    assert seen == [f"<q{n}@example.test>" for n in range(1, 6)]
    assert poll_mailbox(config, state, batch_size=2)[0] == []


def test_first_sync_takes_only_unseen_existing_mail(dovecot):
    config = dovecot.config()
    dovecot.append(mail(1), seen=True)  # read by a person before the inbox was connected
    dovecot.append(mail(2))
    messages, state = poll_mailbox(config, {})
    assert ids(messages) == ["<q2@example.test>"]
    dovecot.append(mail(3))
    assert ids(poll_mailbox(config, state)[0]) == ["<q3@example.test>"]


def test_mark_processed_seen(dovecot):
    config = dovecot.config()
    dovecot.append(mail(1))
    dovecot.append(mail(2))
    messages, _ = poll_mailbox(config, {})
    mark_processed(config, [messages[0][0]])
    flags = dovecot.flags()
    assert "\\Seen" in flags[messages[0][0]]
    assert "\\Seen" not in flags[messages[1][0]]


def test_mark_processed_move(dovecot):
    config = dovecot.config(imap_processed_action="move", imap_processed_folder="Processed")
    dovecot.append(mail(1))
    dovecot.append(mail(2))
    messages, state = poll_mailbox(config, {})
    mark_processed(config, [uid for uid, _ in messages])
    assert dovecot.flags("INBOX") == {}
    moved = dovecot.flags("Processed")
    assert len(moved) == 2 and all("\\Seen" in f for f in moved.values())
    # moving again into the now existing folder works too
    dovecot.append(mail(3))
    messages, state = poll_mailbox(config, state)
    mark_processed(config, [uid for uid, _ in messages])
    assert len(dovecot.flags("Processed")) == 3


def test_uidvalidity_change_resyncs_with_unseen_only(dovecot):
    conn = dovecot.connect()
    conn.create('"Support"')
    conn.logout()
    config = dovecot.config(imap_folder="Support")
    dovecot.append(mail(1), folder="Support")
    messages, state = poll_mailbox(config, {})
    mark_processed(config, [uid for uid, _ in messages])
    old_validity = state["uidvalidity"]

    # the folder is rebuilt (e.g. restored from a backup): UIDs are renumbered
    conn = dovecot.connect()
    conn.delete('"Support"')
    conn.create('"Support"')
    conn.logout()
    dovecot.append(mail(1), folder="Support", seen=True)  # already processed before
    dovecot.append(mail(2), folder="Support")  # arrived, not yet processed
    messages, state = poll_mailbox(config, state)
    assert state["uidvalidity"] != old_validity
    assert ids(messages) == ["<q2@example.test>"]
    dovecot.append(mail(3), folder="Support", seen=True)  # new after the resync: imported even if read
    assert ids(poll_mailbox(config, state)[0]) == ["<q3@example.test>"]


def test_stored_state_with_a_foreign_uidvalidity_is_resynced(dovecot):
    config = dovecot.config()
    dovecot.append(mail(1), seen=True)
    dovecot.append(mail(2))
    messages, state = poll_mailbox(config, {"uidvalidity": 1, "last_uid": 999})
    assert ids(messages) == ["<q2@example.test>"]


def test_wrong_password_is_a_clear_error(dovecot):
    config = dovecot.config(imap_password="wrong")
    with pytest.raises(MailboxLoginFailed, match="refused the login for 'support@shop.test'"):
        poll_mailbox(config, {})


def test_server_down_is_unavailable():
    port = free_port()
    config = {"imap_host": "127.0.0.1", "imap_port": port, "imap_security": "none",
              "imap_username": "x", "imap_password": "y", "imap_timeout": 5}
    with pytest.raises(MailboxUnavailable, match=f"127.0.0.1:{port}") as info:
        poll_mailbox(config, {})
    assert info.value.temporary


def test_missing_folder_is_a_clear_error(dovecot):
    from channels_adapters.email import MailboxFolderError

    with pytest.raises(MailboxFolderError, match="'Nope'"):
        poll_mailbox(dovecot.config(imap_folder="Nope"), {})


def test_a_mail_over_the_size_limit_is_imported_as_headers_and_a_note(dovecot):
    config = {**dovecot.config(), "imap_max_message_bytes": 2000}
    big = (b"From: Big <big@example.test>\r\nTo: support@shop.test\r\nSubject: huge\r\n"
           b"Message-ID: <big@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
           + b"x" * 5000 + b"\r\n")
    dovecot.append(mail(1))
    dovecot.append(big)
    messages, _ = poll_mailbox(config, {})
    assert ids(messages) == ["<q1@example.test>", "<big@example.test>"]
    assert messages[0][1].endswith(b"Question number 1\r\n")
    stand_in = parse_email(messages[1][1])
    assert len(messages[1][1]) < 1000 and b"x" * 100 not in messages[1][1]
    assert stand_in.subject == "huge" and stand_in.from_address == "big@example.test"
    assert "not downloaded" in stand_in.new_text and "still in the mailbox" in stand_in.new_text
