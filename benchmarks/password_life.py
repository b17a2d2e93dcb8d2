"""Benchmark: the directory password life at 100,000 people in a real slapd (passwords set
over the last 30 days under a 30-day policy): the paged read behind the helpdesk's list
(first and cached), the list page itself, and a dry run of the expiry reminders. Reports time
and peak Python memory (traced): the reminder run holds one page at a time.
Run by `make bench`; needs slapd and the directory extra.
"""

from __future__ import annotations

import os
import time
import tracemalloc

import django_setup  # the benchmarks folder is on the path

WORKDIR = django_setup.start("sspr-bench-password-life-")

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from directory.accounts import reset_caches  # noqa: E402
from directory.conf import DirectoryConfig  # noqa: E402
from directory.expiry_reminders import send_expiry_reminders  # noqa: E402
from directory.password_life import watched  # noqa: E402
from directory.servers import Slapd  # noqa: E402

SIZE = int(os.environ.get("BENCH_PASSWORD_LIFE_SIZE", "100000"))


def measure(label: str, work, before=None) -> str:
    """Timed once untraced (tracing slows Python several times over), then once traced for
    the peak memory; `before` runs ahead of each (emptying the cache, for a first read)."""
    if before:
        before()
    began = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - began
    if before:
        before()
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return f"| {label} | {elapsed:.2f} s | {peak / 1e6:.1f} MB | {result} |"


def main() -> None:
    call_command("migrate", verbosity=0)
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    from django.contrib.auth import get_user_model

    agent = get_user_model().objects.create_user("agent")
    agent.groups.add(Group.objects.get(name="Helpdesk"))
    from tests.conftest import past_sign_in_check

    client = past_sign_in_check(Client(), agent)
    with Slapd(people=(), tls=False) as server:
        server.load_many_offline(SIZE, expiring=True)
        env = {**server.environment(), "LDAP_SCOPE_GROUP": "", "LDAP_STAFF_GROUP": ""}
        settings.SSPR_DIRECTORY_CONFIG = DirectoryConfig.from_env(env)
        reset_caches()
        cache.clear()
        page = "/helpdesk/passwords/?state=expiring&days=14"
        client.get(page)  # the first request of the process loads templates and modules
        rows = [
            measure(
                "read everyone (paged)", lambda: f"{len(watched(refresh=True).people):,} listed"
            ),
            measure("read again (cached)", lambda: f"{len(watched().people):,} listed"),
            measure(
                "helpdesk list, expiring within 14 days, first read",
                lambda: client.get(page).status_code,
                before=cache.clear,
            ),
            measure(
                "helpdesk list, expiring within 14 days, cached",
                lambda: client.get(page).status_code,
            ),
            measure(
                "expiry reminders, dry run",
                lambda: f"{send_expiry_reminders(dry_run=True).due:,} due",
            ),
        ]
    print(f"\n## Directory password life ({SIZE:,} people in slapd, pages of 500)\n")
    print("| step | time | peak memory | result |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
