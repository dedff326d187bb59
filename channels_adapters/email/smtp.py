"""Sending through an inbox's own SMTP server, with errors sorted into retry / give up.

Temporary (retried with backoff): connection refused or dropped, timeouts, DNS failures,
4xx replies. Permanent (not retried): 5xx replies such as a refused recipient, a failed
login, a certificate the server presents that does not verify.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from channels_adapters.base import PermanentSendError, SendError, TemporarySendError

DEFAULT_TIMEOUT = 30.0
SECURITY_MODES = ("ssl", "starttls", "none")


def _tls_context(config: Mapping[str, Any]) -> ssl.SSLContext:
    # smtp_ca_file lets a self-hosted server with its own CA (and the tests) verify properly
    # instead of turning verification off.
    cafile = config.get("smtp_ca_file") or None
    return ssl.create_default_context(cafile=cafile)


def _error_for_code(code: int, text: str, what: str) -> SendError:
    cls = PermanentSendError if 500 <= code < 600 else TemporarySendError
    return cls(f"{what}: {code} {text}".strip(), code=str(code))


def _decode(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value or "")


def connect_smtp(config: Mapping[str, Any], *, timeout: float | None = None) -> smtplib.SMTP:
    """An open, authenticated connection (the caller quits it). Raises ``SendError``."""
    host = config.get("smtp_host") or ""
    security = (config.get("smtp_security") or "starttls").lower()
    if not host:
        raise PermanentSendError("smtp_host is not configured", code="config")
    if security not in SECURITY_MODES:
        raise PermanentSendError(f"smtp_security must be one of {SECURITY_MODES}, not {security!r}",
                                 code="config")
    port = int(config.get("smtp_port") or {"ssl": 465, "starttls": 587, "none": 25}[security])
    timeout = float(timeout or config.get("smtp_timeout") or DEFAULT_TIMEOUT)
    where = f"SMTP {host}:{port}"
    try:
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context(config))
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            if security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise PermanentSendError(f"{where} does not offer STARTTLS", code="starttls")
                smtp.starttls(context=_tls_context(config))
                smtp.ehlo()
            username = config.get("smtp_username") or ""
            if username:
                smtp.login(username, config.get("smtp_password") or "")
        except BaseException:
            _close(smtp)
            raise
    except SendError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentSendError(f"{where} refused the login for {config.get('smtp_username')!r}: "
                                 f"{exc.smtp_code} {_decode(exc.smtp_error)}", code="auth") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise PermanentSendError(f"{where}: {exc}", code="unsupported") from exc
    except ssl.SSLCertVerificationError as exc:
        raise PermanentSendError(f"{where}: certificate did not verify: {exc}", code="tls") from exc
    except smtplib.SMTPResponseException as exc:
        raise _error_for_code(exc.smtp_code, _decode(exc.smtp_error), where) from exc
    except (TimeoutError, socket.timeout) as exc:
        raise TemporarySendError(f"{where} timed out after {timeout:g}s", code="timeout") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporarySendError(f"{where} unreachable: {exc}", code="connection") from exc
    return smtp


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:
        smtp.close()


def send_via_smtp(config: Mapping[str, Any], message: EmailMessage, *,
                  timeout: float | None = None) -> dict[str, tuple[int, bytes]]:
    """Send ``message`` with the inbox's SMTP settings (keys ``smtp_host``, ``smtp_port``,
    ``smtp_security`` ssl|starttls|none, ``smtp_username``, ``smtp_password``, optional
    ``smtp_timeout`` seconds and ``smtp_ca_file``).

    Returns the recipients refused while others were accepted (smtplib's dict); raises
    ``PermanentSendError`` / ``TemporarySendError`` when nothing was delivered.
    """
    smtp = connect_smtp(config, timeout=timeout)
    where = f"SMTP {config.get('smtp_host')}:{config.get('smtp_port')}"
    try:
        return smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{rcpt}: {code} {_decode(text)}" for rcpt, (code, text) in exc.recipients.items())
        cls = PermanentSendError if codes and all(500 <= c < 600 for c in codes) else TemporarySendError
        raise cls(f"{where} refused the recipient(s): {detail}", code=str(codes[0] if codes else "")) from exc
    except smtplib.SMTPSenderRefused as exc:
        raise _error_for_code(exc.smtp_code, _decode(exc.smtp_error), f"{where} refused sender {exc.sender}") from exc
    except smtplib.SMTPResponseException as exc:
        raise _error_for_code(exc.smtp_code, _decode(exc.smtp_error), where) from exc
    except (TimeoutError, socket.timeout) as exc:
        raise TemporarySendError(f"{where} timed out while sending", code="timeout") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporarySendError(f"{where} failed while sending: {exc}", code="connection") from exc
    finally:
        _close(smtp)
