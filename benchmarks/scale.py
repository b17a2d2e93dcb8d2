"""Benchmark: the lists and the stale-registration sweep at 1,000 and 1,000,000 people, on
PostgreSQL (`make bench` runs it with a throw-away server).

People are written with set-based SQL: each with a family name of its own; every third has a
verified phone, every second an email, every fifth three security answers; every third finished
registering, at dates spread over two years. For each size: the helpdesk list (as it opens,
filtered, searched, sorted) and the admin user list (as it opens, filtered), best of three, with
their queries; then `flag_stale_registrations` against the same work in one raw SQL statement
(the registrations flagged and an audit row for each), each on the same rows.

    python benchmarks/scale.py             # a Markdown table
    BENCH_SCALE=1000,100000 python ...     # other sizes
"""

from __future__ import annotations

import os
import platform
import sys
import time

import django_setup  # the benchmarks folder is on the path

WORKDIR = django_setup.start("sspr-bench-scale-")

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from policy.models import Policy  # noqa: E402

SIZES = [int(size) for size in os.environ.get("BENCH_SCALE", "1000,1000000").split(",")]
RECONFIRM_DAYS = 180

LISTS = [
    ("helpdesk list, as it opens (by name)", "/helpdesk/"),
    ("helpdesk list, cannot reset, by name", "/helpdesk/?can_reset=no"),
    ("helpdesk list, cannot reset, newest finish first", "/helpdesk/?can_reset=no&sort=-completed"),
    # Part of one person's family name (each is twelve letters and digits of its own).
    ("helpdesk list, search", "/helpdesk/?q=c20ad4d7"),
    ("helpdesk list, page 20 (the last within the bound)", "/helpdesk/?page=20"),
    ("helpdesk list, cannot reset, by state", "/helpdesk/?can_reset=no&sort=-state"),
    ("admin user list, as it opens", "/admin/auth/user/"),
    ("admin user list, cannot reset", "/admin/auth/user/?sspr_can_reset=no"),
    ("admin home, its counts kept (within the minute)", "/admin/"),
    ("admin home, counting everyone in scope (once a minute)", "/admin/?count"),
]

SEED = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
SELECT '!', false, 'user' || lpad(i::text, 7, '0'), 'First' || i,
       initcap(substr(md5(i::text), 1, 12)), 'user' || i || '@example.org', false, true, now()
FROM generate_series(1, %(count)s) AS i;

INSERT INTO methods_authenticationphone (verified_at, prepopulated, updated_at, user_id, number)
SELECT now(), false, now(), id, '+4474001' || lpad((id %% 100000)::text, 5, '0')
FROM auth_user WHERE id %% 3 = 0;

INSERT INTO methods_authenticationemail (verified_at, prepopulated, updated_at, user_id, email)
SELECT now(), false, now(), id, 'u' || id || '@home.example' FROM auth_user WHERE id %% 2 = 0;

INSERT INTO methods_securityanswer (user_id, question_id, answer_hash, created_at)
SELECT u.id, q.id, 'argon2$not-a-real-hash', now()
FROM auth_user u CROSS JOIN (SELECT id FROM methods_securityquestion ORDER BY id LIMIT 3) q
WHERE u.id %% 5 = 0;

INSERT INTO registration_registration (user_id, completed_at, last_confirmed_at,
                                       reconfirmation_required, skips_used)
SELECT id, now() - (id %% 730) * interval '1 day', now() - (id %% 730) * interval '1 day',
       false, 0
