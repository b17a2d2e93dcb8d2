"""The one-time code rules (docs/security.md §1-8), on the model that keeps codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from methods.models import CheckOutcome, MethodKind, Purpose, VerificationCode

pytestmark = pytest.mark.django_db

BINDING = "session-binding-a"


@pytest.fixture
def channel(user):
    return VerificationCode.objects.create(
        user=user,
        name="phone",
        method=MethodKind.AUTHENTICATION_PHONE,
        purpose=Purpose.REGISTER,
    )


def check(device: VerificationCode, code: str, binding: str = BINDING) -> CheckOutcome:
    with transaction.atomic():
        locked = VerificationCode.locked_for(
            user=device.user, method=device.method, purpose=device.purpose
        )
        return locked.check_code(code, binding=binding)


def issue(device: VerificationCode, binding: str = BINDING) -> str:
    device.refresh_from_db()
    device.last_generated_timestamp = None
    return device.issue(destination="+447400123456", channel="sms", binding=binding)


def test_code_is_six_digits_and_stored_only_as_a_keyed_hash(channel):
    code = issue(channel)
    channel.refresh_from_db()
    assert len(code) == 6 and code.isdigit()
    assert code not in channel.token
    assert len(channel.token) == 64


def test_codes_vary(channel):
    assert len({issue(channel) for _ in range(20)}) > 15


def test_right_code_verifies_once(channel):
    code = issue(channel)
    assert check(channel, code) is CheckOutcome.VERIFIED
    assert check(channel, code) is CheckOutcome.NO_CODE


def test_code_is_valid_for_ten_minutes(channel):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        code = issue(channel)
    with time_machine.travel(start + timedelta(minutes=9, seconds=59), tick=False):
        assert check(channel, code) is CheckOutcome.VERIFIED


def test_code_expires_after_ten_minutes(channel):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        code = issue(channel)
    with time_machine.travel(start + timedelta(minutes=10, seconds=1), tick=False):
        assert check(channel, code) is CheckOutcome.EXPIRED


def test_new_code_voids_the_previous_one(channel):
    first = issue(channel)
    second = issue(channel)
    while second == first:
        second = issue(channel)
    assert check(channel, first) is CheckOutcome.WRONG
    assert check(channel, second) is CheckOutcome.VERIFIED


def test_five_wrong_entries_void_the_code(channel):
    code = issue(channel)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert check(channel, wrong) is CheckOutcome.WRONG
    assert check(channel, code) is CheckOutcome.NO_CODE


def test_code_only_works_in_the_session_that_asked(channel):
    code = issue(channel, binding="session-a")
    assert check(channel, code, binding="session-b") is CheckOutcome.NO_CODE
    assert check(channel, code, binding="session-a") is CheckOutcome.VERIFIED


def test_entries_from_another_session_spend_nothing_of_the_code(channel):
    """Wrong entries from a session that did not ask (anyone who typed the person's name at
    the portal) neither void the code nor make the person wait."""
    code = issue(channel, binding="session-a")
    for _ in range(8):
        assert check(channel, "000000", binding="session-b") is CheckOutcome.NO_CODE
    channel.refresh_from_db()
    assert (channel.attempts, channel.throttling_failure_count) == (0, 0)
    assert check(channel, code, binding="session-a") is CheckOutcome.VERIFIED


def test_failures_back_off_exponentially(settings, channel):
    settings.SSPR_CODE_THROTTLE_FACTOR = 1
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        code = issue(channel)
        assert check(channel, "999999" if code != "999999" else "888888") is CheckOutcome.WRONG
        # Within the backoff even the right code is refused, and not spent.
        assert check(channel, code) is CheckOutcome.THROTTLED
        clock.shift(timedelta(seconds=1.5))
        assert check(channel, code) is CheckOutcome.VERIFIED


def test_consecutive_failures_are_capped_across_codes(settings, channel):
    settings.SSPR_CODE_MAX_FAILURES = 7
    for _ in range(3):
        code = issue(channel)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(3):
            check(channel, wrong)
    code = issue(channel)  # a new code does not reset the count
    assert check(channel, code) is CheckOutcome.LOCKED


def test_success_resets_the_failure_count(channel):
    code = issue(channel)
    check(channel, "000000" if code != "000000" else "111111")
    assert check(channel, code) is CheckOutcome.VERIFIED
    channel.refresh_from_db()
    assert channel.throttling_failure_count == 0


def test_resend_waits_thirty_seconds(channel):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        channel.issue(destination="+447400123456", channel="sms", binding=BINDING)
        channel.refresh_from_db()
        assert channel.next_send_at() == start + timedelta(seconds=30)
        clock.shift(timedelta(seconds=31))
        assert channel.next_send_at() is None


def test_a_send_told_first_when_a_row_is_there_after_all_uses_that_row(make_user, settings):
    """The read before a first send found no row, and one was added meanwhile: the insert is
    refused, and the send goes on with that row, locked, as any later send does."""
    from methods.code.flows import code_issue
    from methods.registry import REGISTRY
    from policy.models import Policy

    settings.SSPR_CODE_RESEND_SECONDS = 0
    owner = make_user("owner")
    there = VerificationCode.objects.create(
        user=owner, method=MethodKind.AUTHENTICATION_PHONE, purpose=Purpose.REGISTER
    )
    result = code_issue(
        user=owner,
        method=REGISTRY["phone"],
        purpose=Purpose.REGISTER,
        destination="+447400123456",
        channel="sms",
        binding="a session",
        ip="192.0.2.1",
        policy=Policy.load(),
        first=True,
    )
    assert result.sent and result.device.pk == there.pk
    (row,) = VerificationCode.objects.filter(user=owner)
    assert row.token and row.destination == "+447400123456"


def _first_send(owner, *, destination="+447400123456", binding=BINDING):
    """A registration's send told first (its page read no code row)."""
    return _send(
        owner, destination=destination, binding=binding, purpose=Purpose.REGISTER, first=True
    )


