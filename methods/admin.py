from __future__ import annotations

import unicodedata

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from directory.accounts import accounts
from policy.models import Policy
from sspr_site.admin_search import BoundedSearchMixin, CheckedLookupsMixin, CheckedSelectionMixin

from . import lifecycle
from .code.email_addresses import canonical_email, same_address
from .code.forms import CanonicalEmailField, PhoneForm, checked_number
from .code.phone_numbers import PhoneError, e164, parse
from .models import (
    AuthenticationEmail,
    AuthenticationPhone,
    OfficePhone,
    SecurityAnswer,
    SecurityQuestion,
)
from .questions.answers import visible
from .registry import REGISTRY

DUPLICATE_QUESTION = _(
    "This question is approved already. Offer the existing one (its “Active” box) instead of "
    "adding it again."
)


def questions_needed() -> int:
    """How many questions must stay offered: as many as the policy has people answer, while
    the policy offers security questions; none otherwise."""
    policy = Policy.load()
    if not policy.option("questions", "enabled"):
        return 0
    return policy.option("questions", "count")


def too_few_offered(offered: int) -> str:
    return _(
        "The policy has people answer %(needed)d questions, so at least %(needed)d must stay "
        "offered; this would leave %(offered)d. Nothing was changed. Offer other questions "
        "first, or ask for fewer in the policy."
    ) % {"needed": questions_needed(), "offered": offered}


def leaves_too_few(offered_now: int, offered_after: int) -> bool:
    """Whether a change leaves fewer questions offered than the policy needs (one that does
    not lower the number is never refused)."""
    return offered_after < offered_now and offered_after < questions_needed()


# Shorter than this cannot be a question anyone could answer the same way twice ("x", "pet?").
QUESTION_MIN_LENGTH = 8


ANSWERED = _(
    "People have answered this question, so its words cannot change: their answers would then "
    "belong to a different question. Stop offering it (its “Active” box) and add the new "
    "question instead."
)


# Cyrillic and Greek letters (in small letters) that look like Latin ones: a question written
# with them reads as the Latin question it mimics.
LOOKS_LATIN = str.maketrans(
    {
        **dict(zip("авеіјкмнорстухѕԁһԛԝӏ", "abeijkmhopctyxsdhqwl", strict=True)),
        **dict(zip("αβεηικμνορτυχ", "abenikmvoptux", strict=True)),
    }
)