FROM auth_user WHERE id %% 3 = 0;
"""

# The same work as the command, as one statement: flag what is due, an audit row for each.
RAW_FLAG = """
WITH flagged AS (
    UPDATE registration_registration SET reconfirmation_required = true
    WHERE completed_at IS NOT NULL AND NOT reconfirmation_required
      AND last_confirmed_at < now() - %(days)s * interval '1 day'
    RETURNING user_id
)
INSERT INTO audit_event (created_at, actor_id, subject_id, kind, ip, details)
SELECT now(), NULL, user_id, 'registration_flagged', NULL, '{"reason": "stale"}'::jsonb
FROM flagged
"""

UNFLAG = """
UPDATE registration_registration SET reconfirmation_required = false
WHERE reconfirmation_required
"""
AUDITED = "SELECT count(*) FROM audit_event WHERE kind = 'registration_flagged'"


def seed(count: int) -> None:
    get_user_model().objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registration_registration")
        cursor.execute(SEED, {"count": count})
        cursor.execute("ANALYZE")


def timed_page(client: Client, path: str) -> tuple[float, int]:
    timings = []
    for _ in range(3):
        if path.endswith("?count"):
            cache.clear()  # the summary's counts are kept a minute: count them again
        reset_queries()
        started = time.perf_counter()
        response = client.get(path, secure=True)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return min(timings), len(connection.queries)


def timed_sql(sql: str, params: dict) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return time.perf_counter() - started


def _count(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def bench_flag() -> dict:
    """The command, then the raw statement, each from no registration flagged (the audit trail
    is append-only: its rows are counted before and after)."""
    timed_sql(UNFLAG, {})
    before = _count(AUDITED)
    started = time.perf_counter()
    call_command("flag_stale_registrations", stdout=open(os.devnull, "w"))  # noqa: SIM115
    command = time.perf_counter() - started
    flagged = _count("SELECT count(*) FROM registration_registration WHERE reconfirmation_required")
    assert _count(AUDITED) - before == flagged > 0, (before, flagged)
    timed_sql(UNFLAG, {})
    before = _count(AUDITED)
    raw = timed_sql(RAW_FLAG, {"days": RECONFIRM_DAYS})
    assert _count(AUDITED) - before == flagged
    return {"command": command, "raw": raw, "flagged": flagged}


def main() -> None:
    if connection.vendor != "postgresql":
        print("The scale benchmark needs PostgreSQL (DATABASE_URL).", file=sys.stderr)
        return
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    policy = Policy.load()
    policy.reconfirm_days = RECONFIRM_DAYS
    policy.save()
    results = {}
    for size in SIZES:
        print(f"[scale] {size:,} people: writing them…", file=sys.stderr)
        started = time.perf_counter()
        seed(size)
        print(f"[scale] written in {time.perf_counter() - started:.0f} s; lists…", file=sys.stderr)
        agent = get_user_model().objects.create_superuser(
            "bench-agent", "agent@example.org", "bench-password-123"
        )
        client = Client()
        client.force_login(agent)
        session = client.session
        session.pop("sspr_check_registration", None)
        session.save()
        settings.DEBUG = True  # to count queries
        pages = {label: timed_page(client, path) for label, path in LISTS}
        settings.DEBUG = False
        print("[scale] the stale sweep…", file=sys.stderr)
        results[size] = (pages, bench_flag())
    small, large = SIZES[0], SIZES[-1]
    lines = [
        f"\n## At scale (PostgreSQL, {timezone.now():%Y-%m-%d}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores)\n",
        f"| page | {small:,} people | queries | {large:,} people | queries | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, _path in LISTS:
        (s_time, s_q), (l_time, l_q) = results[small][0][label], results[large][0][label]
        lines.append(
            f"| {label} | {s_time * 1000:.0f} ms | {s_q} | {l_time * 1000:.0f} ms | {l_q} "
            f"| {l_time / s_time:.1f}x |"
        )
    lines += [
        "\n| stale sweep | registrations flagged | flag_stale_registrations | raw SQL | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    for size in SIZES:
        flag = results[size][1]
        lines.append(
            f"| {size:,} people | {flag['flagged']:,} | {flag['command']:.2f} s "
            f"| {flag['raw']:.2f} s | {flag['command'] / flag['raw']:.2f}x |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