def test_a_first_code_is_written_with_its_row_in_one_statement(user, phone_outbox):
    """No row yet: one INSERT writes the row with its code, in no transaction of its own, and
    the code sent is the one that verifies."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from policy.models import Policy

    Policy.load()
    with CaptureQueriesContext(connection) as queries:
        result = _first_send(user)
    assert result.sent
    statements = [q["sql"] for q in queries.captured_queries]
    on_codes = [sql.split()[0] for sql in statements if "methods_verificationcode" in sql]
    assert on_codes == ["INSERT"]
    assert not [sql for sql in statements if sql.split()[0] in ("SAVEPOINT", "BEGIN")]
    (row,) = VerificationCode.objects.filter(user=user)
    assert row.pk == result.device.pk and row.destination == "+447400123456"
    code = "".join(ch for ch in phone_outbox[-1].text if ch.isdigit())[:6]
    assert code not in row.token
    assert check(row, code, binding="another session") is CheckOutcome.NO_CODE
    assert check(row, code) is CheckOutcome.VERIFIED


def test_a_first_send_over_a_limit_writes_no_row_and_sends_nothing(user, settings, phone_outbox):
    settings.SSPR_SEND_LIMITS = {"user": 1}
    assert _first_send(user).sent
    VerificationCode.objects.filter(user=user).delete()  # as if it were the first again
    sent = len(phone_outbox)
    result = _first_send(user, destination="+447400123457")
    assert not result.sent and result.refusal.value == "rate_limited"
    assert not VerificationCode.objects.filter(user=user).exists()
    assert len(phone_outbox) == sent


def test_a_send_told_first_that_lost_the_race_is_not_counted(make_user, settings):
    """The number form sent twice: both read no row, the first writes it and sends. The second
    meets that code's cooldown, as a resend does, and does not count against the limits."""
    settings.SSPR_SEND_LIMITS = {"user": 2}
    owner = make_user("owner")
    assert _first_send(owner).sent
    again = _first_send(owner)  # told first by its own read, made before the other's insert
    assert not again.sent and again.refusal.value == "cooldown"
    VerificationCode.objects.filter(user=owner).update(last_generated_timestamp=None)
    assert _first_send(owner, destination="+447400123457").sent  # the second of two allowed
    VerificationCode.objects.filter(user=owner).update(last_generated_timestamp=None)
    assert _first_send(owner, destination="+447400123458").refusal.value == "rate_limited"


