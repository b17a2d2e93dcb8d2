"""Benchmark: the directory password life at 100,000 people in a real slapd (passwords set
over the last 30 days under a 30-day policy): the paged read behind the helpdesk's list
(written to the database a page at a time), a page read back from it, the list page itself
(first read and within the minute), its CSV export, and a dry run of the expiry reminders.
Reports time and peak Python memory (traced): each holds one page at a time.
Run by `make bench`; needs slapd and the directory extra.
"""

from __future__ import annotations

import datetime
import os
import time
import tracemalloc

import django_setup  # the benchmarks folder is on the path

WORKDIR = django_setup.start("sspr-bench-password-life-")

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402

from directory.accounts import reset_caches  # noqa: E402
from directory.conf import DirectoryConfig  # noqa: E402
from directory.expiry_reminders import send_expiry_reminders  # noqa: E402
from directory.models import PasswordScan  # noqa: E402
from directory.password_life import lives, watched  # noqa: E402
from directory.servers import Slapd  # noqa: E402

SIZE = int(os.environ.get("BENCH_PASSWORD_LIFE_SIZE", "100000"))


def measure(label: str, work, before=None) -> str:
    """Timed once untraced (tracing slows Python several times over), then once traced for
    the peak memory; `before` runs ahead of each (ageing the last read, for a first read)."""
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

        def stale() -> None:
            """The last read older than a minute: the next read goes to the directory."""
            cache.clear()
            PasswordScan.objects.update(
                completed_at=F("completed_at") - datetime.timedelta(minutes=2)
            )

        def read_everyone() -> str:
            found = watched(refresh=True)
            return f"{found.scanned:,} read, {len(found.people):,} listed"

        def read_a_page() -> str:
            rows = watched().rows.order_by("username")[:100]
            return f"{sum(1 for _life in lives(rows))} rows"

        def export() -> str:
            response = client.get("/helpdesk/passwords/export.csv?state=expiring&days=90")
            lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
            return f"{lines - 1:,} rows"

        rows = [
            measure("read everyone (paged) into the database", read_everyone),
            measure("read again (a page of 100 from the database)", read_a_page),
            measure(
                "helpdesk list, expiring within 14 days, first read",
                lambda: client.get(page).status_code,
                before=stale,
            ),
            measure(
                "helpdesk list, expiring within 14 days, within the minute",
                lambda: client.get(page).status_code,
            ),
            measure("helpdesk export, expiring within 90 days (CSV)", export),
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
