"""Email through one SMTP connection that each process keeps open between messages.

Django's SMTP backend connects, greets the server (and starts TLS and signs in, where set), sends
one message and says goodbye, for every message. A run of reminders or notices then pays the
whole handshake each time: round trips to the relay, and with TLS its key exchange. Here the
connection is kept while messages keep coming. Before a kept connection is used again it is
looked at without a round trip: an idle SMTP session has nothing to read, so anything to read
(the server's 421, or its hang-up) means it is gone, and a new one is opened. So is one idle
for more than IDLE_SECONDS (mail servers drop idle connections, often after a minute), or
opened with other settings. A message is never sent twice on the strength of a guess: once it
may have left, whatever goes wrong is a failure the queue tries again later, as before. The only
second try at once is after a 421 refusing the sender (nothing of the message was sent yet).
Other backends (console, file, memory) are used as Django uses them.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import select
import smtplib
import threading
import time

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

# A connection unused this long is not used again: the next message opens a new one.
IDLE_SECONDS = 30

_lock = threading.Lock()
_kept: dict = {"backend": None, "key": None, "used": 0.0}


def _settings_key() -> tuple:
    """What a kept connection was opened with: another server, account or security is another
    connection (the password as a digest only)."""
    password = hashlib.sha256(str(settings.EMAIL_HOST_PASSWORD).encode()).hexdigest()
    return (
        settings.EMAIL_BACKEND,
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        password,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
        settings.EMAIL_SSL_CERTFILE,
        settings.EMAIL_SSL_KEYFILE,
        settings.EMAIL_TIMEOUT,
    )


def _close() -> None:
    """Let the kept connection go: its socket closed, with no goodbye to wait for (a server
    gone silent would hold the sender up to the time-out)."""
    backend, _kept["backend"] = _kept["backend"], None
    if backend is not None and backend.connection is not None:
        with contextlib.suppress(OSError):
            backend.connection.close()
        backend.connection = None


def _open() -> SmtpBackend:
    backend = get_connection(fail_silently=False)
    backend.open()
    _kept.update(backend=backend, key=_settings_key(), used=time.monotonic())
    return backend


def _alive(backend: SmtpBackend) -> bool:
    """Whether a kept connection can carry another message: open, and nothing to read."""
    sock = getattr(backend.connection, "sock", None)
    if sock is None:
        return False
    pending = getattr(sock, "pending", None)  # what TLS has read and not handed over yet
    if pending is not None and pending():
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _reusable() -> SmtpBackend | None:
    kept = _kept["backend"]
    if kept is None:
        return None
    if (
        _kept["key"] == _settings_key()
        and time.monotonic() - _kept["used"] <= IDLE_SECONDS
        and _alive(kept)
    ):
        return kept
    _close()
    return None


def send(message: EmailMessage) -> None:
    """Send `message`; raise what the backend raises when it cannot."""
    backend = get_connection(fail_silently=False)
    if not isinstance(backend, SmtpBackend):
        message.connection = backend
        message.send()
        return
    with _lock:
        kept = _reusable()
        try:
            _send_on(kept or _open(), message)
        except smtplib.SMTPSenderRefused as refused:
            if kept is None or refused.smtp_code != 421:
                raise
            # The server closed the kept connection as the message began: nothing of it was
            # sent, so once more, on a new connection.
            _send_on(_open(), message)


def _send_on(backend: SmtpBackend, message: EmailMessage) -> None:
    """Send on `backend`. A refused address leaves the connection as it was (smtplib has reset
    the transaction), unless the server closed it with a 421; anything else, or anything that
    stops the send (a job's time limit), lets it go."""
    message.connection = backend
    try:
        sent = backend.send_messages([message])
    except smtplib.SMTPRecipientsRefused as refused:
        if any(code == 421 for code, _text in refused.recipients.values()):
            _close()
        else:
            _kept["used"] = time.monotonic()
        raise
    except BaseException:
        _close()
        raise
    if sent != 1:
        _close()
        raise smtplib.SMTPException("the message was not sent")
    _kept["used"] = time.monotonic()


atexit.register(_close)
