// Copy and Print on the recovery codes page (methods/recovery_codes). Without JavaScript the
// buttons stay hidden and the download link and the browser's own Print remain.
(function () {
  "use strict";
  var saved = false;  // whether the codes were kept some way (the leave warning below)
  function ready() {
    var status = document.getElementById("copy-status");
    var buttons = document.getElementById("copy-print");
    if (buttons) buttons.hidden = false;
    document.querySelectorAll("[data-copy-codes]").forEach(function (button) {
      if (!navigator.clipboard) {
        button.remove();  // no clipboard here: select and copy by hand
        return;
      }
      button.addEventListener("click", function () {
        var list = document.getElementById(button.getAttribute("data-copy-codes"));
        var text = Array.prototype.map.call(list.querySelectorAll("code"), function (code) {
          return code.textContent;
        }).join("\n");
        navigator.clipboard.writeText(text).then(
          function () { status.textContent = status.dataset.copied; saved = true; },
          function () { status.textContent = status.dataset.failed; }
        );
      });
    });
    document.querySelectorAll("[data-print-page]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    // The codes are shown this once: leaving the page before saving them (another link, the
    // language picker) asks first. Saving them any way, or "I have saved them", stops asking.
    if (!document.getElementById("recovery-codes")) return;
    function keep(event) {
      if (saved) return;
      event.preventDefault();
      event.returnValue = "";
    }
    window.addEventListener("beforeunload", keep);
    // A copy counts once it worked (above); a print cannot be told from a cancelled one.
    document.querySelectorAll("[data-codes-saved], [download]").forEach(function (element) {
      element.addEventListener("click", function () { saved = true; });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
