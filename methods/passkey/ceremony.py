"""The two WebAuthn ceremonies on the server, with py_webauthn: register a key, and check an
assertion at reset. The relying party id and the accepted origins come from settings
(SSPR_WEBAUTHN_RP_ID, SSPR_WEBAUTHN_ORIGINS); user verification is always required
(docs/security.md §38)."""

from __future__ import annotations

import json
import re

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    parse_cbor,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from sspr_site.conf import app_settings as site_settings

from .models import Passkey

# What py_webauthn offers the browser (and accepts) by default: EdDSA, ES256, RS256. A key of
# one of these must also be a real key of that kind, or no signature would ever verify.
RSA_SMALLEST_BITS = 2048

REGISTER_CHALLENGE = "sspr_passkey_register"
# How long a spent registration challenge is remembered: longer than a browser asks for.
CHALLENGE_SECONDS = 15 * 60
# The longest credential id WebAuthn allows; the column holds it written in base64url.
MOST_ID_BYTES = 1023
RESET_CHALLENGE = "sspr_passkey_reset"
# Challenges a session holds for each ceremony at once, one per page opened (two tabs, a
# reload, a page the browser fetched ahead): an answer to any of them is checked, and spends
# it; the oldest goes past this many.
MOST_CHALLENGES = 4


class Refused(Exception):
    """The browser's answer did not verify, or the key is already registered."""

    message = gettext_lazy(
        "The key could not be added: it did not answer as expected, or it is added already. "
        "Nothing was saved. Try again or use another key."
    )


# What reading a browser's answer (JSON, and the CBOR inside it) raises when it is not one:
# RecursionError too, for an answer nested deeper than the parser goes.
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
MALFORMED = (WebAuthnException, ValueError, TypeError, LookupError, AttributeError, RecursionError)


def _held(request, key: str) -> list[str]:
    held = request.session.get(key)
    if isinstance(held, str):  # kept by the version before, one at a time
        return [held]
    return [value for value in held if isinstance(value, str)] if isinstance(held, list) else []


def _keep_challenge(request, key: str, challenge: bytes) -> None:
    held = _held(request, key)[-(MOST_CHALLENGES - 1) :]
    request.session[key] = [*held, bytes_to_base64url(challenge)]


def _answered_challenge(credential: str) -> str:
    """The challenge the browser's answer says it answers (its client data), or ""."""
    try:
        client_data = json.loads(credential)["response"]["clientDataJSON"]
        value = json.loads(base64url_to_bytes(client_data))["challenge"]
    except MALFORMED:
        return ""
    return value if isinstance(value, str) and BASE64URL.fullmatch(value) else ""


def _take_challenge(request, key: str, credential: str) -> str | None:
    """The challenge `credential` answers, if this session holds it for the ceremony `key`:
    taken, so that it is used once (a wrong answer to it spends it too). None otherwise,
    leaving the others: an answer to a page opened elsewhere spends nothing here."""
    held = _held(request, key)
    answered = _answered_challenge(credential)
    if not answered or answered not in held:
        return None
    held.remove(answered)
    request.session[key] = held
    return answered


class UnusableKey(Refused):
    """The answer verified, but the public key in it could never check a signature."""

    message = gettext_lazy(
        "The key could not be added: the public key it gave cannot be used to check its "
        "signatures. Nothing was saved. Use another key."
    )


def usable_public_key(cose: bytes) -> None:
    """Raise UnusableKey unless `cose` is a COSE key map of an algorithm the site offers and a
    key that algorithm can verify with: an EC2 P-256 point on its curve for ES256, an Ed25519
    key for EdDSA, an RSA key of at least 2,048 bits for RS256 (docs/security.md §38)."""
    try:
        if not isinstance(parse_cbor(cose), dict):
            raise UnusableKey
        decoded = decode_credential_public_key(cose)
        key = decoded_public_key_to_cryptography(decoded)
    except MALFORMED as error:
        raise UnusableKey from error
    alg = decoded.alg
    if alg == COSEAlgorithmIdentifier.ECDSA_SHA_256:
        usable = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    elif alg == COSEAlgorithmIdentifier.EDDSA:
        usable = isinstance(key, ed25519.Ed25519PublicKey)
    elif alg == COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256:
        usable = isinstance(key, rsa.RSAPublicKey) and key.key_size >= RSA_SMALLEST_BITS
    else:
        usable = False
    if not usable:
        raise UnusableKey


