from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PasskeyConfig(AppConfig):
    name = "methods.passkey"
    label = "sspr_passkey"
    verbose_name = _("Passkeys")
    default_auto_field = "django.db.models.BigAutoField"
