"""The code family's records: the phone and address a person proves with a code, the office
phone administrators set, and the one-time code itself. They belong to the `methods` app
(methods/models.py imports them), under the names and tables they always had."""

from __future__ import annotations

import enum
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import CooldownMixin, SideChannelDevice, ThrottlingMixin
from django_otp.util import random_number_token
from phonenumber_field.modelfields import PhoneNumberField

from methods.conf import app_settings
from methods.models import MethodKind, method_kinds
from sspr_site.compiled_query import OneRow
from sspr_site.rows import Insert, Update

from .email_addresses import canonical_email
from .phone_numbers import region_of


class Purpose(models.TextChoices):
    REGISTER = "register", _("Registration")
    RESET = "reset", _("Password reset")
    HELPDESK = "helpdesk", _("Helpdesk check")


class Channel(models.TextChoices):
    SMS = "sms", _("Text message")
    VOICE = "voice", _("Voice call")
    EMAIL = "email", _("Email")

    @property
    def send_label(self):
        """What a button that sends a code this way says."""
        if self == Channel.SMS:
            return _("Text me a code")
        if self == Channel.VOICE:
            return _("Call me with a code")
        return _("Send me a code")


class ContactMethod(models.Model):
    """What an authentication phone and an authentication email have in common: the user
    proves it with a code, and an administrator may prepopulate it with the user's consent."""

    verified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the user last proved they receive codes here; empty until then."),
    )
    last_used_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When a code sent here was last accepted.")
    )
    prepopulated = models.BooleanField(
        default=False,
        help_text=_("Entered by an administrator; counts only after the user confirms it."),
    )
    consent_recorded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When an administrator recorded that the user agreed to prepopulation."),
    )
    updated_at = models.DateTimeField(auto_now=True, help_text=_("Last change."))

    class Meta:
        abstract = True

    def owner_name(self) -> str:
        """Whose it is, for the admin's headings and messages: the username where the person
        was read with it (an inline on their page), else their number, without a query."""
        if type(self).user.is_cached(self):
            return self.user.get_username()
        return str(self.user_id)


class CanonicalEmailField(models.EmailField):
    """An address stored in its canonical form (email_addresses.py), however its row is
    written: a form, the admin, the import, a statement built once (sspr_site/rows.py)."""

    def pre_save(self, model_instance, add):
        value = canonical_email(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


class NumberRegionField(models.CharField):
    """A number's country, kept with it however its row is written (a form, the admin, a
    statement built once), so that lists and counts filter by the policy's countries in SQL as
    the check before every send does (countries sharing a calling code, such as +1 or +44,
    told apart)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def pre_save(self, model_instance, add):
        value = region_of(model_instance.number) if model_instance.number else ""
        setattr(model_instance, self.attname, value)
        return value


class AuthenticationPhone(ContactMethod):
    """A phone the user can receive a text or a call on. Seen only by its owner and admins."""

    kind = MethodKind.AUTHENTICATION_PHONE

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="authentication_phone",
        help_text=_("The account this phone belongs to."),
    )
    number = PhoneNumberField(help_text=_("The number in international (E.164) form."))
    country = NumberRegionField(help_text=_("The number's country."))

    class Meta:
        verbose_name = _("authentication phone")
        verbose_name_plural = _("authentication phones")

    def __str__(self) -> str:
        return str(_("Authentication phone of %(user)s") % {"user": self.owner_name()})


class AuthenticationEmail(ContactMethod):
    """An address the user can read without the password they may need to reset."""

    kind = MethodKind.AUTHENTICATION_EMAIL

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="authentication_email",
        help_text=_("The account this address belongs to."),
    )
    email = CanonicalEmailField(max_length=254, help_text=_("The alternate email address."))

    class Meta:
        verbose_name = _("authentication email")
        verbose_name_plural = _("authentication emails")

    def __str__(self) -> str:
        return str(_("Authentication email of %(user)s") % {"user": self.owner_name()})


class OfficePhone(models.Model):
    """The directory phone number. Only administrators set it; users see it read-only."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="office_phone",
        help_text=_("The account this office phone belongs to."),
    )
    number = PhoneNumberField(help_text=_("The office number in international (E.164) form."))
    country = NumberRegionField(help_text=_("The number's country."))
    last_used_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When a code to this phone was last accepted.")
    )
    updated_at = models.DateTimeField(auto_now=True, help_text=_("Last change."))

    class Meta:
        verbose_name = _("office phone")
        verbose_name_plural = _("office phones")

    def __str__(self) -> str:
        # Never the number: the admin's history keeps what this says (docs/security.md §21).
        owner = self.user.get_username() if type(self).user.is_cached(self) else self.user_id
        return str(_("Office phone of %(user)s") % {"user": owner})


