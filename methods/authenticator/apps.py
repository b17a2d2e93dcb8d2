from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuthenticatorConfig(AppConfig):
    name = "methods.authenticator"
    label = "sspr_authenticator"
    verbose_name = _("Authenticator app")
