from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MethodsConfig(AppConfig):
    name = "methods"
    verbose_name = _("Recovery methods")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .code.pending import forget_on_removal
        from .lifecycle import method_removed

        method_removed.connect(forget_on_removal, dispatch_uid="methods.code.forget_on_removal")
