from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = _("Registration")
    # Read with the person's methods, in the same query (methods/registry.py): the overview,
    # each setup page's count of what is still needed and the completion check need both.
    with_methods = ("sspr_registration",)

    def ready(self) -> None:
        from . import language, signals  # noqa: F401  (connects the sign-in receivers)
