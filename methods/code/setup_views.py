"""The code family's setup pages at /ssprsetup/<slug>/: enter the number or address, (check
it and choose text or call,) enter the code. Mounted once for each member of the family."""

from __future__ import annotations

import json
from functools import wraps

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from delivery import tracking as delivery_tracking
from methods import proof
from methods.backends import DeliveryProblem
from methods.conf import app_settings
from methods.forms import CodeForm
from methods.models import Channel, CheckOutcome, Purpose, VerificationCode
from methods.pages import (
    methods_at_start,
    needs_proof,
    posted,
    reads_methods_first,
    secure_page,
    still_needed,
)
from methods.registry import REGISTRY, UserMethods
from methods.waits import seconds_until, wait_message
from policy.models import Policy
from sspr_site.shapes import Shape

from . import flows as code_flows
from . import more_time as more
from . import pending as session
from .email_addresses import same_address
from .forms import ChannelForm
from .method import CodeMethod

# The step indicator (templates/includes/steps.html), drawn once per language and set of steps.
STEPS = Shape("includes/steps.html", values=(), shape=("steps", "step"))

# One message for every refused code, so a guesser learns nothing (docs/security.md §7).
CODE_REFUSED = gettext_lazy(
    "That code is not right or no longer valid. Check it and try again, or send a new code."
)


