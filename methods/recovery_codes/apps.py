from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecoveryCodesConfig(AppConfig):
    name = "methods.recovery_codes"
    label = "sspr_recovery_codes"
    verbose_name = _("Recovery codes")
    default_auto_field = "django.db.models.BigAutoField"
