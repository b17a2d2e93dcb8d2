from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from methods.forms import CodeForm


class AppCodeForm(CodeForm):
    """The six digits the authenticator app shows now."""

    proof_field = "code"
    title = _("Code from your authenticator app")
    lead = _(
        "Open the authenticator app you set up for this account and enter the code it shows now."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = _("Code from the app")
        self.fields["code"].help_text = _("The 6 digits your authenticator app shows now.")
