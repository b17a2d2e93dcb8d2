"""The policy in the admin: one form, with a section per recovery method generated from the
method's own option fields, and a preview of who could no longer reset before a tightening
change is saved."""

from __future__ import annotations

import copy
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.validators import MinValueValidator
from django.db import router, transaction
from django.db.models import Value
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audit.log import record
from audit.models import EventKind
from methods.models import SecurityQuestion
from methods.registry import REGISTRY, annotate_methods, enabled_methods
from methods.reset_rule import ResetRule, proof_of

from .models import Policy, Scope, option_field_name
from .signals import policy_tightened

User = get_user_model()


def _plain(value):
    """A JSON-friendly form of a policy value for the audit log."""
    if hasattr(value, "pk"):
        return value.pk
    return value if isinstance(value, bool | int | str | type(None)) else str(value)


def _enabled_field(method) -> forms.BooleanField:
    return forms.BooleanField(
        label=method.label,
        required=False,
        help_text=_("People may use this method."),
    )


def method_fields() -> dict[str, forms.Field]:
    """The form fields of every method's options, named method__<key>__<option>."""
    fields = {}
    for method in REGISTRY.values():
        fields[option_field_name(method, "enabled")] = _enabled_field(method)
        for name, field in method.option_fields.items():
            shown = fields[option_field_name(method, name)] = copy.deepcopy(field)
            # A label of its own, on a line of its own: begun with a capital, as the admin's.
            shown.label = capfirst(shown.label)
    return fields


NO_ADMINISTRATOR_RESETS = _(
    "Saved, but under this policy no administrator account can reset its own password: "
    "administrators need two methods besides security questions, and fewer are turned on. "
    "They will need the helpdesk (a temporary access pass) to get back in."
)


def administrators_can_reset(policy: Policy) -> bool:
    """Whether an administrator who registered every method the policy turns on could reset
    (methods.reset_rule, as the portal decides)."""
    every = proof_of(enabled_methods(policy), privileged=True, policy=policy)
    return ResetRule.of(policy).allows(every)