def question_key(text: str) -> str:
    """A question's words alone: letters and digits in one case (NFKC), the Cyrillic and Greek
    letters that look Latin read as Latin, to tell two questions apart by what they ask and
    how they look, not by how they are typed."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(LOOKS_LATIN)
    return "".join(c for c in folded if c.isalnum())


def left_short(question_ids) -> int:
    """How many of the people who answered the questions `question_ids` (just retired) have
    fewer answers to questions still offered than a reset asks: their questions count no
    more. One query."""
    from django.contrib.auth import get_user_model

    asked = REGISTRY["questions"].option(Policy.load(), "reset_count")
    answered = SecurityAnswer.objects.filter(question__in=question_ids).values("user")
    return (
        get_user_model()
        .objects.filter(pk__in=answered)
        .annotate(
            offered=Count("security_answers", filter=Q(security_answers__question__active=True))
        )
        .filter(offered__lt=asked)
        .count()
    )


def answers_retired(people: int) -> str:
    """What retiring answered questions does: a retired question is never asked at the
    portal (methods/questions/reset.py), so its answers count nowhere."""
    return ngettext(
        "Answers to a retired question no longer count: %(people)d person who answered one "
        "must choose another question for security questions to count again.",
        "Answers to a retired question no longer count: %(people)d people who answered one "
        "must choose other questions for security questions to count again.",
        people,
    ) % {"people": people}


def questions_left_short(request) -> None:
    """Once the retirement is committed, the registrations it leaves short end
    (lifecycle.questions_retired): someone shown as registered can reset (docs/security.md
    rule 14)."""
    transaction.on_commit(
        lambda: lifecycle.questions_retired.send(sender=SecurityQuestion, request=request)
    )


# Alphabets with letters that look alike (a Latin "a" and a Cyrillic "а").
LOOK_ALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})


def mixes_look_alike_scripts(word: str) -> bool:
    """Whether `word` holds letters of two of LOOK_ALIKE_SCRIPTS: a question written so reads
    like another one that is a different question to the site, and a person could choose both
    and give one answer twice. Scripts that mix in a word by nature (Japanese's kanji and kana
    with Latin letters) are not among them."""
    scripts = {
        unicodedata.name(ch, "").split(" ", 1)[0] for ch in word if ch.isalpha()
    } & LOOK_ALIKE_SCRIPTS
    return len(scripts) > 1


class SecurityQuestionForm(forms.ModelForm):
    class Meta:
        model = SecurityQuestion
        fields = ["text", "active"]
        error_messages = {"text": {"unique": DUPLICATE_QUESTION}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        text = self.fields.get("text")  # not in the list's form, which edits "Active" only
        if (
            text is not None
            and self.instance.pk
            and SecurityAnswer.objects.filter(question_id=self.instance.pk).exists()
        ):
            # Said on the page, not only after Save: the words of an answered question stay.
            text.disabled = True
            text.help_text = ANSWERED

    def clean_text(self):
        # Without the characters that show nothing or reorder the words (as an answer's).
        text = " ".join(visible(self.cleaned_data["text"]).split())
        if len(text) >= QUESTION_MIN_LENGTH and len(question_key(text)) < QUESTION_MIN_LENGTH // 2:
            # Long enough, but hardly a word in it: "?????????" asks nothing.
            raise forms.ValidationError(
                _("Write the question in words: it has hardly any letters."), code="no_words"
            )
        if len(text) < QUESTION_MIN_LENGTH:
            raise forms.ValidationError(
                _("Write the question out in full: at least %(limit)d characters.")
                % {"limit": QUESTION_MIN_LENGTH},
                code="min_length",
            )
        if text != self.instance.text and any(mixes_look_alike_scripts(w) for w in text.split()):
            raise forms.ValidationError(
                _(
                    "A word here mixes letters of the Latin, Cyrillic or Greek alphabets, so the "
                    "question could look like another one: type it again in one alphabet."
                ),
                code="mixed_scripts",
            )
        # The same question in other capitals, spacing or punctuation: a person could choose
        # both and give one answer twice. Only for new words: a question saved before this
        # check stays editable (to retire it, say).
        key = question_key(text)
        others = SecurityQuestion.objects.exclude(pk=self.instance.pk).values_list(
            "text", flat=True
        )
        if text != self.instance.text and any(question_key(other) == key for other in others):
            raise forms.ValidationError(DUPLICATE_QUESTION, code="unique")
        if (
            self.instance.pk
            and text != self.instance.text
            and SecurityAnswer.objects.filter(question_id=self.instance.pk).exists()
        ):
            # Answers point at the question: new words would make them answers to another.
            raise forms.ValidationError(ANSWERED, code="answered")
        return text

    def clean_active(self):
        active = self.cleaned_data["active"]
        if self.instance.pk and self.instance.active and not active:
            now = SecurityQuestion.objects.filter(active=True).count()
            if leaves_too_few(now, now - 1):
                raise forms.ValidationError(too_few_offered(now - 1), code="too_few")
        return active


class OfferedQuestionsFormSet(forms.BaseModelFormSet):
    """The list's "Active" boxes, saved together: refused as a whole when they would leave
    fewer questions offered than the policy has people answer."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        shown = {form.instance.pk: form.cleaned_data.get("active") for form in self.forms}
        now = SecurityQuestion.objects.filter(active=True).count()
        after = SecurityQuestion.objects.filter(active=True).exclude(pk__in=shown).count() + sum(
            1 for active in shown.values() if active
        )
        if leaves_too_few(now, after):
            raise forms.ValidationError(too_few_offered(after), code="too_few")


