"""The whole registration in Chromium, as a person would click, type or tab through it."""

from __future__ import annotations

import pytest

from methods.models import AuthenticationEmail, AuthenticationPhone, SecurityAnswer
from registration.models import Registration
from tests.support.browser import check_accessibility, fits_without_horizontal_scroll, sign_in
from tests.support.codes import latest_email_code, latest_phone_code, phone_messages
from tests.support.people import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

ANSWERS = ["Blue whale", "Lisbon harbour", "Mrs Okafor"]


def test_registration_with_the_mouse(page, user, outboxes):
    phone_dir, mail_dir = outboxes
    page.goto("/ssprsetup/")
    check_accessibility(page, "01-sign-in")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your recovery methods").wait_for()
    check_accessibility(page, "02-overview-empty")

    page.get_by_role("link", name="Set up Authentication phone").click()
    page.get_by_label("Phone number").fill("12")
    page.get_by_label("Country or region").select_option("GB")
    page.get_by_role("button", name="Send the code").click()
    page.get_by_text("cannot exist in the country chosen").first.wait_for()
    check_accessibility(page, "03-phone-error")
    page.get_by_label("Phone number").fill("07400 123456")
    # The number and how to send the code on one page; a text unless the person picks a call.
    assert page.get_by_label("Text message").is_checked()
    check_accessibility(page, "04-phone-number-and-how")
    page.get_by_role("button", name="Send the code").click()
    page.get_by_role("heading", name="Enter the code").wait_for()
    page.get_by_text("+44 7400 123456").first.wait_for()
    # The page is there for the code: its field has the focus, typed into straight away.
    assert page.evaluate("document.activeElement.id") == "id_code"
    check_accessibility(page, "05-phone-code")
    # The code page came in the answer to the number form, and shows its own address: a
    # reload opens it again and sends nothing.
    page.wait_for_url("**/ssprsetup/phone/verify/")
    page.reload()
    page.get_by_role("heading", name="Enter the code").wait_for()
    assert page.url.endswith("/ssprsetup/phone/verify/")
    assert len(phone_messages(phone_dir, 1)) == 1
    page.get_by_label("Verification code").fill(latest_phone_code(phone_dir))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("status").get_by_text("Authentication phone verified").wait_for()

    page.get_by_role("link", name="Set up Authentication email").click()
    check_accessibility(page, "06-email")
    page.get_by_label("Email address").fill("alice.home@example.net")
    page.get_by_role("button", name="Send the code").click()
    page.get_by_label("Verification code").fill(latest_email_code(mail_dir))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("status").get_by_text("Authentication email verified").wait_for()

    page.get_by_role("link", name="Set up Security questions").click()
    check_accessibility(page, "07-questions")
    for index, answer in enumerate(ANSWERS, start=1):
        page.locator(f"#id_question_{index}").select_option(index=index)
        page.locator(f"#id_answer_{index}").fill(answer)
    page.get_by_role("button", name="Save answers").click()
    page.get_by_role("status").get_by_text("Your security questions are saved").wait_for()
    check_accessibility(page, "08-overview-ready")

    # Recorded when the email was verified: the overview says so, and its button is Done.
    page.get_by_role("heading", name="You are registered").wait_for()
    page.get_by_role("button", name="Done").click()
    page.get_by_role("status").get_by_text("Your registration is complete").wait_for()
    check_accessibility(page, "09-registered")

    assert AuthenticationPhone.objects.get(user=user).verified_at
    assert AuthenticationEmail.objects.get(user=user).verified_at
    assert SecurityAnswer.objects.filter(user=user).count() == 3
    assert Registration.objects.get(user=user).completed_at


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def press_enter_and_wait(page) -> None:
    """Press Enter on a link or in a form and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_registration_with_the_keyboard_only(page, user, outboxes):
    phone_dir, mail_dir = outboxes
    page.goto("/ssprsetup/signin/")
    tab_to(page, "#id_username")
    page.keyboard.type(user.username)
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    press_enter_and_wait(page)
    page.get_by_role("heading", name="Your recovery methods").wait_for()

    tab_to(page, "a[href='/ssprsetup/phone/']")
    press_enter_and_wait(page)
    tab_to(page, "#id_number")
    page.keyboard.type("+1 415 555 2671")
    # The call chosen with the arrow keys in the group of ways to send the code.
    tab_to(page, "input[name=channel]:checked")
    page.keyboard.press("ArrowDown")
    assert page.get_by_label("Voice call").is_checked()
    tab_to(page, "form.stack button[type=submit]")
    press_enter_and_wait(page)
    page.get_by_text("We are calling").or_(page.get_by_text("reads out a 6-digit code")).wait_for()
    page.get_by_text("+1 415-555-2671").first.wait_for()
    tab_to(page, "#id_code")
    page.keyboard.type(latest_phone_code(phone_dir))
    press_enter_and_wait(page)
    page.get_by_role("status").get_by_text("Authentication phone verified").wait_for()

    tab_to(page, "a[href='/ssprsetup/email/']")
    press_enter_and_wait(page)
    tab_to(page, "#id_email")
    page.keyboard.type("alice.home@example.net")
    press_enter_and_wait(page)
    tab_to(page, "#id_code")
    page.keyboard.type(latest_email_code(mail_dir))
    press_enter_and_wait(page)
    page.get_by_role("status").get_by_text("Authentication email verified").wait_for()

    tab_to(page, "a[href='/ssprsetup/questions/']")
    press_enter_and_wait(page)
    for index, answer in enumerate(ANSWERS, start=1):
        tab_to(page, f"#id_question_{index}")
        for _ in range(index):
            page.keyboard.press("ArrowDown")
        tab_to(page, f"#id_answer_{index}")
        page.keyboard.type(answer)
    press_enter_and_wait(page)
    page.get_by_role("status").get_by_text("Your security questions are saved").wait_for()

    tab_to(page, "form.finish button")
    press_enter_and_wait(page)
    page.get_by_role("status").get_by_text("Your registration is complete").wait_for()
    assert Registration.objects.get(user=user).completed_at


def test_registration_works_without_javascript(browser, live_server, user, outboxes):
    phone_dir, _mail_dir = outboxes
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/ssprsetup/signin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Set up Authentication phone").click()
    page.get_by_label("Phone number").fill("+447400123456")
    page.get_by_label("Voice call").check()
    page.get_by_role("button", name="Send the code").click()
    page.get_by_label("Verification code").wait_for()
    # Without JavaScript the address stays the number form's: a reload sends that form again,
    # which sends no second code while the first is live, and opens the code page.
    assert page.url.endswith("/ssprsetup/phone/")
    page.reload()
    page.get_by_text("A code was sent a moment ago").wait_for()
    assert page.url.endswith("/ssprsetup/phone/verify/")
    assert len(phone_messages(phone_dir, 1)) == 1
    page.get_by_label("Verification code").fill(latest_phone_code(phone_dir))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("status").get_by_text("Authentication phone verified").wait_for()
    context.close()
    assert AuthenticationPhone.objects.get(user=user).verified_at


@pytest.mark.parametrize(
    "path",
    [
        "/ssprsetup/",
        "/ssprsetup/phone/",
        "/ssprsetup/email/",
        "/ssprsetup/questions/",
        "/ssprsetup/confirm-password/",
    ],
)
def test_pages_fit_a_phone_screen(browser, live_server, user, outboxes, path):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    page.goto("/ssprsetup/signin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your recovery methods").wait_for()
    page.goto(path)
    name = "mobile" + path.replace("/", "-").rstrip("-")
    check_accessibility(page, name)
    assert fits_without_horizontal_scroll(page), path
    context.close()


LONG_QUESTION = (
    "What was the name of the street where your grandparents lived when you first visited "
    "them on your own?"
)


@pytest.mark.parametrize("width, shown", [(360, True), (1280, False)])
def test_a_long_question_chosen_on_a_phone_is_shown_whole(
    browser, live_server, user, approved_questions, width, shown
):
    """The closed list cuts a long question off on a phone: the chosen question is shown in
    full under it (not where the list is wide enough), and not read out twice."""
    from methods.models import SecurityQuestion

    SecurityQuestion.objects.create(text=LONG_QUESTION, active=True)
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    sign_in(page, user.username)
    page.goto("/ssprsetup/questions/")
    chosen = page.locator(".question").first.locator(".chosen-question")
    assert not chosen.is_visible()  # nothing chosen yet
    page.get_by_label("Question 1").select_option(label=LONG_QUESTION)
    if shown:
        chosen.wait_for()
        assert chosen.inner_text() == LONG_QUESTION
        assert chosen.get_attribute("aria-hidden") == "true"
        assert fits_without_horizontal_scroll(page)
    else:
        assert not chosen.is_visible()
    context.close()
