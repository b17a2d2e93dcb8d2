// A page that came as the answer to a form (the reset's methods page in the answer to the first
// page, a code page in the answer to the form that sent the code, the new password's page in the
// answer to the method that passed, the done page in the answer to the new password) shows its
// own address in the address bar, so that a reload or a bookmark opens the page instead of
// sending the form again. Without JavaScript a reload sends the form again, which changes
// nothing twice: the first page's form leads to the attempt it started, a code is not sent again
// while it is live (methods/code/setup_views.py, and at reset passwordreset/flows.py,
// reset_send_code), no method passes twice, and a finished reset says it is finished.
// A page answered again at its own address (a wrong code, a refused password) is replaced too:
// the entry of the form sent becomes the page's, so a reload or Back opens it, not the browser's
// "send the form again?".
(function () {
  var page = document.querySelector("[data-page-address]");
  var address = page && page.getAttribute("data-page-address");
  if (address && window.history && history.replaceState) {
    history.replaceState(null, "", address);
  }
})();
