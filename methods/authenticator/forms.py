from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from methods.forms import CodeForm


class AppCodeForm(CodeForm):
    """The six digits the authenticator app shows now."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = _("Code from the app")
        self.fields["code"].help_text = _("The 6 digits your authenticator app shows now.")
