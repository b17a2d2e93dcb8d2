from __future__ import annotations

import io
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html_join
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.log import record
from audit.models import EventKind
from directory.accounts import accounts
from directory.models import DirectoryAccount
from methods import lifecycle
from methods.contact_import import COLUMNS, ImportReport, import_contact_info
from methods.masking import mask_email, mask_phone
from methods.models import AuthenticationEmail, AuthenticationPhone, ChangeAction, OfficePhone
from methods.registry import REGISTRY, UserMethods
from methods.reset_rule import ResetRule
from policy.models import Policy
from sspr_site.admin_search import BoundedSearchMixin, CheckedLookupsMixin, CheckedSelectionMixin
from sspr_site.network import client_address
from sspr_site.paging import BoundedPaginator

from . import checked_imports
from .flows import registration_lapse, registrations_flag
from .models import Registration
from .queries import RegistrationState, with_methods, with_state
from .reminders import (
    RemindersInterrupted,
    interrupted_message,
    reminder_candidates,
    reminders_send,
    taken_message,
)

User = get_user_model()


@admin.register(Registration)
class RegistrationAdmin(
    CheckedLookupsMixin, CheckedSelectionMixin, BoundedSearchMixin, admin.ModelAdmin
):
    list_display = ["user", "completed_at", "last_confirmed_at", "reconfirmation_required"]
    list_filter = ["reconfirmation_required", "completed_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    # Read only, and never deleted here: a registration changes through what is recorded (the
    # person's pages, the user list's "Require reconfirmation", flag_stale_registrations, the
    # reminders), each audited, and goes with the person's methods when they are purged; a
    # flag typed here, or a registration deleted here, would not be audited.
    readonly_fields = [
        "user",
        "completed_at",
        "last_confirmed_at",
        "reconfirmation_required",
        "skips_used",
        "reminded_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


REMINDER_PAGE_SIZE = 50
# The problems listed on the import page; the rest are counted.
LISTED_PROBLEMS = 500
NOT_AVAILABLE = _(
    "That checked file is no longer available: it is kept for an hour, until it is applied. "
    "Upload it again to import it."
)


def password_in_directory(user) -> bool:
    """Whether the person's password lives in the directory (README "Directory"): the site is
    in directory mode and the person is mirrored from it (their DirectoryAccount link). A
    password set here would be a local hash that no sign-in reads."""
    return accounts().kind != "none" and DirectoryAccount.objects.filter(user_id=user.pk).exists()


class ContactImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"), help_text=_("UTF-8, with a header line naming the columns.")
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check every row, change nothing"), required=False, initial=True
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = checked_imports.MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _(
                    "This file is %(size)s, more than the %(limit)s this page takes. Nothing "
                    "was imported. Import it with the command instead, which shows its "
                    "progress: manage.py import_contact_info FILE (add --dry-run to check it "
                    "first)."
                )
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
                code="too_large",
            )
        return upload


class RegistrationStateFilter(admin.SimpleListFilter):
    title = _("password reset registration")
    parameter_name = "sspr_state"

    def lookups(self, request, model_admin):
        return RegistrationState.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(sspr_state=self.value())
        return queryset


class ResetAbilityFilter(admin.SimpleListFilter):
    title = _("can reset their password")
    parameter_name = "sspr_can_reset"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(sspr_can_reset=self.value() == "yes")
        return queryset


def _lapse_if_short(request, user) -> None:
    """The registration of someone just made staff, ended if it no longer meets the rule."""
    if registration_lapse(
        request=request, user=user, policy=Policy.load(), reason="made_staff", actor=request.user
    ):
        messages.warning(
            request,
            _(
                "%(username)s is now staff, and an administrator's registration needs more: "
                "it no longer meets the policy, so it ended. They are shown as not registered "
                "until they add what it needs."
            )
            % {"username": user.get_username()},
        )


class SsprUserAdmin(CheckedLookupsMixin, CheckedSelectionMixin, BoundedSearchMixin, UserAdmin):
    """Django's user admin plus registration state and recovery methods (never answers)."""

    # Methods administrators edit on the person's page bring their own inline (methods/base.py).
    inlines = [import_string(m.admin_inline) for m in REGISTRY.values() if m.admin_inline]
    readonly_fields = [
        *UserAdmin.readonly_fields,
        "registration_state",
        "recovery_methods",
    ]
    fieldsets = [
        *UserAdmin.fieldsets,
        (
            _("Password reset"),
            {"fields": ["registration_state", "recovery_methods"]},
        ),
    ]
    # The registration columns come first, so they stay in view at 1280 px with the admin's
    # navigation sidebar open; the rest may scroll.
    list_display = [
        "username",
        "registration_state",
        "can_reset",
        "email",
        "first_name",
        "last_name",
        "is_staff",
    ]
    list_filter = [RegistrationStateFilter, ResetAbilityFilter, *UserAdmin.list_filter]
    actions = ["require_reconfirmation"]
    change_list_template = "admin/auth/user/sspr_change_list.html"
    # Counted up to a bound, never over the whole table (sspr_site/paging.py).
    paginator = BoundedPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        policy = Policy.load()
        users = with_state(super().get_queryset(request), policy)
        return with_methods(users, policy, select_rule=False)

    @admin.display(description=_("Registration"), ordering="sspr_state")
    def registration_state(self, obj) -> str:
        return str(RegistrationState.labels.get(getattr(obj, "sspr_state", ""), ""))

    @admin.display(description=_("Can reset"), boolean=True, ordering="sspr_can_reset")
    def can_reset(self, obj) -> bool:
        # Worked out from the row's method flags (methods/reset_rule.py); the database only
        # filters and sorts by it.
        if not hasattr(obj, "sspr_other_methods"):
            return False
        return ResetRule.of(Policy.load()).allows_row(obj)

    @admin.display(description=_("Recovery methods"))
    def recovery_methods(self, obj) -> str:
        """Each method without an inline of its own, as it describes itself to administrators:
        never a key, an answer or another secret."""
        if obj is None or obj.pk is None:
            return ""
        policy = Policy.load()
        loaded = UserMethods.load(obj)
        shown = [
            f"{method.label}: {method.admin_text(method.status(loaded, policy))}"
            for method in REGISTRY.values()
            if method.is_enabled(policy) and not method.admin_inline
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in shown)) or "—"

    def get_urls(self):
        custom = [
            path(
                "import-contact-info/",
                self.admin_site.admin_view(self.import_contact_info_view),
                name="import_contact_info",
            ),
            path(
                "send-reminders/",
                self.admin_site.admin_view(self.send_reminders_view),
                name="send_reminders",
            ),
        ]
        return custom + super().get_urls()

    def import_contact_info_view(self, request):
        """Upload the same CSV file as the import_contact_info command takes. After a dry run
        the checked file is kept (for an hour, for this administrator's session only) so that
        it can be applied without uploading it again."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = ContactImportForm(request.POST or None, request.FILES or None)
        report = None
        pending = too_large = None
        checked_imports.sweep()  # files kept past their hour, whoever opens the page
        apply_token = request.POST.get("apply") if request.method == "POST" else None
        if apply_token:
            form = ContactImportForm()
            report = self._apply_kept(request, apply_token)
        elif request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            dry_run = form.cleaned_data["dry_run"]
            report = import_contact_info(
                upload.file,
                dry_run=dry_run,
                actor=request.user,
                ip=client_address(request),
                allowed_regions=Policy.load().region_list,
            )
            if dry_run and not report.fatal and report.applied:
                pending = checked_imports.keep(
                    request.session, request.user, upload.name, upload.file
                )
                too_large = pending is None
            else:
                checked_imports.drop(request.session)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import contact information"),
            "form": form,
            "report": report,
            "pending": pending,
            "too_large": too_large,
            "errors": report.errors[:LISTED_PROBLEMS] if report else [],
            "errors_left_off": max(len(report.errors) - LISTED_PROBLEMS, 0) if report else 0,
            # Values kept as the user verified them: as long a list, at most, for a large file.
            "kept": report.kept[:LISTED_PROBLEMS] if report else [],
            "kept_left_off": max(len(report.kept) - LISTED_PROBLEMS, 0) if report else 0,
            "columns": ", ".join(COLUMNS),
            # In directory mode the directory sets office phones: the page says so.
            "office_from_directory": accounts().kind != "none",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/auth/user/import_contact_info.html", context)

    def send_reminders_view(self, request):
        """Preview how many people a reminder would reach, then send on confirmation."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        policy = Policy.load()
        if request.method == "POST" and policy.reminders_enabled:
            try:
                report = reminders_send(policy=policy, actor=request.user, request=request)
            except RemindersInterrupted as stopped:
                self.message_user(request, interrupted_message(stopped.report), messages.ERROR)
                return redirect("admin:send_reminders")
            self.message_user(
                request,
                ngettext(
                    "%(count)d registration reminder was sent.",
                    "%(count)d registration reminders were sent.",
                    report.sent,
                )
                % {"count": report.sent},
                messages.SUCCESS,
            )
            if report.taken:  # another run claimed them first
                self.message_user(request, taken_message(report), messages.WARNING)
            return redirect("admin:send_reminders")
        page = None
        if policy.reminders_enabled:
            # Who would get one, a page at a time, the address masked (docs/security.md §20).
            people = reminder_candidates(policy).only(
                "pk", "username", "first_name", "last_name", "email"
            )
            page = Paginator(people, REMINDER_PAGE_SIZE).get_page(request.GET.get("page"))
            for person in page.object_list:
                person.masked_email = mask_email(person.email)
                person.why = RegistrationState.labels.get(person.sspr_state, "")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send registration reminders"),
            "policy": policy,
            "count": page.paginator.count if page else 0,
            "page": page,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/auth/user/send_reminders.html", context)

    def _apply_kept(self, request, token):
        data = checked_imports.take(request.session, request.user, token)
        if data is None:
            return ImportReport(fatal=str(NOT_AVAILABLE))
        return import_contact_info(
            io.BytesIO(data),
            actor=request.user,
            ip=client_address(request),
            allowed_regions=Policy.load().region_list,
        )

    def has_add_permission(self, request):
        # In directory mode people come from the directory (its sign-in, its mirror): an
        # account added here could never sign in, yet would count as in scope everywhere.
        return accounts().kind == "none" and super().has_add_permission(request)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and password_in_directory(obj):
            # The directory says whether the account is on: its sign-in and the sync set it
            # again, so a box ticked off here would be undone. Self-service is stopped for one
            # person from the helpdesk (a block on their resets) or in the directory.
            fields.append("is_active")
        return fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None or "password" not in form.base_fields or not password_in_directory(obj):
            return form

        class DirectoryUserForm(form):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                # Not Django's "No password set" and its "Set password" button, which led to
                # a page that sets nothing (user_change_password below).
                widget = self.fields["password"].widget
                widget.template_name = "registration/widgets/directory_password.html"
                self.fields["password"].help_text = _(
                    "This person's password lives in the directory and cannot be set here. "
                    "They reset it at /passwordreset/, or the helpdesk gives them a temporary "
                    "access pass."
                )

        return DirectoryUserForm

    def user_change_password(self, request, id, form_url=""):
        """Django's password page for local accounts. A directory account's password is not set
        here: a local hash would work nowhere and change nothing in the directory (README
        "Directory"), so the page says where the password lives and changes nothing."""
        user = self.get_object(request, unquote(id))
        if (
            user is not None
            and self.has_change_permission(request, user)
            and password_in_directory(user)
        ):
            context = {
                **self.admin_site.each_context(request),
                "title": _("The password is in the directory"),
                "subject": user,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/auth/user/password_in_directory.html", context)
        response = super().user_change_password(request, id, form_url)
        if user is not None and request.method == "POST" and response.status_code == 302:
            # Set (Django's page answers a refused form with the form again): the person's
            # history and the helpdesk say who set it, and an open reset of theirs ends
            # (passwordreset.flows.account_stamp).
            record(EventKind.PASSWORD_SET_BY_ADMIN, request=request, subject=user)
        return response

    @admin.action(description=_("Require reconfirmation"), permissions=["change"])
    def require_reconfirmation(self, request, queryset):
        count = registrations_flag(users=queryset, request=request)
        self.message_user(
            request,
            ngettext(
                "%(count)d user must confirm their registration at their next visit.",
                "%(count)d users must confirm their registration at their next visit.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def save_model(self, request, obj, form, change):
        made_staff = change and "is_staff" in form.changed_data and obj.is_staff
        super().save_model(request, obj, form, change)
        if made_staff:
            # An administrator's account is held to the administrators' rule (two methods,
            # never security questions: docs/security.md §14): a registration that falls
            # short of it ends, once the change is committed, and the page says so.
            transaction.on_commit(partial(_lapse_if_short, request, obj))

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.deleted_objects and formset.model in (OfficePhone, *CONTACT_METHODS):
            # A method an administrator deleted may leave the person short of the policy.
            transaction.on_commit(
                partial(
                    registration_lapse, request=request, user=form.instance, policy=Policy.load()
                )
            )
        if formset.model is OfficePhone:
            _office_phone_saved(request, form.instance, formset)
        elif formset.model in CONTACT_METHODS:
            _contact_removed(
                request, form.instance, formset, REGISTRY[CONTACT_METHODS[formset.model]]
            )
        for inline_form in formset.forms:
            if getattr(inline_form, "prepopulated_now", False):
                record(
                    EventKind.METHOD_PREPOPULATED,
                    request=request,
                    subject=form.instance,
                    method=str(inline_form.instance.kind),
                )


# The person's own contact methods an administrator may enter for them (to be confirmed) or
# delete (methods/admin.py): the registry's method of each.
CONTACT_METHODS = {AuthenticationPhone: "phone", AuthenticationEmail: "email"}


def _contact_removed(request, user, formset, method) -> None:
    """An administrator deleted the person's authentication phone or email: recorded, and,
    when it was verified (so it counted), the person told at their addresses, the removed
    one included, as when they remove it themselves. An entered value awaiting confirmation
    (methods/admin.py, PrepopulateForm) is recorded as entered."""
    policy = Policy.load()
    for item in formset.deleted_objects:
        record(
            EventKind.METHOD_REMOVED,
            request=request,
            subject=user,
            method=str(method.kind),
            action=str(ChangeAction.REMOVED),
            by="administrator",
        )
        if not item.verified_at:
            continue
        email = getattr(item, "email", "")
        masked = mask_email(email) if email else mask_phone(item.number)
        transaction.on_commit(
            partial(
                lifecycle.notify_method_changed,
                user=user,
                method=method,
                action=ChangeAction.REMOVED,
                policy=policy,
                masked=masked,
                extra_recipients=[email] if email else [],
            )
        )


def _office_phone_saved(request, user, formset) -> None:
    """The office phone counts for a reset on its own: an administrator's change to it is
    recorded and the person is told at their addresses, as for a method they change
    themselves (the notice names the phone masked, and says to call the helpdesk if the change
    was not expected)."""
    method = REGISTRY["office"]
    done = [(ChangeAction.ADDED, phone) for phone in formset.new_objects]
    done += [
        (ChangeAction.REPLACED, phone)
        for phone, fields in formset.changed_objects
        if "number" in fields
    ]
    done += [(ChangeAction.REMOVED, phone) for phone in formset.deleted_objects]
    policy = Policy.load()
    for action, phone in done:
        # Not "verified": nobody proved the number (the activity report counts those).
        record(
            EventKind.METHOD_REMOVED
            if action == ChangeAction.REMOVED
            else EventKind.METHOD_CHANGED,
            request=request,
            subject=user,
            method=str(method.kind),
            action=str(action),
            by="administrator",
        )
        masked = mask_phone(phone.number)
        # Told once the admin's save has committed (a later inline's error undoes it all).
        transaction.on_commit(
            partial(
                lifecycle.notify_method_changed,
                user=user,
                method=method,
                action=action,
                policy=policy,
                masked=masked,
            )
        )


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, SsprUserAdmin)


class SsprGroupAdmin(CheckedLookupsMixin, CheckedSelectionMixin, BoundedSearchMixin, GroupAdmin):
    """Django's groups, with what every list of the site shares (sspr_site/admin_search.py)."""


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, SsprGroupAdmin)