class PolicyForm(forms.ModelForm):
    class Meta:
        model = Policy
        # The policy's own fields; the methods' options are added by the form itself.
        fields = [
            field.name
            for field in Policy._meta.fields
            if field.editable and field.name not in ("id", "method_options")
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A number's box states the model's own range (a positive field's form box would
        # otherwise say "0 or more" for a value whose least is 1, then refuse 0).
        for name, field in self.fields.items():
            if isinstance(field, forms.IntegerField):
                for validator in Policy._meta.get_field(name).validators:
                    if isinstance(validator, MinValueValidator):
                        field.min_value = validator.limit_value
                        field.widget.attrs["min"] = validator.limit_value
                        field.validators = [
                            *(v for v in field.validators if not isinstance(v, MinValueValidator)),
                            validator,
                        ]
        self.fields.update(method_fields())
        for method in REGISTRY.values():
            for name, value in self.instance.options_of(method).items():
                self.initial[option_field_name(method, name)] = value

    def clean(self):
        cleaned = super().clean()
        options = {}
        for method in REGISTRY.values():
            names = ["enabled", *method.option_fields]
            options[method.key] = {
                name: cleaned[option_field_name(method, name)]
                for name in names
                if option_field_name(method, name) in cleaned
            }
        # Checked with the rest of the policy (Policy.clean, each method's clean_options).
        self.instance.method_options = options
        questions = options.get("questions", {})
        if questions.get("enabled") and questions.get("count"):
            offered = SecurityQuestion.objects.filter(active=True).count()
            if questions["count"] > offered:
                # People choose each question once from those offered (the questions' admin
                # keeps at least this many offered, methods/admin.py).
                self.add_error(
                    option_field_name(REGISTRY["questions"], "count"),
                    ngettext(
                        "Only %(offered)d question is offered, fewer than the %(count)d people "
                        "would answer. Offer more questions first, or ask for fewer.",
                        "Only %(offered)d questions are offered, fewer than the %(count)d people "
                        "would answer. Offer more questions first, or ask for fewer.",
                        offered,
                    )
                    % {"offered": offered, "count": questions["count"]},
                )
        return cleaned


STALE_CONFIRMATION = _(
    "The policy was changed by someone else after that confirmation page was shown, so nothing "
    "was saved. Here is the policy as it is now; make your change again."
)
STALE_PAGE = _(
    "The policy was changed after this page was opened (in another tab, or by someone else), "
    "so nothing was saved: saving it would have put back that change. Here is the policy as "
    "it is now; make your change again."
)


def _version(policy: Policy) -> str:
    """The saved policy's version: the time of its last save."""
    return policy.updated_at.isoformat() if policy.updated_at else ""


def tightening_changes(current: Policy, proposed: Policy) -> list[str]:
    """Describe each way `proposed` asks more of users than `current`; empty if none."""
    changes = []
    for field in ("methods_required", "reset_methods_required"):
        if getattr(proposed, field) > getattr(current, field):
            changes.append(
                _("%(field)s raised from %(old)d to %(new)d")
                % {
                    "field": Policy._meta.get_field(field).verbose_name,
                    "old": getattr(current, field),
                    "new": getattr(proposed, field),
                }
            )
    for method in REGISTRY.values():
        now, then = current.options_of(method), proposed.options_of(method)
        if method.is_enabled(current) and not method.is_enabled(proposed):
            changes.append(_("%(method)s turned off") % {"method": method.label})
            continue
        for name, field in method.option_fields.items():
            old, new = now[name], then[name]
            if isinstance(old, bool) and old and not new:
                changes.append(
                    _("%(method)s: %(option)s turned off")
                    % {"method": method.label, "option": field.label}
                )
            elif isinstance(old, int) and not isinstance(old, bool) and new > old:
                changes.append(
                    _("%(method)s: %(option)s raised from %(old)d to %(new)d")
                    % {"method": method.label, "option": field.label, "old": old, "new": new}
                )
    if current.questions_alone_allowed and not proposed.questions_alone_allowed:
        changes.append(
            _("%(option)s turned off")
            % {"option": Policy._meta.get_field("questions_alone_allowed").verbose_name}
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


def able_to_reset(policy: Policy, users):
    """Users of `users` who can reset under `policy` (the one rule, methods.reset_rule)."""
    annotated = annotate_methods(policy.scoped_users(users), policy)
    return ResetRule.of(policy).annotate(annotated).filter(sspr_can_reset=True)


def registrations_ending(proposed: Policy):
    """People registered now whose methods would not meet `proposed`: the registrations a
    save ends (registration.flows.lapse_short, which asks the same of each person in Python:
    the reset rule met with no cooling-off, and at least the policy's number to register)."""
    registered = User.objects.filter(sspr_registration__completed_at__isnull=False)
    annotated = annotate_methods(registered, proposed).alias(sspr_any_time=Value(1))
    ruled = ResetRule.of(proposed).annotate(annotated, fresh="sspr_any_time", select=False)
    return ruled.exclude(sspr_can_reset=True, sspr_counted__gte=proposed.methods_required)


def newly_unable_to_reset(current: Policy, proposed: Policy):
    """Users who can reset under the current policy but could not under the proposed one."""
    users = User.objects.all()
    return users.filter(pk__in=able_to_reset(current, users).values("pk")).exclude(
        pk__in=able_to_reset(proposed, users).values("pk")
    )


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """One policy: the list goes straight to its form; it cannot be added twice or deleted."""

    form = PolicyForm

    def get_fieldsets(self, request, obj=None):
        methods = [
            (
                _("Method: %(method)s") % {"method": method.label},
                {
                    "fields": [
                        option_field_name(method, name)
                        for name in ["enabled", *method.option_fields]
                    ],
                    "description": method.summary,
                },
            )
            for method in REGISTRY.values()
        ]
        return [
            (_("Who may use it"), {"fields": ["scope", "scope_group"]}),
            (
                _("Requirements"),
                {
                    "fields": [
                        ("methods_required", "reset_methods_required"),
                        "questions_alone_allowed",
                        "cooling_off_hours",
                    ],
                    "description": _(
                        "Staff accounts always need two methods to reset and can never use "
                        "security questions, whatever is set here."
                    ),
                },
            ),
            *methods,
            (
                _("Registration at sign-in and reconfirmation"),
                {"fields": ["require_registration_at_sign_in", "skips_allowed", "reconfirm_days"]},
            ),
            (_("Phones"), {"fields": ["allowed_regions"]}),
            (
                _("Temporary access passes"),
                {
                    "fields": ["access_pass_lifetime_minutes", "access_pass_single_use"],
                    "description": _(
                        "The helpdesk can give a person who has lost every method, or a new "
                        "starter, a pass to sign in with once, register methods and set a new "
                        "password. Administrator accounts need a second person's approval."
                    ),
                },
            ),
            (
                _("Help and notices"),
                {
                    "fields": [
                        "helpdesk_contact",
                        "notify_users_on_reset",
                        "notify_admins_on_admin_reset",
                        ("reminders_enabled", "reminder_interval_days"),
                        "expiry_reminder_days",
                        ("expiry_reminder_email", "expiry_reminder_text"),
                    ]
                },
            ),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The methods' fields are added by the form itself, not read from the model.
        kwargs["fields"] = PolicyForm.Meta.fields
        return super().get_form(request, obj, change, **kwargs)

    def changelist_view(self, request, extra_context=None):
        policy = Policy.load()
        return redirect(reverse("admin:policy_policy_change", args=[policy.pk]))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Before a tightening change is saved, show who could no longer reset, and confirm.
        The confirmation carries the version of the policy it was worked out against; once
        the policy was saved since, it is refused, so an old page cannot put back the values
        it carries over a later change. The save checks the version again in its own
        transaction with the policy's row locked first: of two pages sent at the same moment
        with the same version, the second waits for the first, then finds its save and is
        refused. The impact page saves nothing, and is worked out without the lock."""
        current = self.get_object(request, object_id) if object_id else None
        if current is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        if request.method == "POST":
            refused = self._refused_if_stale(request, current)
            if refused is not None:
                return refused
        # Drawn again after a refused field, the page keeps the version it came from.
        version = request.POST.get("_policy_version") or _version(current)
        extra_context = {**(extra_context or {}), "policy_version": version}
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        if "_confirm_impact" not in request.POST:
            proposed = Policy.objects.get(pk=current.pk)
            form = self.get_form(request, proposed, change=True)(
                request.POST, request.FILES, instance=proposed
            )
            if form.is_valid():
                changes = tightening_changes(current, form.instance)
                if changes:
                    return self.impact_view(request, current, form.instance, changes)
        with transaction.atomic(using=router.db_for_write(self.model)):
            locked = Policy.objects.select_for_update().get(pk=current.pk)
            refused = self._refused_if_stale(request, locked)
            if refused is not None:
                return refused
            return super().changeform_view(request, object_id, form_url, extra_context)

    def _refused_if_stale(self, request, current: Policy):
        """The answer to a page sent from a version of the policy saved over since; None when
        it may go on. The policy page and the confirmation both carry the version they were
        drawn from (a policy page drawn before this check carries none and is taken as it
        comes; a confirmation without one is refused)."""
        checked = "_policy_version" in request.POST or "_confirm_impact" in request.POST
        if not checked or request.POST.get("_policy_version") == _version(current):
            return None
        form = self.get_form(request, current, change=True)(
            request.POST, request.FILES, instance=Policy.objects.get(pk=current.pk)
        )
        if form.is_valid() and not form.has_changed():
            # Sent twice (a double click, a reload): the first one saved it.
            self.message_user(request, _("This change was already saved."))
        elif "_confirm_impact" in request.POST:
            self.message_user(request, STALE_CONFIRMATION, messages.ERROR)
        else:
            self.message_user(request, STALE_PAGE, messages.ERROR)
        return redirect(reverse("admin:policy_policy_change", args=[current.pk]))

    def impact_view(self, request, current: Policy, proposed: Policy, changes: list[str]):
        affected = newly_unable_to_reset(current, proposed)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Confirm the policy change"),
            "opts": self.model._meta,
            "changes": changes,
            "count": affected.count(),
            "ending": registrations_ending(proposed).count(),
            "sample": affected.order_by("username")[:50],
            "posted": [
                (key, value)
                for key, values in request.POST.lists()
                if key not in ("csrfmiddlewaretoken", "_policy_version")
                for value in values
            ],
            # The version the page was drawn from, checked against the policy just now (a page
            # without one is taken as it comes: the policy's version as it is read here).
            "version": request.POST.get("_policy_version") or _version(current),
        }
        return TemplateResponse(request, "admin/policy/policy/impact.html", context)

    def save_model(self, request, obj, form, change):
        before = Policy.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        if before is not None and tightening_changes(before, obj):
            # Registrations it no longer finds complete end (registration/signals.py, which
            # says so on the page): a person shown as registered can reset (docs/security.md
            # rule 14).
            transaction.on_commit(
                partial(
                    policy_tightened.send,
                    sender=Policy,
                    policy=obj,
                    request=request,
                    ending=registrations_ending(obj).count(),
                )
            )
        if not administrators_can_reset(obj):
            self.message_user(request, NO_ADMINISTRATOR_RESETS, messages.WARNING)
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
