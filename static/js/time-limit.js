// Time limits the person can see coming (WCAG 2.2, 2.2.1): a minute before the reset attempt's
// 15 minutes or a code's 10 minutes end, a warning is announced (role="alert") with a button
// that gives more time in one press: another 15 minutes for the attempt, another 10 for a code
// (as often as the server allows), then a new code for a code. The page works without this
// script: it says how long the step lasts and its own button asks for more
// (includes/time_limit.html).
(function () {
  "use strict";

  function text(box, name) {
    var node = box.querySelector("[data-" + name + "]");
    return node ? node.textContent : "";
  }

  function setUp(box) {
    // A code's page has two time limits, each block naming this script: one set-up a block,
    // or each press would ask twice and each timer run twice.
    if (box.hasAttribute("data-time-limit-ready")) {
      return;
    }
    box.setAttribute("data-time-limit-ready", "");
    var kind = box.getAttribute("data-time-limit");
    var warnAt = parseInt(box.getAttribute("data-warn-seconds"), 10) || 60;
    var seconds = parseInt(box.getAttribute("data-seconds-left"), 10);
    if (isNaN(seconds)) {
      return;
    }
    var alertRegion = box.querySelector(".time-limit-alert");
    var deadline = Date.now() + seconds * 1000;
    var warned = false;
    var ended = false;
    var timer = null;

    function say(message, button) {
      // A press of the alert's own button: the focus must not go with it to the page's top.
      var hadFocus = alertRegion.contains(document.activeElement);
      alertRegion.textContent = "";
      var line = document.createElement("p");
      line.textContent = message;
      alertRegion.appendChild(line);
      alertRegion.classList.add("shown");
      if (button) {
        alertRegion.appendChild(button);
        button.focus();
      } else if (hadFocus) {
        line.tabIndex = -1;
        line.focus();
      }
    }

    function clear() {
      alertRegion.textContent = "";
      alertRegion.classList.remove("shown");
    }

    function moreTime() {
      var form = box.querySelector("form.time-limit-extend");
      var url = box.getAttribute("data-extend-url");
      if (!form || !url) {
        return;
      }
      var body = new FormData(form);
      fetch(url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          return response.json().then(function (data) {
            return { status: response.status, data: data };
          });
        })
        .then(function (answer) {
          if (answer.status === 200) {
            deadline = Date.now() + answer.data.seconds_left * 1000;
            warned = false;
            var count = box.querySelector("[data-hint-count]");
            if (count && answer.data.hint) {
              count.textContent = answer.data.hint; // how many are left now
            }
            if (!answer.data.extensions_left) {
              form.remove(); // the last one: from now on, a new code (or a new attempt)
            }
            codeChanged(false);
            say(text(box, "extended"));
            window.setTimeout(clear, 8000);
          } else if (answer.status === 409 && answer.data.replaced) {
            // A newer attempt in this browser replaced this page's: nothing was extended, and
            // this page's limit no longer counts (no warning, no button of it).
            ended = true;
            window.clearInterval(timer);
            form.remove();
            say(text(box, "replaced"));
          } else if (answer.status === 409) {
            say(text(box, "refused"), kind === "code" ? newCodeButton() : null);
          } else {
            ended = true;
            codeChanged(true);
            say(text(box, "ended"), kind === "code" ? newCodeButton() : null);
          }
        })
        .catch(function () {
          form.submit(); // the server answers with the page again
        });
    }

    // What the page says of a code's time once that no longer holds (extended, or ended): the
    // lead's "valid for 10 minutes", and, once it ended, the button for more time.
    function codeChanged(over) {
      if (kind !== "code") {
        return;
      }
      document.querySelectorAll("[data-code-validity]").forEach(function (node) {
        node.hidden = true;
      });
      var form = box.querySelector("form.time-limit-extend");
      if (over && form) {
        form.remove();
      }
    }

    function newCode() {
      var renew = box.getAttribute("data-renew-url");
      if (renew) {
        window.location.assign(renew);
        return;
      }
      var resend = document.querySelector(".resend form button[type=submit]");
      if (resend) {
        resend.click();
      }
    }

    function newCodeButton() {
      var press = document.createElement("button");
      press.type = "button";
      press.className = "button primary";
      press.textContent = text(box, "button");
      press.addEventListener("click", newCode);
      return press;
    }

    // The warning's button: more time where the page offers it (the attempt, a code with
    // extensions left), else a new code.
    function button() {
      var own = box.querySelector("form.time-limit-extend button");
      if (own) {
        var press = document.createElement("button");
        press.type = "button";
        press.className = "button primary";
        press.textContent = own.textContent;
        press.addEventListener("click", moreTime);
        return press;
      }
      return kind === "code" ? newCodeButton() : null;
    }

    function tick() {
      var left = Math.round((deadline - Date.now()) / 1000);
      if (left <= 0 && !ended) {
        ended = true;
        codeChanged(true);
        say(text(box, "ended"), kind === "code" ? newCodeButton() : null);
      } else if (left > 0 && left <= warnAt && !warned) {
        warned = true;
        // Once the last extension was given its button is gone: a warning that names none.
        var last = !box.querySelector("form.time-limit-extend") && text(box, "warning-last");
        say(last || text(box, "warning"), button());
      }
    }

    // Extending with the page's own button stays on the page when the script can.
    var own = box.querySelector("form.time-limit-extend");
    if (own) {
      own.addEventListener("submit", function (event) {
        event.preventDefault();
        moreTime();
      });
    }
    timer = window.setInterval(tick, 1000);
    tick();
    return timer;
  }

  document.querySelectorAll("[data-time-limit]").forEach(setUp);
})();
