// Registers the proof-of-work worker for the check on /passwordreset/ and starts it at once.
// Kept in a file of its own: the pages allow no inline script.
(function () {
  "use strict";
  var widget = document.querySelector("altcha-widget[data-worker]");
  if (!widget || !window.$altcha) {
    return;
  }
  var workerUrl = widget.getAttribute("data-worker");
  window.$altcha.algorithms.set("SHA-256", function () {
    return new Worker(workerUrl);
  });
  window.$altcha.defaults.set({ auto: "onload" });
})();
