from __future__ import annotations

import logging
import re
import threading
import time

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from .base import BasePhoneBackend, DeliveryError, DeliveryProblem, PhoneMessage

logger = logging.getLogger("sspr.phone")

TWILIO_API = "https://api.twilio.com"

# Twilio error codes that mean something to the person waiting for the code.
ERROR_CODES = {
    21211: DeliveryProblem.INVALID_NUMBER,  # invalid 'To' number
    21614: DeliveryProblem.INVALID_NUMBER,  # not a mobile number
    21217: DeliveryProblem.INVALID_NUMBER,  # phone number does not appear to be valid
    21408: DeliveryProblem.REGION_NOT_ENABLED,  # permission to send to this region not enabled
    21215: DeliveryProblem.REGION_NOT_ENABLED,  # geo permission for calls
    20429: DeliveryProblem.TOO_MANY_REQUESTS,
}

# Each language's voice: Twilio's language code and one of its Amazon Polly voices for it
# (README, "Languages"). A language not listed is spoken in English.
VOICES = {
    "en": ("en-US", "Polly.Joanna"),
    "de": ("de-DE", "Polly.Marlene"),
    "fr": ("fr-FR", "Polly.Celine"),
    "es": ("es-ES", "Polly.Conchita"),
    "it": ("it-IT", "Polly.Carla"),
    "pt-br": ("pt-BR", "Polly.Camila"),
    "nl": ("nl-NL", "Polly.Lotte"),
    "pl": ("pl-PL", "Polly.Ewa"),
    "ja": ("ja-JP", "Polly.Mizuki"),
    "ar": ("arb", "Polly.Zeina"),
}
# A digit of the code as the voice template writes it ("4."): spoken on its own, then a pause
# long enough to write it down.
SPOKEN_DIGIT = re.compile(r"(?<!\S)(\d)\.(?=\s|$)")
DIGIT_PAUSE_SECONDS = 1


def voice_for(language: str) -> tuple[str, str]:
    code = (language or "en").lower()
    return VOICES.get(code) or VOICES.get(code.split("-")[0]) or VOICES["en"]


class _RebasedHttpClient(TwilioHttpClient):
    """Send Twilio API calls to another base address (a local test server)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


# One client per thread (a worker sends from one): see _client.
_kept = threading.local()
# A connection left unused this long is not used again: the provider, or something on the way,
# may have dropped it meanwhile without a word, and the message sent on it would fail (a POST is
# never sent twice on its own). Messages close together, a person's code and its resend, or a
# queue being worked through, share one.
IDLE_SECONDS = 20


def _client(sid: str, token: str, base_url: str, timeout) -> Client:
    """The thread's client for these settings. Its HTTP session keeps the connection to the
    provider open from one message to the next, where a client made for each message opened a
    new one, with its TLS handshake, for every text and call (docs/performance.md). Other
    settings (another account, another address), or a connection idle for IDLE_SECONDS, get a
    new client; the old one's connection is closed."""
    key = (sid, token, base_url, timeout)
    now = time.monotonic()
    kept = getattr(_kept, "client", None)
    if kept is None or kept[0] != key or now - kept[2] > IDLE_SECONDS:
        if kept is not None:
            _close(kept[1])
        http_client = _RebasedHttpClient(base_url, timeout=timeout)
        kept = (key, Client(sid, token, http_client=http_client), now)
    _kept.client = (kept[0], kept[1], now)
    return kept[1]


def _close(client: Client) -> None:
    session = getattr(client.http_client, "session", None)
    if session is not None:
        session.close()


class PhoneBackend(BasePhoneBackend):
    """Text messages through Programmable Messaging; calls that speak the code through TwiML."""

    def __init__(self):
        sid, token = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN
        self.from_number = settings.TWILIO_FROM_NUMBER
        if not (sid and token and self.from_number):
            raise ImproperlyConfigured(
                "The twilio phone backend needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                "TWILIO_FROM_NUMBER."
            )
        self.client = _client(sid, token, settings.TWILIO_API_BASE_URL, settings.TWILIO_TIMEOUT)

    def twiml(self, message: PhoneMessage) -> str:
        """The text in the language's own voice, each digit of the code said alone and
        followed by a pause (the text says the code twice: methods/messages/voice_code.txt)."""
        language, voice = voice_for(message.language)
        response = VoiceResponse()
        position = 0
        for digit in SPOKEN_DIGIT.finditer(message.text):
            if before := message.text[position : digit.start()].strip():
                response.say(before, language=language, voice=voice)
            response.say(digit.group(1), language=language, voice=voice)
            response.pause(length=DIGIT_PAUSE_SECONDS)
            position = digit.end()
        if rest := message.text[position:].strip():
            response.say(rest, language=language, voice=voice)
        return str(response)

    def send(self, message: PhoneMessage) -> None:
        try:
            if message.kind == "voice":
                self.client.calls.create(
                    to=message.to, from_=self.from_number, twiml=self.twiml(message)
                )
            else:
                self.client.messages.create(
                    to=message.to, from_=self.from_number, body=message.text
                )
        except TwilioRestException as exc:
            problem = ERROR_CODES.get(exc.code)
            if problem is None:
                problem = (
                    DeliveryProblem.TOO_MANY_REQUESTS
                    if exc.status == 429
                    else DeliveryProblem.UNAVAILABLE
                )
            logger.warning(
                "twilio refused a %s: status=%s code=%s", message.kind, exc.status, exc.code
            )
            # Not chained: Twilio's own message names the number, and the worker logs a
            # retried job's whole traceback (docs/security.md §21).
            raise DeliveryError(problem, f"twilio {exc.status}/{exc.code}") from None
        except (TwilioException, requests.RequestException) as exc:
            logger.warning("twilio unreachable for a %s: %s", message.kind, type(exc).__name__)
            raise DeliveryError(DeliveryProblem.UNAVAILABLE, type(exc).__name__) from None
