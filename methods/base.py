"""What every recovery method declares: the contract the pages, the reset portal, the helpdesk
and the admin rely on. A method is one module (or package) with a Method subclass, listed once
in methods/registry.py; nothing outside it names the method (docs/architecture.md).

A method answers, for itself:
- its label, summary, and whether people manage it themselves (`user_managed`);
- its policy options: `enabled` plus its own fields (`option_fields`), kept in
  Policy.method_options and validated by the method's form fields;
- how it counts toward the reset rule (methods/reset_rule.py): `counts_alone` (it may be the
  one method an ordinary account has: security questions, which someone may know or guess,
  count only beside another), `counts_for_privileged` (it counts toward an administrator
  account's two: security questions do not), `privileged_alone(policy)` (it alone may satisfy
  an administrator account), `vouches_for_new` (held from before, it lets a method that is
  cooling off count beside it: security questions do not), and `phishing_resistant`;
- its state for one person (`load_one` adds to the person's one query, `from_row` reads it back)
  and for many (`annotate_many` adds a 0/1 flag and the values the helpdesk may see, in SQL);
- its pages: `setup_urlconf` (mounted at /ssprsetup/<slug>/) and `reset_urlconf` (mounted at
  /passwordreset/<slug>/); each view there is given `method_key`, so a family of methods can
  share its pages (methods/code);
- what the owner, the helpdesk (masked) and the export see of it;
- how it is removed (`remove`, by its owner) and purged (`purge`, every record of it, pending
  ones too: a leaver past retention), and whether the helpdesk can check a caller with it.

Its life is not its own to write: its pages call methods/lifecycle.py (added, replaced, used,
removed) for the audit event, the new session key, the notice and the signals, and reach the
apps that mount them only through methods/pages.py. Its SQL names (`flag_name`, sspr_<key>,
and `many_fields`) are annotations on the user model: methods/checks.py refuses one that
equals a field or relation of that model, so relations to the user take related_name="+" or
a name outside that prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.db import models
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from sspr_site.paths import path_to

if TYPE_CHECKING:
    from policy.models import Policy


class MethodState(models.TextChoices):
    """Where one method stands for its owner."""

    NOT_SET = "not_set", _("Not set up")
    WAITING = "waiting", _("Waiting for your confirmation")
    VERIFIED = "verified", _("Verified")
    SET_BY_ADMIN = "set_by_admin", _("Set by your administrator")
    # An office phone with the number of the verified authentication phone: one handset, one
    # method (methods/code/office.py).
    SAME_NUMBER = (
        "same_number",
        _("The same number as your authentication phone: not counted twice"),
    )
    INCOMPLETE = "incomplete", _("More answers needed")
    # A number the policy's countries no longer include: every send to it is refused.
    NOT_ALLOWED = (
        "not_allowed",
        _("Not usable: your organisation does not send codes to this country"),
    )


@dataclass(frozen=True)
class MethodStatus:
    method: Method
    state: MethodState
    value: str = ""  # in full: only for the owner's own pages
    masked: str = ""
    updated_at: datetime | None = None
    confirm_url: str = ""  # a waiting method the owner can confirm with one button
    count: int = 0  # for methods of several parts (answers, keys): how many

    @property
    def counts(self) -> bool:
        return self.state in (MethodState.VERIFIED, MethodState.SET_BY_ADMIN)

    @property
    def is_set(self) -> bool:
        return self.state != MethodState.NOT_SET


def flag(condition: Q) -> Case:
    """1 where `condition` holds, else 0: the form every method's count flag takes in SQL."""
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


ZERO = Value(0, output_field=IntegerField())


