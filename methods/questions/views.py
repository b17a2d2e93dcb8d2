"""The security questions' pages: choose and answer questions at /ssprsetup/questions/, answer
the ones asked at /passwordreset/questions/."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from methods.pages import (
    NOT_VERIFIED,
    after_pass,
    offered_method,
    posted,
    reset_page,
    setup_page,
    still_needed,
)
from methods.reset_rule import KnowledgeStanding, ResetRule, is_privileged

from . import flows as question_flows
from . import reset as reset_flows
from .forms import AnswersForm, QuestionsForm


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@setup_page
def setup(request: HttpRequest, method, policy) -> HttpResponse:
    form = QuestionsForm(posted(request), count=method.option(policy, "count"), user=request.user)
    if request.method == "POST" and form.is_valid():
        if ResetRule.of(policy).standing(method, is_privileged(request.user)) is (
            KnowledgeStanding.NEVER
        ):
            message = _(
                "Your security questions are saved. They do not count for a password "
                "reset of an administrator account like yours."
            )
        else:
            message = _("Your security questions are saved.")
        question_flows.questions_set(
            request=request,
            user=request.user,
            answers=form.cleaned_data["answers"],
            policy=policy,
            method=method,
            message=message,
        )
        return redirect("registration:overview")
    return render(
        request,
        "questions/setup.html",
        {"form": form, "method": method, **still_needed(request, policy, method)},
    )


@sensitive_post_parameters()
@reset_page
def reset(request: HttpRequest, state, method_key: str) -> HttpResponse:
    if not state.action:
        return redirect("passwordreset:action")
    method, policy = offered_method(state, method_key)
    asked = reset_flows.reset_questions(request=request, state=state, method=method, policy=policy)
    form = AnswersForm(posted(request), questions=asked)
    if request.method == "POST" and form.is_valid():
        if reset_flows.reset_check_answers(
            request=request, state=state, method=method, answers=form.answers()
        ):
            return after_pass(request, state)
        form.add_error(None, ValidationError(NOT_VERIFIED, code="not_verified"))
    return render(request, "questions/reset.html", {"form": form, "method": method})
