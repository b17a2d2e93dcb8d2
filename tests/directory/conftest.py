"""A real slapd per test (about a tenth of a second to start), and the site pointed at it: the
fixtures of tests/support/slapd.py, which the tests of other packages import from there too. The
directory helpers are in tests/support/directory.py."""

from __future__ import annotations

from tests.support.slapd import (  # noqa: F401  (defined once there, shared with other packages)
    directory,
    slapd,
    slapd_people,
    slapd_tls,
)
