"""Assemble docs/benchmarks.md from the tables benchmarks/run.py printed."""

from __future__ import annotations

import sys
from pathlib import Path

HEAD = """# Benchmarks

Measured by `make bench` on the machine named in each section, with its date; a section may be
measured again on its own (its script, as the Makefile runs it), and within a section every
figure comes from the same run.
What the figures mean against the targets, and the profiles behind them: docs/performance.md.

- **import, admin user list, helpdesk, export** (benchmarks/run.py): a throw-away database with
  1,000 and 100,000 users, every third with a verified authentication phone. The import reads a
  CSV with one row per user (office phone, authentication email, consent) in batches of 1,000,
  then the same file again (nothing changes); peak memory is traced during that second run and
  stays flat as the file grows. Lists are the best of three, with their queries.
- **at scale** (benchmarks/scale.py, PostgreSQL): 1,000 and 1,000,000 people written with SQL;
  the helpdesk list as it opens, filtered, searched and sorted, and the admin user list, best of
  three, with their queries (target: at most 2x the time at 1,000); `flag_stale_registrations`
  against one raw SQL statement doing the same work (target: at most 1.5x).
- **reset portal timing** (benchmarks/enumeration.py): the first step of `/passwordreset/` and a
  wrong set of security answers for five kinds of username, interleaved; the medians must not
  tell them apart.
- **directory sync** (benchmarks/directory_sync.py): `sync_directory` against a real slapd of
  10,000 and 100,000 people on PostgreSQL; the second run finds nothing to change; peak traced
  memory stays flat.
- **phone setup against a peer, every page against a bare view** (benchmarks/phone_setup.py):
  setting up an authentication phone here (four requests, the number's answering with the code
  page) and with django-two-factor-auth's wizard (its five, each answering with the next form),
  same Django, django-otp and phonenumbers, an SQLite file with the same options on both sides
  (write-ahead log, synchronous=NORMAL, immediate transactions), in process, messages to
  in-memory backends, each side's log to a file (var/bench-phone-*.log), the two sides taking
  turns (this site, the peer, …) with the ratio's spread over the turns (target: at most 0.7x
  the peer); then every page of /ssprsetup,
  /passwordreset and /helpdesk, GET and POST, walked by a new person each round, against a bare
  view in a default project (targets: the base layout 1.2x, pages 1.5x); then the phone setup
  again on PostgreSQL (one server, a database each, the cache in the process on both sides).
"""


def main(paths: list[str]) -> None:
    sys.stdout.write(HEAD)
    for path in paths:
        file = Path(path)
        if file.exists() and file.read_text().strip():
            sys.stdout.write(file.read_text())


if __name__ == "__main__":
    main(sys.argv[1:])
