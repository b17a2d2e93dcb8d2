from __future__ import annotations

import secrets
import time

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models import OuterRef, Subquery
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.log import record
from audit.models import EventKind
from methods.admin import AuthenticationEmailInline, AuthenticationPhoneInline, OfficePhoneInline
from methods.contact_import import COLUMNS, ImportReport, import_contact_info
from methods.models import SecurityAnswer
from sspr_site.admin_search import BoundedSearchMixin

from .flows import registrations_flag
from .models import Policy, Registration, Scope
from .queries import RegistrationState, with_methods, with_state
from .reminders import reminder_candidates, reminders_send

User = get_user_model()


def _plain(value):
    """A JSON-friendly form of a policy value for the audit log."""
    if hasattr(value, "pk"):
        return value.pk
    return value if isinstance(value, bool | int | str | type(None)) else str(value)


def tightening_changes(current: Policy, proposed: Policy) -> list[str]:
    """Describe each way `proposed` asks more of users than `current`; empty if none."""
    changes = []
    for field in (
        "methods_required",
        "reset_methods_required",
        "questions_required",
        "reset_questions_required",
    ):
        if getattr(proposed, field) > getattr(current, field):
            changes.append(
                _("%(field)s raised from %(old)d to %(new)d")
                % {
                    "field": Policy._meta.get_field(field).verbose_name,
                    "old": getattr(current, field),
                    "new": getattr(proposed, field),
                }
            )
    for field in (
        "phone_sms_enabled",
        "phone_voice_enabled",
        "email_enabled",
        "questions_enabled",
        "office_phone_enabled",
        "questions_alone_allowed",
    ):
        if getattr(current, field) and not getattr(proposed, field):
            changes.append(
                _("%(method)s turned off") % {"method": Policy._meta.get_field(field).verbose_name}
            )
    narrower = {
        (Scope.EVERYONE, Scope.GROUP),
        (Scope.EVERYONE, Scope.NOBODY),
        (Scope.GROUP, Scope.NOBODY),
    }
    if (current.scope, proposed.scope) in narrower or (
        current.scope == proposed.scope == Scope.GROUP
        and current.scope_group_id != proposed.scope_group_id
    ):
        changes.append(_("enabled for fewer people"))
    old_regions, new_regions = set(current.region_list), set(proposed.region_list)
    if new_regions and (not old_regions or not new_regions >= old_regions):
        changes.append(_("fewer phone countries allowed"))
    return changes


