from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = _("Directory")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
        from .accounts import config

        if config().enabled:
            from sspr_site.health import register

            from . import backend  # noqa: F401  (connects the sign-in mirroring)
            from .accounts import check_directory

            register("directory")(check_directory)
