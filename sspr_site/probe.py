"""The synthetic reset of `manage.py probe_reset` (README, "Metrics, logs and the audit stream").

It goes through the reset portal's real pages, in process, for the test account
SSPR_PROBE_USERNAME, with the account's registered email address: the proof-of-work check, the
code sent through the real delivery (the queue and its worker when configured), read back from
SSPR_PROBE_MAILBOX, and a new random password (written to the directory in directory mode). The
result (success and duration) is kept in the shared cache, shown by /metrics as
sspr_probe_reset_success and sspr_probe_reset_duration_seconds, so an operator's alert fires
when email or the directory broke, before people find out.

SSPR_PROBE_MAILBOX: `file` reads the file email backend's directory (EMAIL_FILE_PATH; tests and
staging); `imaps://user:password@host/INBOX` reads the newest message to the test account's
address over IMAP. The new password is never kept or shown.
"""

from __future__ import annotations

import email
import email.utils
import imaplib
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

from . import shared_cache
from .conf import app_settings

RESULT_KEY = "sspr:probe-reset:last"
CODE = re.compile(r"\b(\d{6})\b")


class ProbeFailed(Exception):
    """A step did not answer as it does for a person; the message names the step."""


@dataclass
class Result:
    success: bool
    duration: float
    step: str = ""


def last_result() -> dict | None:
    return shared_cache.read(RESULT_KEY)


def keep(result: Result) -> None:
    shared_cache.keep(
        RESULT_KEY,
        {"success": result.success, "duration": result.duration, "at": time.time()},
        7 * 24 * 3600,
    )


def _expect(response, step: str, location: str | None = None) -> None:
    if response.status_code != 302:
        raise ProbeFailed(f"{step}: answered {response.status_code}")
    if location and not response.headers.get("Location", "").rstrip("/").endswith(location):
        raise ProbeFailed(f"{step}: went to an unexpected page")


def _expect_page(response, step: str, field: str) -> None:
    """The next step's page (the one with `field`), which comes in the answer to the form."""
    if response.status_code != 200 or f'name="{field}"'.encode() not in response.content:
        raise ProbeFailed(f"{step}: answered {response.status_code} without the next page")


def _expect_address(response, step: str, address: str) -> None:
    """The page at `address`, which comes in the answer to the form (it names its own address
    for the address bar, static/js/page-address.js)."""
    if response.status_code != 200 or (
        f'data-page-address="{address}"'.encode() not in response.content
    ):
        raise ProbeFailed(f"{step}: answered {response.status_code} without the next page")


def _code_from_files(address: str, after: float) -> str | None:
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True):
        if path.stat().st_mtime < after:
            break
        for message in reversed(path.read_text(errors="replace").split("-" * 79)):
            if f"To: {address}" in message:
                codes = CODE.findall(message)
                if codes:
                    return codes[-1]
    return None


def _code_from_imap(url: str, address: str, after: float) -> str | None:
    target = urlsplit(url)
    box = imaplib.IMAP4_SSL(target.hostname, target.port or 993, timeout=10)
    try:
        box.login(unquote(target.username or ""), unquote(target.password or ""))
        box.select(target.path.strip("/") or "INBOX")
        _status, data = box.search(None, "TO", f'"{address}"')
        for number in reversed(data[0].split()[-5:]):
            _status, parts = box.fetch(number, "(RFC822)")
            message = email.message_from_bytes(parts[0][1])
            sent = email.utils.parsedate_to_datetime(message.get("Date", ""))
            if sent.timestamp() < after:
                continue
            body = message.get_payload(decode=True) or b""
            if message.is_multipart():
                body = b"".join(
                    part.get_payload(decode=True) or b""
                    for part in message.walk()
                    if part.get_content_type() == "text/plain"
                )
            codes = CODE.findall(body.decode(errors="replace"))
            if codes:
                return codes[-1]
    finally:
        box.logout()
    return None


def read_code(address: str, after: float, wait: float) -> str:
    mailbox = app_settings.PROBE_MAILBOX or "file"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if mailbox == "file":
            code = _code_from_files(address, after)
        else:
            code = _code_from_imap(mailbox, address, after)
        if code:
            return code
        time.sleep(0.5 if mailbox == "file" else 5)
    raise ProbeFailed("code: no message arrived in time")


def _solve_challenge(client) -> str:
    from passwordreset import captcha

    return captcha.solve(client.get("/passwordreset/check/").json())


def run(*, wait: float = 120) -> Result:
    """One reset of the probe account; never raises for a failed step (the result says)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from methods.models import AuthenticationEmail

    started = time.monotonic()
    step = "setup"
    try:
        username = app_settings.PROBE_USERNAME
        if not username:
            raise ProbeFailed("setup: SSPR_PROBE_USERNAME is not set")
        user = get_user_model().objects.filter(username=username).first()
        contact = AuthenticationEmail.objects.filter(user=user).first() if user else None
        if contact is None:
            raise ProbeFailed("setup: the probe account has no registered email address")
        host = urlsplit(app_settings.SITE_URL)
        client = Client(
            HTTP_HOST=host.netloc,
            secure=host.scheme == "https",
            HTTP_REFERER=app_settings.SITE_URL + "/passwordreset/",
        )
        step = "start"
        client.get("/passwordreset/")
        solution = _solve_challenge(client)
        # The methods page comes in the answer to the first page.
        _expect_address(
            client.post(
                "/passwordreset/", {"username": username, "action": "reset", "altcha": solution}
            ),
            step,
            "/passwordreset/methods/",
        )
        step = "send"
        sent_at = time.time() - 1
        _expect_page(client.post("/passwordreset/email/", {"email": contact.email}), step, "code")
        step = "code"
        code = read_code(contact.email, sent_at, wait)
        # The new password's page comes in the answer to the right code.
        _expect_page(
            client.post("/passwordreset/email/code/", {"code": code}), step, "new_password1"
        )
        step = "finish"
        new = f"Probe-{secrets.token_urlsafe(18)}-Reset"
        response = client.post(
            "/passwordreset/finish/", {"new_password1": new, "new_password2": new}
        )
        _expect_address(response, step, "/passwordreset/done/")
    except ProbeFailed as problem:
        result = Result(False, time.monotonic() - started, str(problem))
    except Exception as error:  # any other failure is a failed probe, named by its step
        result = Result(False, time.monotonic() - started, f"{step}: {type(error).__name__}")
    else:
        result = Result(True, time.monotonic() - started, "done")
    keep(result)
    return result