@admin.register(SecurityQuestion)
class SecurityQuestionAdmin(
    CheckedLookupsMixin, CheckedSelectionMixin, BoundedSearchMixin, admin.ModelAdmin
):
    form = SecurityQuestionForm
    list_display = ["text", "active", "builtin"]
    list_filter = ["active", "builtin"]
    list_editable = ["active"]
    search_fields = ["text"]
    actions = ["activate", "deactivate"]

    def save_model(self, request, obj, form, change):
        retired = change and "active" in form.changed_data and not obj.active
        super().save_model(request, obj, form, change)
        if retired and (count := left_short([obj.pk])):
            self.message_user(request, answers_retired(count), messages.WARNING)
            questions_left_short(request)

    def get_changelist_formset(self, request, **kwargs):
        return super().get_changelist_formset(request, formset=OfferedQuestionsFormSet, **kwargs)

    def get_changelist_form(self, request, **kwargs):
        form = super().get_changelist_form(request, **kwargs)

        class OfferedBox(form):
            """Each row's box named for its question (a screen reader hears "Active: What
            is…?"); the field's help, not shown in the list, is not pointed at either."""

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                box = self.fields["active"]
                box.help_text = ""
                box.widget.attrs["aria-label"] = f"{capfirst(box.label)}: {self.instance}"

        return OfferedBox

    @admin.action(description=_("Offer the selected questions"))
    def activate(self, request, queryset):
        # Counted as changed: a question offered already is not offered again.
        count = queryset.filter(active=False).update(active=True)
        if not count:
            self.message_user(
                request, _("Nothing changed: the selected questions were offered already.")
            )
            return
        self.message_user(
            request,
            ngettext("%(count)d question is offered.", "%(count)d questions are offered.", count)
            % {"count": count},
        )

    @admin.action(description=_("Stop offering the selected questions"))
    def deactivate(self, request, queryset):
        offered = SecurityQuestion.objects.filter(active=True)
        now, after = offered.count(), offered.exclude(pk__in=queryset.values("pk")).count()
        if leaves_too_few(now, after):
            self.message_user(request, too_few_offered(after), messages.ERROR)
            return
        retired = list(queryset.filter(active=True).values_list("pk", flat=True))
        if not retired:
            self.message_user(
                request, _("Nothing changed: none of the selected questions was offered.")
            )
            return
        count = SecurityQuestion.objects.filter(pk__in=retired).update(active=False)
        answered = left_short(retired)
        self.message_user(
            request,
            ngettext(
                "%(count)d question is no longer offered.",
                "%(count)d questions are no longer offered.",
                count,
            )
            % {"count": count},
        )
        if answered:
            # A retired question is never asked at the portal, so its answers count nowhere.
            self.message_user(
                request,
                answers_retired(answered),
                messages.WARNING,
            )
            questions_left_short(request)

    def has_delete_permission(self, request, obj=None):
        # Answers point at questions; retire a question instead of deleting it.
        return False


class PolicyPhoneForm(forms.ModelForm):
    """The phone number an administrator types, with the same country choice and the same
    check as the person's own form (methods/code/forms.py PhoneForm): a national number with
    its country, or +country code; the policy's countries and kinds of number
    (methods/code/phone_numbers.py, docs/security.md §10). The number is stored in E.164."""

    region = PhoneForm.base_fields["region"]
    number = PhoneForm.base_fields["number"]
    refuse_types = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The person's form sets up the country list, its order and the preselected country.
        own = PhoneForm(allowed_regions=Policy.load().region_list)
        self.allowed_regions = own.allowed_regions
        self.fields["region"] = own.fields["region"]
        self.fields["number"].help_text = _(
            "A national number with its country, or +country code and number."
        )
        if self.instance.pk and self.instance.number:
            self.initial["number"] = str(self.instance.number)  # E.164, as stored

    def clean(self):
        cleaned = super().clean()
        if "number" not in self.changed_data:
            return cleaned  # an unchanged value is not checked again on every save
        number = checked_number(self, cleaned)
        if number:
            cleaned["number"] = number
            if self.instance.pk and str(self.instance.number or "") == number:
                # The stored number typed another way ("020 7183 8750" with its country):
                # unchanged, so not recorded or announced as a replacement.
                self.changed_data.remove("number")
        elif "number" in cleaned:
            # Refused with its reason (next to the country or the number): the model's own
            # check would add a second message about the same typing.
            self.add_error("number", [])
        return cleaned


class OfficePhoneForm(PolicyPhoneForm):
    # A desk line may be VoIP; premium-rate, shared-cost and free-phone numbers are refused
    # (methods/code/phone_numbers.py REFUSED_DESK_TYPES).
    refuse_types = False

    class Meta:
        model = OfficePhone
        fields = ["region", "number"]


class OfficePhoneInline(admin.StackedInline):
    model = OfficePhone
    form = OfficePhoneForm
    fields = ["region", "number"]
    can_delete = True
    extra = 0
    max_num = 1
    verbose_name_plural = _("office phone (set only here)")

    # In directory mode the directory owns the office phone: shown, never edited here.
    def _from_directory(self) -> bool:
        return accounts().kind != "none"

    def has_add_permission(self, request, obj=None):
        return not self._from_directory() and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._from_directory() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._from_directory() and super().has_delete_permission(request, obj)

    def get_fields(self, request, obj=None):
        # Read-only from the directory: the number alone, no country to choose.
        return ["number"] if self._from_directory() else self.fields

    def get_formset(self, request, obj=None, **kwargs):
        # With one form at most, the admin titles the inline with the singular name.
        if self._from_directory():
            self.verbose_name = _("office phone (from the directory)")
        else:
            self.verbose_name = _("office phone (set only here)")
        return super().get_formset(request, obj, **kwargs)