class Method:
    kind: ClassVar[str]  # stored in audit events and reset attempts; never changes
    slug: ClassVar[str]  # in URLs
    key: ClassVar[str]  # an identifier: SQL annotations (sspr_<key>), filters, export columns
    label: ClassVar[Any]
    summary: ClassVar[Any] = ""
    user_managed: ClassVar[bool] = True
    # How it counts (methods/reset_rule.py): on its own, and for an administrator account.
    counts_alone: ClassVar[bool] = True
    counts_for_privileged: ClassVar[bool] = True
    # Held from before, whether it lets a new method that is cooling off count beside it
    # (methods/cooling.py; docs/security.md §69).
    vouches_for_new: ClassVar[bool] = True
    # Whether "That wasn't me" may undo a replacement by removing the method (and putting back
    # what it replaced, `restore`): not for a method made of parts (passkeys), where the change
    # added one part beside the person's others, which the removal would take too.
    undo_removes_only_the_change: ClassVar[bool] = True
    phishing_resistant: ClassVar[bool] = False
    # Whether its reset page shows something of the person's own before another method passed
    # (their security questions): the same name spelt two ways (a username and a mail) would
    # show it alike, telling the two are one person's (passwordreset/flows.py `offered_methods`).
    shows_the_persons_own: ClassVar[bool] = False
    # How hard the method is to steal or phish: the proof before a change and the reset portal
    # offer the strongest first (methods/proof.py). Passkey 50, authenticator app 40, recovery
    # codes 30, phones 20, email 10.
    proof_strength: ClassVar[int] = 0
    enabled_by_default: ClassVar[bool] = False
    option_fields: ClassVar[dict[str, forms.Field]] = {}
    setup_urlconf: ClassVar[str | None] = None
    reset_urlconf: ClassVar[str | None] = None
    # An inline (dotted path) administrators edit the method with on the person's page; a
    # method without one is shown there as a line (admin_text).
    admin_inline: ClassVar[str] = ""
    # The helpdesk may check a caller with it: "send" a code, or "ask" for one the caller reads.
    caller_check: ClassVar[str] = ""
    # What the helpdesk's code box says the caller reads out (each method words its own).
    caller_check_prompt: ClassVar[Any] = _(
        "The 6 digits the caller reads from the message we sent."
    )

    def change_begun_with_proof(self, request) -> bool:
        """Whether the change under way on the method's own setup page, in this session, began
        with a proof with a registered method recently enough that its confirming step
        finishes it without asking again (README, "Proof before change"): as a code's does
        while the code lasts (methods/code/setup_views.py, change_gate)."""
        return False

    def confirmed_meanwhile(self, request) -> str:
        """What to tell a POST of the method's own setup page when what this session was
        setting up is found confirmed already: the same right code sent from two tabs at once,
        this one's request having read the session before the other's answer wrote it
        (docs/security.md rule 3). '' otherwise, as for a method whose confirming step is
        not on that page."""
        return ""

    def caller_wait(self, *, user) -> str:
        """For an "ask" caller check: what the helpdesk is told while a code would not be
        looked at (the wait after a wrong one), or "" when it would be. A sent code's wait is
        its code's own (methods/flows.py wait_message_for)."""
        return ""

    # --- Policy ---------------------------------------------------------------------------

    def option(self, policy: Policy, name: str):
        stored = (policy.method_options or {}).get(self.key, {})
        if name in stored:
            return stored[name]
        if name == "enabled":
            return self.enabled_by_default
        return self.option_fields[name].initial

    def clean_options(self, options: dict) -> dict:
        """Check the method's options together (each field checks itself); raise a
        ValidationError keyed by option name."""
        return options

    def is_enabled(self, policy: Policy) -> bool:
        return bool(self.option(policy, "enabled"))

    def privileged_alone(self, policy: Policy) -> bool:
        """Whether this method alone may let an administrator account reset."""
        return False

    def note(self, policy: Policy) -> str:
        """What the owner should know about this method under the policy, if anything."""
        return ""

    # --- One person -----------------------------------------------------------------------

    def load_one(self, queryset: QuerySet) -> QuerySet:
        """Add what this method needs to the one query that loads a person's methods."""
        return queryset

    def from_row(self, row) -> Any:
        """This method's record from that query's row (None when the person is unknown)."""
        return None

    def status(self, methods, policy: Policy) -> MethodStatus:
        raise NotImplementedError

    def setup_page(self, step: str) -> str:
        """One of the method's own setup pages, by its URL name in `setup_urlconf`."""
        return path_to(f"registration:{self.key}:{step}")

    def reset_page(self, step: str) -> str:
        """One of the method's own reset pages, by its URL name in `reset_urlconf`."""
        return path_to(f"passwordreset:{self.key}:{step}")

    def setup_url(self) -> str:
        return self.setup_page("start")

    def reset_url(self) -> str:
        return self.reset_page("start")

    def reset_hint(self, methods) -> str:
        """A masked hint shown at reset once another method passed (never before)."""
        return ""

    def reset_start_form(
        self, policy: Policy, data=None, *, auto_id: str = "id_%s", hinted: bool = False
    ):
        """The form the method's first reset page (`reset_url()`) asks to fill, when it asks
        nothing of the person's own: the reset portal's methods page draws it on the method's
        card, sent to that page, so the person skips a page (`hinted`: beside the card's
        masked hint, so it does not say nothing is shown). Its `send_label`, when it has one,
        names the button ("Send the code" otherwise). None: the card links to the page."""
        return None

    def reset_start_form_shape(self, policy: Policy) -> tuple | None:
        """What `reset_start_form` depends on, unbound, besides the language (the card's form
        is rendered once for each: passwordreset.views.CARD_FORM); None when there is none."""
        return None

    def admin_text(self, status: MethodStatus) -> str:
        """How the admin's user page describes the method (no secret)."""
        return status.masked or str(MethodState.NOT_SET.label)

    def notice_address(self, methods) -> str | None:
        """An address where the person should also hear of changes to their account (a
        proven personal address), if this method holds one."""
        return None

    def remove(self, user) -> tuple[bool, list[str]]:
        """Remove the person's registration of this method. Return whether there was one, and
        addresses that should also hear of the removal."""
        raise NotImplementedError

    def restore(self, user, value: str) -> bool:
        """Put back what a replacement replaced (`value`, as the method's own pages stored it),
        verified, for "That wasn't me" (methods/not_me.py). Return whether it could: a method
        whose replacement cannot be undone this way (new keys) returns False."""
        return False

    def purge(self, user) -> bool:
        """Remove every record this method holds of the person, whoever manages it, pending
        ones too (a leaver's data after the retention period: methods.lifecycle.purge). Return
        whether there was any. The contract suite checks no row of any method is left."""
        return self.remove(user)[0]

    # --- Many people (the helpdesk, the admin, the export) ---------------------------------

    @property
    def flag_name(self) -> str:
        return f"sspr_{self.key}"

    def usable_at_reset(self, methods, policy: Policy) -> bool:
        """Whether the person could pass this method at the reset portal (the portal offers
        only such methods once it knows who the person is)."""
        return self.status(methods, policy).counts

    def count_condition(self, policy: Policy) -> Q:
        """The SQL condition for "this method counts for the person"."""
        raise NotImplementedError

    def annotate_many(self, queryset: QuerySet, policy: Policy) -> QuerySet:
        """Annotate `flag_name` (0 or 1) and the values `masked_many` reads, without a query
        per row."""
        expression = flag(self.count_condition(policy)) if self.is_enabled(policy) else ZERO
        return queryset.annotate(**{self.flag_name: expression})

    @property
    def many_fields(self) -> list[str]:
        """The annotations `masked_many` and `export_value` read."""
        return [self.flag_name]

    def masked_many(self, values: dict) -> str:
        """What the helpdesk sees of the method: masked, or empty when it does not count."""
        return str(self.label) if values[self.flag_name] else ""

    def export_value(self, values: dict):
        return self.masked_many(values)
