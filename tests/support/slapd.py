"""Fixtures: a real slapd per test (about a tenth of a second to start), and the site pointed at
it. A conftest or test module that needs the directory imports them by name (as
tests/directory/conftest.py does); a module can override `slapd_people` or `slapd_tls` with
a fixture of its own or by parametrizing it."""

from __future__ import annotations

import pytest

from tests.support.directory import use_directory


@pytest.fixture
def slapd_people():
    from directory.servers import DEMO_PEOPLE

    return DEMO_PEOPLE


@pytest.fixture
def slapd_tls():
    return False


@pytest.fixture
def slapd(slapd_people, slapd_tls):
    from directory.servers import Slapd

    with Slapd(people=slapd_people, tls=slapd_tls) as server:
        yield server


@pytest.fixture
def directory(settings, slapd, db):
    conf = use_directory(settings, slapd.environment())
    yield conf
    from directory.accounts import reset_caches

    reset_caches()
