from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessPassConfig(AppConfig):
    name = "accesspass"
    verbose_name = _("Temporary access passes")
    default_auto_field = "django.db.models.BigAutoField"
