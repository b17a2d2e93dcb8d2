from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PasswordResetConfig(AppConfig):
    name = "passwordreset"
    verbose_name = _("Password reset")
