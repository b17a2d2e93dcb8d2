"""Benchmark: `sync_directory` against a real slapd holding 10,000 and 100,000 people.

The first run mirrors everyone; the second finds nothing to change. Reports the time, the rate
and the peak Python memory of each run (traced), which should not grow with the directory.
Run by `make bench`; needs slapd and the directory extra.
"""

from __future__ import annotations

import os
import platform
import time
import tracemalloc

import django_setup  # the benchmarks folder is on the path

WORKDIR = django_setup.start("sspr-bench-directory-")

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from directory.accounts import reset_caches  # noqa: E402
from directory.conf import DirectoryConfig  # noqa: E402
from directory.servers import Slapd  # noqa: E402
from directory.sync import sync_directory  # noqa: E402

SIZES = [int(n) for n in os.environ.get("BENCH_DIRECTORY_SIZES", "10000,100000").split(",")]


def measure() -> tuple[float, int, object]:
    tracemalloc.start()
    began = time.perf_counter()
    report = sync_directory()
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak, report


def main() -> None:
    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # as in production: no query log growing with the run
    rows = []
    for size in SIZES:
        get_user_model().objects.all().delete()
        with Slapd(people=(), tls=False) as server:
            server.load_many_offline(size)
            env = {**server.environment(), "LDAP_SCOPE_GROUP": "", "LDAP_STAFF_GROUP": ""}
            settings.SSPR_DIRECTORY_CONFIG = DirectoryConfig.from_env(env)
            reset_caches()
            for label in ("first run (everyone new)", "second run (nothing changed)"):
                elapsed, peak, report = measure()
                rows.append(
                    f"| {size:,} | {label} | {elapsed:.1f} s | {report.seen / elapsed:,.0f} | "
                    f"{report.created + report.updated:,} | {peak / 1e6:.1f} MB |"
                )
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"\n## Directory sync ({engine}, {platform.machine()}, pages of 500)\n")
    print("| people | run | time | people/s | written | peak memory |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
