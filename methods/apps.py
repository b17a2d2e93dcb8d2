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

    def person_annotations(self) -> dict:
        """Read with the signed-in person (sspr_site/compiled_query.py): whether self-service
        is paused for them (methods/not_me.py), so a POST of /ssprsetup asks no query of its
        own."""
        from .not_me import paused_annotation

        return paused_annotation()

    def contact_details(self, user) -> tuple[list[str], list[str]]:
        """What a new password must not contain (passwords.validators.ContactDetailsValidator):
        the national digits of the person's phone numbers (their own and their office's) and
        their authentication email addresses, both typed by whoever asks for a code at the
        reset portal. Three small queries, their SQL built once (methods/contact_details.py)."""
        from .contact_details import contact_details

        return contact_details(user.pk)

    def warm_up(self) -> None:
        """Before the first request (sspr_site/warmup.py): the country list of the phone
        forms in every language, which reads every country's numbering data."""
        from django.conf import settings

        from .code.phone_numbers import _all_region_choices

        for code, _name in settings.LANGUAGES:
            _all_region_choices(code)
