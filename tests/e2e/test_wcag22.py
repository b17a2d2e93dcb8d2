"""The WCAG 2.2 rules that touch recovery, in the browser (README, "Languages and accessibility").

3.3.8 accessible authentication: every password, code and pass field names what it holds
(autocomplete) and takes a paste. 2.2.1 timing adjustable: a minute before the reset attempt's
15 minutes or a code's 10 minutes end, a warning with one button gives more time, at least ten
times; without JavaScript the page says so and its own button does the same. 3.3.7 redundant
entry: what was typed earlier in a flow is not asked for again. 2.4.11 focus not obscured:
what Tab reaches is scrolled into the window with its focus ring.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from methods.models import AuthenticationPhone
from passwordreset.state import MAX_EXTENSIONS
from tests.support.browser import check_accessibility, prove_if_asked, sign_in
from tests.support.codes import latest_phone_code, message_count, phone_messages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What each field may say it holds (https://html.spec.whatwg.org/#autofill-field).
EXPECTED = {
    "username": {"username"},
    "password": {"current-password"},
    "current_password": {"current-password"},
    "new_password1": {"new-password"},
    "new_password2": {"new-password"},
    "code": {"one-time-code"},
    "access_pass": {"one-time-code"},
    "proof": {"one-time-code"},
}

FIELDS = """() => [...document.querySelectorAll(
    "input[type=password], input[name=username], input[name=code], input[name=proof]")]
  .map((field) => {
    const data = new DataTransfer();
    data.setData("text/plain", "123456");
    const paste = new ClipboardEvent("paste", {
      bubbles: true, cancelable: true, clipboardData: data });
    const taken = field.dispatchEvent(paste);
    return {
      name: field.name,
      autocomplete: field.getAttribute("autocomplete"),
      pasteRefused: !taken || field.hasAttribute("onpaste"),
    };
  })"""


def fields_are_fillable(page) -> list[str]:
    """Each password, code and pass field: its autocomplete, and a paste not refused."""
    found = page.evaluate(FIELDS)
    assert found, page.url
    problems = []
    for field in found:
        if field["autocomplete"] not in EXPECTED.get(field["name"], {field["autocomplete"]}):
            problems.append(f"{page.url} {field['name']}: autocomplete={field['autocomplete']}")
        if field["pasteRefused"]:
            problems.append(f"{page.url} {field['name']}: paste refused")
    return problems


def _start_reset(page, settings, username="rita"):
    settings.SSPR_CAPTCHA_DIFFICULTY = 20_000
    page.goto("/passwordreset/")
    page.locator("#id_username").fill(username)
    page.wait_for_function(
        "() => { const f = document.querySelector('input[name=altcha]');"
        " return f && f.value.length > 20; }",
        timeout=30000,
    )
    page.locator("input[value=reset]").check()
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/methods/")


@pytest.fixture
def rita(make_user):
    user = make_user("rita")
    AuthenticationPhone.objects.create(
        user=user, number="+447400123456", verified_at=timezone.now()
    )
    return user


def test_every_password_code_and_pass_field_can_be_filled_and_pasted(
    page, rita, outboxes, settings
):
    phone_dir, _mail = outboxes
    problems = []
    for path in ("/ssprsetup/signin/", "/ssprsetup/pass/", "/passwordreset/"):
        page.goto(path)
        problems += fields_are_fillable(page)
    sign_in(page, "rita")
    for path in ("/ssprsetup/confirm-password/", "/ssprsetup/password/"):
        page.goto(path)
        problems += fields_are_fillable(page)
    page.goto("/ssprsetup/email/")
    prove_if_asked(page, lambda: latest_phone_code(phone_dir))
    page.locator("#id_email").fill("rita.home@example.net")
    page.locator("form.stack button[type=submit]").click()
    page.locator("#id_code").wait_for()  # the code page, in the same response
    problems += fields_are_fillable(page)
    page.context.clear_cookies()
    _start_reset(page, settings)
    card = page.locator("form[action='/passwordreset/phone/']")
    card.locator("input[name=number]").fill("+44 7400 123456")
    sent_before = message_count(phone_dir)
    card.locator("button[type=submit]").click()
    page.wait_for_url("**/passwordreset/phone/code/")
    problems += fields_are_fillable(page)
    page.locator("#id_code").fill(latest_phone_code(phone_dir, more_than=sent_before))
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/finish/")
    problems += fields_are_fillable(page)
    assert problems == []


def test_the_reset_attempt_warns_a_minute_before_it_ends_and_extends_ten_times(
    page, rita, settings
):
    page.clock.install()
    _start_reset(page, settings)
    for round_ in range(10):
        # 14 minutes 10 seconds later: 50 seconds left, more than the 20 WCAG asks for.
        page.clock.run_for("14:10")
        alert = page.locator(".time-limit-alert")
        alert.get_by_text("Less than a minute is left to finish this reset").wait_for()
        assert alert.get_attribute("role") == "alert"
        button = alert.get_by_role("button", name="More time for this reset", exact=True)
        assert button.evaluate("el => el === document.activeElement"), round_
        if round_ == 0:
            check_accessibility(page, "wcag-reset-time-warning")
        button.click()
        alert.get_by_text("You have another 15 minutes.").wait_for()
    # The attempt is alive after all that: the next step opens.
    page.reload()
    assert page.locator("h1").count() == 1 and "/passwordreset/methods/" in page.url
    assert f"up to {MAX_EXTENSIONS - 10} times" in page.locator(".time-limit").inner_text()


def test_without_the_script_the_reset_says_how_long_it_lasts_and_its_button_extends(
    page, rita, settings
):
    # The proof of work on the first page needs JavaScript; the time limit's script is left out.
    page.route("**/js/time-limit.js", lambda route: route.abort())
    _start_reset(page, settings)
    notice = page.locator(".time-limit")
    assert "must be finished within 15 minutes" in notice.inner_text()
    notice.get_by_role("button", name="More time").click()
    page.locator(".messages").get_by_text("You have another 15 minutes.").wait_for()
    assert page.url.endswith("/passwordreset/methods/")
    check_accessibility(page, "wcag-reset-more-time-no-script")


def _to_the_code_page(page, phone_dir):
    page.clock.install()
    sign_in(page, "rita")
    page.goto("/ssprsetup/phone/")
    prove_if_asked(page, lambda: latest_phone_code(phone_dir))
    page.locator("#id_number").fill("+447400654321")
    page.locator("form.stack button[type=submit]").click()
    page.locator("#id_code").wait_for()  # the code page, in the same response
    # Its deferred scripts read the clock when they run: the test's clock moves only after.
    page.wait_for_load_state("load")


def test_the_wait_for_a_new_code_is_said_only_while_it_lasts(page, rita, outboxes):
    phone_dir, _mail = outboxes
    _to_the_code_page(page, phone_dir)
    wait = page.get_by_text("You can ask for a new code in")
    assert wait.is_visible()
    assert wait.inner_text() == "You can ask for a new code in 30 seconds."
    # It counts down, a second at a time, down to the singular.
    page.clock.run_for("00:05")
    assert wait.inner_text() == "You can ask for a new code in 25 seconds."
    page.clock.run_for("00:24")
    assert wait.inner_text() == "You can ask for a new code in 1 second."
    button = page.get_by_role("button", name="Text me a new code")
    where = button.bounding_box()
    page.clock.run_for("00:02")
    # Then it says so, in the same place: nothing below it moves.
    page.get_by_text("You can ask for a new code now.").wait_for()
    assert not page.get_by_text("You can ask for a new code in").is_visible()
    assert button.is_visible() and button.bounding_box() == where


def test_a_code_page_warns_before_the_code_ends_and_one_press_gives_ten_more_minutes(
    page, rita, outboxes
):
    phone_dir, _mail = outboxes
    _to_the_code_page(page, phone_dir)
    code = latest_phone_code(phone_dir)
    notice = page.locator(".time-limit")
    assert "another 10 minutes up to 10 times" in notice.inner_text()
    validity = page.get_by_text("It is valid for 10 minutes.")
    assert validity.is_visible()
    page.clock.run_for("09:10")
    alert = page.locator(".time-limit-alert")
    alert.get_by_text("Your code stops working in less than a minute").wait_for()
    check_accessibility(page, "wcag-code-time-warning")
    alert.get_by_role("button", name="More time for this code", exact=True).click()
    alert.get_by_text("Your code works for another 10 minutes.").wait_for()
    validity.wait_for(state="hidden")  # the lead no longer says it, once extended
    # The sentence beside the button counts down with each press.
    assert "another 10 minutes up to 9 times" in notice.inner_text()
    # Eight and a half minutes on, the page has not warned again: the new deadline is ten
    # minutes from the press (the warning comes a minute before it).
    page.clock.run_for("08:30")
    assert "less than a minute" not in alert.inner_text()
    page.locator("#id_code").fill(code)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/ssprsetup/")
    assert len(phone_messages(phone_dir, 2)) == 2  # the proof and this code: no new one


def test_an_ended_code_page_no_longer_says_it_is_valid_nor_offers_more_time(page, rita, outboxes):
    phone_dir, _mail = outboxes
    _to_the_code_page(page, phone_dir)
    page.clock.run_for("10:05")
    page.locator(".time-limit-alert").get_by_text("Your code has stopped working").wait_for()
    assert not page.get_by_text("It is valid for 10 minutes.").is_visible()
    assert page.get_by_role("button", name="More time for this code", exact=True).count() == 0


def test_past_the_last_extension_the_warning_sends_a_new_code(page, rita, outboxes, settings):
    phone_dir, _mail = outboxes
    settings.SSPR_CODE_RESEND_SECONDS = 0
    settings.SSPR_CODE_EXTENSIONS = 0
    _to_the_code_page(page, phone_dir)
    first = latest_phone_code(phone_dir)
    page.clock.run_for("09:10")
    alert = page.locator(".time-limit-alert")
    alert.get_by_text("Your code stops working in less than a minute").wait_for()
    alert.get_by_role("button", name="Send a new code").click()
    page.wait_for_url("**/ssprsetup/phone/send/")  # the new code's page, in the same response
    page.wait_for_function(
        "() => !document.querySelector('.time-limit-alert') ||"
        " !document.querySelector('.time-limit-alert').textContent"
    )
    # The proof before the change, the first code and the new one.
    assert len(phone_messages(phone_dir, 3)) == 3
    assert latest_phone_code(phone_dir) != first  # a fresh code: another 10 minutes


def test_what_was_typed_earlier_is_not_asked_again(page, rita, settings, outboxes):
    # The reset: the name is typed once and shown back, never asked for again.
    _start_reset(page, settings)
    for path in ("/passwordreset/methods/", "/passwordreset/phone/"):
        page.goto(path)
        assert page.locator("input[name=username]").count() == 0, path
    # Setting up a phone: going back to correct the number shows what was typed.
    page.context.clear_cookies()
    sign_in(page, "rita")
    page.goto("/ssprsetup/phone/")
    prove_if_asked(page, lambda: latest_phone_code(outboxes[0]))
    page.locator("#id_number").fill("+447400654321")
    page.locator("form.stack button[type=submit]").click()
    page.locator("#id_code").wait_for()  # the code page, in the same response
    page.goto("/ssprsetup/phone/")
    assert page.locator("#id_number").input_value().replace(" ", "").endswith("7400654321")
    # Changing a known password asks for the current one, never the name again.
    page.goto("/ssprsetup/password/")
    assert page.locator("input[name=username]").count() == 0


def test_a_reset_code_gets_more_time_in_german_on_a_phone(context_for, outboxes, rita, settings):
    """At the reset portal, on a phone, in German: the code page says how long the code lasts
    and offers more time; the button gives another 10 minutes and says so (axe-clean)."""
    phone_dir, _mail = outboxes
    page = context_for("de", 390)
    _start_reset(page, settings)
    page.goto("/passwordreset/phone/")
    page.locator("#id_number").fill("+447400123456")
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/phone/code/")
    notice = page.locator(".time-limit[data-time-limit=code]")
    assert "bis zu 10 Mal weitere 10 Minuten" in notice.inner_text()
    check_accessibility(page, "wcag-de-390-reset-code-more-time")
    notice.get_by_role("button", name="Mehr Zeit").click()
    page.locator(".time-limit-alert").get_by_text("Ihr Code gilt weitere 10 Minuten.").wait_for()
    check_accessibility(page, "wcag-de-390-reset-code-extended")
    page.locator("#id_code").fill(latest_phone_code(phone_dir))
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/passwordreset/finish/")


def test_a_form_sent_back_with_errors_puts_the_focus_on_their_summary(page, live_server):
    """After a server-side refusal the summary of errors has the focus: a screen reader reads
    it first, and Tab goes on to its links to the fields."""
    page.goto("/ssprsetup/signin/")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.evaluate("document.activeElement && document.activeElement.id") == "error-summary"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')").startswith("#id_")
    # The link takes the keyboard to its field, and leaves the page's address as it was: the
    # form sent again comes back with the focus on its summary, not on that field.
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "id_username"
    assert "#" not in page.url
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "#" not in page.url
    assert page.evaluate("document.activeElement && document.activeElement.id") == "error-summary"


def test_on_a_reset_code_page_each_press_asks_once(page, rita, settings):
    """The reset's code page carries two time limits, each naming the script: one press is one
    request (it was two, spending two of the code's extensions, and each block ran two timers,
    one of which later said the extended code had ended)."""
    _start_reset(page, settings)
    page.goto("/passwordreset/phone/")
    page.locator("#id_number").fill("+447400123456")
    page.locator("form.stack button[type=submit]").click()
    page.locator("#id_code").wait_for()
    page.wait_for_load_state("load")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "more-time" in r.url else None)
    page.get_by_role("button", name="More time for this code", exact=True).click()
    said = page.locator(".time-limit-alert")
    said.get_by_text("Your code works for another 10 minutes.").wait_for()
    page.get_by_role("button", name="More time for this reset", exact=True).click()
    said.get_by_text("You have another 15 minutes.").wait_for()
    page.wait_for_timeout(300)
    assert len(asked) == 2, asked
    assert "up to 9 times" in page.locator("[data-time-limit=code]").inner_text()


def test_a_tab_whose_reset_a_newer_one_replaced_says_so_when_it_asks_for_more_time(
    page, rita, settings
):
    """Two tabs, one browser: the first tab's "More time" gives the second tab's attempt no
    time, and its alert says a newer attempt replaced this page's, in words, not "run out"."""
    _start_reset(page, settings)
    second = page.context.new_page()
    _start_reset(second, settings)
    page.get_by_role("button", name="More time for this reset", exact=True).click()
    alert = page.locator(".time-limit-alert")
    alert.get_by_text("A newer attempt was started in this browser").wait_for()
    assert "run out" not in alert.inner_text()
    # This page's limit no longer counts: its button is gone, and no warning will ask for it.
    assert page.get_by_role("button", name="More time for this reset").count() == 0
    # The second tab's own button still gives its attempt more time.
    second.get_by_role("button", name="More time for this reset", exact=True).click()
    second.locator(".time-limit-alert").get_by_text("You have another 15 minutes.").wait_for()
    second.close()


