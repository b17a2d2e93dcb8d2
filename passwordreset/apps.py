from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PasswordResetConfig(AppConfig):
    name = "passwordreset"
    verbose_name = _("Password reset")

    def ready(self):
        from django.db.models.signals import post_save

        from sspr_site import kept_pages

        # The first page shows the policy's helpdesk contact: a change saved here shows on the
        # next page at once (sspr_site/kept_pages.py; other hosts within a second).
        post_save.connect(
            kept_pages.forget_all, sender="policy.Policy", dispatch_uid="passwordreset.kept"
        )
