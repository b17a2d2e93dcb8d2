"""Contact files checked by a dry run in the admin, kept to be applied without uploading them
again (README, "Administration").

Kept in the database every web host shares, so the apply may reach any host. The file is
compressed and sealed under the field keys (docs/security.md: contact details at rest); the key
that applies it goes to the administrator's page and is stored nowhere, only its hash, here and
in their session. A kept file lasts an hour and is taken once: two applies of the same check (two
tabs, a double click) import it once.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import InvalidToken
from django.utils import timezone

from sspr_site.field_keys import open_sealed, seal

from .models import CheckedImport

KEPT_FOR = timedelta(hours=1)
# A larger file is still checked, but not kept: it is applied by uploading it without the dry
# run, or with the import_contact_info command. About 400,000 rows of a typical file.
MAX_KEPT_BYTES = 32 * 1024 * 1024
# The largest file the admin page takes, about 100,000 rows: checked or applied within a few
# seconds, well inside a web worker's time limit (a worker stopped halfway would leave the
# batches before committed and the page an error). Larger files go to the command, which
# shows its progress and has no time limit.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
SESSION_KEY = "sspr_pending_import"


@dataclass(frozen=True)
class Kept:
    """What the import page shows of a kept file: the key that applies it, and its name."""

    token: str
    name: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sweep() -> None:
    """Remove files kept past their hour (a dry run never applied)."""
    CheckedImport.objects.filter(created_at__lt=timezone.now() - KEPT_FOR).delete()


def keep(session, owner, name: str, stream) -> Kept | None:
    """Keep the checked file `stream` for `owner`, replacing the one their session kept
    before; None when it is too large to keep."""
    drop(session)
    stream.seek(0)
    data = stream.read(MAX_KEPT_BYTES + 1)
    if len(data) > MAX_KEPT_BYTES:
        return None
    token, name = secrets.token_urlsafe(32), name[:100]
    CheckedImport.objects.create(
        key=_hash(token),
        owner=owner,
        name=name,
        sealed=seal(zlib.compress(data, 6)),
        created_at=timezone.now(),
    )
    session[SESSION_KEY] = _hash(token)
    return Kept(token=token, name=name)


def take(session, owner, token: str) -> bytes | None:
    """The file kept under `token` for this session and owner, removed as it is taken, or None
    when there is none: a wrong key, another session's, past its hour, taken already, or
    sealed under a key no longer listed."""
    expected = session.pop(SESSION_KEY, None)
    if not (expected and token and secrets.compare_digest(expected, _hash(token))):
        return None
    fresh = timezone.now() - KEPT_FOR
    row = (
        CheckedImport.objects.filter(key=expected, owner=owner, created_at__gte=fresh)
        .values_list("pk", "sealed")
        .first()
    )
    # Whoever deletes the row applies it: another request taking the same file finds none.
    if row is None or CheckedImport.objects.filter(pk=row[0]).delete()[0] == 0:
        return None
    try:
        return zlib.decompress(open_sealed(row[1]))
    except (InvalidToken, zlib.error):
        return None


def drop(session) -> None:
    """Forget the file this session kept, if any."""
    key = session.pop(SESSION_KEY, None)
    if key:
        CheckedImport.objects.filter(key=key).delete()
