"""The directory's password rules in the person's words, shown before they type."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class LengthRule(str):
    """A rule that is a minimum length, and that length: directory.accounts.password_rules
    shows one length, the strictest, where the directory and the site each have one."""

    min_length: int

    def __new__(cls, text: str, min_length: int) -> LengthRule:
        rule = super().__new__(cls, text)
        rule.min_length = min_length
        return rule

    def __reduce__(self):
        return (LengthRule, (str(self), self.min_length))


def _number(attrs: dict, name: str) -> int:
    values = attrs.get(name) or []
    try:
        return int(values[0]) if values else 0
    except ValueError:
        return 0


def _age(seconds: int) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    hours = max(1, round(seconds / 3600))
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def _common(length: int, history: int, min_age_seconds: int) -> list[str]:
    rules = []
    if length:
        rules.append(
            LengthRule(
                ngettext(
                    "The directory needs at least %(count)d character.",
                    "The directory needs at least %(count)d characters.",
                    length,
                )
                % {"count": length},
                length,
            )
        )
    if history:
        rules.append(
            ngettext(
                "It may not be your last password.",
                "It may not be one of your last %(count)d passwords.",
                history,
            )
            % {"count": history}
        )
    if min_age_seconds > 0:
        rules.append(
            _("After a change, the next change is allowed after %(age)s.")
            % {"age": _age(min_age_seconds)}
        )
    return rules


def openldap_rules(attrs: dict) -> list[str]:
    rules = _common(
        _number(attrs, "pwdMinLength"),
        _number(attrs, "pwdInHistory"),
        _number(attrs, "pwdMinAge"),
    )
    if _number(attrs, "pwdCheckQuality") == 2:
        rules.append(_("The directory checks its quality and refuses a password it cannot check."))
    return rules


def active_directory_rules(attrs: dict) -> list[str]:
    # minPwdAge is a negative count of 100-nanosecond intervals.
    rules = _common(
        _number(attrs, "minPwdLength"),
        _number(attrs, "pwdHistoryLength"),
        abs(_number(attrs, "minPwdAge")) // 10_000_000,
    )
    if _number(attrs, "pwdProperties") & 1:
        rules.append(
            _(
                "It needs three of: capital letters, small letters, digits, symbols; and it "
                "may not contain your name or username."
            )
        )
    return rules