class PrepopulateForm(forms.ModelForm):
    """An administrator enters a user's contact detail, only with the user's recorded consent.

    The value then waits for the user's confirmation with a code before it counts.
    """

    user_agreed = forms.BooleanField(
        label=_("The user has agreed to this"),
        required=False,
        help_text=_("Required when you enter or change the value."),
    )

    def comparable(self, value) -> str | None:
        """The value as the site compares it (the contact import decides "unchanged" the same
        way), or None when there is none or it cannot be read."""
        return canonical_email(value or "").casefold() or None

    def clean(self):
        cleaned = super().clean()
        stored = getattr(self.instance, self.field_name) if self.instance.pk else None
        typed = self.comparable(cleaned.get(self.field_name))
        if (
            self.field_name in self.changed_data
            and stored
            and typed is not None
            and typed == self.comparable(str(stored))
        ):
            # The same value typed another way: nothing changes, its verification stays.
            cleaned[self.field_name] = stored
            self.changed_data.remove(self.field_name)
        if self.field_name in self.changed_data and self.instance.pk and self.instance.verified_at:
            # As the contact import: a value the user verified is never replaced from here,
            # where no proof, notice or "That wasn't me" link would go with it.
            self.add_error(
                self.field_name,
                _(
                    "The user verified this value, so it cannot be replaced here. The user can "
                    "change it on their security info page."
                ),
            )
            return cleaned
        if self.field_name in self.changed_data and not cleaned.get("user_agreed"):
            self.add_error(
                "user_agreed",
                _("Record that the user agreed before entering their contact details."),
            )
        return cleaned

    def save(self, commit=True):
        instance = super().save(commit=False)
        self.prepopulated_now = self.field_name in self.changed_data
        if self.prepopulated_now:
            instance.verified_at = None
            instance.prepopulated = True
            instance.consent_recorded_at = timezone.now()
        if commit:
            instance.save()
        return instance


class AuthenticationPhoneForm(PolicyPhoneForm, PrepopulateForm):
    field_name = "number"

    def comparable(self, value) -> str | None:
        # E.164, as stored: "07911 123456" in the United Kingdom is +447911123456.
        try:
            return e164(parse(str(value or ""), region=self.data_region(), refuse_types=False))
        except PhoneError:
            return None

    def data_region(self) -> str | None:
        return self.cleaned_data.get("region") or None

    class Meta:
        model = AuthenticationPhone
        fields = ["region", "number"]


# An authentication email the account's own address (also said by the contact import).
OWN_ADDRESS = _(
    "This is the account's own address. Enter another one the person can read without the "
    "account's password."
)


class AuthenticationEmailForm(PrepopulateForm):
    field_name = "email"

    def clean(self):
        cleaned = super().clean()
        # The person as this page is saving them (the page's own form, OwnedFormSet): their
        # own address may be the one changed.
        stored = self.instance.user if self.instance.user_id else None
        owner = getattr(self, "owner", None) or stored
        # Checked when either address changed on this page: a pair stored before is told at
        # its next change, and does not hold back every other change of the person's page.
        changed = "email" in self.changed_data or (
            stored is not None and owner.email != stored.email
        )
        if owner is not None and changed and same_address(owner.email, cleaned.get("email") or ""):
            # As the person's own form: an address read with the account's password cannot
            # recover it, whichever of the two was changed to match the other.
            self.add_error("email", OWN_ADDRESS)
        return cleaned

    class Meta:
        model = AuthenticationEmail
        fields = ["email"]
        field_classes = {"email": CanonicalEmailField}


class AuthenticationPhoneInline(admin.StackedInline):
    model = AuthenticationPhone
    form = AuthenticationPhoneForm
    extra = 0
    max_num = 1
    can_delete = True
    fields = [
        "region",
        "number",
        "user_agreed",
        "verified_at",
        "prepopulated",
        "consent_recorded_at",
        "last_used_at",
    ]
    readonly_fields = ["verified_at", "prepopulated", "consent_recorded_at", "last_used_at"]

    def get_queryset(self, request):
        # With the person, so each heads its part of their page with their name (owner_name).
        return super().get_queryset(request).select_related("user")


class OwnedFormSet(BaseInlineFormSet):
    """Each form knows the person as the page is saving them (`owner`), with what was typed
    for them on the same page: a form's own row holds the person as stored."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.owner = self.instance
        return form


class AuthenticationEmailInline(AuthenticationPhoneInline):
    model = AuthenticationEmail
    form = AuthenticationEmailForm
    formset = OwnedFormSet
    fields = [
        "email",
        "user_agreed",
        "verified_at",
        "prepopulated",
        "consent_recorded_at",
        "last_used_at",
    ]
