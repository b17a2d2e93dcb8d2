from __future__ import annotations

from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _


class VerifyStartForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Check the caller with"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how to check the caller.")},
    )

    def __init__(self, *args, options, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = options
        if len(options) == 1:
            # The one way there is, chosen already: nothing to pick before going on.
            self.fields["method"].initial = options[0][0]


# How the person was verified, as the pass and the audit events keep it (accesspass.models.
# Verification has the same values).
CALLER_CHECK, IN_PERSON = "caller_check", "in_person"
CHECK_LABEL = _("Caller check with a registered method")
IN_PERSON_LABEL = _("Identity checked in person")
NOTE_MAX = 500
VERIFY_FIRST = _("Verify the caller first")
# The refusals that say no caller check counts (clean_verification, and accesspass's IssueForm
# for a check spent on a pass already).
NO_CHECK_CODES = {"no_check", "check_dropped", "check_spent"}


class CallerVerifiedForm(forms.Form):
    """How the helpdesk verified the person before acting for them (a temporary access pass,
    self-service turned on again, a block lifted): a caller check with one of their methods
    that passed in this session in the last 15 minutes, or their identity checked in person;
    and a note. Whoever calls may not be the person (docs/security.md rule 49)."""

    verification = forms.ChoiceField(
        label=_("How you verified the person"),
        widget=forms.RadioSelect,
        choices=[],
        error_messages={"required": _("Choose how you verified the person.")},
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "What you checked, for example the document you saw or the question you asked. "
            "Never a password, a code or an answer."
        ),
        error_messages={
            "required": _("Write a note about how you verified the person."),
            "max_length": _("At most %(limit_value)d characters."),
        },
    )

    def __init__(
        self,
        *args,
        check_label: str | None,
        dropped_label: str | None = None,
        with_note: bool = True,
        **kwargs,
    ):
        """`check_label` names the caller check that passed in this session, if any;
        `dropped_label` the method of one that passed and counts no more (its method changed
        since: helpdesk/views.py, passed_check). Without a note (`with_note=False`) where
        nothing would keep it: the audit log and its stream keep ids, kinds and outcomes only,
        never free text (docs/security.md rule 21)."""
        super().__init__(*args, **kwargs)
        if not with_note:
            del self.fields["note"]
        self.check_passed = check_label is not None
        self.dropped_label = dropped_label
        caller = (
            _("Caller check passed just now: %(method)s") % {"method": check_label}
            if check_label
            else CHECK_LABEL
        )
        self.fields["verification"].choices = [
            (CALLER_CHECK, caller),
            (IN_PERSON, IN_PERSON_LABEL),
        ]

    def offer_check(self, verify_url: str | None) -> None:
        """Without a caller check that passed: a hint that the choice of how the person was
        verified is described by (its fieldset's aria-describedby), leading to a check where
        the person has a method to check with. Refused for want of a check, which the refusal
        says already, only the way to one; refused otherwise (no choice made), the hint."""
        if self.check_passed:
            return
        refused = self.is_bound and self.errors.as_data().get("verification", [])
        if refused and {error.code for error in refused} & NO_CHECK_CODES:
            if not verify_url:
                return
            hint = format_html('<a href="{}">{}</a>', verify_url, VERIFY_FIRST)
        else:
            hint = _("No caller check passed for this person in your session yet.")
            if verify_url:
                hint = format_html('{} <a href="{}">{}</a>', hint, verify_url, VERIFY_FIRST)
        # On the bound field too, which a checked form made already (with the help text then).
        self.fields["verification"].help_text = self["verification"].help_text = hint

    def clean_verification(self):
        value = self.cleaned_data["verification"]
        if value == CALLER_CHECK and not self.check_passed and self.dropped_label:
            raise forms.ValidationError(
                _(
                    "The caller check passed with %(method)s no longer counts: that method "
                    "was changed since. Check the caller again with another method, or check "
                    "their identity in person."
                )
                % {"method": self.dropped_label},
                code="check_dropped",
            )
        if value == CALLER_CHECK and not self.check_passed:
            raise forms.ValidationError(
                _(
                    "No caller check passed for this person in your session in the last "
                    "15 minutes. Verify the caller first, or check their identity in person."
                ),
                code="no_check",
            )
        return value

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if "\x00" in note:
            raise forms.ValidationError(_("The note has a character that cannot be kept."))
        if not note:
            raise forms.ValidationError(_("Write a note about how you verified the person."))
        return note
