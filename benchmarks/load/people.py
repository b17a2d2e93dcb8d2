"""The people of `make load`, made straight in the database: `load00000`… who will register,
and `ready00000`… who registered a phone and will reset. One password hash for all (the hash is
not what is measured; signing in still checks it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sspr_site.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.utils import timezone  # noqa: E402

from methods.models import AuthenticationPhone  # noqa: E402
from registration.models import Registration  # noqa: E402


def main(count: int, password: str) -> None:
    User = get_user_model()
    hashed = make_password(password)
    User.objects.bulk_create(
        [User(username=f"load{n:05d}", password=hashed) for n in range(count)]
        + [User(username=f"ready{n:05d}", password=hashed) for n in range(count)]
    )
    ready = User.objects.filter(username__startswith="ready").order_by("username")
    now = timezone.now()
    AuthenticationPhone.objects.bulk_create(
        [
            AuthenticationPhone(user=user, number=f"+4474008{n:05d}", verified_at=now)
            for n, user in enumerate(ready)
        ]
    )
    Registration.objects.bulk_create(
        [Registration(user=user, completed_at=now, last_confirmed_at=now) for user in ready]
    )
    print(f"{count} people to register and {count} ready to reset.", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