def refusal_message(result: code_flows.SendResult) -> str:
    refusal = code_flows.SendRefusal
    if result.refusal is refusal.NOT_ALLOWED:
        return _(
            "Your organisation does not allow codes to this number. Enter another number, or "
            "contact your helpdesk."
        )
    if result.refusal is refusal.COOLDOWN:
        seconds = seconds_until(result.next_send_at)
        return ngettext(
            "A code was sent a moment ago. You can ask for another one in %(seconds)d second.",
            "A code was sent a moment ago. You can ask for another one in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    if result.refusal is refusal.RATE_LIMITED:
        return _(
            "Too many codes were asked for. Wait an hour and try again, or contact your helpdesk."
        )
    return {
        DeliveryProblem.INVALID_NUMBER: _(
            "This number cannot receive our messages. Check it, or use another number."
        ),
        DeliveryProblem.INVALID_ADDRESS: _(
            "The mail server refused this address. Check it, or use another address."
        ),
        DeliveryProblem.REGION_NOT_ENABLED: _(
            "We cannot send messages to this country. Use a number from another country."
        ),
        DeliveryProblem.TOO_MANY_REQUESTS: _(
            "The message service is busy. Wait a minute and try again."
        ),
    }.get(
        result.problem,
        _("The code could not be sent just now. Nothing was changed; please try again."),
    )


def code_method(view):
    """The URL's method (the family's pages are mounted once per member, methods/base.py),
    when the policy enables it and its owner manages it."""

    @wraps(view)
    def wrapper(request, *args, method_key: str, **kwargs):
        method = REGISTRY[method_key]
        policy = Policy.load()
        if not method.user_managed or not method.is_enabled(policy):
            raise Http404
        return view(request, method, policy, *args, **kwargs)

    return wrapper


def code_steps(request, method: CodeMethod, policy: Policy, current: str) -> dict:
    """The step indicator of the code pages: enter (and choose how), enter the code."""
    steps = [("start", method.start_label)]
    # The number or address typed on the first page gets its code at once; one an
    # administrator entered is shown back first (confirm_existing): a step of its own, on
    # every page of that confirmation.
    if current == "send" or (current == "verify" and session.confirming(request, method.slug)):
        many = len(method.channels(policy)) > 1
        steps.append(("send", _("Choose text or call") if many else _("Check and send")))
    steps.append(("verify", _("Enter the code")))
    keys = [key for key, _label in steps]
    done = keys[: keys.index(current)] if current in keys else []
    # Drawn once per language and set of steps (sspr_site/shapes.py): it holds no value of
    # its own, only the steps' names and which one is the person's.
    steps = tuple((key, str(label)) for key, label in steps)
    return {"steps_nav": STEPS.render({"steps": steps, "step": current, "done_steps": done})}


def change_gate(
    request, method: CodeMethod, policy: Policy, *, sending: bool = False
) -> HttpResponse | None:
    """The checks before a change, made again at each later step of a code's setup: the
    sending of a new code (`sending`: as the first page's, the password and the proof) and the
    code that stores what it verifies (the proof alone).

    A code begun with a proof stores its value while the code lasts. A change begun without
    one (a first registration, or confirming what an administrator entered) needs one once
    the person holds a method that proves who they are, unless this session verified it: a
    code asked for while they had none stores nothing once they have one, unless the session
    proves it is them, and a first registration in one sitting goes on (README, "Proof before
    change")."""
    pending = session.get_pending(request, method.slug)
    if pending is None:
        return None
    if not sending and session.began_with_proof(request, method.slug):
        return None
    if session.confirming(request, method.slug):
        entered = method.record(methods_at_start(request))
        if (
            entered is not None
            and not entered.verified_at
            and str(getattr(entered, method.field)) == pending
        ):
            # What an administrator entered, still unverified: the password suffices.
            return needs_proof(request, with_proof=False) if sending else None
    needed = proof.change_needs_proof(
        request.user, policy, methods_at_start(request), besides=proof.added_here(request)
    )
    return needs_proof(request, with_password=sending, with_proof=needed)


@reads_methods_first
@sensitive_post_parameters("number", "email")
@secure_page
@code_method
def start(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """Step 1: the number or address to verify (and, with more than one, how to send the
    code): the code goes out as it is sent."""
    if gate := needs_proof(request):
        return gate
    form = method.start_form(
        posted(request),
        user=request.user,
        policy=policy,
        previous=session.get_pending(request, method.slug),
        methods=methods_at_start(request),
    )
    if request.method == "POST" and form.is_valid():
        destination = form.cleaned_data["destination"]
        session.set_pending(
            request, method.slug, destination, proved=proof.recently_proved(request)
        )
        channel = form.cleaned_data.get("channel") or method.channels(policy)[0]
        last = code_flows.last_code(user=request.user, method=method, purpose=Purpose.REGISTER)
        if already := _already_sent(request, method, destination, channel, last):
            return already
        # No code row yet (the person's first code for this method): the send inserts it
        # without reading for it first.
        return _send(request, method, policy, channel, form=form, first=last is None)
    return render(
        request,
        "code/setup_start.html",
        {
            "form": form,
            "method": method,
            **code_steps(request, method, policy, "start"),
            **still_needed(request, policy, method),
        },
    )


@require_POST
@secure_page
@code_method
def confirm_existing(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """Confirm a number or address an administrator entered: send a code to it. The password
    alone suffices for one not yet verified; one verified already, proved again, needs what a
    change needs (needs_proof). Either check leads back to the overview, where the button is."""
    registered = UserMethods.load(request.user)
    existing = method.record(registered)
    if existing is None:
        return redirect(method.setup_page("start"))
    if gate := needs_proof(
        request, with_proof=bool(existing.verified_at), next_url=reverse("registration:overview")
    ):
        return gate
    value = str(getattr(existing, method.field))
    if method.field == "email" and same_address(request.user.email, value):
        # Entered for the person before that was refused: read with the account's password,
        # it cannot recover the account.
        messages.error(
            request,
            _(
                "The address entered for you is your account's own, so it cannot recover your "
                "account. Enter another one you can read without your password."
            ),
        )
        return redirect(method.setup_page("start"))
    session.set_pending(
        request, method.slug, value, confirming=True, proved=proof.recently_proved(request)
    )
    return redirect(method.setup_page("send"))


@require_http_methods(["GET", "POST"])
@secure_page
@code_method
def send(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """A number or address an administrator entered, shown back, and a code sent to it the way
    the person chooses (confirm_existing); also the verify page's "send a new code"."""
    destination = session.get_pending(request, method.slug)
    if destination is not None and (gate := change_gate(request, method, policy, sending=True)):
        return gate
    if destination is None:
        last = code_flows.last_code(user=request.user, method=method, purpose=Purpose.REGISTER)
        if done := _verified(request, method, last):
            # "Send a new code" on a code page from before the code verified the method.
            messages.info(request, done)
            return redirect("registration:overview")
        messages.info(request, _("Start by entering the details to verify."))
        return redirect(method.setup_page("start"))
    channels = method.channels(policy)
    form = ChannelForm(posted(request), channels=channels)
    if request.method == "POST" and form.is_valid():
        return _send(request, method, policy, form.cleaned_data["channel"], form=form)
    return render(
        request,
        "code/setup_send.html",
        {
            "form": form,
            "method": method,
            "destination": method.display(destination),
            "channels": channels,
            **code_steps(request, method, policy, "send"),
        },
    )


@require_POST
@secure_page
@code_method
def cancel(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """Cancel on a code's page: the number or address being verified is forgotten and the
    code sent to it voided, so that nothing of the abandoned change can be verified later, in
    this tab or another. What was registered before stays as it was. A code another session
    asked for (the person's other browser) is that session's to cancel: a code verifies only
    in the session that asked for it, and someone signed in elsewhere with the password
    cannot keep voiding the person's."""
    session.clear_pending(request, method.slug)
    mark = VerificationCode.mark_of(code_flows.session_binding(request))
    with transaction.atomic():
        device = VerificationCode.locked_for(
            user=request.user, method=method.kind, purpose=Purpose.REGISTER
        )
        if device is not None and device.token and device.session_mark == mark:
            device.void()
    messages.info(request, _("Cancelled: nothing was changed."))
    return redirect("registration:overview")


# Refusals that another try cannot change: the code page says why instead of sending again.
FOR_GOOD = {
    DeliveryProblem.INVALID_NUMBER,
    DeliveryProblem.INVALID_ADDRESS,
    DeliveryProblem.REGION_NOT_ENABLED,
}


def _verified(request, method: CodeMethod, device) -> str:
    """With nothing left to verify here: what to say when the method is verified at the
    destination of its last code (`device`), so a page from before it was (another tab, Back)
    leads on; '' otherwise."""
    destination = device.destination if device is not None else None
    return _already_verified(method, UserMethods.load(request.user), destination)


def _already_verified(method: CodeMethod, methods: UserMethods, value: str | None) -> str:
    """What to say when the person's method (`methods`) is verified, at `value` where one is
    given; '' otherwise."""
    record = method.record(methods)
    if record is None or not record.verified_at:
        return ""
    registered = str(getattr(record, method.field))
    if value is not None and value != registered:
        return ""
    return _("%(method)s is already verified: %(value)s.") % {
        "method": method.label,
        "value": method.display(registered),
    }


def _already_sent(
    request, method: CodeMethod, destination: str, channel, device
) -> HttpResponse | None:
    """The number form sent again for the number and way whose code (`device`, the code row
    as read) is still live, or whose message was refused for good: a reload of the code page,
    which answered that form, or a second press. Nothing is sent; the code page says where
    things stand (a new code is one press away there, and a refusal says why)."""
    if device is None or device.destination != destination or device.channel != channel:
        return None
    refused = device.delivery_problem and DeliveryProblem(device.delivery_problem) in FOR_GOOD
    # Live, and asked for in this session: a code bound to another session would not verify
    # here, so another session gets its own.
    mark = VerificationCode.mark_of(code_flows.session_binding(request))
    live = device.has_live_code() and device.session_mark == mark
    if not (live or refused):
        return None
    return _to_code_page(request, method, device.next_send_at())


def _to_code_page(request, method: CodeMethod, next_send_at=None) -> HttpResponse:
    """To the code page of a code already sent, saying how long until another may go when
    that is still to come."""
    if next_send_at:
        # No number of seconds here: the code page counts the wait down itself, and a number
        # in this message would stand still beside it.
        messages.info(
            request,
            _(
                "A code was sent a moment ago. Type it below, or ask for another one once the "
                "wait is over."
            ),
        )
    return redirect(method.setup_page("verify"))


def _send(
    request, method: CodeMethod, policy: Policy, channel, *, form, first: bool = False
) -> HttpResponse:
    destination = session.get_pending(request, method.slug)
    result = code_flows.code_send(
        request=request,
        user=request.user,
        method=method,
        purpose=Purpose.REGISTER,
        destination=destination,
        channel=channel,
        policy=policy,
        first=first,
    )
    if result.sent:
        # The code page comes in this response, as a form's next step does: one round trip
        # fewer. Its form posts to the code page's own address. This form sent again within
        # the wait (a reload) sends nothing and leads to the same page (below).
        return _code_page(request, method, policy, device=result.device)
    live = code_flows.pending_code(user=request.user, method=method, purpose=Purpose.REGISTER)
    if (
        result.refusal is code_flows.SendRefusal.COOLDOWN
        and live
        and live.destination == destination
        and live.session_mark == VerificationCode.mark_of(code_flows.session_binding(request))
    ):
        # The code already on its way to this very destination is still good: it was asked
        # for in this session (one asked for in another would not verify here, and the wait
        # is then said where the number was asked for).
        return _to_code_page(request, method, result.next_send_at)
    on_start_page = not isinstance(form, ChannelForm)
    # On the page where it was typed, a refusal of the number or address itself goes next to
    # its field; a limit or a wait is about the request, and goes above the form.
    about_destination = result.refusal in (
        code_flows.SendRefusal.NOT_ALLOWED,
        code_flows.SendRefusal.DELIVERY_FAILED,
    )
    form.add_error(
        method.field if on_start_page and about_destination else None, refusal_message(result)
    )
    status = 429 if result.refusal is code_flows.SendRefusal.RATE_LIMITED else 200
    return render(
        request,
        "code/setup_start.html" if on_start_page else "code/setup_send.html",
        {
            "form": form,
            "method": method,
            "destination": method.display(destination),
            "channels": method.channels(policy),
            **code_steps(request, method, policy, "start" if on_start_page else "send"),
            # The start page says how many methods are still needed, refused or not.
            **(still_needed(request, policy, method) if on_start_page else {}),
        },
        status=status,
    )


@reads_methods_first
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@secure_page
@code_method
def verify(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """Step 2: the code. A code sent is checked only after the checks before a change pass
    again (change_gate); the code page itself shows nothing new."""
    if request.method == "POST" and (gate := change_gate(request, method, policy)):
        # The checks before a change may ask for a proof only because another tab verified
        # this very value a moment ago: then nothing is left to do here.
        return _verified_meanwhile(request, method, methods_at_start(request)) or gate
    return _code_page(request, method, policy, posted(request))


def _verified_meanwhile(request, method: CodeMethod, methods: UserMethods) -> HttpResponse | None:
    """The number or address pending in this session, found verified for the person
    (`methods`): the same right code sent from two tabs at once, this one's request having
    read the session before the other's answer wrote it (its new key, its proof, the pending
    value cleared). Neither a proof nor a refused code then: the overview, which says the
    value is verified, as after the other tab's answer. None otherwise. The session is left
    as it is: the other answer replaces it, and a write to the one it ends would fail the
    request."""
    pending = session.get_pending(request, method.slug)
    done = _already_verified(method, methods, pending) if pending is not None else ""
    if not done:
        return None
    messages.info(request, done)  # kept in a cookie, not the session (Django's default storage)
    return redirect("registration:overview")


def _code_page(request, method: CodeMethod, policy: Policy, data=None, device=None) -> HttpResponse:
    """The code page, and the code checked when `data` holds one; also shown straight after a
    code is sent (_send), with the code's row as the send left it (`device`)."""
    pending = session.get_pending(request, method.slug)
    form = CodeForm(data)
    outcome = None
    if data is not None and pending is not None and form.is_valid():
        # Checked first, in the check's own locked read of the code: a right code needs no
        # other read. A code sent somewhere else than what the person last entered is not
        # checked (None): the page then leads on as below.
        outcome = code_flows.method_confirm(
            request=request,
            user=request.user,
            method=method,
            code=form.cleaned_data["code"],
            policy=policy,
            destination=pending,
            message=_("%(method)s verified: %(value)s.")
            % {"method": method.label, "value": method.display(pending)},
        )
        if outcome is CheckOutcome.VERIFIED:
            session.clear_pending(request, method.slug)
            return redirect("registration:overview")
        if outcome is CheckOutcome.NO_CODE and (
            done := _verified_meanwhile(request, method, UserMethods.load(request.user))
        ):
            return done
    if device is None:
        # After a failed check, the row as the check left it (failures, backoff, a code used
        # up).
        device = code_flows.last_code(user=request.user, method=method, purpose=Purpose.REGISTER)
    if pending is None or device is None or device.destination != pending:
        # No code was sent to what the person last entered: never claim one was.
        if pending is None and (done := _verified(request, method, device)):
            # The code page from another tab, or again after Back, once the code verified it.
            messages.info(request, done)
            return redirect("registration:overview")
        if pending is None:
            # Nothing is being verified (cancelled, in this tab or another): start again.
            messages.info(request, _("Start by entering the details to verify."))
        return redirect(method.setup_page("start"))
    # What the page names is where the code went, and what a right code will store.
    destination = device.destination
    undelivered = ""
    if device.delivery_problem:
        problem = DeliveryProblem(device.delivery_problem)
        undelivered = refusal_message(
            code_flows.SendResult(code_flows.SendRefusal.DELIVERY_FAILED, problem=problem)
        )
    if outcome is CheckOutcome.THROTTLED:
        form.add_error("code", wait_message(device))
    elif outcome is not None:
        form.add_error("code", CODE_REFUSED)
    if device.channel == Channel.VOICE:
        form.read_out()
    return render(
        request,
        "code/setup_verify.html",
        {
            "form": form,
            "method": method,
            "destination": method.display(destination),
            "undelivered": undelivered,
            # The page's own address, wherever it was answered from: its form's, the address
            # bar's and the language picker's.
            "page_address": method.setup_page("verify"),
            "send_url": method.setup_page("send"),
            "cancel_url": method.setup_page("cancel"),
            "channels": method.channels(policy),
            **_resend_wait(seconds_until(next_at) if (next_at := device.next_send_at()) else 0),
            "channel": device.channel,
            # The code's time limit, from the row read here (registration/templatetags).
            "sent_code": device,
            # Past its time, or used up: the page says so rather than how long it is valid.
            "code_ended": not device.token or device.valid_until <= timezone.now(),
            # Whether the code's message has left, or is overdue (delivery.tracking).
            "delivery": delivery_tracking.lookup(delivery_tracking.code_parts(device.pk)),
            **code_steps(request, method, policy, "verify"),
        },
    )


@require_POST
@secure_page
@code_method
def more_time(request: HttpRequest, method: CodeMethod, policy: Policy) -> HttpResponse:
    """Another 10 minutes for the code on the verify page (methods/code/more_time.py)."""
    extended = VerificationCode.give_more_time(
        user_id=request.user.pk,
        method=str(method.kind),
        purpose=Purpose.REGISTER,
        binding=code_flows.session_binding(request),
    )
    device = code_flows.last_code(user=request.user, method=method, purpose=Purpose.REGISTER)
    live = device is not None and device.has_live_code()
    return more.answer(
        request,
        True if extended else (False if live else None),
        seconds_left=seconds_until(device.valid_until) if live else 0,
        extensions_left=max(0, app_settings.CODE_EXTENSIONS - device.extensions) if live else 0,
        back=method.setup_page("verify"),
    )


def _resend_wait(seconds: int) -> dict:
    """The wait before a new code can be asked for: its seconds, the sentence saying it, and
    that sentence for each second left, for the page to count down (static/js/true-for.js)."""
    if seconds <= 0:
        return {"resend_in": None}

    def sentence(left: int) -> str:
        return ngettext(
            "You can ask for a new code in %(seconds)s second.",
            "You can ask for a new code in %(seconds)s seconds.",
            left,
        ) % {"seconds": left}

    return {
        "resend_in": seconds,
        "resend_wait": sentence(seconds),
        # A wait of more than five minutes (SSPR_CODE_RESEND_SECONDS set high) is not counted
        # down: its words for each second would weigh more than the page.
        "resend_counting": json.dumps(
            [sentence(left) for left in range(1, seconds + 1)] if seconds <= 300 else []
        ),
        # What the sentence says once the wait is over: it stays, so nothing below it moves.
        "resend_now": _("You can ask for a new code now."),
    }