class CheckOutcome(enum.Enum):
    """Why a code was accepted or refused. Users see one message for every refusal."""

    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    NO_CODE = "no_code"
    THROTTLED = "throttled"
    LOCKED = "locked"
    # The right code, sent to a number or address the person no longer has registered.
    NO_LONGER_REGISTERED = "no_longer_registered"


class VerificationCode(ThrottlingMixin, CooldownMixin, SideChannelDevice):
    """The code channel for one user, method and purpose: at most one live code at a time.

    django-otp's mixins bring the resend cooldown (CooldownMixin) and the exponential backoff
    over consecutive failures (ThrottlingMixin). The code itself is kept only as a keyed hash
    bound to the session that asked for it, never in clear.
    """

    # Replaces SideChannelDevice.token: an HMAC-SHA256 digest instead of the code.
    token = models.CharField(
        max_length=64, blank=True, null=True, help_text=_("Keyed hash of the live code.")
    )
    method = models.CharField(
        max_length=32, choices=method_kinds, help_text=_("Which recovery method.")
    )
    purpose = models.CharField(
        max_length=16, choices=Purpose.choices, help_text=_("What the code is for.")
    )
    channel = models.CharField(
        max_length=8, choices=Channel.choices, blank=True, help_text=_("How it was sent.")
    )
    destination = models.CharField(
        max_length=254, blank=True, help_text=_("Where the live code was sent (E.164 or address).")
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text=_("Wrong entries against the live code.")
    )
    delivery_problem = models.CharField(
        max_length=24,
        blank=True,
        help_text=_("Why the last code could not be delivered; empty when it went out."),
    )
    extensions = models.PositiveSmallIntegerField(
        default=0, help_text=_("Times the live code was given more time.")
    )
    # A keyed hash of the session the live code was asked from (its binding): only that
    # session can give it more time (give_more_time).
    session_mark = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "method", "purpose"], name="one_code_per_method_and_purpose"
            )
        ]
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")

    def __str__(self) -> str:
        return f"{self.method}/{self.purpose} ({self.user_id})"

    # django-otp hooks
    def get_cooldown_duration(self) -> int:
        return app_settings.CODE_RESEND_SECONDS

    def get_throttle_factor(self) -> int:
        return app_settings.CODE_THROTTLE_FACTOR

    def _digest(self, code: str, binding: str) -> str:
        # The row's unique key (person, method, purpose) names it: its digest can be written
        # with the row itself (issue_first), before the database gives it its id.
        value = f"{self.user_id}|{self.method}|{self.purpose}|{binding}|{code}"
        return salted_hmac("methods.VerificationCode.v2", value, algorithm="sha256").hexdigest()

    def _digest_with_id(self, code: str, binding: str) -> str:
        """The keyed hash the version before wrote, with the row's id: a code it sent, or one
        sent by a host not yet upgraded while several are, still verifies (codes live ten
        minutes; this can go once every host writes the digest above)."""
        value = f"{self.pk}|{self.user_id}|{self.method}|{self.purpose}|{binding}|{code}"
        return salted_hmac("methods.VerificationCode", value, algorithm="sha256").hexdigest()

    def issue(self, *, destination: str, channel: str, binding: str) -> str:
        """Create a new code, voiding the previous one, and return it for delivery only."""
        code = self._new_code(destination=destination, channel=channel, binding=binding)
        _ISSUED.update(self.pk, **{name: getattr(self, name) for name in _ISSUED.names})
        return code

    @classmethod
    def issue_first(
        cls, *, user, method: str, purpose: str, destination: str, channel: str, binding: str
    ) -> tuple[VerificationCode, str] | None:
        """The first code for this person, method and purpose: its row written with the code in
        one INSERT. None, writing nothing, when a row is there after all (another send wrote it
        first): issue() on that one, once locked."""
        device = cls(user=user, method=method, purpose=purpose, name=method)
        code = device._new_code(destination=destination, channel=channel, binding=binding)
        saved = _FIRST.create(
            user=user,
            method=method,
            purpose=purpose,
            name=method,
            **{name: getattr(device, name) for name in _ISSUED.names},
        )
        return None if saved is None else (saved, code)

    def _new_code(self, *, destination: str, channel: str, binding: str) -> str:
        """A new code's fields set on this row (nothing written); the code, for delivery."""
        code = random_number_token(app_settings.CODE_DIGITS)
        self.token = self._digest(code, binding)
        self.valid_until = timezone.now() + timedelta(seconds=app_settings.CODE_VALID_SECONDS)
        self.destination = destination
        self.channel = channel
        self.attempts = 0
        self.extensions = 0
        self.session_mark = self.mark_of(binding)
        self.delivery_problem = ""
        self.cooldown_set(commit=False)
        return code

    @staticmethod
    def mark_of(binding: str) -> str:
        return salted_hmac(
            "methods.VerificationCode.session", binding, algorithm="sha256"
        ).hexdigest()

    @classmethod
    def give_more_time(
        cls, *, user_id: int | None, method: str, purpose: str, binding: str
    ) -> bool:
        """Another CODE_VALID_SECONDS from now for the live code this session asked for
        (`binding`), at most CODE_EXTENSIONS times (WCAG 2.2, 2.2.1; docs/security.md §2). Its
        tries are not renewed. One conditional update, the same query whoever asks: an unknown
        name, or another session's attempt for the same name, matches no row."""
        now = timezone.now()
        return bool(
            cls.objects.filter(
                user_id=user_id,
                method=method,
                purpose=purpose,
                session_mark=cls.mark_of(binding),
                valid_until__gt=now,
                extensions__lt=app_settings.CODE_EXTENSIONS,
            )
            .exclude(token=None)
            .exclude(token="")
            .update(
                valid_until=now + timedelta(seconds=app_settings.CODE_VALID_SECONDS),
                extensions=models.F("extensions") + 1,
            )
        )

    def void(self) -> None:
        """End the live code: it will never verify anything."""
        self.token = None
        self.save(update_fields=["token"])

    def next_send_at(self):
        allowed, info = self.generate_is_allowed()
        return None if allowed else info["next_generation_at"]

    def has_live_code(self) -> bool:
        return bool(self.token) and timezone.now() < self.valid_until

    def check_code(self, code: str, *, binding: str) -> CheckOutcome:
        """Check a code once. Call inside a transaction on a row locked with select_for_update.

        A code asked for in another session never verifies here (its digest holds that
        session's binding); entered here, it spends none of the code's tries and backs
        nothing off: otherwise anyone who typed the person's name at the reset portal could
        void their code or hold it back, whatever they typed (docs/security.md §5)."""
        now = timezone.now()
        if self.session_mark and not constant_time_compare(
            self.session_mark, self.mark_of(binding)
        ):
            # The write a wrong code costs, against no row: the same statements.
            VerificationCode.objects.filter(pk=None).update(attempts=0)
            return CheckOutcome.NO_CODE
        if self.throttling_failure_count >= app_settings.CODE_MAX_FAILURES:
            return CheckOutcome.LOCKED
        allowed, _info = self.verify_is_allowed()
        if not allowed:
            # Not counted as a failure: the person may simply be quick to retype.
            return CheckOutcome.THROTTLED
        if not self.token:
            outcome = CheckOutcome.NO_CODE
        elif now >= self.valid_until:
            outcome = CheckOutcome.EXPIRED
        elif constant_time_compare(self.token, self._digest(code, binding)) or (
            constant_time_compare(self.token, self._digest_with_id(code, binding))
        ):
            # Consume with a conditional update so that, even where row locks do not exist,
            # only one of two simultaneous submissions of the same code can win.
            won = _USED_UP.update(
                self.pk,
                self.token,
                token=None,
                valid_until=now,
                attempts=0,
                throttling_failure_count=0,
                throttling_failure_timestamp=None,
                last_generated_timestamp=None,
            )
            if won:
                self.token = None
                self.throttling_failure_count = 0
                return CheckOutcome.VERIFIED
            outcome = CheckOutcome.NO_CODE
        else:
            outcome = CheckOutcome.WRONG

        if self.token:
            self.attempts += 1
            if self.attempts >= app_settings.CODE_MAX_ATTEMPTS:
                self.token = None  # void the code after too many wrong entries
        self.throttle_increment(commit=False)
        self.save(
            update_fields=[
                "token",
                "attempts",
                "throttling_failure_count",
                "throttling_failure_timestamp",
            ]
        )
        return outcome

    @classmethod
    def locked_for(cls, *, user, method: str, purpose: str) -> VerificationCode | None:
        """Return the code row locked for update (inside a transaction), or None."""
        assert transaction.get_connection().in_atomic_block
        return _LOCKED.get(getattr(user, "pk", user), method, purpose)


# What issuing a code changes, and a right code used up (by its key and the token checked, so
# that of two checks of one code only one can win): statements written once (sspr_site/rows.py).
_ISSUED = Update(
    VerificationCode,
    ("pk",),
    (
        "token",
        "valid_until",
        "destination",
        "channel",
        "attempts",
        "extensions",
        "session_mark",
        "delivery_problem",
        "last_generated_timestamp",
    ),
)
_USED_UP = Update(
    VerificationCode,
    ("pk", "token"),
    (
        "token",
        "valid_until",
        "attempts",
        "throttling_failure_count",
        "throttling_failure_timestamp",
        "last_generated_timestamp",
    ),
)

# VerificationCode.locked_for's query, compiled once (sspr_site/compiled_query.py).
_LOCKED = OneRow(lambda: VerificationCode.objects.select_for_update(), "user", "method", "purpose")
# A first code's row, written with its code (issue_first): unless a row is there already.
_FIRST = Insert(VerificationCode, unless_there=True)
