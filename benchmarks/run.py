"""Benchmarks: contact import and the admin user list at 1,000 and 100,000 users.

Run with `make bench`. Uses a throw-away SQLite file unless DATABASE_URL is set (the make target
also runs it on PostgreSQL when the server binaries are installed). Prints a Markdown table.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import django_setup  # the benchmarks folder is on the path

WORKDIR = django_setup.start("sspr-bench-")

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from methods.contact_import import COLUMNS, import_contact_info  # noqa: E402
from methods.models import AuthenticationPhone, OfficePhone  # noqa: E402

SIZES = [int(size) for size in os.environ.get("BENCH_SIZES", "1000,100000").split(",")]


def populate(count: int) -> None:
    """Users with unusable passwords; every third has a verified phone."""
    User = get_user_model()
    User.objects.all().delete()
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        users = User.objects.bulk_create(
            User(username=f"user{index:06d}", email=f"user{index:06d}@example.org", password="!")
            for index in range(start, min(start + batch, count))
        )
        AuthenticationPhone.objects.bulk_create(
            AuthenticationPhone(user=user, number="+447400123456", verified_at=now)
            for user in users[::3]
        )


def csv_file(count: int) -> Path:
    path = WORKDIR / f"contacts-{count}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index in range(count):
            writer.writerow(
                [
                    f"user{index:06d}",
                    f"+4420718{index % 100000:05d}",
                    "",
                    f"u{index}@home.example",
                    "yes",
                ]
            )
    return path


def bench_import(count: int) -> dict:
    path = csv_file(count)
    started = time.perf_counter()
    with path.open("rb") as stream:
        report = import_contact_info(stream, batch_size=1000)
    elapsed = time.perf_counter() - started
    assert not report.errors and not report.fatal, report.errors[:3]
    assert OfficePhone.objects.count() == count
    # The same file again changes nothing; timed, then traced for its peak memory (the same
    # reading, checking and batching; tracing slows it, so it is not timed then).
    started = time.perf_counter()
    with path.open("rb") as stream:
        again = import_contact_info(stream, batch_size=1000)
    rerun = time.perf_counter() - started
    assert again.unchanged == count
    tracemalloc.start()
    with path.open("rb") as stream:
        import_contact_info(stream, batch_size=1000)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": elapsed,
        "rows_per_second": count / elapsed,
        "peak_mib": peak / 2**20,
        "rerun": rerun,
    }


def bench_export() -> dict:
    """Stream the helpdesk CSV of every user; peak memory traced (it should stay flat)."""
    User = get_user_model()
    agent = User.objects.create_superuser("bench-agent", "agent@example.org", "bench-password-123")
    client = _client(agent)

    def read_all() -> int:
        response = client.get("/helpdesk/export.csv", secure=True)
        return sum(chunk.count(b"\n") for chunk in response.streaming_content)

    started = time.perf_counter()
    lines = read_all()
    elapsed = time.perf_counter() - started
    tracemalloc.start()  # a second, traced run for memory: tracing slows it down
    read_all()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    agent.delete()
    return {"seconds": elapsed, "peak_mib": peak / 2**20, "lines": lines}


def _client(user) -> Client:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(user)
    session = client.session
    session.pop("sspr_check_registration", None)
    session.save()
    return client


def bench_admin_list(path: str) -> dict:
    User = get_user_model()
    admin = User.objects.create_superuser("bench-admin", "bench@example.org", "bench-password-123")
    client = _client(admin)
    settings.DEBUG = True  # to count queries
    timings = []
    for _ in range(3):
        reset_queries()
        started = time.perf_counter()
        response = client.get(path, secure=True)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    queries = len(connection.queries)
    settings.DEBUG = False
    admin.delete()
    return {"seconds": min(timings), "queries": queries}


def main() -> None:
    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    rows = []
    for size in SIZES:
        print(f"[{vendor}] {size:,} users…", file=sys.stderr)
        populate(size)
        result = bench_import(size)
        listing = bench_admin_list("/admin/auth/user/")
        cannot = bench_admin_list("/admin/auth/user/?sspr_can_reset=no")
        helpdesk = bench_admin_list("/helpdesk/?can_reset=no&sort=-state")
        detail = bench_admin_list(f"/helpdesk/users/{get_user_model().objects.first().pk}/")
        export = bench_export()
        assert export["lines"] == size + 2, export  # header, users, the exporting agent
        rows.append((size, result, listing, cannot, helpdesk, detail, export))
    out = io.StringIO()
    out.write(
        f"\n### {vendor}, {timezone.now():%Y-%m-%d}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores\n\n"
        "| users | import rows/s | import time | import peak memory | re-run (no change) "
        "| admin user list | queries | list filtered “cannot reset” | queries |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for size, result, listing, cannot, _helpdesk, _detail, _export in rows:
        out.write(
            f"| {size:,} | {result['rows_per_second']:,.0f} | {result['seconds']:.1f} s "
            f"| {result['peak_mib']:.1f} MiB | {result['rerun']:.1f} s "
            f"| {listing['seconds'] * 1000:.0f} ms | {listing['queries']} "
            f"| {cannot['seconds'] * 1000:.0f} ms | {cannot['queries']} |\n"
        )
    out.write(
        "\n| users | helpdesk list (filtered, sorted) | queries | helpdesk user page | queries "
        "| CSV export of all | export peak memory |\n|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for size, _result, _listing, _cannot, helpdesk, detail, export in rows:
        out.write(
            f"| {size:,} | {helpdesk['seconds'] * 1000:.0f} ms | {helpdesk['queries']} "
            f"| {detail['seconds'] * 1000:.0f} ms | {detail['queries']} "
            f"| {export['seconds']:.1f} s | {export['peak_mib']:.1f} MiB |\n"
        )
    print(out.getvalue())


if __name__ == "__main__":
    main()