def test_past_the_last_extension_the_warning_asks_for_no_button(page, rita, settings):
    """Given the last of its extensions from the warning, the attempt warns once more a minute
    before its end, in a sentence that names no button, and offers none."""
    page.clock.install()
    _start_reset(page, settings)
    alert = page.locator(".time-limit-alert")
    for _round in range(MAX_EXTENSIONS):
        page.clock.run_for("14:10")
        alert.get_by_role("button", name="More time for this reset", exact=True).click()
        alert.get_by_text("You have another 15 minutes.").wait_for()
    page.clock.run_for("14:10")
    alert.get_by_text("and no more time can be added to it").wait_for()
    assert "Press" not in alert.inner_text()
    assert alert.get_by_role("button").count() == 0


# The focused control and its ring (static/css/site.css: a 3 px outline 2 px out).
FOCUSED = """() => { const e = document.activeElement; const r = e.getBoundingClientRect();
  return {tag: e.tagName, text: (e.textContent || e.name || "").trim().slice(0, 40),
          top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          height: innerHeight, width: innerWidth}; }"""


@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_every_control_tab_reaches_on_the_reset_methods_page_is_in_the_window(
    context_for, live_server, rita, settings, width, height
):
    """Card after card of forms: each field, radio and button Tab reaches (the skip link first)
    is scrolled into the window with its whole focus ring, not left on the window's edge."""
    page = context_for("en", width)
    page.set_viewport_size({"width": width, "height": height})
    _start_reset(page, settings)
    reached, cut = 0, []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["tag"] == "BODY":
            break
        reached += 1
        if (
            focused["top"] < 5
            or focused["bottom"] > focused["height"] - 5
            or focused["left"] < 5
            or focused["right"] > focused["width"] - 5
        ):
            cut.append(focused)
    assert reached >= 8, reached  # the cards' fields and buttons, the footer's
    assert not cut, cut
