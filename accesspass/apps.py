from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessPassConfig(AppConfig):
    name = "accesspass"
    verbose_name = _("Temporary access passes")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from methods.lifecycle import methods_purged
        from methods.not_me import change_reported
        from passwordreset.signals import password_reset

        from .flows import end_at_purge, end_at_report, end_at_reset

        password_reset.connect(end_at_reset, dispatch_uid="accesspass.end_at_reset")
        methods_purged.connect(end_at_purge, dispatch_uid="accesspass.end_at_purge")
        change_reported.connect(end_at_report, dispatch_uid="accesspass.end_at_report")
