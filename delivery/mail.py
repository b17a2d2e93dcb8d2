"""Email through one SMTP connection that each process keeps open between messages.

Django's SMTP backend connects, greets the server (and starts TLS and signs in, where set), sends
one message and says goodbye, for every message. A run of reminders or notices then pays the
whole handshake each time: round trips to the relay, and with TLS its key exchange. Here the
connection is kept while messages keep coming and closed once it has been idle for
IDLE_SECONDS (mail servers drop idle connections, often after a minute). A kept connection the
server has closed meanwhile is found at the next message, which is sent once more on a new one;
a new connection that fails is a failure like any other (delivery.jobs.transmit says which).
Other backends (console, file, memory) are used as Django uses them.
"""

from __future__ import annotations

import atexit
import contextlib
import smtplib
import threading
import time

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

# A connection unused this long is closed before the next message goes on a new one.
IDLE_SECONDS = 30

_lock = threading.Lock()
_kept: dict = {"backend": None, "key": None, "used": 0.0}


def _settings_key() -> tuple:
    """What a kept connection was opened with: another server, account or security is another
    connection."""
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
        settings.EMAIL_TIMEOUT,
    )


def _close() -> None:
    backend, _kept["backend"] = _kept["backend"], None
    if backend is not None:
        # QUIT, where the server still listens; a connection that is going anyway may fail it.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            backend.close()


def _open() -> SmtpBackend:
    backend = get_connection(fail_silently=False)
    backend.open()
    _kept.update(backend=backend, key=_settings_key())
    return backend


def _gone(error: Exception) -> bool:
    """Whether `error` says the server closed a kept connection (not that it refused)."""
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code == 421


def send(message: EmailMessage) -> None:
    """Send `message`; raise what the backend raises when it cannot."""
    backend = get_connection(fail_silently=False)
    if not isinstance(backend, SmtpBackend):
        message.connection = backend
        message.send()
        return
    with _lock:
        kept = _kept["backend"]
        if kept is not None and (
            _kept["key"] != _settings_key() or time.monotonic() - _kept["used"] > IDLE_SECONDS
        ):
            _close()
            kept = None
        try:
            _send_on(kept or _open(), message)
        except Exception as error:
            if kept is None or not _gone(error):
                raise
            # The server had closed the kept connection: once more, on a new one.
            _send_on(_open(), message)


def _send_on(backend: SmtpBackend, message: EmailMessage) -> None:
    """Send on `backend`. A refused address leaves the connection as it was (the server said
    no to the address, and smtplib has reset the transaction); anything else closes it."""
    message.connection = backend
    try:
        backend.send_messages([message])
    except smtplib.SMTPRecipientsRefused:
        _kept["used"] = time.monotonic()
        raise
    except Exception:
        _close()
        raise
    _kept["used"] = time.monotonic()


atexit.register(_close)