def test_a_first_code_not_told_first_is_written_with_its_row_under_the_lock(user, phone_outbox):
    """A send that read nothing before (a reset's code, sent by the worker) reads and locks the
    row; with none there, the row is written with its code in that transaction: no empty row
    written first and then given its code."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from policy.models import Policy

    Policy.load()
    with CaptureQueriesContext(connection) as queries:
        result = _send(user)
    assert result.sent
    on_codes = [
        q["sql"].split()[0]
        for q in queries.captured_queries
        if "methods_verificationcode" in q["sql"]
    ]
    assert on_codes == ["SELECT", "INSERT"]
    (row,) = VerificationCode.objects.filter(user=user)
    code = "".join(ch for ch in phone_outbox[-1].text if ch.isdigit())[:6]
    assert check(row, code, binding="another session") is CheckOutcome.NO_CODE
    assert check(row, code) is CheckOutcome.VERIFIED


def test_a_first_code_under_the_lock_over_a_limit_leaves_no_row(user, settings, phone_outbox):
    settings.SSPR_SEND_LIMITS = {"user": 1}
    assert _send(user).sent
    VerificationCode.objects.filter(user=user).delete()  # as if it were the first again
    sent = len(phone_outbox)
    result = _send(user, destination="+447400123457")
    assert not result.sent and result.refusal.value == "rate_limited"
    assert not VerificationCode.objects.filter(user=user).exists()
    assert len(phone_outbox) == sent


def test_a_first_code_under_the_lock_to_a_refused_number_writes_nothing(user, phone_outbox):
    from policy.models import Policy

    policy = Policy.load()
    policy.allowed_regions = "GB"
    policy.save()
    result = _send(user, destination="+33612345678")
    assert not result.sent and result.refusal.value == "not_allowed"
    assert not VerificationCode.objects.filter(user=user).exists()
    assert phone_outbox == []


def _send(
    owner, *, destination="+447400123456", binding=BINDING, purpose=Purpose.RESET, first=False
):
    from methods.code.flows import code_issue
    from methods.registry import REGISTRY
    from policy.models import Policy

    return code_issue(
        user=owner,
        method=REGISTRY["phone"],
        purpose=purpose,
        destination=destination,
        channel="sms",
        binding=binding,
        ip="192.0.2.1",
        policy=Policy.load(),
        first=first,
    )


def test_a_code_verifies_only_its_own_persons_method_and_purpose(user, make_user):
    """The code's keyed hash names the row's person, method and purpose: the same hash moved to
    another row verifies nothing there."""
    code = issue(
        VerificationCode.objects.create(
            user=user, method=MethodKind.AUTHENTICATION_PHONE, purpose=Purpose.REGISTER
        )
    )
    token = VerificationCode.objects.get(user=user).token
    others = [
        (user, MethodKind.AUTHENTICATION_PHONE, Purpose.RESET),
        (user, MethodKind.AUTHENTICATION_EMAIL, Purpose.REGISTER),
        (make_user("other"), MethodKind.AUTHENTICATION_PHONE, Purpose.REGISTER),
    ]
    for owner, method, purpose in others:
        other = VerificationCode.objects.create(
            user=owner,
            method=method,
            purpose=purpose,
            token=token,
            valid_until=timezone.now() + timedelta(minutes=5),
        )
        assert check(other, code) is CheckOutcome.WRONG


def test_a_code_sent_by_the_version_before_still_verifies(channel):
    """Its keyed hash named the row by its id: a code in flight when the site is upgraded, or
    sent by a host not yet upgraded, verifies once, and only in its own session."""
    from django.utils.crypto import salted_hmac

    code = issue(channel)
    value = f"{channel.pk}|{channel.user_id}|{channel.method}|{channel.purpose}|{BINDING}|{code}"
    VerificationCode.objects.filter(pk=channel.pk).update(
        token=salted_hmac("methods.VerificationCode", value, algorithm="sha256").hexdigest()
    )
    assert check(channel, code, binding="another session") is CheckOutcome.NO_CODE
    assert check(channel, code) is CheckOutcome.VERIFIED
    assert check(channel, code) is CheckOutcome.NO_CODE
