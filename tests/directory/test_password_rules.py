"""The password rules a page lists before typing (directory.accounts.password_rules): the
directory's and the site's merged, so that no listed rule can never apply — one minimum length,
the strictest, first."""

from __future__ import annotations

import pickle

import pytest
from django.utils import translation

from directory import accounts as account_store
from directory.accounts import DirectoryUnavailable, password_rules
from directory.rules import LengthRule, active_directory_rules, openldap_rules


class Store:
    def __init__(self, rules):
        self._rules = rules

    def rules(self, user=None):
        if isinstance(self._rules, Exception):
            raise self._rules
        return self._rules


@pytest.fixture
def store(monkeypatch):
    def use(rules):
        monkeypatch.setattr(account_store, "accounts", lambda: Store(rules))

    translation.activate("en")
    return use


def lengths(rules: list[str]) -> list[str]:
    return [rule for rule in rules if "at least" in rule and "character" in rule]


def test_a_shorter_directory_minimum_is_not_listed_beside_the_sites(store, settings):
    store(openldap_rules({"pwdMinLength": [b"10"], "pwdInHistory": [b"3"]}))
    rules = password_rules(None)
    # Only one length, the site's 12: "at least 10" could never apply.
    assert lengths(rules) == ["Your password must contain at least 12 characters."]
    assert rules[0] == lengths(rules)[0]  # the strictest first
    assert "It may not be one of your last 3 passwords." in rules


def test_a_longer_directory_minimum_replaces_the_sites(store):
    store(active_directory_rules({"minPwdLength": [b"14"], "pwdProperties": [b"1"]}))
    rules = password_rules(None)
    assert lengths(rules) == ["The directory needs at least 14 characters."]
    assert rules[0] == "The directory needs at least 14 characters."
    assert any("three of" in rule for rule in rules)
    # Every other rule of the site is still listed.
    assert any("common" in rule for rule in rules) and any("banned" in rule for rule in rules)


def test_equal_minimums_are_listed_once(store):
    store(openldap_rules({"pwdMinLength": [b"12"]}))
    assert len(lengths(password_rules(None))) == 1


@pytest.mark.parametrize("rules", [[], DirectoryUnavailable()])
def test_without_directory_rules_the_sites_are_listed(store, rules):
    store(rules)
    listed = password_rules(None)
    assert lengths(listed) == ["Your password must contain at least 12 characters."]
    assert listed[0] == lengths(listed)[0]
    # Not silently: a directory that did not answer is said to have rules of its own.
    unread = "The directory's own rules could not be read just now"
    assert any(unread in rule for rule in listed) == isinstance(rules, DirectoryUnavailable)


def test_a_length_rule_survives_a_cache():
    rule = LengthRule("The directory needs at least 10 characters.", 10)
    copy = pickle.loads(pickle.dumps(rule))  # noqa: S301 (our own bytes)
    assert (copy, copy.min_length) == (rule, 10)
