// Registers the proof-of-work worker for the check on /passwordreset/ and starts it at once.
// Kept in a file of its own: the pages allow no inline script.
(function () {
  "use strict";
  var widget = document.querySelector("altcha-widget[data-worker]");
  if (!widget || !window.$altcha) {
    return; // no check will run: Continue stays, and the server says what is missing
  }
  var workerUrl = widget.getAttribute("data-worker");
  window.$altcha.algorithms.set("SHA-256", function () {
    return new Worker(workerUrl);
  });
  // The widget speaks the page's language with the site's own words (data-strings, from the
  // catalogue), and shows no footer or logo linking to the widget's maker.
  var language = widget.getAttribute("language") || "en";
  try {
    var strings = JSON.parse(widget.getAttribute("data-strings") || "{}");
    var base = window.$altcha.i18n.get(language) || window.$altcha.i18n.get("en") || {};
    window.$altcha.i18n.set(language, Object.assign({}, base, strings));
  } catch (error) {
    // Unreadable words: the widget keeps its own English ones.
  }
  window.$altcha.defaults.set({ auto: "onload", hideFooter: true, hideLogo: true });

  // Continue waits until the check is done: pressed earlier, the server could only refuse.
  // A check that fails lets it be pressed, so that the server's message says what to do.
  var form = widget.closest("form");
  var buttons = form ? form.querySelectorAll("button[type=submit]") : [];
  var wait = document.getElementById("captcha-wait");
  function follow(state) {
    var ready = state === "verified" || state === "error";
    buttons.forEach(function (button) {
      button.disabled = !ready;
    });
    if (wait) {
      wait.hidden = ready;
    }
  }
  // The check is the page's to make, with nothing to solve by hand: unticked by a stray press
  // of Space or a click once it was done, it runs again at once rather than leaving Continue
  // off until the box is ticked again.
  var done = false;
  widget.addEventListener("statechange", function (event) {
    var state = event.detail && event.detail.state;
    follow(state);
    if (state === "verified") {
      done = true;
    } else if (state === "unverified" && done && typeof widget.verify === "function") {
      done = false;
      widget.verify();
    }
  });
  follow(typeof widget.getState === "function" ? widget.getState() : "unverified");
})();
