"""What the page says when the directory refuses a new password: the reason it gives, and when
it gives none (Active Directory on Windows answers with a code alone), every likely one."""

from __future__ import annotations

import ldap
import pytest

from directory.accounts import PasswordRefused
from directory.ldap_accounts import _ad_refusal

WINDOWS = (
    "0000052D: AtrErr: DSID-03191083, #1:\n\t0: 0000052D: DSID-03191083, problem 1005 "
    "(CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n"
)


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        ("check_password_restrictions: the password is too short", "too_short"),
        ("check_password_restrictions: the password was already used (in history)", "in_history"),
        ("check_password_restrictions: password is too young to change", "too_young"),
        ("check_password_restrictions: the password does not meet the complexity", "complexity"),
        (WINDOWS, "policy"),
    ],
)
def test_a_refusal_is_read_for_its_reason(info, reason):
    assert _ad_refusal(ldap.CONSTRAINT_VIOLATION({"info": info})) == reason


def test_a_refusal_without_a_reason_names_every_likely_one():
    message = str(PasswordRefused("policy").message)
    for cause in ("too short", "too simple", "used before", "changed too recently"):
        assert cause in message


def test_a_change_time_kept_to_the_second_tells_a_change_only_a_second_apart():
    """After a lost answer, an unmoved pwdChangedTime means "not changed" only when a change
    sent then would have carried a later second (directory/ldap_accounts.py, `_landed`)."""
    import calendar
    import time

    from directory.conf import DirectoryConfig
    from directory.ldap_accounts import OpenLDAPAccounts

    store = OpenLDAPAccounts(DirectoryConfig.from_env({"SSPR_DIRECTORY": "openldap"}))
    sent = calendar.timegm(time.strptime("20261206071530", "%Y%m%d%H%M%S")) + 0.4
    assert store._changed_lately("20261206071530Z", sent)  # the same second
    assert store._changed_lately("20261206071529.123Z", sent)  # a second either way
    assert not store._changed_lately("20261206071527Z", sent)
    assert store._changed_lately("not a time", sent)  # unreadable: cannot tell