def rp_id() -> str:
    return site_settings.WEBAUTHN_RP_ID


def origins() -> list[str]:
    return site_settings.WEBAUTHN_ORIGINS


def user_handle(user) -> bytes:
    """An opaque id for the person inside their keys: not their username or database id."""
    return salted_hmac("passkey.user_handle", str(user.pk), algorithm="sha256").digest()


def registration_options(request, user) -> dict:
    """Options for navigator.credentials.create(); the challenge is kept in the session."""
    existing = Passkey.objects.filter(user=user).values_list("credential_id", flat=True)
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=settings.OTP_TOTP_ISSUER,
        user_name=user.get_username(),
        user_id=user_handle(user),
        user_display_name=user.get_full_name() or user.get_username(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            # Discoverable, so that reset never has to list a person's keys by name.
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(cid)) for cid in existing
        ],
    )
    _keep_challenge(request, REGISTER_CHALLENGE, options.challenge)
    return json.loads(options_to_json(options))


def register(request, user, *, name: str, credential: str) -> Passkey:
    """Verify the browser's answer to registration_options() and keep the key."""
    challenge = _take_challenge(request, REGISTER_CHALLENGE, credential)
    # Used once, also by answers sent at once from windows sharing the session, which each
    # read it before any of them wrote the session back (the shared cache's add is atomic).
    if not challenge or not cache.add(f"sspr:passkey:challenge:{challenge}", 1, CHALLENGE_SECONDS):
        raise Refused
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id(),
            expected_origin=origins(),
            require_user_verification=True,
        )
    except MALFORMED as error:
        raise Refused from error
    usable_public_key(verified.credential_public_key)
    if len(verified.credential_id) > MOST_ID_BYTES:
        raise Refused
    try:
        with transaction.atomic():
            return Passkey.objects.create(
                user=user,
                name=name,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
            )
    except IntegrityError as error:  # the same key twice
        raise Refused from error


def authentication_options(request) -> dict:
    """Options for navigator.credentials.get() at reset. No list of keys: the page is the same
    for every account, and the browser offers whatever passkey it holds for this site."""
    options = generate_authentication_options(
        rp_id=rp_id(), user_verification=UserVerificationRequirement.REQUIRED
    )
    _keep_challenge(request, RESET_CHALLENGE, options.challenge)
    return json.loads(options_to_json(options))


def _credential_id(credential: str) -> str:
    """The credential's id as the browser sent it: base64url, or "" (which names no key). A
    JSON string can carry what a form cannot (a NUL, written \\u0000), which the database
    would refuse."""
    try:
        value = json.loads(credential).get("id", "")
    except MALFORMED:
        return ""
    return value if isinstance(value, str) and BASE64URL.fullmatch(value) else ""


def check_assertion(request, user_id: int | None, credential: str) -> bool:
    """Whether `credential` is a fresh assertion, with user verification, by one of the keys
    of `user_id`, for the challenge this session was given (used once). The signature counter
    must move forward: a key that was copied shows itself."""
    challenge = _take_challenge(request, RESET_CHALLENGE, credential)
    with transaction.atomic():
        key = (
            Passkey.objects.select_for_update()
            .filter(user_id=user_id or 0, credential_id=_credential_id(credential)[:1400])
            .first()
        )
        if key is None or not challenge:
            return False
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=rp_id(),
                expected_origin=origins(),
                credential_public_key=bytes(key.public_key),
                credential_current_sign_count=key.sign_count,
                require_user_verification=True,
            )
        except MALFORMED:
            return False
        key.sign_count = verified.new_sign_count
        key.last_used_at = timezone.now()
        key.save(update_fields=["sign_count", "last_used_at"])
    return True
