from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PasswordsConfig(AppConfig):
    name = "passwords"
    verbose_name = _("Password rules")

    def warm_up(self) -> None:
        """Before the first request (sspr_site/warmup.py): Django's list of common passwords
        (read when its validator is made) and the strength estimate's first run, which
        loads its word lists: the first new password of each process paid for both."""
        from django.contrib.auth.password_validation import get_default_password_validators
        from zxcvbn_rs_py import zxcvbn

        get_default_password_validators()
        zxcvbn("Warm-up 2026 passphrase", user_inputs=["warm-up"])
