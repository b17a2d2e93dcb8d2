from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PasswordResetConfig(AppConfig):
    name = "passwordreset"
    verbose_name = _("Password reset")

    def ready(self):
        from django.db.models.signals import post_save

        # The first page shows the policy's helpdesk contact: a change saved here shows on the
        # next page at once (sspr_site/kept_pages.py; other hosts within a second).
        post_save.connect(
            _forget_kept_pages, sender="policy.Policy", dispatch_uid="passwordreset.kept"
        )


def _forget_kept_pages(*, using, **_signal) -> None:
    from django.db import transaction

    from sspr_site import kept_pages

    kept_pages.forget_all()
    # Again once the change is committed: a page kept in between was rendered from the old.
    transaction.on_commit(kept_pages.forget_all, using=using)