def newly_unable_to_reset(current: Policy, proposed: Policy):
    """Users who can reset under the current policy but could not under the proposed one."""
    users = User.objects.all()

    def able(policy: Policy):
        return with_methods(policy.scoped_users(users), policy).filter(sspr_can_reset=True)

    return users.filter(pk__in=able(current).values("pk")).exclude(
        pk__in=able(proposed).values("pk")
    )


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """One policy: the list goes straight to its form; it cannot be added twice or deleted."""

    fieldsets = [
        (_("Who may use it"), {"fields": ["scope", "scope_group"]}),
        (
            _("Methods users may register"),
            {
                "fields": [
                    "phone_sms_enabled",
                    "phone_voice_enabled",
                    "email_enabled",
                    "questions_enabled",
                    "office_phone_enabled",
                ]
            },
        ),
        (
            _("Requirements"),
            {
                "fields": [
                    ("methods_required", "reset_methods_required"),
                    ("questions_required", "reset_questions_required"),
                    "questions_alone_allowed",
                ],
                "description": _(
                    "Staff accounts always need two methods to reset and can never use security "
                    "questions, whatever is set here."
                ),
            },
        ),
        (
            _("Registration at sign-in and reconfirmation"),
            {"fields": ["require_registration_at_sign_in", "skips_allowed", "reconfirm_days"]},
        ),
        (_("Phones"), {"fields": ["allowed_regions"]}),
        (
            _("Help and notices"),
            {
                "fields": [
                    "helpdesk_contact",
                    "notify_users_on_reset",
                    "notify_admins_on_admin_reset",
                    ("reminders_enabled", "reminder_interval_days"),
                ]
            },
        ),
    ]

    def changelist_view(self, request, extra_context=None):
        policy = Policy.load()
        return redirect(reverse("admin:registration_policy_change", args=[policy.pk]))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Before a tightening change is saved, show who could no longer reset, and confirm."""
        if request.method == "POST" and object_id and "_confirm_impact" not in request.POST:
            current = self.get_object(request, object_id)
            if current is not None:
                proposed = Policy.objects.get(pk=current.pk)
                form = self.get_form(request, proposed, change=True)(
                    request.POST, request.FILES, instance=proposed
                )
                if form.is_valid():
                    changes = tightening_changes(current, form.instance)
                    if changes:
                        return self.impact_view(request, current, form.instance, changes)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def impact_view(self, request, current: Policy, proposed: Policy, changes: list[str]):
        affected = newly_unable_to_reset(current, proposed)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Confirm the policy change"),
            "opts": self.model._meta,
            "changes": changes,
            "count": affected.count(),
            "sample": affected.order_by("username")[:50],
            "posted": [
                (key, value)
                for key, values in request.POST.lists()
                if key != "csrfmiddlewaretoken"
                for value in values
            ],
        }
        return TemplateResponse(request, "admin/registration/policy/impact.html", context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.changed_data:
            record(
                EventKind.POLICY_CHANGED,
                request=request,
                changed={
                    name: [_plain(form.initial.get(name)), _plain(form.cleaned_data.get(name))]
                    for name in form.changed_data
                },
            )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Registration)
class RegistrationAdmin(BoundedSearchMixin, admin.ModelAdmin):
    list_display = ["user", "completed_at", "last_confirmed_at", "reconfirmation_required"]
    list_filter = ["reconfirmation_required", "completed_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "completed_at", "last_confirmed_at", "skips_used"]

    def has_add_permission(self, request):
        return False


PENDING_IMPORT = "sspr_pending_import"
PENDING_SECONDS = 3600


def _drop_pending(request) -> None:
    pending = request.session.pop(PENDING_IMPORT, None)
    if pending:
        default_storage.delete(pending["path"])


class ContactImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"), help_text=_("UTF-8, with a header line naming the columns.")
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check every row, change nothing"), required=False, initial=True
    )


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


class SsprUserAdmin(BoundedSearchMixin, UserAdmin):
    """Django's user admin plus registration state and recovery methods (never answers)."""

    inlines = [OfficePhoneInline, AuthenticationPhoneInline, AuthenticationEmailInline]
    readonly_fields = [*UserAdmin.readonly_fields, "security_questions", "registration_state"]
    fieldsets = [
        *UserAdmin.fieldsets,
        (_("Password reset"), {"fields": ["registration_state", "security_questions"]}),
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

    def get_queryset(self, request):
        policy = Policy.load()
        queryset = with_methods(with_state(super().get_queryset(request), policy), policy)
        # A subquery, not Max(): an aggregate would make every count group all users.
        latest = SecurityAnswer.objects.filter(user=OuterRef("pk")).order_by("-created_at")
        return queryset.annotate(answers_updated_at=Subquery(latest.values("created_at")[:1]))

    @admin.display(description=_("Registration"), ordering="sspr_state")
    def registration_state(self, obj) -> str:
        return str(RegistrationState.labels.get(getattr(obj, "sspr_state", ""), ""))

    @admin.display(description=_("Can reset"), boolean=True, ordering="sspr_can_reset")
    def can_reset(self, obj) -> bool:
        return bool(getattr(obj, "sspr_can_reset", False))

    @admin.display(description=_("Security questions"))
    def security_questions(self, obj) -> str:
        count = getattr(obj, "sspr_answers", 0)
        if not count:
            return str(_("Not configured"))
        return ngettext(
            "Configured: %(count)d question, updated %(date)s",
            "Configured: %(count)d questions, updated %(date)s",
            count,
        ) % {"count": count, "date": formats.date_format(obj.answers_updated_at)}

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
        pending = request.session.get(PENDING_IMPORT)
        apply_token = request.POST.get("apply") if request.method == "POST" else None
        if apply_token:
            form = ContactImportForm()
            report = self._apply_pending(request, pending, apply_token)
            pending = None
        elif request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            dry_run = form.cleaned_data["dry_run"]
            report = import_contact_info(
                upload.file,
                dry_run=dry_run,
                actor=request.user,
                allowed_regions=Policy.load().region_list,
            )
            pending = None
            if dry_run and not report.fatal and report.applied:
                pending = self._keep_for_applying(request, upload)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import contact information"),
            "form": form,
            "report": report,
            "pending": pending,
            "errors": report.errors[:500] if report else [],
            "columns": ", ".join(COLUMNS),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/auth/user/import_contact_info.html", context)

    def send_reminders_view(self, request):
        """Preview how many people a reminder would reach, then send on confirmation."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        policy = Policy.load()
        if request.method == "POST" and policy.reminders_enabled:
            report = reminders_send(policy=policy, actor=request.user, request=request)
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
            return redirect("admin:send_reminders")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send registration reminders"),
            "policy": policy,
            "count": reminder_candidates(policy).count() if policy.reminders_enabled else 0,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/auth/user/send_reminders.html", context)

    def _keep_for_applying(self, request, upload) -> dict:
        _drop_pending(request)
        token = secrets.token_urlsafe(16)
        upload.file.seek(0)
        name = default_storage.save(f"contact-imports/{token}.csv", upload.file)
        pending = {"token": token, "path": name, "name": upload.name[:100], "at": time.time()}
        request.session[PENDING_IMPORT] = pending
        return pending

    def _apply_pending(self, request, pending, token):
        fresh = pending and time.time() - pending["at"] < PENDING_SECONDS
        if not (fresh and secrets.compare_digest(pending["token"], token)):
            _drop_pending(request)
            return ImportReport(
                fatal=str(
                    _("That checked file is no longer available. Upload it again to import it.")
                )
            )
        with default_storage.open(pending["path"], "rb") as stream:
            report = import_contact_info(
                stream, actor=request.user, allowed_regions=Policy.load().region_list
            )
        _drop_pending(request)
        return report

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

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:
            if getattr(inline_form, "prepopulated_now", False):
                record(
                    EventKind.METHOD_PREPOPULATED,
                    request=request,
                    subject=form.instance,
                    method=inline_form.instance.kind.value,
                )


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, SsprUserAdmin)
