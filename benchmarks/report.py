"""Assemble docs/benchmarks.md from the tables benchmarks/run.py printed."""

from __future__ import annotations

import sys
from pathlib import Path

HEAD = """# Benchmarks

Measured by `make bench` (benchmarks/run.py) on the development machine: a throw-away database
with 1,000 and 100,000 users, every third with a verified authentication phone.

- **import**: `import_contact_info` of a CSV with one row per user (office phone, authentication
  email, consent), batches of 1,000 rows; then the same file again (nothing changes). Peak
  memory is traced during the second run, which reads, checks and batches every row the same
  way; it stays flat as the file grows, which is the point.
- **admin user list**: the first page of `/admin/auth/user/` with each user's registration state
  and "can reset", best of three, and the number of database queries; then filtered to the users
  who cannot reset. The query count does not grow with the number of users.
- **reset portal timing**: the first step of `/passwordreset/` and a wrong set of security answers
  for five kinds of username (unknown, out of scope, not registered, locked out, registered),
  interleaved; the medians should not tell them apart.
- **directory sync**: `sync_directory` against a real slapd holding 10,000 and 100,000 people
  (loaded offline), on PostgreSQL: the first run mirrors everyone, the second finds nothing to
  change; peak traced Python memory stays flat as the directory grows.
- **phone setup against a peer**: setting up an authentication phone here (five requests) and
  with django-two-factor-auth's setup wizard (its five), same machine, same Django, django-otp
  and phonenumbers, SQLite, messages to in-memory backends; medians per step.
"""


def main(paths: list[str]) -> None:
    sys.stdout.write(HEAD)
    for path in paths:
        file = Path(path)
        if file.exists() and file.read_text().strip():
            sys.stdout.write(file.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
