"""Forms and widgets several methods (and the helpdesk) share. They validate input and nothing
more; a method's own forms live in its package."""

from __future__ import annotations

import functools
import re
import unicodedata

from django import forms
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _


class OnePassSelect(forms.Select):
    """A select whose options are written in one pass: the same markup as Django's select,
    without rendering a template for each option (for long lists that was most of a page's
    time). The options' markup is kept for each list and choice already drawn."""

    template_name = "methods/widgets/one_pass_select.html"

    def options(self) -> tuple[tuple[str, str], ...]:
        # Labels as text: the kept markup is then keyed by the language it is written in.
        return tuple((str(value), str(label)) for value, label in self.choices)

    def get_context(self, name, value, attrs):
        context = forms.Widget.get_context(self, name, value, attrs)
        chosen = next(iter(self.format_value(value)), None)
        context["widget"]["options_html"] = _options_html(self.options(), chosen)
        return context


@functools.lru_cache(maxsize=256)
def _options_html(choices: tuple[tuple[str, str], ...], chosen: str | None) -> str:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (code, mark_safe(" selected") if code == chosen else "", label)  # noqa: S308
            for code, label in choices
        ),
    )


CODE_DIGITS = re.compile(r"^[0-9]{6}$")


def ascii_digits(text: str) -> str:
    """Digits of any script (full-width, Arabic-Indic…) as the code's own 0-9, as a phone's
    keyboard in another language may type them."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


class CodeForm(forms.Form):
    """A code: where its page is there for the code alone, the field has the focus when the
    page opens (a summary of errors takes it after a refusal: error-summary.js). Not
    (`focus=False`) where what the page says above the field must be read first."""

    code = forms.CharField(
        label=_("Verification code"),
        max_length=20,
        help_text=_("The 6 digits we sent you."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "dir": "ltr",
                "pattern": r"[0-9 ]*",
                "size": "8",
                "autofocus": True,
            }
        ),
        error_messages={
            "required": _("Enter the 6 digits of the code."),
            "max_length": _("Enter the 6 digits of the code."),
        },
    )

    def __init__(self, *args, focus: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not focus:
            del self.fields["code"].widget.attrs["autofocus"]

    def read_out(self) -> None:
        """The code came in a call, read out, not sent as text: its field says so (on the field
        and on its bound field, which a checked form made already)."""
        self.fields["code"].help_text = self["code"].help_text = _(
            "The 6 digits read out in the call."
        )

    def clean_code(self):
        code = ascii_digits(re.sub(r"[\s-]", "", self.cleaned_data["code"]))
        if not CODE_DIGITS.match(code):
            raise forms.ValidationError(_("Enter the 6 digits of the code."), code="format")
        return code


class SecretTextInput(forms.TextInput):
    """A text box that never writes its value back into the page."""

    def format_value(self, value):
        return None
