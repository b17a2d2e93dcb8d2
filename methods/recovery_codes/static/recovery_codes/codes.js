// Copy and Print on the recovery codes page (methods/recovery_codes). Without JavaScript the
// buttons stay hidden and the download link and the browser's own Print remain.
(function () {
  "use strict";
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
          function () { status.textContent = status.dataset.copied; },
          function () { status.textContent = status.dataset.failed; }
        );
      });
    });
    document.querySelectorAll("[data-print-page]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
